//! The uploader against a real HTTP server that misbehaves on purpose.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use signpost_upload::signpost_wire::s3_xml::S3ErrorCode;
use signpost_upload::{
    Progress, RetryPolicy, RunnerJobCustomUpload, TargetKind, UploadError, UploadOptions, Uploader,
};
use signpost_wire::amz_date::format_amz_date;
use signpost_wire::{OrderedPairs, UploadMethod};
use support::{Act, FaultServer, complete, content_md5, md5_hex, multipart_etag, multipart_job};
use time::OffsetDateTime;

fn data(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x9E37_79B9;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn file(dir: &tempfile::TempDir, name: &str, n: usize) -> (PathBuf, Vec<u8>) {
    let p = dir.path().join(name);
    let d = data(n);
    std::fs::write(&p, &d).unwrap();
    (p, d)
}

/// A query string shaped like a SigV4 presigned URL's, dated `at`, valid `expires` seconds.
fn sigv4_query(at: OffsetDateTime, expires: u64) -> String {
    let d = format_amz_date(at);
    let d = std::str::from_utf8(&d).unwrap();
    format!(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F{}%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date={d}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host&X-Amz-Signature=00ff",
        &d[..8]
    )
}

fn uploader() -> Uploader {
    Uploader::builder()
        .retry(RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
        })
        // Well under the 5 s `Act::Stall`, well over any pause a loaded CI machine makes on
        // loopback, where an attempt counted twice would fail the exact counts below.
        .stall_timeout(Duration::from_millis(1500))
        .build()
        .unwrap()
}

#[tokio::test]
async fn put_keeps_the_query_string_and_sends_content_length_not_chunked() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = file(&dir, "out.mp4", 700_000);
    let server = FaultServer::start(vec![Act::ok()]).await;
    // The URL signs the headers the descriptor carries, as a presigner makes it.
    let target = format!(
        "/videos/a%20b%2Bc~%C3%A9.mp4?{}",
        sigv4_query(OffsetDateTime::now_utc(), 3600).replace(
            "X-Amz-SignedHeaders=host",
            "X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-meta-job"
        )
    );
    let mut job = RunnerJobCustomUpload::put(format!("{}{target}", server.base));
    job.headers.push("Content-Type", "video/mp4");
    job.headers.push("x-amz-meta-job", "42");
    let out = uploader().upload(&job, &path).await.unwrap();
    assert_eq!(out.status, 200);
    assert_eq!(out.bytes, bytes.len() as u64);
    assert_eq!(out.etag.as_deref(), Some("\"etag-1\""));
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(r.method, "PUT");
    assert_eq!(r.target, target, "the URL reaches the server byte for byte");
    assert_eq!(r.header("content-length"), Some("700000"));
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(r.header("content-type"), Some("video/mp4"));
    assert_eq!(r.header("x-amz-meta-job"), Some("42"));
    assert!(r.body == bytes, "the body is the file");
}

#[tokio::test]
async fn peertube_descriptor_json_works_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = file(&dir, "v.mp4", 1000);
    let server = FaultServer::start(vec![Act::status(204)]).await;
    let json = format!(
        r#"{{"url":"{}/up/v.mp4?token=abc","method":"PUT"}}"#,
        server.base
    );
    let job = RunnerJobCustomUpload::from_json(&json).unwrap();
    let out = uploader().upload(&job, &path).await.unwrap();
    assert_eq!(out.status, 204);
    assert_eq!(server.seen()[0].target, "/up/v.mp4?token=abc");
    assert!(server.seen()[0].body == bytes);
}

