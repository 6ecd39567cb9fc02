//! Uploads that are not a file: a stream cut into multipart parts as it arrives, and bytes in
//! memory; each body's MD5 sent and the ETags checked, against a real HTTP server.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use signpost_upload::{RetryPolicy, RunnerJobCustomUpload, UploadError, UploadOptions, Uploader};
use support::{Act, FaultServer, complete, content_md5, multipart_etag, multipart_job};

const MIB5: u64 = 5 * 1024 * 1024;

fn uploader(concurrency: usize) -> Uploader {
    Uploader::builder()
        .retry(RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
        })
        .concurrency(concurrency)
        .build()
        .unwrap()
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test]
async fn a_stream_is_cut_into_parts_each_with_its_md5() {
    let d = data(2 * MIB5 as usize + 1000);
    let etag = multipart_etag(&d, MIB5 as usize);
    let server = FaultServer::start_routed(Arc::new(move |m: &str, _t: &str, _| match m {
        "PUT" => Act::Md5ETag,
        _ => complete(&etag),
    }))
    .await;
    // A reader that yields a little at a time, as a pipe does.
    let (mut w, r) = tokio::io::duplex(64 * 1024);
    let feed = d.clone();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        for c in feed.chunks(100_000) {
            w.write_all(c).await.unwrap();
        }
    });
    let out = uploader(2)
        .upload_stream(
            &multipart_job(&server.base, 4, MIB5),
            r,
            &UploadOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.bytes, d.len() as u64);
    assert_eq!(out.parts, Some(3));
    let seen = server.seen();
    let mut parts: Vec<_> = seen.iter().filter(|r| r.method == "PUT").collect();
    parts.sort_by_key(|r| r.target.clone());
    assert_eq!(parts.len(), 3);
    for (i, r) in parts.iter().enumerate() {
        let expected = &d[i * MIB5 as usize..((i + 1) * MIB5 as usize).min(d.len())];
        assert_eq!(r.body, expected, "part {}", i + 1);
        assert_eq!(
            r.header("content-md5"),
            Some(content_md5(expected).as_str()),
            "Content-MD5 of part {}",
            i + 1
        );
    }
    let xml = String::from_utf8(
        seen.iter()
            .find(|r| r.method == "POST")
            .unwrap()
            .body
            .clone(),
    )
    .unwrap();
    assert!(xml.contains("<PartNumber>3</PartNumber>"), "{xml}");
}

#[tokio::test]
async fn a_part_stored_wrong_is_sent_again_and_a_wrong_object_is_an_error() {
    let d = data(MIB5 as usize + 10);
    let etag = multipart_etag(&d, MIB5 as usize);
    // Part 2's first answer names other bytes (as s3s-fs does when it stores a corrupted part
    // without checking Content-MD5): it is sent again.
    let server = FaultServer::start_routed(Arc::new(move |m: &str, t: &str, i| match m {
        "PUT" if t.contains("partNumber=2&") && i == 1 => Act::WrongETag,
        "PUT" => Act::Md5ETag,
        _ => complete(&etag),
    }))
    .await;
    let out = uploader(1)
        .upload_stream(
            &multipart_job(&server.base, 2, MIB5),
            &d[..],
            &UploadOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.attempts, 2);
    let part2 = server
        .seen()
        .iter()
        .filter(|r| r.target.contains("partNumber=2&"))
        .count();
    assert_eq!(part2, 2, "part 2 sent twice");

    // An object whose ETag is not the parts': never reported as success.
    let server = FaultServer::start_routed(Arc::new(|m: &str, _t: &str, _| match m {
        "PUT" => Act::Md5ETag,
        _ => complete("\"00000000000000000000000000000000-2\""),
    }))
    .await;
    let e = uploader(1)
        .upload_stream(
            &multipart_job(&server.base, 2, MIB5),
            &d[..],
            &UploadOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            UploadError::Multipart(signpost_upload::MultipartError::MultipartETagMismatch {
                parts: 2,
                ..
            })
        ),
        "{e}"
    );
}

/// A reader that fails after `n` bytes.
struct Failing {
    left: usize,
}

