//! The gateway leaves nothing upstream: a multipart upload it could not abort when the upstream
//! failed is aborted once the upstream is back, and the uploads of a gateway that was killed are
//! aborted by another gateway of the same upstream, while a live gateway's slow upload survives
//! every sweep. `signpost serve` (upstream) and `signpost gateway` run as processes; the
//! gateways journal with `--orphan-after 3` (heartbeats every 0.5 s, sweeps every second).

#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use signpost_presign::{Credentials, Endpoint, PresignRequest, Presigner, S3Operation};
use signpost_tests::free_port;
use signpost_tests::raw;
use signpost_tests::receiver::Process;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const AK: &str = "orphans-access";
const SK: &str = "orphans-secret-0123456789-abcdefghijklmn";
const BUCKET: &str = "orphans";
const MIB: usize = 1 << 20;

fn env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", AK.into()),
        ("AWS_SECRET_ACCESS_KEY", SK.into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
}

async fn serve(port: u16, data: &Path) -> Process {
    let args = [
        "serve".to_owned(),
        "--addr".into(),
        format!("127.0.0.1:{port}"),
        "--bucket".into(),
        BUCKET.into(),
        "--data".into(),
        data.display().to_string(),
    ];
    Process::start(&args, &env(), None, "endpoint:")
        .await
        .unwrap()
}

async fn gateway(upstream: &str, extra: &[&str]) -> Process {
    let mut args: Vec<String> = [
        "gateway",
        "--addr",
        "127.0.0.1:0",
        "--endpoint",
        upstream,
        "--part-size",
        "5MiB",
        "--max-size",
        "1GiB",
        "--orphan-after",
        "3",
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let mut env = env();
    env.push(("AWS_ENDPOINT_URL", upstream.to_owned()));
    Process::start(&args, &env, None, "address:").await.unwrap()
}

fn presigner(endpoint: &str) -> Presigner {
    Presigner::new(
        Credentials::new(AK, SK),
        Endpoint::custom(endpoint, "us-east-1").unwrap(),
    )
}

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("orphans/{name}-{nanos}.bin")
}

/// Polls `done` every 100 ms until it holds or `secs` pass.
async fn until<F: Future<Output = bool>>(secs: u64, mut done: impl FnMut() -> F) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    done().await
}

fn client() -> reqwest::Client {
    signpost_serve::client::client_with(None).unwrap()
}

async fn get(upstream: &str, req: &PresignRequest) -> Option<(u16, String)> {
    let signed = presigner(upstream).presign(req).ok()?;
    let r = client().get(signed.url().as_str()).send().await.ok()?;
    let status = r.status().as_u16();
    Some((status, r.text().await.ok()?))
}

/// How many multipart uploads the upstream lists in the bucket (`None`: it did not answer).
async fn uploads(upstream: &str) -> Option<usize> {
    let (status, body) = get(
        upstream,
        &PresignRequest::bucket(S3Operation::ListMultipartUploads, BUCKET),
    )
    .await?;
    (status == 200).then(|| body.matches("<UploadId>").count())
}

/// The keys of the gateways' journal in the bucket.
async fn journal(upstream: &str) -> Option<Vec<String>> {
    let (status, body) = get(
        upstream,
        &PresignRequest::bucket(S3Operation::ListObjectsV2, BUCKET)
            .query("prefix", ".signpost-gateway/"),
    )
    .await?;
    let list: signpost_wire::s3_xml::ListBucketResult = signpost_wire::s3_xml::parse(&body)
        .ok()
        .filter(|_| status == 200)?;
    Some(list.contents.into_iter().map(|o| o.key).collect())
}

/// A PUT of `len` bytes to `key` through `gateway`, its head written and no byte of its body.
async fn start_put(gateway: &str, key: &str, len: usize) -> TcpStream {
    let url = presigner(gateway)
        .presign(&PresignRequest::put_object(BUCKET, key))
        .unwrap();
    let rest = url.url().as_str().split_once("://").unwrap().1;
    let target = &rest[rest.find('/').unwrap()..];
    let headers = [
        (
            "Host".to_owned(),
            gateway.trim_start_matches("http://").to_owned(),
        ),
        ("Content-Length".to_owned(), len.to_string()),
        ("Connection".to_owned(), "close".to_owned()),
    ];
    raw::open(gateway, "PUT", target, &headers).await.unwrap()
}

