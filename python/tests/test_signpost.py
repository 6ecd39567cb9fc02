"""The Python module against a real `signpost serve`: presign, upload, read back; URLs equal to
the Rust presigner's and accepted by `signpost verify`; errors with their codes; a failed
multipart upload resumed with a fresh descriptor."""

import hashlib
import os
import subprocess
import urllib.request

import pytest

import signpost
from conftest import ACCESS_KEY, BUCKET, REGION, SECRET_KEY, binary

MIB = 1 << 20


def presigner(server):
    return signpost.Presigner(
        endpoint=server.endpoint, region=REGION,
        access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY,
    )


def read_back(p, key):
    with urllib.request.urlopen(p.presign_get(bucket=BUCKET, key=key), timeout=30) as r:
        return r.read()


def random_file(tmp_path, name, size):
    data = os.urandom(size)
    path = tmp_path / name
    path.write_bytes(data)
    return path, data


def test_presign_put_then_upload_then_read_back(server, key, tmp_path):
    p = presigner(server)
    job = p.presign_put(bucket=BUCKET, key=key, content_type="video/mp4", expires=600)
    assert job["method"] == "PUT"
    assert job["headers"] == {"Content-Type": "video/mp4"}
    assert "X-Amz-Signature=" in job["url"]
    assert SECRET_KEY not in repr(job)
    path, data = random_file(tmp_path, "out.mp4", 3 * MIB + 5)
    out = signpost.upload(job, path)
    assert out["status"] in (200, 201, 204)
    assert out["bytes"] == len(data)
    assert read_back(p, key) == data


def test_post_form_and_multipart_with_progress(server, key, tmp_path):
    p = presigner(server)
    # A prefix of its own: on a file-backed server an object cannot also be a "directory".
    prefix = key + ".post/"
    form = p.presign_post(bucket=BUCKET, key_prefix=prefix, max_size=10 * MIB, success_status=201)
    assert form["method"] == "POST"
    assert list(form["fields"])[0] == "key"
    path, data = random_file(tmp_path, "clip.mp4", 1 * MIB)
    out = signpost.upload(form, path)
    assert out["status"] == 201
    assert out["key"] == prefix + "clip.mp4"
    assert read_back(p, prefix + "clip.mp4") == data

    upload_id = p.create_multipart_upload(bucket=BUCKET, key=key)
    job = p.presign_multipart(bucket=BUCKET, key=key, upload_id=upload_id,
                              max_size=20 * MIB, part_size=5 * MIB)
    assert len(job["multipart"]["parts"]) == 4
    path, data = random_file(tmp_path, "big.mp4", 12 * MIB + 1)
    seen = []
    out = signpost.upload(job, path, progress=lambda sent, total: seen.append((sent, total)))
    assert out["parts"] == 3
    assert seen and seen[-1][0] == seen[-1][1] == len(data)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:])), "progress only grows"
    assert hashlib.sha256(read_back(p, key)).digest() == hashlib.sha256(data).digest()


def test_urls_equal_the_rust_presigners_and_verify_accepts_them(server, key, tmp_path):
    p = presigner(server)
    at = "2026-11-24T12:00:00Z"
    job = p.presign_put(bucket=BUCKET, key=key, expires=900, signed_at=at, content_type="video/mp4")
    cli = subprocess.run(
        [binary(), "presign", "put", "--bucket", BUCKET, "--key", key, "--expires", "900",
         "--at", at, "--content-type", "video/mp4"],
        env=server.env(), capture_output=True, text=True, check=True,
    )
    import json
    assert job == json.loads(cli.stdout)
    # A form's fields keep the order they are sent in, as the CLI prints them.
    form = p.presign_post(bucket=BUCKET, key_prefix="jobs/", expires=900, signed_at=at,
                          success_status=201)
    cli = subprocess.run(
        [binary(), "presign", "post", "--bucket", BUCKET, "--key-prefix", "jobs/", "--expires",
         "900", "--at", at, "--success-status", "201"],
        env=server.env(), capture_output=True, text=True, check=True,
    )
    assert list(form["fields"].items()) == list(json.loads(cli.stdout)["fields"].items())
    assert list(form) == list(json.loads(cli.stdout))

    fresh = p.presign_put(bucket=BUCKET, key=key)
    path = tmp_path / "job.json"
    path.write_text(json.dumps(fresh))
    verdict = subprocess.run([binary(), "verify", str(path)], env=server.env(),
                             capture_output=True, text=True)
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    host = server.endpoint.split("://", 1)[1]
    v = signpost.Verifier(access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY, region=REGION)
    v.verify_presigned("PUT", fresh["url"], {"Host": host})
    with pytest.raises(signpost.VerifyError) as e:
        v.verify_presigned("PUT", fresh["url"].replace(key, key + "x"), {"Host": host})
    assert e.value.status == 403 and e.value.s3_code == "SignatureDoesNotMatch"