fn parse_form(body: &[u8], content_type: &str) -> Vec<(String, Option<String>, Vec<u8>)> {
    let boundary = content_type.split("boundary=").nth(1).unwrap().as_bytes();
    let delim = [b"--".as_slice(), boundary].concat();
    let mut parts = Vec::new();
    let mut rest = body;
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    assert!(rest.starts_with(&delim));
    loop {
        rest = &rest[delim.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        rest = &rest[2..]; // CRLF
        let head_end = find(rest, b"\r\n\r\n").unwrap();
        let head = std::str::from_utf8(&rest[..head_end]).unwrap().to_owned();
        rest = &rest[head_end + 4..];
        let next = find(rest, &[b"\r\n".as_slice(), &delim].concat()).unwrap();
        let content = rest[..next].to_vec();
        rest = &rest[next + 2..];
        let name = head
            .split("name=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let filename = head
            .split("filename=\"")
            .nth(1)
            .map(|f| f.split('"').next().unwrap().to_owned());
        parts.push((name, filename, content));
    }
    parts
}

fn post_job(base: &str, fields: &[(&str, &str)]) -> RunnerJobCustomUpload {
    let mut job = RunnerJobCustomUpload::put(format!("{base}/videos"));
    job.method = UploadMethod::Post;
    job.fields = fields
        .iter()
        .map(|(a, b)| (*a, *b))
        .collect::<OrderedPairs>();
    job
}

#[tokio::test]
async fn post_sends_fields_in_order_then_the_file_last() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = file(&dir, "clip.webm", 300_000);
    let server = FaultServer::start(vec![Act::status(204)]).await;
    let job = post_job(
        &server.base,
        &[
            ("key", "jobs/7/${filename}"),
            ("Content-Type", "video/webm"),
            ("x-amz-meta-a", "1"),
            ("x-amz-signature", "abc"),
        ],
    );
    let out = uploader().upload(&job, &path).await.unwrap();
    assert_eq!(out.status, 204);
    let r = &server.seen()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.target, "/videos");
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(
        r.header("content-length")
            .unwrap()
            .parse::<usize>()
            .unwrap(),
        r.body.len()
    );
    let form = parse_form(&r.body, r.header("content-type").unwrap());
    let names: Vec<_> = form.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "key",
            "Content-Type",
            "x-amz-meta-a",
            "x-amz-signature",
            "file"
        ]
    );
    assert_eq!(form[0].2, b"jobs/7/clip.webm", "${{filename}} is replaced");
    assert_eq!(form[4].1.as_deref(), Some("clip.webm"));
    assert!(form[4].2 == bytes);
}

#[tokio::test]
async fn success_is_the_expected_set_and_201_post_response_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = file(&dir, "a.bin", 10);
    for (root, status) in [("PostResponse", 201), ("PostObject", 201)] {
        let xml = format!(
            "<?xml version=\"1.0\"?><{root}><Location>http://h/videos/k</Location><Bucket>videos</Bucket><Key>k</Key><ETag>\"e\"</ETag></{root}>"
        );
        let server = FaultServer::start(vec![Act::Answer(status, vec![], xml)]).await;
        let out = uploader()
            .upload(&post_job(&server.base, &[("key", "k")]), &path)
            .await
            .unwrap();
        let pr = out.post_response.unwrap();
        assert_eq!(pr.key.as_deref(), Some("k"), "{root}");
        assert_eq!(pr.bucket.as_deref(), Some("videos"));
        assert_eq!(pr.location.as_deref(), Some("http://h/videos/k"));
        assert_eq!(out.etag.as_deref(), Some("\"e\""));
    }
    // 200 is not success when the descriptor expects only 201.
    let server = FaultServer::start(vec![Act::status(200)]).await;
    let mut job = post_job(&server.base, &[("key", "k")]);
    job.expected_status_codes = vec![201];
    let e = uploader().upload(&job, &path).await.unwrap_err();
    assert!(e.to_string().contains("HTTP 200"), "{e}");
    assert!(e.to_string().contains("expected HTTP 201"), "{e}");
    assert_eq!(server.seen().len(), 1, "an unexpected 2xx is not retried");
}

#[tokio::test]
async fn a_403_is_reported_with_s3_words_and_never_retried() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = file(&dir, "a.bin", 1000);
    let server = FaultServer::start(vec![Act::S3Error(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    )])
    .await;
    let job = RunnerJobCustomUpload::put(format!("{}/b/k", server.base));
    let e = uploader().upload(&job, &path).await.unwrap_err();
    assert_eq!(server.seen().len(), 1);
    assert_eq!(e.s3_code(), Some(&S3ErrorCode::SignatureDoesNotMatch));
    assert_eq!(e.status(), Some(403));
    let msg = e.to_string();
    assert!(
        msg.contains("The request signature we calculated does not match"),
        "{msg}"
    );
    assert!(msg.contains("RequestId REQ123"), "{msg}");
    assert!(
        std::fs::read(&path).unwrap() == data(1000),
        "the source file is untouched"
    );
}