#[tokio::test]
async fn an_upload_the_gateway_could_not_abort_is_aborted_once_the_upstream_is_back() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let up = format!("http://127.0.0.1:{port}");
    let mut upstream = serve(port, data.path()).await;
    let gw = gateway(&up, &[]).await;
    let body = signpost_tests::random_bytes(12 * MIB as u64).unwrap();
    let mut conn = start_put(&gw.endpoint, &unique("recovers"), 40 * MIB).await;
    conn.write_all(&body).await.unwrap();
    assert!(
        until(30, || async { uploads(&up).await == Some(1) }).await,
        "the multipart upload was not started upstream"
    );
    assert!(
        until(10, || async {
            journal(&up).await.is_some_and(|j| j.len() == 2)
        })
        .await,
        "the upload's marker and its gateway's heartbeat are not journaled: {:?}",
        journal(&up).await
    );

    // The upstream dies, then the client: the gateway's abort cannot reach the upstream.
    upstream.kill().await;
    drop(conn);
    assert!(
        until(60, || async {
            gw.metric("signpost_gateway_uploads_in_flight").await == Some(0)
        })
        .await,
        "the gateway still has the upload in flight: {}",
        gw.log()
    );
    assert!(
        gw.log().contains("stays journaled"),
        "the failed clean-up is not logged: {}",
        gw.log()
    );

    // Back on the same address and data: the parts are still there until the gateway's sweep.
    let _upstream = serve(port, data.path()).await;
    let back = Instant::now();
    assert!(
        until(60, || async { uploads(&up).await == Some(0) }).await,
        "ListMultipartUploads still lists the upload a minute after the upstream came back"
    );
    assert!(
        back.elapsed() < Duration::from_secs(60),
        "the clean-up took {:?}",
        back.elapsed()
    );
    let left = journal(&up).await.unwrap();
    assert!(
        left.iter().all(|k| k.contains("/alive/")),
        "markers left: {left:?}"
    );
    assert_eq!(
        gw.metric("signpost_gateway_orphans_aborted_total").await,
        Some(1)
    );
}

#[tokio::test]
async fn a_killed_gateways_uploads_are_aborted_by_another_and_a_live_ones_are_not() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let up = format!("http://127.0.0.1:{port}");
    let _upstream = serve(port, data.path()).await;
    let mut a = gateway(&up, &[]).await;
    let b = gateway(&up, &["--sweep-bucket", BUCKET]).await;

    // No client writes into the journal.
    let forged = ".signpost-gateway/alive/forged";
    let mut conn = start_put(&a.endpoint, forged, 1).await;
    conn.write_all(b"x").await.unwrap();
    let r = raw::answer(conn).await.unwrap();
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("InvalidRequest"), "{}", r.body);

    // A slow upload through A lasts three times the orphan age: A's heartbeat keeps it alive
    // through every one of B's sweeps, and it is stored whole.
    let key = unique("live");
    let body = signpost_tests::random_bytes(20 * MIB as u64).unwrap();
    let mut conn = start_put(&a.endpoint, &key, body.len()).await;
    for chunk in body.chunks(MIB) {
        conn.write_all(chunk).await.unwrap();
        tokio::time::sleep(Duration::from_millis(450)).await;
    }
    let r = raw::answer(conn).await.unwrap();
    assert_eq!(r.status, 204, "{}", r.body);
    let url = presigner(&up)
        .presign(&PresignRequest::get_object(BUCKET, &key))
        .unwrap();
    let got = client().get(url.url().as_str()).send().await.unwrap();
    assert_eq!(got.status(), 200);
    let stored = got.bytes().await.unwrap();
    assert!(stored == body, "the slow upload was not stored whole");
    assert_eq!(
        b.metric("signpost_gateway_orphans_aborted_total").await,
        Some(0),
        "B aborted a live gateway's upload: {}",
        b.log()
    );

    // An upload through A when A is killed: B aborts it once A's heartbeat is stale.
    let mut conn = start_put(&a.endpoint, &unique("killed"), 40 * MIB).await;
    let part = signpost_tests::random_bytes(12 * MIB as u64).unwrap();
    conn.write_all(&part).await.unwrap();
    assert!(
        until(30, || async { uploads(&up).await == Some(1) }).await,
        "the multipart upload was not started upstream"
    );
    a.kill().await;
    let killed = Instant::now();
    assert!(
        until(60, || async { uploads(&up).await == Some(0) }).await,
        "the killed gateway's upload is still listed a minute later: {}",
        b.log()
    );
    assert!(
        killed.elapsed() >= Duration::from_secs(1),
        "B aborted after {:?}, before A's heartbeat could be stale",
        killed.elapsed()
    );
    assert!(
        until(10, || async {
            journal(&up).await.is_some_and(|j| j.is_empty())
        })
        .await,
        "the journal still holds {:?}",
        journal(&up).await
    );
    assert_eq!(
        b.metric("signpost_gateway_orphans_aborted_total").await,
        Some(1)
    );
    assert!(b.log().contains("left unfinished"), "{}", b.log());
    drop(conn);
}
