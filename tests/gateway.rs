//! `signpost gateway` in front of a real S3 server (the embedded one, or SIGNPOST_TEST_ENDPOINT):
//! uploads as S3 clients and as the stock PeerTube runner send them, and everything the gateway
//! must refuse without storing a byte. The stock runner's own code drives it in
//! tests/peertube/run.sh.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sha2::{Digest, Sha256};
use signpost_presign::{Endpoint, PresignRequest, Presigner, Validity};
use signpost_serve::gateway::{Gateway, GatewayOptions};
use signpost_tests::{TestTarget, raw};
use signpost_upload::{RunnerJobCustomUpload, Uploader};

const MIB: u64 = 1 << 20;

async fn gateway(t: &TestTarget, max_object_size: u64, max_uploads: usize) -> Gateway {
    let mut limits = signpost_serve::Limits::default();
    limits.body_timeout = Duration::from_secs(5);
    Gateway::start(GatewayOptions {
        max_object_size,
        max_uploads,
        part_size: 5 * MIB,
        read_timeout: Duration::from_secs(600),
        limits,
        ..GatewayOptions::new(
            "127.0.0.1:0".parse().unwrap(),
            std::sync::Arc::new(signpost_presign::Presigner::new(
                t.credentials(),
                Endpoint::custom(&t.endpoint, &t.region).unwrap(),
            )),
            t.credentials(),
        )
    })
    .await
    .unwrap()
}

/// A URL signed for the gateway, as a job server makes it.
fn signed_for(g: &Gateway, t: &TestTarget, key: &str, validity: Validity) -> String {
    Presigner::new(
        t.credentials(),
        Endpoint::custom(&g.endpoint, &t.region).unwrap(),
    )
    .presign(&PresignRequest::put_object(&*t.bucket, key).validity(validity))
    .unwrap()
    .url()
    .as_str()
    .to_owned()
}

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| ((i * 131) as u8).wrapping_add(seed))
        .collect()
}

async fn stored(t: &TestTarget, key: &str) -> Option<Vec<u8>> {
    let (status, body) = t.get(key).await.unwrap();
    (status == 200).then_some(body)
}

/// The query of `url` rebuilt the way the stock runner rebuilds it (`URLSearchParams`: spaces
/// as `+`, `~` as `%7E`).
fn as_url_search_params(url: &str) -> String {
    let (base, query) = url.split_once('?').unwrap();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let rebuilt = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{base}?{rebuilt}")
}

/// What the stock runner sends: the file as the one part `file` of a form, PUT or POST.
async fn like_the_runner(method: reqwest::Method, url: &str, file: Vec<u8>) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(file).file_name("out.mp4"),
    );
    signpost::http::client()
        .unwrap()
        .request(method, url)
        .header("Accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_clients_and_the_runner_shape_store_the_file_itself() {
    let t = TestTarget::start().await.unwrap();
    let g = gateway(&t, 1 << 30, 8).await;
    let up = Uploader::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // An S3 client's raw PUT, small (one PUT upstream) and over a part (multipart upstream).
    for (n, size) in [(1, 300_017), (2, 12 * MIB as usize + 7)] {
        let key = t.key(&format!("gw/raw{n}.bin"));
        let body = data(size, n);
        let path = dir.path().join(format!("raw{n}.bin"));
        std::fs::write(&path, &body).unwrap();
        let job = RunnerJobCustomUpload::put(signed_for(&g, &t, &key, Validity::default()));
        let out = up.upload(&job, &path).await.unwrap();
        assert_eq!(out.status, 204);
        assert_eq!(stored(&t, &key).await.unwrap(), body, "{key}");
    }
    // The stock runner's shape: a multipart/form-data envelope, PUT and POST, a key with a
    // space, a plus and a tilde, the query rebuilt by URLSearchParams.
    for (n, method) in [(3, reqwest::Method::PUT), (4, reqwest::Method::POST)] {
        let key = t.key(&format!("gw/a b+c~d {n}.mp4"));
        let body = data(7 * MIB as usize + 3, n);
        let url = as_url_search_params(&signed_for(&g, &t, &key, Validity::default()));
        let resp = like_the_runner(method, &url, body.clone()).await;
        assert_eq!(resp.status().as_u16(), 204, "{:?}", resp.text().await);
        let back = stored(&t, &key).await.unwrap();
        assert_eq!(back.len(), body.len(), "the file, not the envelope");
        assert_eq!(Sha256::digest(&back), Sha256::digest(&body));
    }
}