impl tokio::io::AsyncRead for Failing {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.left == 0 {
            return std::task::Poll::Ready(Err(std::io::Error::other("the producer died")));
        }
        let n = self.left.min(buf.remaining()).min(65536);
        buf.put_slice(&vec![7u8; n]);
        self.left -= n;
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_failing_or_oversized_stream_aborts_the_upload() {
    let server = FaultServer::start(vec![Act::Md5ETag]).await;
    let e = uploader(2)
        .upload_stream(
            &multipart_job(&server.base, 4, MIB5),
            Failing {
                left: MIB5 as usize + 10,
            },
            &UploadOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("the producer died"), "{e}");
    assert!(e.to_string().contains("aborted"), "{e}");
    assert!(server.seen().iter().any(|r| r.method == "DELETE"));
    assert!(
        server.seen().iter().all(|r| r.method != "POST"),
        "never completed"
    );

    let server = FaultServer::start(vec![Act::Md5ETag]).await;
    let d = data(2 * MIB5 as usize + 1);
    let e = uploader(1)
        .upload_stream(
            &multipart_job(&server.base, 2, MIB5),
            &d[..],
            &UploadOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("multipart target holds 2 parts"),
        "{e}"
    );
    assert!(server.seen().iter().any(|r| r.method == "DELETE"));
}

#[tokio::test]
async fn bytes_go_in_one_put_with_their_md5_and_a_wrong_etag_is_retried_then_refused() {
    let server = FaultServer::start(vec![Act::Md5ETag]).await;
    let job = RunnerJobCustomUpload::put(format!("{}/b/small", server.base));
    let out = uploader(1)
        .upload_bytes(
            &job,
            bytes::Bytes::from_static(b"abc"),
            &UploadOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        out.etag.as_deref(),
        Some("\"900150983cd24fb0d6963f7d28e17f72\"")
    );
    assert_eq!(
        server.seen()[0].header("content-md5"),
        Some("kAFQmDzST7DWlj99KOF/cg==")
    );
    let server = FaultServer::start(vec![Act::WrongETag]).await;
    let job = RunnerJobCustomUpload::put(format!("{}/b/small", server.base));
    let e = uploader(1)
        .upload_bytes(
            &job,
            bytes::Bytes::from_static(b"abc"),
            &UploadOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, UploadError::ETagMismatch { .. }), "{e}");
    assert_eq!(server.seen().len(), 3, "sent again until attempts ran out");
    let e = uploader(1)
        .upload_stream(&job, &b"abc"[..], &UploadOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            UploadError::Preflight(signpost_upload::PreflightError::StreamNeedsMultipart)
        ),
        "{e}"
    );
}

/// Under a bucket's default SSE-KMS the ETags are not MD5s, and the answer says so with
/// `x-amz-server-side-encryption: aws:kms`: the upload is not called damaged. (The stream path
/// had its own CompleteMultipartUpload, which compared the final ETag regardless.)
#[tokio::test]
async fn a_stream_to_a_bucket_encrypted_with_sse_kms_is_not_called_damaged() {
    let d = data(MIB5 as usize + 4321);
    let kms = || ("x-amz-server-side-encryption", "aws:kms".to_owned());
    let server = FaultServer::start_routed(Arc::new(move |m: &str, _t: &str, _| match m {
        // MD5-shaped, and not the part's MD5: what SSE-KMS answers.
        "PUT" => Act::Answer(
            200,
            vec![("ETag", format!("\"{}\"", "ab".repeat(16))), kms()],
            String::new(),
        ),
        _ => Act::Answer(
            200,
            vec![kms()],
            format!(
                "<CompleteMultipartUploadResult><ETag>\"{}-2\"</ETag></CompleteMultipartUploadResult>",
                "cd".repeat(16)
            ),
        ),
    }))
    .await;
    let out = uploader(2)
        .upload_stream(
            &multipart_job(&server.base, 2, MIB5),
            &d[..],
            &UploadOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.parts, Some(2));
    assert_eq!(
        out.etag.as_deref(),
        Some(format!("\"{}-2\"", "cd".repeat(16)).as_str())
    );
    // Without the header the same answers are a mismatch: the check is still made.
    let plain = FaultServer::start_routed(Arc::new(move |m: &str, _t: &str, _| match m {
        "PUT" => Act::Md5ETag,
        _ => complete(&format!("\"{}-2\"", "cd".repeat(16))),
    }))
    .await;
    let e = uploader(2)
        .upload_stream(
            &multipart_job(&plain.base, 2, MIB5),
            &d[..],
            &UploadOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            UploadError::Multipart(signpost_upload::MultipartError::MultipartETagMismatch {
                parts: 2,
                ..
            })
        ),
        "{e}"
    );
}

