//! Every refusal explained from evidence. The answers only AWS gives (a canonical request in
//! SignatureDoesNotMatch, 301 with `x-amz-bucket-region`, an expired session token, R2's 501 to
//! a form) are AWS's documented error documents, replayed by a real HTTP server; the servers CI
//! runs produce the others in the workspace's tests/explain.rs.

#![allow(clippy::unwrap_used)]

mod support;

use signpost_upload::{RetryPolicy, RunnerJobCustomUpload, UploadError, Uploader};
use signpost_wire::amz_date::format_amz_date;
use signpost_wire::canonical::presigned_canonical_request;
use signpost_wire::{OrderedPairs, UploadMethod};
use support::{Act, FaultServer};
use time::OffsetDateTime;

fn uploader() -> Uploader {
    Uploader::builder()
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// A presigned-looking PUT URL for `server`, signed for `region`, signing `signed`.
fn url(base: &str, region: &str, signed: &str) -> String {
    let d = format_amz_date(OffsetDateTime::now_utc());
    let d = std::str::from_utf8(&d).unwrap();
    format!(
        "{base}/videos/a%20b.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F{}%2F{region}%2Fs3%2Faws4_request&X-Amz-Date={d}&X-Amz-Expires=3600&X-Amz-SignedHeaders={signed}&X-Amz-Signature=0123",
        &d[..8]
    )
}

async fn refusal_text(server: &FaultServer, job: &RunnerJobCustomUpload) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.mp4");
    std::fs::write(&path, b"video bytes").unwrap();
    let e = uploader().upload(job, &path).await.unwrap_err();
    assert!(matches!(e, UploadError::Refused { .. }), "{e}");
    let _ = server;
    e.to_string()
}

fn error_doc(code: &str, message: &str, extra: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>{extra}<RequestId>4442587FB7D0A2F9</RequestId></Error>"
    )
}

