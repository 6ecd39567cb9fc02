"""A real `signpost serve` for the tests: started on a free loopback port, stopped by its PID."""

import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
ACCESS_KEY = "pytestaccesskey"
SECRET_KEY = "pytest/secret+key/0123456789"
REGION = "us-east-1"
BUCKET = "pytest-bucket"


def binary() -> str:
    """The signpost binary: SIGNPOST_BIN, else the workspace's debug build."""
    path = os.environ.get("SIGNPOST_BIN") or str(REPO / "target" / "debug" / "signpost")
    if not os.path.exists(path):
        raise RuntimeError(
            f"no signpost binary at {path}: build it (cargo build -p signpost) or set SIGNPOST_BIN"
        )
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self) -> None:
        self.data = tempfile.mkdtemp(prefix="signpost-pytest-")
        port = free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "SIGNPOST_LOG": "warn",
        }
        self.proc = subprocess.Popen(
            [binary(), "serve", "--addr", f"127.0.0.1:{port}", "--data", self.data,
             "--bucket", BUCKET],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.endpoint}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("signpost serve did not become healthy within 30 s")
            time.sleep(0.02)

    def env(self) -> dict:
        return {
            "PATH": os.environ.get("PATH", ""),
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "SIGNPOST_LOG": "off",
        }

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.data, ignore_errors=True)


@pytest.fixture(scope="session")
def server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture
def key():
    return f"pytest/{uuid.uuid4().hex}/out.mp4"