/// A body of unknown length (chunked, no Content-Length) over two parts, under a limit that
/// allows 205: stored whole, each part's URL signed as the upload reaches it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_of_unknown_length_is_stored_in_the_parts_it_needs() {
    let t = TestTarget::start().await.unwrap();
    let g = gateway(&t, 1 << 30, 8).await;
    let key = t.key("gw/chunked.bin");
    let body = data(12 * MIB as usize + 7, 9);
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = body
        .chunks(256 * 1024)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let resp = signpost::http::client()
        .unwrap()
        .put(signed_for(&g, &t, &key, Validity::default()))
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204, "{:?}", resp.text().await);
    let back = stored(&t, &key).await.unwrap();
    assert_eq!(Sha256::digest(&back), Sha256::digest(&body));
    assert_eq!(
        upstream_parts(&t, &key).await,
        None,
        "completed, not left open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_urls_are_refused_before_anything_is_stored() {
    let t = TestTarget::start().await.unwrap();
    let g = gateway(&t, 1 << 30, 8).await;
    let key = t.key("gw/refused.bin");
    let good = signed_for(&g, &t, &key, Validity::default());
    let mut tampered = good.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    let expired = signed_for(
        &g,
        &t,
        &key,
        Validity::expires_in(Duration::from_secs(60))
            .unwrap()
            .signed_at(time::OffsetDateTime::now_utc() - time::Duration::hours(1))
            .unwrap(),
    );
    let other_creds = Presigner::new(
        signpost_presign::Credentials::new(&t.access_key, "not-the-secret"),
        Endpoint::custom(&g.endpoint, &t.region).unwrap(),
    )
    .presign(&PresignRequest::put_object(&*t.bucket, &*key))
    .unwrap();
    for (name, url, code) in [
        ("tampered", tampered, "SignatureDoesNotMatch"),
        ("expired", expired, "AccessDenied"),
        (
            "other secret",
            other_creds.url().as_str().to_owned(),
            "SignatureDoesNotMatch",
        ),
    ] {
        let resp = like_the_runner(reqwest::Method::PUT, &url, data(1000, 1)).await;
        assert_eq!(resp.status().as_u16(), 403, "{name}");
        assert!(resp.text().await.unwrap().contains(code), "{name}");
    }
    assert!(stored(&t, &key).await.is_none(), "nothing stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_cut_short_or_too_large_or_damaged_stores_nothing() {
    let t = TestTarget::start().await.unwrap();
    let g = gateway(&t, 20 * MIB, 8).await;
    let host = g.endpoint.trim_start_matches("http://").to_owned();
    let target = |url: &str| url.split_once(&host).unwrap().1.to_owned();

    // Content-Length announces 15 MiB; the client sends 11 MiB, waits until two parts are
    // upstream, and hangs up mid-way.
    let key = t.key("gw/cut.bin");
    let url = signed_for(&g, &t, &key, Validity::default());
    let sent = data(11 * MIB as usize, 3);
    let headers = vec![
        ("Host".to_owned(), host.clone()),
        ("Content-Length".to_owned(), (15 * MIB).to_string()),
    ];
    let mut conn = raw::open(&g.endpoint, "PUT", &target(&url), &headers)
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut conn, &sent)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let parts = upstream_parts(&t, &key).await;
        if parts == Some(2) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "two parts were not upstream within 30 s: {parts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(conn);
    finished(&g, 1).await;
    assert!(
        stored(&t, &key).await.is_none(),
        "a cut body is never an object"
    );
    assert_no_uploads_left(&t, &key).await;

    // Over --max-size: refused, nothing stored.
    let key = t.key("gw/large.bin");
    let url = signed_for(&g, &t, &key, Validity::default());
    let resp = like_the_runner(reqwest::Method::PUT, &url, data(21 * MIB as usize, 4)).await;
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.text().await.unwrap().contains("EntityTooLarge"));
    finished(&g, 2).await;
    assert!(stored(&t, &key).await.is_none());
    assert_no_uploads_left(&t, &key).await;

    // A raw PUT whose Content-MD5 is not its body's.
    let key = t.key("gw/digest.bin");
    let url = signed_for(&g, &t, &key, Validity::default());
    let resp = signpost::http::client()
        .unwrap()
        .put(&url)
        .header("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==")
        .body(data(6 * MIB as usize, 5))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.text().await.unwrap().contains("BadDigest"));
    finished(&g, 3).await;
    assert!(stored(&t, &key).await.is_none());
    assert_no_uploads_left(&t, &key).await;
}

