"""A Django view a job server for PeerTube runners calls when a runner accepts a job: it answers
the upload target for the job's output, signed just then (not when the job was queued), with
the `signpost` module (pip install ./python).

    # urls.py
    path("jobs/<uuid:job_uuid>/upload-target", views.upload_target)

The descriptor goes into the job payload's custom upload field (`videoFileCustomUpload`, …).
A plain `{ "url", "method": "PUT" }` is what the stock runner understands (sign it for
`signpost gateway`); a runner built on signpost takes the whole descriptor, multipart included.
"""

import os

from django.http import JsonResponse
from django.views.decorators.http import require_POST

import signpost

# One presigner for the process: it holds no connection, only the key and the endpoint.
PRESIGNER = signpost.Presigner(
    endpoint=os.environ.get("AWS_ENDPOINT_URL"),  # None: AWS S3
    region=os.environ.get("AWS_REGION", "us-east-1"),
    access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
    secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    session_token=os.environ.get("AWS_SESSION_TOKEN"),
)
BUCKET = os.environ.get("SIGNPOST_BUCKET", "videos")
# Transcoding plus upload at the slowest runner link, with a margin (see README, "Wiring a job
# server"); S3 allows at most 7 days.
EXPIRES = 6 * 3600
LARGE = 4 << 30  # above this, a multipart target (S3 takes at most 5 GiB in one PUT)


@require_POST
def upload_target(request, job_uuid):
    size = int(request.POST.get("expectedSize", "0") or 0)
    key = f"jobs/{job_uuid}/output.mp4"
    try:
        if size > LARGE:
            upload_id = PRESIGNER.create_multipart_upload(bucket=BUCKET, key=key, content_type="video/mp4")
            target = PRESIGNER.presign_multipart(
                bucket=BUCKET, key=key, upload_id=upload_id, max_size=2 * size, expires=EXPIRES
            )
        else:
            target = PRESIGNER.presign_put(bucket=BUCKET, key=key, expires=EXPIRES)
    except signpost.Error as e:  # PresignError, UploadError (CreateMultipartUpload): .code says which
        return JsonResponse({"error": str(e), "code": e.code}, status=502)
    return JsonResponse({"videoFileCustomUpload": target})