#[tokio::test]
async fn a_url_that_lost_its_query_string_is_named_as_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = file(&dir, "a.bin", 10);
    let server = FaultServer::start(vec![Act::S3Error(
        403,
        "AccessDenied",
        "Signature is required",
    )])
    .await;
    let e = uploader()
        .upload(
            &RunnerJobCustomUpload::put(format!("{}/b/k", server.base)),
            &path,
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("AccessDenied: Signature is required"),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("its query string was lost on the way"),
        "{e}"
    );
    // With a signature present the same refusal says nothing of the kind.
    let signed = format!(
        "{}/b/k?{}",
        server.base,
        sigv4_query(OffsetDateTime::now_utc(), 60)
    );
    let e = uploader()
        .upload(&RunnerJobCustomUpload::put(signed), &path)
        .await
        .unwrap_err();
    assert!(!e.to_string().contains("query string was lost"), "{e}");
}

const SIG: (u16, &str, &str) = (
    403,
    "SignatureDoesNotMatch",
    "The request signature we calculated does not match the signature you provided.",
);

#[tokio::test]
async fn a_refusal_sent_before_the_body_is_read_is_heard_on_the_retry_that_asks_first() {
    // The first attempt's connection is cut before any answer (as a server that refuses and
    // closes with the body unread can make it look). The retry sends `Expect: 100-continue`
    // and holds the body, so it reads the refusal the server sends before reading a byte.
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = file(&dir, "big.bin", 8_000_000);
    let server = FaultServer::start(vec![
        Act::DropAfter(0),
        Act::RefuseUnread(SIG.0, SIG.1, SIG.2),
    ])
    .await;
    let job = RunnerJobCustomUpload::put(format!("{}/b/k", server.base));
    let e = uploader().upload(&job, &path).await.unwrap_err();
    assert_eq!(
        e.s3_code(),
        Some(&S3ErrorCode::SignatureDoesNotMatch),
        "{e}"
    );
    let seen = server.seen();
    assert_eq!(
        seen.len(),
        2,
        "one cut attempt, one refusal heard and not retried"
    );
    assert_eq!(seen[0].header("expect"), None);
    assert_eq!(seen[1].header("expect"), Some("100-continue"));
    assert!(seen[1].body.is_empty(), "the body was held back");
}

#[tokio::test]
async fn a_refusal_sent_mid_body_by_a_lingering_server_is_heard_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = file(&dir, "big.bin", 8_000_000);
    let server = FaultServer::start(vec![Act::RefuseDraining(SIG.0, SIG.1, SIG.2)]).await;
    let job = RunnerJobCustomUpload::put(format!("{}/b/k", server.base));
    let e = uploader().upload(&job, &path).await.unwrap_err();
    assert_eq!(
        e.s3_code(),
        Some(&S3ErrorCode::SignatureDoesNotMatch),
        "{e}"
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "heard on the first attempt, not retried");
    assert_eq!(seen[0].header("expect"), None);
}

#[tokio::test]
async fn a_post_refused_on_its_fields_mid_file_is_heard_not_lost() {
    // The server reads the fields, refuses, and closes while the file is still coming: the
    // retry holds the file back after the fields, so the refusal is read.
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = file(&dir, "big.bin", 8_000_000);
    let server = FaultServer::start(vec![Act::RefuseAfter(
        100,
        400,
        "InvalidRequest",
        "Key does not match policy",
    )])
    .await;
    let job = post_job(
        &server.base,
        &[("key", "elsewhere/x"), ("x-amz-signature", "s")],
    );
    let up = Uploader::builder()
        .retry(RetryPolicy {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(5),
        })
        .build()
        .unwrap();
    for _ in 0..5 {
        let e = up.upload(&job, &path).await.unwrap_err();
        assert_eq!(e.s3_code(), Some(&S3ErrorCode::InvalidRequest), "{e}");
        assert_eq!(e.status(), Some(400));
    }
}