def test_errors_carry_their_codes(server, key, tmp_path):
    p = presigner(server)
    with pytest.raises(signpost.DescriptorError) as e:
        signpost.parse_descriptor({"url": "http://h/b/k", "methd": "PUT"})
    assert e.value.code == "invalid-descriptor" and "methd" in str(e.value)
    assert signpost.parse_descriptor({"url": "http://h/b/k"})["expectedStatusCodes"] == [200, 201, 204]
    with pytest.raises(signpost.PresignError) as e:
        p.presign_put(bucket="", key=key)
    assert e.value.code == "invalid-argument"
    assert isinstance(e.value, signpost.Error)

    path, _ = random_file(tmp_path, "f.bin", 1000)
    old = p.presign_put(bucket=BUCKET, key=key, expires=60, signed_at="2020-01-01T00:00:00Z")
    with pytest.raises(signpost.UploadError) as e:
        signpost.upload(old, path)
    assert e.value.code == "expired" and e.value.needs_new_target and e.value.before_sending

    job = p.presign_put(bucket=BUCKET, key=key)
    sig = job["url"].rindex("X-Amz-Signature=") + len("X-Amz-Signature=")
    job["url"] = job["url"][:sig] + ("1" if job["url"][sig] == "0" else "0") + job["url"][sig + 1:]
    with pytest.raises(signpost.UploadError) as e:
        signpost.upload(job, path, retries=0)
    assert e.value.status == 403 and e.value.s3_code == "SignatureDoesNotMatch"
    assert e.value.code == "needs-new-target"

    with pytest.raises(signpost.UploadError) as e:
        signpost.upload(p.presign_put(bucket=BUCKET, key=key), tmp_path / "missing.bin")
    assert e.value.code == "file-unreadable"


def test_a_failed_multipart_upload_resumes_with_a_fresh_descriptor(server, key, tmp_path):
    p = presigner(server)
    upload_id = p.create_multipart_upload(bucket=BUCKET, key=key)
    job = p.presign_multipart(bucket=BUCKET, key=key, upload_id=upload_id,
                              max_size=20 * MIB, part_size=5 * MIB)
    # Part 3's URL is damaged: parts 1 and 2 are stored, then the upload stops and is kept.
    url = job["multipart"]["parts"][2]
    sig = url.rindex("X-Amz-Signature=") + len("X-Amz-Signature=")
    job["multipart"]["parts"][2] = url[:sig] + ("1" if url[sig] == "0" else "0") + url[sig + 1:]
    path, data = random_file(tmp_path, "big.mp4", 12 * MIB + 3)
    state = tmp_path / "state"
    with pytest.raises(signpost.UploadError) as e:
        signpost.upload(job, path, state_dir=state, on_failure="keep", retries=0, concurrency=1)
    assert e.value.upload_id == upload_id, str(e.value)
    fresh = p.presign_multipart(bucket=BUCKET, key=key, upload_id=upload_id,
                                max_size=20 * MIB, part_size=5 * MIB)
    out = signpost.upload(fresh, path, state_dir=state)
    assert out["partsReused"] == 2, out
    assert out["bytesSent"] < len(data)
    assert hashlib.sha256(read_back(p, key)).digest() == hashlib.sha256(data).digest()
    assert not [f for f in os.listdir(state) if f.endswith(".journal")]
