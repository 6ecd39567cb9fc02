//! Keys users actually write (spaces, `+`, `~`, `%`, `=`, `&`, `?`, `#`, unicode, `//`, a
//! leading `/`) reach a real server as exactly that key: uploaded with a presigned PUT, listed
//! by the server under that name, and read back byte for byte with a presigned GET. The
//! embedded server stores keys as files, so it refuses the two a file system would merge with
//! other keys (`//`, a leading `/`) with 400, naming the rule.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use signpost_presign::{PresignRequest, Validity};
use signpost_tests::TestTarget;
use signpost_upload::Uploader;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awkward_keys_round_trip_as_themselves() {
    let t = TestTarget::start().await.unwrap();
    let p = t.presigner().unwrap();
    let up = Uploader::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = t.key("keys");
    let names = [
        "with space.mp4",
        "plus+sign.mp4",
        "tilde~.mp4",
        "percent%20literal.mp4",
        "equals=and&amp.mp4",
        "question?mark.mp4",
        "hash#tag.mp4",
        "unicodé/日本語/🎬.mp4",
        "quote'paren(1).mp4",
        "semi;colon:comma,at@.mp4",
        "dir/sub/file.mp4",
        "double//slash.mp4",
    ];
    for (i, name) in names.iter().enumerate() {
        let key = format!("{base}/{name}");
        let path = dir.path().join(format!("f{i}"));
        let body = format!("object {i}: {key}").into_bytes();
        std::fs::write(&path, &body).unwrap();
        let put = p
            .presign(
                &PresignRequest::put_object(&*t.bucket, &*key)
                    .validity(Validity::expires_in(Duration::from_secs(600)).unwrap()),
            )
            .unwrap();
        if t.embedded.is_some() && name.contains("//") {
            let e = up
                .upload(&put.to_descriptor().unwrap(), &path)
                .await
                .unwrap_err();
            assert_eq!(e.status(), Some(400), "{e}");
            assert!(e.to_string().contains("an empty segment"), "{e}");
            // Not under the key a file system would have made of it either.
            let alias = key.replace("//", "/");
            assert_eq!(t.get(&alias).await.unwrap().0, 404, "{alias:?} was stored");
            continue;
        }
        let out = up
            .upload(&put.to_descriptor().unwrap(), &path)
            .await
            .unwrap_or_else(|e| panic!("{key:?}: {e}"));
        assert_eq!(out.status, 200, "{key:?}");
        let (status, back) = t.get(&key).await.unwrap();
        assert_eq!(status, 200, "{key:?}");
        assert_eq!(back, body, "{key:?}");
        if let Some(server) = &t.embedded {
            // The server stored it under exactly that key.
            let on_disk = server.data_dir.join(&t.bucket).join(&key);
            assert_eq!(
                std::fs::read(&on_disk).unwrap(),
                body,
                "{key:?} at {}",
                on_disk.display()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_for_one_key_does_not_open_another() {
    let t = TestTarget::start().await.unwrap();
    let p = t.presigner().unwrap();
    let up = Uploader::builder()
        .retry(signpost_upload::RetryPolicy::none())
        .build()
        .unwrap();
    let key = t.key("a b.mp4");
    let put = p
        .presign(&PresignRequest::put_object(&*t.bucket, &*key))
        .unwrap();
    // The same signature on the key spelled with '+' for the space: another key, refused.
    let mut job = put.to_descriptor().unwrap();
    job.url = job.url.replace("a%20b.mp4", "a+b.mp4").into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, b"x").unwrap();
    let e = up.upload(&job, &path).await.unwrap_err();
    assert_eq!(e.status(), Some(403), "{e}");
}

/// A key with a leading `/` (the path is `/bucket//key`): the server must accept the signature.
/// The embedded server does not store such a key (it maps keys to file paths) and says so with
/// 400 after authentication, so against it the proof is that the genuine URL passes
/// authentication while the same URL with one signature digit changed is refused with 403.
/// Servers that store it round-trip it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leading_slash_key_is_signed_as_s3_expects() {
    let t = TestTarget::start().await.unwrap();
    let p = t.presigner().unwrap();
    let up = Uploader::builder()
        .retry(signpost_upload::RetryPolicy::none())
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, b"leading").unwrap();
    let key = format!("/{}", t.key("leading-slash.mp4"));
    let put = p
        .presign(&PresignRequest::put_object(&*t.bucket, &*key))
        .unwrap();
    assert!(
        put.url().contains(&format!("/{}//it/", t.bucket)),
        "{}",
        put.url()
    );
    let mut tampered = put.to_descriptor().unwrap();
    let mut url = tampered.url.into_string();
    let last = url.pop().unwrap();
    url.push(if last == '0' { '1' } else { '0' });
    tampered.url = url.into();
    let refused = up.upload(&tampered, &path).await.unwrap_err();
    assert_eq!(refused.status(), Some(403), "{refused}");
    match up.upload(&put.to_descriptor().unwrap(), &path).await {
        Ok(out) => {
            assert_eq!(out.status, 200);
            let (status, back) = t.get(&key).await.unwrap();
            assert_eq!(status, 200);
            assert_eq!(back, b"leading");
        }
        Err(e) => {
            assert!(
                t.embedded.is_some(),
                "only the embedded server is known not to store it: {e}"
            );
            assert_eq!(e.status(), Some(400), "authentication must pass: {e}");
            assert!(e.to_string().contains("an empty segment"), "{e}");
        }
    }
}