#[tokio::test]
async fn slowdown_twice_then_success_resends_the_whole_file_each_time() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = file(&dir, "a.bin", 600_000);
    let server = FaultServer::start(vec![
        Act::S3Error(503, "SlowDown", "Please reduce your request rate."),
        Act::S3Error(503, "SlowDown", "Please reduce your request rate."),
        Act::ok(),
    ])
    .await;
    let job = RunnerJobCustomUpload::put(format!("{}/b/k", server.base));
    let last = Arc::new(AtomicU64::new(0));
    let last2 = Arc::clone(&last);
    let opts = UploadOptions {
        progress: Some(Arc::new(move |p: Progress| {
            assert!(p.bytes_sent <= p.total_bytes);
            last2.store(p.bytes_sent, Ordering::Relaxed);
        })),
        ..Default::default()
    };
    let out = uploader().upload_with(&job, &path, &opts).await.unwrap();
    assert_eq!(out.attempts, 3);
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|r| r.complete && r.body == bytes));
    assert_eq!(
        last.load(Ordering::Relaxed),
        bytes.len() as u64,
        "progress ends at the total"
    );
}

#[tokio::test]
async fn retries_on_429_5xx_dropped_connections_and_stalls() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = file(&dir, "a.bin", 2_000_000);
    let server = FaultServer::start(vec![
        Act::Answer(429, vec![("Retry-After", "0".into())], String::new()),
        Act::DropAfter(100_000),
        Act::Stall(Duration::from_secs(5)),
        Act::ok(),
    ])
    .await;
    let job = RunnerJobCustomUpload::put(format!("{}/b/k", server.base));
    let out = uploader().upload(&job, &path).await.unwrap();
    assert_eq!(out.attempts, 4);
    let seen = server.seen();
    assert_eq!(seen.len(), 4);
    assert!(!seen[1].complete && !seen[2].complete);
    assert!(seen[3].complete && seen[3].body == bytes);
}

#[tokio::test]
async fn gives_up_after_max_attempts_with_the_last_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = file(&dir, "a.bin", 10);
    let server = FaultServer::start(vec![Act::S3Error(
        500,
        "InternalError",
        "We encountered an internal error. Please try again.",
    )])
    .await;
    let job = RunnerJobCustomUpload::put(format!("{}/b/k", server.base));
    let e = uploader().upload(&job, &path).await.unwrap_err();
    assert_eq!(server.seen().len(), 4);
    assert!(e.to_string().contains("after 4 attempt(s)"), "{e}");
    assert_eq!(e.s3_code(), Some(&S3ErrorCode::InternalError));
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_naming_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = file(&dir, "a.bin", 10);
    // Bind then drop: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let job = RunnerJobCustomUpload::put(format!("http://127.0.0.1:{port}/b/k"));
    let e = uploader().upload(&job, &path).await.unwrap_err();
    assert!(
        matches!(e, UploadError::Transport { attempts: 4, .. }),
        "{e}"
    );
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
}