/// A stream takes the same options as a file: progress is reported, Content-MD5 can be turned
/// off (the ETags are still checked), and what cannot apply to a stream is refused by name
/// before anything is sent.
#[tokio::test]
async fn a_stream_takes_the_upload_options() {
    let d = data(MIB5 as usize + 10);
    let etag = multipart_etag(&d, MIB5 as usize);
    let server = FaultServer::start_routed(Arc::new(move |m: &str, _t: &str, _| match m {
        "PUT" => Act::Md5ETag,
        _ => complete(&etag),
    }))
    .await;
    let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let seen_sent = Arc::clone(&sent);
    let opts = UploadOptions {
        no_content_md5: true,
        progress: Some(Arc::new(move |p: signpost_upload::Progress| {
            seen_sent.fetch_max(p.bytes_sent, std::sync::atomic::Ordering::SeqCst);
        })),
        ..UploadOptions::default()
    };
    let out = uploader(2)
        .upload_stream(&multipart_job(&server.base, 2, MIB5), &d[..], &opts)
        .await
        .unwrap();
    assert_eq!(out.parts, Some(2));
    assert_eq!(
        sent.load(std::sync::atomic::Ordering::SeqCst),
        d.len() as u64
    );
    let puts: Vec<_> = server
        .seen()
        .into_iter()
        .filter(|s| s.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 2);
    assert!(
        puts.iter().all(|p| p.header("content-md5").is_none()),
        "{puts:?}"
    );

    // A part answered with another body's MD5 is still caught without Content-MD5.
    let wrong = FaultServer::start(vec![Act::WrongETag; 8]).await;
    let e = uploader(2)
        .upload_stream(&multipart_job(&wrong.base, 2, MIB5), &d[..], &opts)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("stored other bytes"), "{e}");

    for (opts, option) in [
        (
            UploadOptions {
                on_failure: signpost_upload::OnFailure::Keep,
                ..UploadOptions::default()
            },
            signpost_upload::UploadOption::KeepOnFailure,
        ),
        (
            UploadOptions {
                content_type: Some("video/mp4".into()),
                ..UploadOptions::default()
            },
            signpost_upload::UploadOption::ContentType,
        ),
        (
            UploadOptions {
                file_name: Some("a.mp4".into()),
                ..UploadOptions::default()
            },
            signpost_upload::UploadOption::FileName,
        ),
    ] {
        let untouched = FaultServer::start(vec![]).await;
        let e = uploader(2)
            .upload_stream(&multipart_job(&untouched.base, 2, MIB5), &d[..], &opts)
            .await
            .unwrap_err();
        assert!(
            matches!(e, UploadError::Preflight(signpost_upload::PreflightError::OptionNotApplicable { option: o, .. }) if o == option),
            "{e}"
        );
        assert!(
            untouched.seen().is_empty(),
            "nothing sent: {:?}",
            untouched.seen()
        );
    }
}

/// Signs `{base}/b/big?partNumber=N&uploadId=U1` and records which parts it was asked for; part
/// `fail` is refused.
struct CountingSigner {
    base: String,
    asked: std::sync::Mutex<Vec<u32>>,
    fail: Option<u32>,
}

impl signpost_upload::PartSigner for CountingSigner {
    fn sign_part(&self, number: u32) -> signpost_upload::PartUrlFuture<'_> {
        self.asked.lock().unwrap().push(number);
        let url = format!("{}/b/big?partNumber={number}&uploadId=U1", self.base);
        let fail = self.fail == Some(number);
        Box::pin(async move {
            if fail {
                return Err("the signer is down".into());
            }
            Ok(url.into())
        })
    }
}

/// A stream whose descriptor lists one part URL and whose signer signs the rest: the signer is
/// asked for exactly the parts the stream reaches (before, the gateway signed every part its size
/// limit allowed, 3,200 by default, for any stream past one part), the bytes arrive whole, a
/// stream longer than `max_parts` is refused and aborted, and a signer that fails aborts too.
#[tokio::test]
async fn a_signer_is_asked_only_for_the_parts_a_stream_reaches() {
    let d = data(2 * MIB5 as usize + 1000);
    let etag = multipart_etag(&d, MIB5 as usize);
    let server = FaultServer::start_routed(Arc::new(move |m: &str, _t: &str, _| match m {
        "PUT" => Act::Md5ETag,
        "DELETE" => Act::status(204),
        _ => complete(&etag),
    }))
    .await;
    let signer = |fail| CountingSigner {
        base: server.base.clone(),
        asked: Default::default(),
        fail,
    };
    let job = multipart_job(&server.base, 1, MIB5);
    let opts = UploadOptions::default();

    let s = signer(None);
    let out = uploader(2)
        .upload_stream_signed(&job, &s, 3_200, bytes::Bytes::new(), &d[..], &opts)
        .await
        .unwrap();
    assert_eq!(out.parts, Some(3));
    assert_eq!(*s.asked.lock().unwrap(), vec![2, 3], "part 1 is listed");
    let mut parts: Vec<_> = server
        .seen()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    parts.sort_by_key(|r| r.target.clone());
    let sent: Vec<u8> = parts.iter().flat_map(|r| r.body.clone()).collect();
    assert_eq!(sent, d, "every byte, in order");

    // Three parts' worth of data, two parts allowed.
    let s = signer(None);
    let e = uploader(2)
        .upload_stream_signed(&job, &s, 2, bytes::Bytes::new(), &d[..], &opts)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("multipart target holds 2 parts"),
        "{e}"
    );
    assert!(e.to_string().contains("aborted"), "{e}");
    assert_eq!(
        *s.asked.lock().unwrap(),
        vec![2],
        "nothing signed past the limit"
    );

    // The signer fails on part 3: the upload is aborted and says which part.
    let before = server
        .seen()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count();
    let s = signer(Some(3));
    let e = uploader(2)
        .upload_stream_signed(&job, &s, 3_200, bytes::Bytes::new(), &d[..], &opts)
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("part 3's URL could not be signed: the signer is down"),
        "{text}"
    );
    assert!(text.contains("aborted"), "{text}");
    let after = server
        .seen()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count();
    assert_eq!(after, before + 1, "one AbortMultipartUpload");
}