#[tokio::test]
async fn a_header_changed_on_the_way_is_named_from_awss_canonical_request() {
    let probe = FaultServer::start(vec![Act::ok()]).await;
    let u = url(&probe.base, "us-east-1", "content-type%3Bhost");
    let sent = presigned_canonical_request("PUT", &u, &[("content-type", "video/mp4")]).unwrap();
    // What AWS computed: the Content-Type a proxy rewrote.
    let seen = sent.replace(
        "content-type:video/mp4",
        "content-type:video/mp4; charset=binary",
    );
    let body = error_doc(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        &format!(
            "<StringToSign>AWS4-HMAC-SHA256</StringToSign><CanonicalRequest>{}</CanonicalRequest>",
            seen.replace('&', "&amp;")
        ),
    );
    let server = FaultServer::start(vec![Act::Answer(403, vec![], body)]).await;
    let mut job = RunnerJobCustomUpload::put(u.replace(&probe.base, &server.base));
    job.headers.push("Content-Type", "video/mp4");
    let text = refusal_text(&server, &job).await;
    assert!(
        text.contains(r#"the signed header content-type arrived as "video/mp4; charset=binary" but was sent as "video/mp4""#),
        "{text}"
    );
    // The query re-encoded on the way instead.
    let probe2 = FaultServer::start(vec![Act::ok()]).await;
    let u = url(&probe2.base, "us-east-1", "host");
    let sent = presigned_canonical_request("PUT", &u, &[]).unwrap();
    let seen = sent.replace("X-Amz-Expires=3600", "X-Amz-Expires=3600&x=y");
    let body = error_doc(
        "SignatureDoesNotMatch",
        "…",
        &format!(
            "<CanonicalRequest>{}</CanonicalRequest>",
            seen.replace('&', "&amp;")
        ),
    );
    let server = FaultServer::start(vec![Act::Answer(403, vec![], body)]).await;
    let job = RunnerJobCustomUpload::put(u.replace(&probe2.base, &server.base));
    let text = refusal_text(&server, &job).await;
    assert!(
        text.contains("the query string was re-encoded on the way"),
        "{text}"
    );
}

#[tokio::test]
async fn without_a_canonical_request_the_likely_causes_are_listed() {
    let body = error_doc(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.",
        "",
    );
    let server = FaultServer::start(vec![Act::Answer(403, vec![], body)]).await;
    let mut job = RunnerJobCustomUpload::put(url(&server.base, "us-east-1", "content-type%3Bhost"));
    job.headers.push("Content-Type", "video/mp4");
    let text = refusal_text(&server, &job).await;
    assert!(
        text.contains("likely causes, most likely first: 1) a signed header (content-type)"),
        "{text}"
    );
    assert!(text.contains("2) the path, which has escapes"), "{text}");
}

#[tokio::test]
async fn a_bucket_in_another_region_is_named() {
    // AWS: 301 PermanentRedirect, the bucket's region in a header.
    let body = error_doc(
        "PermanentRedirect",
        "The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.",
        "<Endpoint>videos.s3.us-east-2.amazonaws.com</Endpoint><Bucket>videos</Bucket>",
    );
    let server = FaultServer::start(vec![Act::Answer(
        301,
        vec![("x-amz-bucket-region", "us-east-2".into())],
        body,
    )])
    .await;
    let job = RunnerJobCustomUpload::put(url(&server.base, "eu-west-1", "host"));
    let text = refusal_text(&server, &job).await;
    assert!(
        text.contains(
            "the URL is signed for region eu-west-1, the bucket is in us-east-2: sign for us-east-2"
        ),
        "{text}"
    );
    // AWS (and Garage): 400 AuthorizationHeaderMalformed, the region in the document.
    let body = error_doc(
        "AuthorizationHeaderMalformed",
        "The authorization header is malformed; the region 'eu-west-1' is wrong; expecting 'us-east-1'",
        "<Region>us-east-1</Region>",
    );
    let server = FaultServer::start(vec![Act::Answer(400, vec![], body)]).await;
    let job = RunnerJobCustomUpload::put(url(&server.base, "eu-west-1", "host"));
    let text = refusal_text(&server, &job).await;
    assert!(
        text.contains("signed for region eu-west-1, the bucket is in us-east-1"),
        "{text}"
    );
}

#[tokio::test]
async fn clock_skew_and_expiry_are_told_apart() {
    // The server's clock an hour behind this one.
    let server_clock = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let date = httpdate::fmt_http_date(server_clock);
    let body = error_doc(
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
        "",
    );
    let server = FaultServer::start(vec![Act::Answer(403, vec![("Date", date)], body)]).await;
    let job = RunnerJobCustomUpload::put(url(&server.base, "us-east-1", "host"));
    let text = refusal_text(&server, &job).await;
    assert!(
        text.contains("60 min ahead of the server's clock"),
        "{text}"
    );
    assert!(
        text.contains("this machine's clock is 60 min ahead of the server's"),
        "{text}"
    );

    let body = error_doc("ExpiredToken", "The provided token has expired.", "");
    let server = FaultServer::start(vec![Act::Answer(400, vec![], body)]).await;
    let job = RunnerJobCustomUpload::put(url(&server.base, "us-east-1", "host"));
    let text = refusal_text(&server, &job).await;
    assert!(
        text.contains("session token of the temporary credentials"),
        "{text}"
    );
    assert!(
        text.contains("the URL's own expiry is not the cause"),
        "{text}"
    );

    let body = error_doc(
        "AccessDenied",
        "Request has expired",
        "<Expires>2026-01-01T00:00:00Z</Expires>",
    );
    let server = FaultServer::start(vec![Act::Answer(403, vec![], body)]).await;
    let job = RunnerJobCustomUpload::put(url(&server.base, "us-east-1", "host"));
    let text = refusal_text(&server, &job).await;
    assert!(text.contains("by the server's clock"), "{text}");
}

#[tokio::test]
async fn a_provider_without_post_uploads_is_named() {
    // Cloudflare R2 and Backblaze B2 answer a browser-form POST with 501.
    let body = error_doc("NotImplemented", "POST Object is not implemented", "");
    let server = FaultServer::start(vec![Act::Answer(501, vec![], body)]).await;
    let mut job = RunnerJobCustomUpload::new(format!("{}/videos", server.base), UploadMethod::Post);
    job.fields = OrderedPairs::from_iter([("key", "a.mp4")]);
    let text = refusal_text(&server, &job).await;
    assert!(
        text.contains("does not take browser-form POST uploads"),
        "{text}"
    );
    assert!(text.contains("PUT descriptor"), "{text}");
}