#[tokio::test]
async fn expired_url_is_refused_before_any_byte_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = file(&dir, "a.bin", 10);
    let server = FaultServer::start(vec![Act::ok()]).await;
    let past = OffsetDateTime::now_utc() - time::Duration::hours(2);
    let job =
        RunnerJobCustomUpload::put(format!("{}/b/k?{}", server.base, sigv4_query(past, 3600)));
    let e = uploader().upload(&job, &path).await.unwrap_err();
    assert!(matches!(e, UploadError::Expired { .. }), "{e}");
    assert!(e.to_string().contains("new upload target"), "{e}");
    assert!(server.seen().is_empty());
    // A cut query string (the PeerTube bug) is caught too.
    let cut = format!("{}/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256", server.base);
    let e = uploader()
        .upload(&RunnerJobCustomUpload::put(cut), &path)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            UploadError::MalformedUrl {
                what: TargetKind::PresignedUrl,
                ..
            }
        ),
        "{e}"
    );
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn no_retry_that_would_start_after_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = file(&dir, "a.bin", 10);
    let server = FaultServer::start(vec![Act::Answer(
        503,
        vec![("Retry-After", "10".into())],
        String::new(),
    )])
    .await;
    let job = RunnerJobCustomUpload::put(format!(
        "{}/b/k?{}",
        server.base,
        sigv4_query(OffsetDateTime::now_utc(), 5)
    ));
    let up = Uploader::builder()
        .retry(RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_secs(30),
        })
        .build()
        .unwrap();
    let e = up.upload(&job, &path).await.unwrap_err();
    assert!(
        matches!(e, UploadError::ExpiredWhileRetrying { attempts: 1, .. }),
        "{e}"
    );
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn post_policy_is_checked_before_sending() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = file(&dir, "big.mp4", 2000);
    let server = FaultServer::start(vec![Act::status(204)]).await;
    let policy = |exp: &str| {
        base64::engine::general_purpose::STANDARD.encode(format!(
            r#"{{"expiration":"{exp}","conditions":[{{"bucket":"videos"}},["starts-with","$key","jobs/"],["content-length-range",1,1000]]}}"#
        ))
    };
    let future = policy("2099-01-01T00:00:00.000Z");
    let job = post_job(
        &server.base,
        &[("key", "jobs/${filename}"), ("policy", &future)],
    );
    let e = uploader().upload(&job, &path).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("2000 bytes, over the POST policy's content-length-range maximum of 1000"),
        "{e}"
    );
    assert!(e.to_string().contains("EntityTooLarge"), "{e}");
    let job = post_job(
        &server.base,
        &[("key", "other/${filename}"), ("policy", &future)],
    );
    let e = uploader().upload(&job, &path).await.unwrap_err();
    assert!(e.to_string().contains("$key"), "{e}");
    let past = policy("2001-01-01T00:00:00.000Z");
    let job = post_job(&server.base, &[("key", "jobs/x"), ("policy", &past)]);
    let e = uploader().upload(&job, &path).await.unwrap_err();
    assert!(
        matches!(
            e,
            UploadError::Expired {
                what: TargetKind::PostPolicy,
                ..
            }
        ),
        "{e}"
    );
    let job = post_job(
        &server.base,
        &[
            ("key", "jobs/x"),
            ("acl", "public-read"),
            ("policy", &future),
        ],
    );
    let e = uploader().upload(&job, &path).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("`acl` is not named by any POST policy condition"),
        "{e}"
    );
    assert!(server.seen().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn bad_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = FaultServer::start(vec![Act::ok()]).await;
    let job = RunnerJobCustomUpload::put(format!("{}/b/k", server.base));
    let e = uploader()
        .upload(&job, dir.path().join("missing.mp4"))
        .await
        .unwrap_err();
    assert!(matches!(e, UploadError::FileNotFound { .. }));
    assert!(e.to_string().contains("missing.mp4"));
    let e = uploader().upload(&job, dir.path()).await.unwrap_err();
    assert!(matches!(e, UploadError::NotAFile { .. }), "{e}");
    // A path that cannot be read (through a regular file: permission bits do not stop root).
    let (plain, _) = file(&dir, "plain", 3);
    let e = uploader()
        .upload(&job, plain.join("inside"))
        .await
        .unwrap_err();
    assert!(matches!(e, UploadError::FileUnreadable { .. }), "{e}");
    assert!(e.to_string().contains("cannot read"), "{e}");
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn a_file_growing_during_the_upload_is_detected_and_never_completed() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = file(&dir, "growing.mp4", 3_000_000);
    let server = FaultServer::start(vec![Act::ok()]).await;
    let job = RunnerJobCustomUpload::put(format!("{}/b/k", server.base));
    let appended = Arc::new(AtomicBool::new(false));
    let (p2, a2) = (path.clone(), Arc::clone(&appended));
    let opts = UploadOptions {
        // The writer (say, a transcoder still running) appends while the upload reads.
        progress: Some(Arc::new(move |_p: Progress| {
            if !a2.swap(true, Ordering::SeqCst) {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new().append(true).open(&p2).unwrap();
                f.write_all(b"more frames").unwrap();
            }
        })),
        ..Default::default()
    };
    let e = uploader()
        .upload_with(&job, &path, &opts)
        .await
        .unwrap_err();
    assert!(matches!(e, UploadError::FileChanged { .. }), "{e}");
    assert!(e.to_string().contains("grew"), "{e}");
    let seen = server.seen();
    assert!(
        seen.iter().all(|r| !r.complete),
        "the server never received a complete body"
    );
    assert!(seen.len() <= 1, "a changing file is not retried");
    let now = std::fs::read(&path).unwrap();
    assert!(
        now.starts_with(&bytes),
        "the source file is not modified by signpost"
    );
}

