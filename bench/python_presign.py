#!/usr/bin/env python3
"""Presigning from Python, side by side in one run: signpost's module (a descriptor dict per
call, the crossing into Rust included) and boto3's generate_presigned_url / generate_presigned_post
(a URL string, or a dict of fields), same credentials, endpoint and expiry, one thread.

    pip install ./python boto3 && python3 bench/python_presign.py [SECONDS_PER_CASE]

Prints calls per second for each and the ratios."""

import sys
import time

import boto3
from botocore.config import Config

import signpost

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
ENDPOINT = "http://127.0.0.1:9000"
AK, SK = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def rate(fn):
    """Calls per second of fn over about SECONDS (after a warm-up), best of 3."""
    for _ in range(200):
        fn(0)
    best = 0.0
    for _ in range(3):
        n, start = 0, time.perf_counter()
        deadline = start + SECONDS / 3
        while True:
            for i in range(500):
                fn(n + i)
            n += 500
            now = time.perf_counter()
            if now >= deadline:
                break
        best = max(best, n / (now - start))
    return best


def main():
    p = signpost.Presigner(endpoint=ENDPOINT, region="us-east-1",
                           access_key_id=AK, secret_access_key=SK)
    s3 = boto3.client("s3", endpoint_url=ENDPOINT, region_name="us-east-1",
                      aws_access_key_id=AK, aws_secret_access_key=SK,
                      config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    # Both sign the same request: check once that they agree on what they sign.
    ours = p.presign_put(bucket="videos", key="job-42/out.mp4", expires=3600)["url"]
    theirs = s3.generate_presigned_url("put_object", Params={"Bucket": "videos", "Key": "job-42/out.mp4"},
                                       ExpiresIn=3600)
    assert ours.split("?")[0] == theirs.split("?")[0], (ours, theirs)

    cases = [
        ("PUT", lambda i: p.presign_put(bucket="videos", key=f"job-{i}/out.mp4", expires=3600),
         lambda i: s3.generate_presigned_url("put_object", Params={"Bucket": "videos", "Key": f"job-{i}/out.mp4"},
                                             ExpiresIn=3600)),
        ("POST policy", lambda i: p.presign_post(bucket="videos", key_prefix=f"job-{i}/", max_size=1 << 30, expires=3600),
         lambda i: s3.generate_presigned_post("videos", f"job-{i}/${{filename}}",
                                              Conditions=[["starts-with", "$key", f"job-{i}/"],
                                                          ["content-length-range", 0, 1 << 30]],
                                              ExpiresIn=3600)),
    ]
    print(f"{'case':<14} {'signpost/s':>12} {'boto3/s':>10} {'ratio':>7}")
    for name, ours, theirs in cases:
        a, b = rate(ours), rate(theirs)
        print(f"{name:<14} {a:>12,.0f} {b:>10,.0f} {a / b:>6.1f}x")


if __name__ == "__main__":
    main()
