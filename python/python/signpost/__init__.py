"""signpost: S3 presigned uploads for PeerTube runners and the job servers that drive them.

The signing, verifying and uploading are signpost's Rust libraries, in-process::

    import signpost
    p = signpost.Presigner(endpoint="http://127.0.0.1:9000", region="us-east-1",
                           access_key_id="minioadmin", secret_access_key="minioadmin")
    job = p.presign_put(bucket="videos", key="job-42/out.mp4", expires=6 * 3600)
    # job is the RunnerJobCustomUpload dict a runner receives; on the runner:
    outcome = signpost.upload(job, "out.mp4")
"""

from ._signpost import (
    DescriptorError,
    Error,
    PresignError,
    Presigner,
    UploadError,
    Verifier,
    VerifyError,
    __version__,
    parse_descriptor,
    upload,
)

__all__ = [
    "DescriptorError",
    "Error",
    "PresignError",
    "Presigner",
    "UploadError",
    "Verifier",
    "VerifyError",
    "__version__",
    "parse_descriptor",
    "upload",
]