const MIB5: u64 = 5 * 1024 * 1024;

fn complete_ok() -> Act {
    Act::Answer(
        200,
        vec![],
        "<CompleteMultipartUploadResult><Location>http://h/b/big</Location><Bucket>b</Bucket><Key>big</Key><ETag>\"final-3\"</ETag></CompleteMultipartUploadResult>".into(),
    )
}

#[tokio::test]
async fn multipart_uploads_parts_retries_one_alone_and_completes_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let size = (2 * MIB5 + 1234) as usize;
    let (path, bytes) = file(&dir, "big.mp4", size);
    let fails = Arc::new(AtomicU64::new(0));
    let f2 = Arc::clone(&fails);
    let server = FaultServer::start_routed(Arc::new(move |m: &str, t: &str, _i: usize| {
        if m == "PUT" {
            let n: u64 = t
                .split("partNumber=")
                .nth(1)
                .unwrap()
                .split('&')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            if n == 2 && f2.fetch_add(1, Ordering::SeqCst) < 2 {
                return Act::S3Error(500, "InternalError", "We encountered an internal error.");
            }
            Act::Answer(200, vec![("ETag", format!("\"etag-{n}\""))], String::new())
        } else if m == "POST" {
            complete_ok()
        } else {
            Act::status(204)
        }
    }))
    .await;
    let job = multipart_job(&server.base, 4, MIB5);
    let out = uploader()
        .upload(&job, &path)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.parts, Some(3));
    assert_eq!(out.etag.as_deref(), Some("\"final-3\""));
    let seen = server.seen();
    let puts: Vec<_> = seen
        .iter()
        .filter(|r| r.method == "PUT" && r.complete)
        .collect();
    assert_eq!(puts.len(), 5, "3 parts, part 2 twice more");
    let mut rebuilt = vec![0u8; 0];
    for n in 1..=3 {
        let r = puts
            .iter()
            .rev()
            .find(|r| r.target.contains(&format!("partNumber={n}&")))
            .unwrap();
        assert_eq!(
            r.header("content-length")
                .unwrap()
                .parse::<usize>()
                .unwrap(),
            r.body.len()
        );
        rebuilt.extend_from_slice(&r.body);
    }
    assert!(rebuilt == bytes, "the parts are the file, in order");
    let complete = seen.iter().find(|r| r.method == "POST").unwrap();
    let xml = String::from_utf8(complete.body.clone()).unwrap();
    let p1 = xml
        .find("<PartNumber>1</PartNumber><ETag>&quot;etag-1&quot;</ETag>")
        .unwrap();
    let p3 = xml
        .find("<PartNumber>3</PartNumber><ETag>&quot;etag-3&quot;</ETag>")
        .unwrap();
    assert!(p1 < p3, "{xml}");
    assert!(
        seen.iter().all(|r| r.method != "DELETE"),
        "no abort on success"
    );
}

#[tokio::test]
async fn a_file_upload_sends_content_md5_and_checks_the_etags_it_gets() {
    let dir = tempfile::tempdir().unwrap();
    // A PUT: its body's MD5 sent, the ETag answered compared with it.
    let (path, bytes) = file(&dir, "one.mp4", 300_001);
    let server = FaultServer::start(vec![Act::Md5ETag]).await;
    let job = RunnerJobCustomUpload::put(format!("{}/b/one", server.base));
    let out = uploader().upload(&job, &path).await.unwrap();
    assert_eq!(out.etag, Some(format!("\"{}\"", md5_hex(&bytes))));
    assert_eq!(
        server.seen()[0].header("content-md5"),
        Some(content_md5(&bytes).as_str())
    );
    let server = FaultServer::start(vec![Act::WrongETag]).await;
    let job = RunnerJobCustomUpload::put(format!("{}/b/one", server.base));
    let e = uploader().upload(&job, &path).await.unwrap_err();
    assert!(matches!(e, UploadError::ETagMismatch { .. }), "{e}");

    // Multipart: each part's MD5 sent and its ETag checked, then the object's ETag against the
    // MD5 of the parts' MD5s, right and wrong.
    let (path, bytes) = file(&dir, "big.mp4", (2 * MIB5 + 1234) as usize);
    let right = multipart_etag(&bytes, MIB5 as usize);
    for answered in [
        right.clone(),
        "\"0123456789abcdef0123456789abcdef-3\"".to_owned(),
    ] {
        let etag = answered.clone();
        let server = FaultServer::start_routed(Arc::new(move |m: &str, _t: &str, _| match m {
            "PUT" => Act::Md5ETag,
            "POST" => complete(&etag),
            _ => Act::status(204),
        }))
        .await;
        let job = multipart_job(&server.base, 4, MIB5);
        let result = uploader().upload(&job, &path).await;
        let parts: Vec<_> = server
            .seen()
            .into_iter()
            .filter(|r| r.method == "PUT")
            .collect();
        assert_eq!(parts.len(), 3);
        for p in &parts {
            assert_eq!(
                p.header("content-md5"),
                Some(content_md5(&p.body).as_str()),
                "{}",
                p.target
            );
        }
        if answered == right {
            assert_eq!(result.unwrap().etag, Some(right.clone()));
        } else {
            let e = result.unwrap_err();
            assert!(
                matches!(e, UploadError::MultipartETagMismatch { parts: 3, .. }),
                "{e}"
            );
        }
    }
}

