//! Multipart uploads of a file against a real HTTP server that misbehaves on purpose: parts
//! retried alone, ETags checked, failures aborted and named; and the blocking wrapper.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use signpost_upload::{RunnerJobCustomUpload, TargetKind, UploadError};
use support::{
    Act, FaultServer, complete, content_md5, file, md5_hex, multipart_etag, multipart_job,
    sigv4_query, uploader,
};
use time::OffsetDateTime;

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
                matches!(
                    e,
                    UploadError::Multipart(
                        signpost_upload::MultipartError::MultipartETagMismatch { parts: 3, .. }
                    )
                ),
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
            UploadError::Multipart(signpost_upload::MultipartError::Part {
                part: 2,
                parts: 2,
                ..
            })
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
            UploadError::Preflight(signpost_upload::PreflightError::Expired {
                what: TargetKind::Part(2),
                ..
            })
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
    assert!(
        matches!(
            e,
            UploadError::Preflight(signpost_upload::PreflightError::TooLargeForPlan { .. })
        ),
        "{e}"
    );
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
