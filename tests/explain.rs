//! Refusals explained, as the servers CI runs produce them (s3s-fs, Garage, Ceph), and the
//! measured differences in what they check: the reason signpost sends Content-MD5, which all of
//! them verify, rather than relying on a checksum header some of them ignore.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use signpost_presign::{Endpoint, PresignRequest, Presigner, Validity};
use signpost_tests::TestTarget;
use signpost_upload::{RetryPolicy, RunnerJobCustomUpload, UploadError, UploadOptions, Uploader};
use time::OffsetDateTime;

fn uploader() -> Uploader {
    Uploader::builder()
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn file(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let p = dir.path().join("f.bin");
    std::fs::write(&p, vec![9u8; 10_000]).unwrap();
    p
}

async fn refused(job: &RunnerJobCustomUpload, path: &std::path::Path) -> String {
    let opts = UploadOptions {
        skip_preflight: true,
        ..Default::default()
    };
    match uploader().upload_with(job, path, &opts).await {
        Err(e @ UploadError::Refused { .. }) => e.to_string(),
        Err(e) => panic!("not a refusal: {e}"),
        Ok(out) => panic!("accepted: HTTP {}", out.status),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_url_is_explained_by_the_servers_clock_whatever_its_code() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let validity = Validity::expires_in(Duration::from_secs(60))
        .unwrap()
        .signed_at(OffsetDateTime::now_utc() - time::Duration::hours(1))
        .unwrap();
    let job = t
        .presigner()
        .unwrap()
        .presign(&PresignRequest::put_object(&*t.bucket, &*t.key("x/expired")).validity(validity))
        .unwrap()
        .to_descriptor()
        .unwrap();
    let text = refused(&job, &file(&dir)).await;
    assert!(
        text.contains("by the server's clock"),
        "{}: {text}",
        t.server
    );
    assert!(
        text.contains("ask the server for a new upload target"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_signature_lists_the_likely_causes() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut job = t
        .presigner()
        .unwrap()
        .presign(
            &PresignRequest::put_object(&*t.bucket, &*t.key("x/tampered"))
                .content_type("video/mp4"),
        )
        .unwrap()
        .to_descriptor()
        .unwrap();
    let mut url = job.url.into_string();
    let last = url.pop().unwrap();
    url.push(if last == '0' { '1' } else { '0' });
    job.url = url.into();
    let text = refused(&job, &file(&dir)).await;
    assert!(
        text.contains("likely causes, most likely first: 1) a signed header (content-type)"),
        "{}: {text}",
        t.server
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_for_another_region_is_refused_with_both_regions_or_accepted() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let other = if t.region == "eu-west-1" {
        "us-east-1"
    } else {
        "eu-west-1"
    };
    let job = Presigner::new(
        t.credentials(),
        Endpoint::custom(&t.endpoint, other).unwrap(),
    )
    .presign(&PresignRequest::put_object(&*t.bucket, &*t.key("x/region")))
    .unwrap()
    .to_descriptor()
    .unwrap();
    let opts = UploadOptions {
        skip_preflight: true,
        ..Default::default()
    };
    match uploader().upload_with(&job, file(&dir), &opts).await {
        // Measured: Ceph does not check the region; Garage and the embedded server (like AWS)
        // do.
        Ok(_) => assert!(t.server == "ceph", "{} accepted another region", t.server),
        Err(e) => {
            let text = e.to_string();
            assert!(
                text.contains(&format!(
                    "the URL is signed for region {other}, the bucket is in {}",
                    t.region
                )),
                "{}: {text}",
                t.server
            );
        }
    }
}

/// Measured, and why signpost sends Content-MD5: a wrong unsigned `x-amz-checksum-crc32` is
/// refused by the embedded server (SignatureDoesNotMatch: like AWS, every `x-amz-*` header must
/// be signed) and Garage (InvalidRequest: it must be signed) but stored by Ceph; a wrong
/// Content-MD5 is refused by all three with BadDigest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_md5_is_checked_everywhere_an_unsigned_crc32_is_not() {
    let t = TestTarget::start().await.unwrap();
    let p = t.presigner().unwrap();
    let client = signpost::http::client().unwrap();
    let put = |key: String, header: (&'static str, &'static str)| {
        let url = p
            .presign(&PresignRequest::put_object(&*t.bucket, &*key))
            .unwrap()
            .url()
            .as_str()
            .to_owned();
        client
            .put(url)
            .header(header.0, header.1)
            .body("hello")
            .send()
    };
    // CRC32 of "hello" is NhCmhg==; this is another value.
    let crc_key = t.key("x/crc32");
    let crc = put(crc_key.clone(), ("x-amz-checksum-crc32", "AAAAAA=="))
        .await
        .unwrap();
    let status = crc.status().as_u16();
    let body = crc.text().await.unwrap();
    match t.server.as_str() {
        "ceph" => assert_eq!(status, 200, "Ceph ignores an unsigned checksum: {body}"),
        "s3s-fs" => assert!(
            status == 403 && body.contains("SignatureDoesNotMatch") && body.contains("not signed"),
            "{status} {body}"
        ),
        "garage" => assert!(
            status == 400 && body.contains("InvalidRequest"),
            "{status} {body}"
        ),
        // Not measured here (MinIO, AWS): a refusal must be S3's, naming the checksum or the
        // signature; an acceptance must have stored the body as sent.
        other if status == 200 => {
            let (got, stored) = t.get(&crc_key).await.unwrap();
            assert!(got == 200 && stored == b"hello", "{other}: {got}");
        }
        other => assert!(
            (400..500).contains(&status)
                && [
                    "BadDigest",
                    "InvalidRequest",
                    "SignatureDoesNotMatch",
                    "XAmzContentChecksumMismatch",
                    "AccessDenied"
                ]
                .iter()
                .any(|c| body.contains(&format!("<Code>{c}</Code>"))),
            "{other}: {status} {body}"
        ),
    }
    // MD5 of "hello" is XUFAKrxLKna5cZ2REBfFkg==; this is the MD5 of the empty string.
    let md5 = put(t.key("x/md5"), ("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="))
        .await
        .unwrap();
    assert_eq!(md5.status().as_u16(), 400, "{}", t.server);
    assert!(
        md5.text().await.unwrap().contains("BadDigest"),
        "{}",
        t.server
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_the_presigned_fields_is_explained() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir);
    // What PeerTube hands a runner today for a POST target: the bucket's URL, no form fields.
    let bucket_url = format!("{}/{}", t.endpoint.trim_end_matches('/'), t.bucket);
    let job = RunnerJobCustomUpload::from_json(
        &serde_json::json!({ "url": bucket_url, "method": "POST" }).to_string(),
    )
    .unwrap();
    let err = refused(&job, &path).await;
    eprintln!("{}: {err}", t.server);
    assert!(err.contains("the form has no `key` field"), "{err}");
    assert!(err.contains("signpost presign post"), "{err}");
}