#[tokio::test]
async fn multipart_failures_abort_and_say_which_part() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = file(&dir, "big.mp4", (MIB5 + 10) as usize);
    // Part 2 answers without an ETag.
    let server = FaultServer::start_routed(Arc::new(|m: &str, t: &str, _| match m {
        "PUT" if t.contains("partNumber=2&") => Act::status(200),
        "PUT" => Act::ok(),
        "POST" => complete_ok(),
        _ => Act::status(204),
    }))
    .await;
    let e = uploader()
        .upload(&multipart_job(&server.base, 2, MIB5), &path)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            UploadError::Part {
                part: 2,
                parts: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("no ETag"), "{e}");
    assert!(e.to_string().contains("aborted"), "{e}");
    assert!(
        server
            .seen()
            .iter()
            .any(|r| r.method == "DELETE" && r.target.contains("abort"))
    );
    assert!(
        server.seen().iter().all(|r| r.method != "POST"),
        "never completed"
    );

    // Complete answers 200 with an error document.
    let server = FaultServer::start_routed(Arc::new(|m: &str, _t: &str, _| match m {
        "PUT" => Act::ok(),
        "POST" => Act::Answer(200, vec![], "<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>".into()),
        _ => Act::status(204),
    }))
    .await;
    let e = uploader()
        .upload(&multipart_job(&server.base, 2, MIB5), &path)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("CompleteMultipartUpload failed: InternalError"),
        "{e}"
    );
    assert!(server.seen().iter().any(|r| r.method == "DELETE"));

    // An expired part URL is refused before anything is sent.
    let server = FaultServer::start(vec![Act::ok()]).await;
    let mut job = multipart_job(&server.base, 2, MIB5);
    let past = sigv4_query(OffsetDateTime::now_utc() - time::Duration::hours(3), 3600);
    let part2 = &mut job.multipart.as_mut().unwrap().parts[1];
    *part2 = format!("{}&{past}", part2.as_str()).into();
    let e = uploader().upload(&job, &path).await.unwrap_err();
    assert!(
        matches!(
            e,
            UploadError::Expired {
                what: TargetKind::Part(2),
                ..
            }
        ),
        "{e}"
    );
    assert!(server.seen().is_empty());

    // A file larger than the plan is refused before anything is sent.
    let server = FaultServer::start(vec![Act::ok()]).await;
    let e = uploader()
        .upload(&multipart_job(&server.base, 1, MIB5), &path)
        .await
        .unwrap_err();
    assert!(matches!(e, UploadError::TooLargeForPlan { .. }), "{e}");
    assert!(server.seen().is_empty());
}

#[test]
fn blocking_wrapper_uploads() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(FaultServer::start(vec![Act::ok()]));
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = file(&dir, "a.bin", 5000);
    let up = signpost_upload::blocking::BlockingUploader::new().unwrap();
    let out = up
        .upload(
            &RunnerJobCustomUpload::put(format!("{}/b/k", server.base)),
            &path,
        )
        .unwrap();
    assert_eq!(out.bytes, 5000);
    assert!(server.seen()[0].body == bytes);
}
