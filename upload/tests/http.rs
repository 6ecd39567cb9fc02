//! The uploader against a real HTTP server that misbehaves on purpose.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use signpost_upload::signpost_wire::s3_xml::S3ErrorCode;
use signpost_upload::{Progress, RunnerJobCustomUpload, TargetKind, UploadError, UploadOptions};
use support::{Act, FaultServer, data, file, post_job, sigv4_query, uploader};
use time::OffsetDateTime;

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
            UploadError::Preflight(signpost_upload::PreflightError::Expired {
                what: TargetKind::PostPolicy,
                ..
            })
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
    assert!(matches!(
        e,
        UploadError::Preflight(signpost_upload::PreflightError::FileNotFound { .. })
    ));
    assert!(e.to_string().contains("missing.mp4"));
    let e = uploader().upload(&job, dir.path()).await.unwrap_err();
    assert!(
        matches!(
            e,
            UploadError::Preflight(signpost_upload::PreflightError::NotAFile { .. })
        ),
        "{e}"
    );
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