/// Waits until the gateway has finished with `n` requests (its clean-up upstream included), at
/// most 40 s: longer than the 30 s the uploader lets parts in flight settle before an abort.
async fn finished(g: &Gateway, n: u64) {
    until(
        40,
        || g.requests_finished() >= n,
        || {
            format!(
                "the gateway finished {} of {n} requests",
                g.requests_finished()
            )
        },
    )
    .await
}

/// Polls `done` until it holds, at most `secs`; past that, fails with `what` went wrong.
async fn until(secs: u64, done: impl Fn() -> bool, what: impl Fn() -> String) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} (waited {secs} s)",
            what()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// How many parts the one multipart upload upstream under `key` holds (`None`: no such upload,
/// or the server did not answer).
async fn upstream_parts(t: &TestTarget, key: &str) -> Option<usize> {
    let (_, list) = t.list_uploads(key).await.ok()?;
    let id = list
        .split("<UploadId>")
        .nth(1)?
        .split("</UploadId>")
        .next()?;
    let (_, parts) = t
        .send_get(&PresignRequest::list_parts(&*t.bucket, key, id))
        .await
        .ok()?;
    Some(
        String::from_utf8_lossy(&parts)
            .matches("<PartNumber>")
            .count(),
    )
}

/// No multipart upload of `key` remains, where the server can list them (where it cannot, the
/// embedded one's data directory is looked at). Only `key` is listed: other tests of this file run at the
/// same time in the same bucket, and their uploads in progress are not this test's leftovers.
async fn assert_no_uploads_left(t: &TestTarget, key: &str) {
    let (status, body) = t.list_uploads(key).await.unwrap();
    if status == 200 {
        assert!(!body.contains("<UploadId>"), "{body}");
        return;
    }
    let server = t
        .embedded
        .as_ref()
        .expect("only s3s-fs cannot list uploads");
    let leftovers: Vec<_> = std::fs::read_dir(&server.data_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".upload"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_uploads_the_gateway_answers_slow_down() {
    let t = TestTarget::start().await.unwrap();
    let g = gateway(&t, 1 << 30, 1).await;
    // Its Debug output shows its state, the verifying and upstream credentials among it: the
    // access key id, never the secret.
    let debug = format!("{g:?}");
    assert!(debug.contains(&t.access_key), "the state is shown");
    assert!(
        !debug.contains(&t.secret_key),
        "no secret in the gateway's Debug output"
    );
    let host = g.endpoint.trim_start_matches("http://").to_owned();
    let key = t.key("gw/slow.bin");
    let url = signed_for(&g, &t, &key, Validity::default());
    let target = url.split_once(&host).unwrap().1.to_owned();
    // One upload holds the only slot: it announces more than it sends, then waits.
    let endpoint = g.endpoint.clone();
    let headers = vec![
        ("Host".to_owned(), host.clone()),
        ("Content-Length".to_owned(), "1000".to_owned()),
    ];
    let holder = tokio::spawn(async move {
        raw::send_and_wait(
            &endpoint,
            "PUT",
            &target,
            &headers,
            b"partial",
            // Longer than the test: the slot is released by the test's abort below, or by the
            // gateway's 5 s idle timeout, never by this client first.
            Duration::from_secs(60),
        )
        .await
    });
    // Wait until the gateway has admitted it, not for a fixed time that a loaded machine may
    // exceed.
    until(
        30,
        || g.uploads_in_flight() >= 1,
        || "the first upload was never admitted".into(),
    )
    .await;
    assert_eq!(g.uploads_in_flight(), 1, "the one slot is held");
    let second = t.key("gw/second.bin");
    let other = signed_for(&g, &t, &second, Validity::default());
    let resp = like_the_runner(reqwest::Method::PUT, &other, data(100, 1)).await;
    assert_eq!(resp.status().as_u16(), 503);
    assert!(resp.text().await.unwrap().contains("SlowDown"));
    // The client that holds the slot goes away: the slot is free again.
    holder.abort();
    until(
        30,
        || g.uploads_in_flight() == 0,
        || "a client that left still holds its slot".into(),
    )
    .await;
    let resp = like_the_runner(reqwest::Method::PUT, &other, data(100, 1)).await;
    assert_eq!(
        resp.status().as_u16(),
        204,
        "the freed slot takes the next upload"
    );
    assert_eq!(stored(&t, &second).await, Some(data(100, 1)));
}
