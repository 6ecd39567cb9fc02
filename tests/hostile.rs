//! The receivers as a stranger meets them: `signpost serve` and `signpost gateway` run as
//! processes with short timeouts, and every case of the receivers issue is sent to them. A
//! case fails on memory past its bound, an object outside its bucket, a panic or a dead
//! process, a connection open past its timeout, a 5xx for a client's mistake, or an upstream
//! address in an answer.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use signpost_presign::{Credentials, Endpoint, PresignRequest, Presigner, S3Operation};
use signpost_tests::receiver::Process;
use signpost_tests::{raw, sigv4_method};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const AK: &str = "hostile-access";
const SK: &str = "hostile-secret-0123456789-abcdefghijklmnop";
const BUCKET: &str = "hostile";
const OTHER: &str = "other";
/// Timeouts of the receivers under test, seconds.
const TIMEOUT: u64 = 2;

fn limits() -> Vec<String> {
    [
        "--header-timeout",
        "2",
        "--body-timeout",
        "2",
        "--send-timeout",
        "2",
        "--drain-timeout",
        "2",
    ]
    .map(String::from)
    .to_vec()
}

fn env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", AK.into()),
        ("AWS_SECRET_ACCESS_KEY", SK.into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
}

/// `signpost serve` with two buckets in `data`.
async fn serve(data: &Path, nofile: Option<u32>) -> Process {
    let mut args: Vec<String> = [
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--bucket",
        BUCKET,
        "--bucket",
        OTHER,
        "--data",
    ]
    .map(String::from)
    .to_vec();
    args.push(data.display().to_string());
    args.extend(limits());
    Process::start(&args, &env(), nofile, "endpoint:")
        .await
        .unwrap()
}

/// `signpost gateway` in front of `upstream`.
async fn gateway(upstream: &str, nofile: Option<u32>, extra: &[&str]) -> Process {
    let mut args: Vec<String> = [
        "gateway",
        "--addr",
        "127.0.0.1:0",
        "--endpoint",
        upstream,
        "--part-size",
        "5MiB",
        "--max-size",
        "10GiB",
    ]
    .map(String::from)
    .to_vec();
    args.extend(limits());
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let mut env = env();
    env.push(("AWS_ENDPOINT_URL", upstream.to_owned()));
    Process::start(&args, &env, nofile, "address:")
        .await
        .unwrap()
}

fn presigner(endpoint: &str) -> Presigner {
    Presigner::new(
        Credentials::new(AK, SK),
        Endpoint::custom(endpoint, "us-east-1").unwrap(),
    )
}

fn host(endpoint: &str) -> String {
    endpoint.trim_start_matches("http://").to_owned()
}

fn hv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// A PUT signed by aws-sigv4 for exactly `path` (keys signpost's signer refuses to sign).
fn raw_put_url(endpoint: &str, path: &str) -> String {
    sigv4_method(
        "PUT",
        &format!("{endpoint}{path}"),
        &[("host", &host(endpoint))],
        (AK, SK),
        "us-east-1",
        "s3",
        OffsetDateTime::now_utc(),
        600,
    )
}

fn target_of(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    rest[rest.find('/').unwrap()..].to_owned()
}

async fn put_raw(endpoint: &str, url: &str, body: &[u8]) -> raw::RawResponse {
    raw::send(
        endpoint,
        "PUT",
        &target_of(url),
        &hv(&[
            ("Host", &host(endpoint)),
            ("Content-Length", &body.len().to_string()),
        ]),
        body,
    )
    .await
    .unwrap()
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                out.push(format!("{}/", p.strip_prefix(base).unwrap().display()));
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Polls `done` every 50 ms until it holds or `secs` pass.
async fn until(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}

/// A form body: `fields`, then a file part (unless `file` is `None`).
fn form(boundary: &str, fields: &[(String, String)], file: Option<&[u8]>) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some(file) = file {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"clip.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    }
    body
}

async fn post_form(endpoint: &str, target: &str, boundary: &str, body: &[u8]) -> raw::RawResponse {
    raw::send(
        endpoint,
        "POST",
        target,
        &hv(&[
            ("Host", &host(endpoint)),
            (
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            ),
            ("Content-Length", &body.len().to_string()),
        ]),
        body,
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn form_fields_cost_at_most_their_budget_before_anything_is_checked() {
    let data = tempfile::tempdir().unwrap();
    let mut s = serve(data.path(), None).await;
    let b = "xBOUNDARYx";
    let tiny: Vec<(String, String)> = (0..100_000)
        .map(|i| (format!("f{i}"), "v".into()))
        .collect();
    let long_names: Vec<(String, String)> = (0..12_000)
        .map(|i| (format!("{i}{}", "n".repeat(4096)), String::new()))
        .collect();
    let bodies = [
        ("100,000 tiny fields", form(b, &tiny, Some(b"x"))),
        (
            "12,000 empty fields with 4 KB names",
            form(b, &long_names, Some(b"x")),
        ),
        (
            "a part header that never ends",
            [
                format!("--{b}\r\nContent-Disposition: form-data; name=\"x\"; ").into_bytes(),
                vec![b'a'; 40 << 20],
            ]
            .concat(),
        ),
        (
            "a preamble of 40 MiB without a boundary",
            vec![b'p'; 40 << 20],
        ),
    ];
    let before = s.usage();
    for round in 0..2 {
        let sends = bodies.iter().map(|(what, body)| {
            let endpoint = s.endpoint.clone();
            async move {
                let r = post_form(&endpoint, &format!("/{BUCKET}"), b, body).await;
                (what, r)
            }
        });
        for (what, r) in futures_util::future::join_all(sends).await {
            assert_eq!(r.status, 400, "{what} (round {round}): {r:?}");
            assert!(
                r.body.contains("MaxPostPreDataLengthExceeded"),
                "{what}: {}",
                r.body
            );
        }
    }
    let after = s.usage();
    // Four forms of up to 60 MB at once, twice: the budget is 64 KiB each, plus what hyper and
    // the parser hold of one read. Before the budget, one such form cost 47 MB.
    let grown = after.peak_kib.saturating_sub(before.rss_kib);
    assert!(
        grown < 32 * 1024,
        "peak RSS grew by {grown} KiB ({before:?} -> {after:?})"
    );
    assert!(s.alive(), "{}", s.log());
    assert_eq!(files(&data.path().join(BUCKET)), Vec::<String>::new());
    assert!(!s.log().contains("panicked"), "{}", s.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_post_form_streams_whatever_its_query_and_keys_stay_in_their_bucket() {
    let data = tempfile::tempdir().unwrap();
    let mut s = serve(data.path(), None).await;
    let p = presigner(&s.endpoint);
    let policy = p
        .post_policy(BUCKET)
        .key_starts_with("uploads/")
        .content_length_range(0, 1 << 30)
        .build()
        .unwrap();
    let b = "qBOUNDARYq";
    let fields_with = |key: &str| -> Vec<(String, String)> {
        policy
            .fields
            .iter()
            .map(|(k, v)| {
                (
                    k.to_owned(),
                    if k == "key" {
                        key.to_owned()
                    } else {
                        v.to_owned()
                    },
                )
            })
            .collect()
    };
    // A key the policy's starts-with admits, which climbs out of the bucket as a path.
    for query in ["?", "?x=1", ""] {
        let body = form(
            b,
            &fields_with("uploads/../../other/escaped"),
            Some(b"escape"),
        );
        let r = post_form(&s.endpoint, &format!("/{BUCKET}{query}"), b, &body).await;
        assert_eq!(r.status, 400, "{query:?}: {r:?}");
        assert!(
            r.body.contains("InvalidArgument") && r.body.contains("`..`"),
            "{}",
            r.body
        );
    }
    assert_eq!(files(&data.path().join(OTHER)), Vec::<String>::new());
    // A large form with a query goes through the streaming handler: spooled, not held.
    let file = signpost_tests::random_bytes(96 << 20).unwrap();
    let before = s.usage();
    let body = form(b, &fields_with("uploads/${filename}"), Some(&file));
    let r = post_form(&s.endpoint, &format!("/{BUCKET}?"), b, &body).await;
    drop(body);
    assert_eq!(r.status, 204, "{r:?}");
    let after = s.usage();
    let grown = after.peak_kib.saturating_sub(before.rss_kib);
    assert!(
        grown < 48 * 1024,
        "a 96 MiB form grew the peak RSS by {grown} KiB"
    );
    // `${filename}` substituted, as only the streaming handler does.
    let stored = std::fs::read(data.path().join(BUCKET).join("uploads/clip.bin")).unwrap();
    assert!(stored == file, "the stored object differs");
    assert!(s.alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_never_become_paths_outside_their_bucket_and_buckets_are_not_created_by_a_put() {
    let data = tempfile::tempdir().unwrap();
    let mut s = serve(data.path(), None).await;
    // Something in the other bucket, and the server's own files, to be left alone.
    let p = presigner(&s.endpoint);
    let ok = put_raw(
        &s.endpoint,
        p.presign(&PresignRequest::put_object(OTHER, "kept"))
            .unwrap()
            .url(),
        b"kept",
    )
    .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    let before = files(data.path());
    let other_b64 = "b3RoZXI"; // base64url("other"): s3s-fs's metadata file names
    for path in [
        format!("/{BUCKET}/.."),
        format!("/{BUCKET}/../.."),
        format!("/{BUCKET}/a/../.."),
        format!("/{BUCKET}/../{OTHER}/kept"),
        format!("/{BUCKET}/../.bucket-{other_b64}.object-a2VwdA.metadata.json"),
        format!("/{BUCKET}/../.signpost-cors-{OTHER}.json"),
        format!("/{BUCKET}//top-level"),
        format!("/{BUCKET}/dir/"),
        format!("/{BUCKET}/a/./b"),
    ] {
        let url = raw_put_url(&s.endpoint, &path);
        let r = put_raw(&s.endpoint, &url, b"overwrite").await;
        assert_eq!(r.status, 400, "{path}: {r:?}");
        assert!(
            r.body.contains("<Code>InvalidArgument</Code>"),
            "{path}: {}",
            r.body
        );
    }
    // A bucket that does not exist is not created by writing to it.
    let r = put_raw(
        &s.endpoint,
        p.presign(&PresignRequest::put_object("missing", "x"))
            .unwrap()
            .url(),
        b"x",
    )
    .await;
    assert_eq!(r.status, 404, "{r:?}");
    assert!(r.body.contains("NoSuchBucket"), "{}", r.body);
    // An invalid bucket name is refused as one.
    let url = raw_put_url(&s.endpoint, "/foo.-bar/x");
    let r = put_raw(&s.endpoint, &url, b"x").await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body.contains("InvalidBucketName"), "{}", r.body);
    assert_eq!(files(data.path()), before, "something was written");
    assert!(s.alive(), "{}", s.log());
    assert!(!s.log().contains("panicked"), "{}", s.log());
    // An upload left open is listed.
    let create = p
        .presign(&PresignRequest::create_multipart_upload(
            BUCKET,
            "open/left.bin",
        ))
        .unwrap();
    let client = signpost::http::caller().unwrap();
    let r = signpost::s3::send(&client, &create, None).await.unwrap();
    let id = signpost_presign::parse_initiate_response(&r.body).unwrap();
    let list = p
        .presign(&PresignRequest::bucket(
            S3Operation::ListMultipartUploads,
            BUCKET,
        ))
        .unwrap();
    let r = signpost::s3::send(&client, &list, None).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains(&id) && r.body.contains("<Key>open/left.bin</Key>"),
        "{}",
        r.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_authentication_is_judged_by_the_verifiers_rules() {
    let data = tempfile::tempdir().unwrap();
    let s = serve(data.path(), None).await;
    let e = &s.endpoint;
    let h = host(e);
    let now = OffsetDateTime::now_utc();
    let url = |path: &str, headers: &[(&str, &str)], region: &str, expires: u64| {
        sigv4_method(
            "PUT",
            &format!("{e}{path}"),
            headers,
            (AK, SK),
            region,
            "s3",
            now,
            expires,
        )
    };
    // What, the URL, headers beside Host, what the refusal says.
    type Case<'a> = (&'a str, String, Vec<(String, String)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "X-Amz-Expires past 7 days",
            url("/hostile/a", &[("host", &h)], "us-east-1", 604_801),
            vec![],
            "X-Amz-Expires 604801 is out of range",
        ),
        (
            "another region",
            url("/hostile/b", &[("host", &h)], "eu-west-1", 600),
            vec![],
            "<Region>us-east-1</Region>",
        ),
        (
            "an unknown session token",
            format!(
                "{}&X-Amz-Security-Token=forged",
                url("/hostile/c", &[("host", &h)], "us-east-1", 600)
            ),
            vec![],
            "AccessDenied",
        ),
        (
            "an unsigned x-amz-meta header",
            url("/hostile/d", &[("host", &h)], "us-east-1", 600),
            hv(&[("x-amz-meta-owner", "me")]),
            "not signed",
        ),
        (
            "an unsigned x-amz-acl header",
            url("/hostile/e", &[("host", &h)], "us-east-1", 600),
            hv(&[("x-amz-acl", "public-read")]),
            "not signed",
        ),
        (
            "an Authorization header beside query authentication",
            url("/hostile/f", &[("host", &h)], "us-east-1", 600),
            hv(&[("Authorization", "AWS4-HMAC-SHA256 Credential=x")]),
            "InvalidArgument",
        ),
    ];
    for (what, u, extra, expect) in cases {
        let mut headers = hv(&[("Host", &h), ("Content-Length", "1")]);
        headers.extend(extra);
        let r = raw::send(e, "PUT", &target_of(&u), &headers, b"x")
            .await
            .unwrap();
        assert!((400..500).contains(&r.status), "{what}: {r:?}");
        assert!(r.body.contains(expect), "{what}: {}", r.body);
    }
    assert_eq!(files(&data.path().join(BUCKET)), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_and_conditional_writes_answer_as_s3_does() {
    let data = tempfile::tempdir().unwrap();
    let s = serve(data.path(), None).await;
    let p = presigner(&s.endpoint);
    let client = signpost::http::client().unwrap();
    let caller = signpost::http::caller().unwrap();
    let send = |req: PresignRequest, body: Option<Vec<u8>>| {
        let signed = p.presign(&req).unwrap();
        let caller = caller.clone();
        async move { signpost::s3::send(&caller, &signed, body).await.unwrap() }
    };
    let key = "mp/object.bin";
    // An object with a CRC32 checksum, to be replaced by a multipart upload.
    let put = send(
        PresignRequest::put_object(BUCKET, key).header("x-amz-checksum-crc32", "NhCmhg=="),
        Some(b"hello".to_vec()),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let part = signpost_tests::random_bytes(5 << 20).unwrap();
    let start = || async {
        let r = send(PresignRequest::create_multipart_upload(BUCKET, key), None).await;
        signpost_presign::parse_initiate_response(&r.body).unwrap()
    };
    let upload_part = |id: String, n: u32, body: Vec<u8>| {
        let req = PresignRequest::upload_part(BUCKET, key, id, n);
        let signed = p.presign(&req).unwrap();
        let client = client.clone();
        async move {
            let r = client
                .put(signed.url().as_str())
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.headers()["etag"].to_str().unwrap().to_owned()
        }
    };
    let complete = |id: String, parts: Vec<(u32, String)>| {
        let xml = signpost_wire::s3_xml::CompleteMultipartUpload::new(
            parts
                .into_iter()
                .map(|(n, etag)| signpost_wire::s3_xml::CompletedPart {
                    part_number: n,
                    etag,
                })
                .collect(),
        )
        .to_xml();
        send(
            PresignRequest::complete_multipart_upload(BUCKET, key, id),
            Some(xml.into_bytes()),
        )
    };
    let id = start().await;
    let e1 = upload_part(id.clone(), 1, part.clone()).await;
    let e2 = upload_part(id.clone(), 2, b"tail".to_vec()).await;
    // A wrong ETag, a part never sent, parts out of order: InvalidPart / InvalidPartOrder, and
    // the upload stays as it was.
    let wrong = complete(
        id.clone(),
        vec![
            (1, "\"0123456789abcdef0123456789abcdef\"".into()),
            (2, e2.clone()),
        ],
    )
    .await;
    assert_eq!(
        (wrong.status, wrong.s3_code().as_ref().map(|c| c.as_str())),
        (400, Some("InvalidPart")),
        "{}",
        wrong.body
    );
    let missing = complete(
        id.clone(),
        vec![(1, e1.clone()), (2, e2.clone()), (3, e2.clone())],
    )
    .await;
    assert_eq!(
        (
            missing.status,
            missing.s3_code().as_ref().map(|c| c.as_str())
        ),
        (400, Some("InvalidPart")),
        "{}",
        missing.body
    );
    let order = complete(id.clone(), vec![(2, e2.clone()), (1, e1.clone())]).await;
    assert_eq!(
        (order.status, order.s3_code().as_ref().map(|c| c.as_str())),
        (400, Some("InvalidPartOrder")),
        "{}",
        order.body
    );
    let done = complete(id.clone(), vec![(1, e1.clone()), (2, e2.clone())]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    // A Complete retried after its answer was lost gets the same answer.
    let again = complete(id.clone(), vec![(1, e1), (2, e2)]).await;
    assert_eq!(again.status, 200, "{}", again.body);
    let etag = |body: &str| {
        body.split("<ETag>")
            .nth(1)
            .and_then(|r| r.split("</ETag>").next())
            .map(str::to_owned)
    };
    assert_eq!(etag(&done.body), etag(&again.body));
    // The replaced object's checksum is not answered for the new one.
    let head = p
        .presign(
            &PresignRequest::new(S3Operation::HeadObject, BUCKET, key)
                .header("x-amz-checksum-mode", "ENABLED"),
        )
        .unwrap();
    let r = client
        .head(head.url().as_str())
        .header("x-amz-checksum-mode", "ENABLED")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().get("x-amz-checksum-crc32").is_none(),
        "{:?}",
        r.headers()
    );
    // If-None-Match with the object's ETag: 412; with another ETag: stored.
    let current = r.headers()["etag"].to_str().unwrap().to_owned();
    let put_if = |v: String| {
        // Unsigned: signpost signs If-None-Match only once the signer service can (a receiver
        // takes an unsigned conditional header, as S3 does).
        let signed = p.presign(&PresignRequest::put_object(BUCKET, key)).unwrap();
        let client = client.clone();
        async move {
            let r = client
                .put(signed.url().as_str())
                .header("if-none-match", v)
                .body("new")
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            signpost::s3::Reply {
                status,
                headers: Default::default(),
                body: r.text().await.unwrap(),
                attempts: 1,
            }
        }
    };
    let refused = put_if(current.clone()).await;
    assert_eq!(refused.status, 412, "{}", refused.body);
    let stored = put_if("\"ffffffffffffffffffffffffffffffff\"".into()).await;
    assert_eq!(stored.status, 200, "{}", stored.body);
    // Creating one's own bucket again; a preflight without Origin.
    let again = send(
        PresignRequest::bucket(S3Operation::CreateBucket, BUCKET),
        None,
    )
    .await;
    assert_eq!(
        (again.status, again.s3_code().as_ref().map(|c| c.as_str())),
        (409, Some("BucketAlreadyOwnedByYou")),
        "{}",
        again.body
    );
    let r = raw::send(
        &s.endpoint,
        "OPTIONS",
        &format!("/{BUCKET}/x"),
        &hv(&[
            ("Host", &host(&s.endpoint)),
            ("Access-Control-Request-Method", "PUT"),
        ]),
        b"",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400, "{r:?}");
}

/// Opens `n` connections to `endpoint` that each send `send` (maybe nothing), then one byte a
/// second while `trickle`; returns them.
async fn connections(
    endpoint: &str,
    n: usize,
    send: &'static [u8],
    trickle: bool,
) -> Vec<tokio::task::JoinHandle<Duration>> {
    let addr = host(endpoint);
    (0..n)
        .map(|_| {
            let addr = addr.clone();
            tokio::spawn(async move {
                let start = Instant::now();
                let Ok(mut c) = TcpStream::connect(&addr).await else {
                    return Duration::ZERO;
                };
                let _ = c.write_all(send).await;
                let mut buf = [0u8; 1024];
                loop {
                    tokio::select! {
                        r = c.read(&mut buf) => match r {
                            Ok(0) | Err(_) => return start.elapsed(),
                            Ok(_) => {}
                        },
                        () = tokio::time::sleep(Duration::from_secs(1)), if trickle => {
                            if c.write_all(b"X").await.is_err() {
                                return start.elapsed();
                            }
                        }
                    }
                    if start.elapsed() > Duration::from_secs(60) {
                        return start.elapsed();
                    }
                }
            })
        })
        .collect()
}

/// Slow headers, idle connections, connections that never send a byte, and a body that stops:
/// each closed once its timeout passes, on both receivers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_idle_and_silent_connections_are_closed_after_their_timeouts() {
    let data = tempfile::tempdir().unwrap();
    let s = serve(data.path(), None).await;
    let g = gateway(&s.endpoint, None, &[]).await;
    for endpoint in [&s.endpoint, &g.endpoint] {
        let mut all = connections(
            endpoint,
            40,
            b"PUT /hostile/slow HTTP/1.1\r\nHost: x\r\n",
            true,
        )
        .await;
        all.extend(connections(endpoint, 20, b"", false).await);
        // Idle after a whole request: the keep-alive wait.
        all.extend(
            connections(
                endpoint,
                5,
                b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                false,
            )
            .await,
        );
        for c in all {
            let open = c.await.unwrap();
            assert!(
                open >= Duration::from_millis(TIMEOUT * 1000 - 300)
                    && open < Duration::from_secs(TIMEOUT + 5),
                "{endpoint}: a connection was open {open:?} with a {TIMEOUT} s header timeout"
            );
        }
    }
    // A body that stops: 400 RequestTimeout after the body timeout, on a URL that verifies.
    for endpoint in [&s.endpoint, &g.endpoint] {
        let url = presigner(endpoint)
            .presign(&PresignRequest::put_object(BUCKET, "stalled"))
            .unwrap();
        let mut c = TcpStream::connect(host(endpoint)).await.unwrap();
        let head = format!(
            "PUT {} HTTP/1.1\r\nHost: {}\r\nContent-Length: 1000\r\n\r\npartial",
            target_of(url.url()),
            host(endpoint)
        );
        c.write_all(head.as_bytes()).await.unwrap();
        let start = Instant::now();
        let mut answer = String::new();
        let _ = tokio::time::timeout(
            Duration::from_secs(TIMEOUT + 10),
            c.read_to_string(&mut answer),
        )
        .await;
        assert!(
            start.elapsed() < Duration::from_secs(TIMEOUT + 5),
            "{endpoint}: {:?}",
            start.elapsed()
        );
        assert!(answer.starts_with("HTTP/1.1 400"), "{endpoint}: {answer}");
        assert!(answer.contains("RequestTimeout"), "{endpoint}: {answer}");
    }
    assert_eq!(files(&data.path().join(BUCKET)), Vec::<String>::new());
}

/// At the file-descriptor limit, both receivers pause their accept loop instead of spinning, and
/// serve again once connections close.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn at_the_descriptor_limit_the_receivers_pause_and_recover() {
    let data = tempfile::tempdir().unwrap();
    let upstream = serve(data.path(), None).await;
    let limited = [
        serve(data.path(), Some(64)).await,
        gateway(&upstream.endpoint, Some(64), &[]).await,
    ];
    for r in &limited {
        let idle = connections(&r.endpoint, 120, b"", false).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = r.usage();
        let window = Duration::from_millis(1500);
        tokio::time::sleep(window).await;
        let used = r.usage().cpu_ticks - before.cpu_ticks;
        // 100 ticks a second: a spinning loop uses about 150 here.
        assert!(
            used < 40,
            "{}: {used} ticks of CPU in {window:?} at the limit",
            r.endpoint
        );
        for c in idle {
            c.await.unwrap();
        }
        let client = signpost::http::client().unwrap();
        let healthy = async {
            for _ in 0..100 {
                if let Ok(resp) = client.get(format!("{}/healthz", r.endpoint)).send().await
                    && resp.status() == 200
                {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            false
        };
        assert!(healthy.await, "{} does not serve again", r.endpoint);
        let metrics = client
            .get(format!("{}/metrics", r.endpoint))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let errors: u64 = metrics
            .lines()
            .find(|l| !l.starts_with('#') && l.contains("_accept_errors_total "))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap();
        assert!(errors > 0, "no accept error was counted: {metrics}");
    }
}

/// The gateway: a client's mistake is a 4xx with S3's code, never a 502, and no answer names the
/// upstream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_client_errors_are_4xx_and_no_answer_names_the_upstream() {
    let data = tempfile::tempdir().unwrap();
    let upstream = serve(data.path(), None).await;
    let mut g = gateway(&upstream.endpoint, None, &[]).await;
    let up_host = host(&upstream.endpoint);
    let now = OffsetDateTime::now_utc();
    let signed = |path: &str| {
        sigv4_method(
            "PUT",
            &format!("{}{path}", g.endpoint),
            &[("host", &host(&g.endpoint))],
            (AK, SK),
            "us-east-1",
            "s3",
            now,
            600,
        )
    };
    let p = presigner(&g.endpoint);
    let sub = |q: &str, v: &str| {
        p.presign(&PresignRequest::put_object(BUCKET, "sub").query(q, v))
            .unwrap()
            .url()
            .as_str()
            .to_owned()
    };
    let cases = vec![
        (
            "a `..` key",
            signed(&format!("/{BUCKET}/../{OTHER}/x")),
            "InvalidArgument",
        ),
        (
            "a 2 KB key",
            signed(&format!("/{BUCKET}/{}", "k".repeat(2048))),
            "KeyTooLongError",
        ),
        (
            "an invalid bucket",
            signed("/Bad_Bucket/x"),
            "InvalidBucketName",
        ),
        (
            "a NUL in the key",
            signed(&format!("/{BUCKET}/a%00b")),
            "InvalidArgument",
        ),
        (
            "a URL signed for UploadPart",
            sub("uploadId", "abc"),
            "InvalidRequest",
        ),
        ("a URL signed for ?acl", sub("acl", ""), "InvalidRequest"),
        (
            "a URL signed for ?tagging",
            sub("tagging", ""),
            "InvalidRequest",
        ),
    ];
    for (what, url, code) in cases {
        let r = put_raw(&g.endpoint, &url, b"body").await;
        assert_eq!(r.status, 400, "{what}: {r:?}");
        assert!(
            r.body.contains(&format!("<Code>{code}</Code>")),
            "{what}: {}",
            r.body
        );
        assert!(
            !r.body.contains(&up_host),
            "{what}: the answer names the upstream: {}",
            r.body
        );
    }
    assert_eq!(files(&data.path().join(BUCKET)), Vec::<String>::new());
    // The upstream gone: 502, and still no address in the answer.
    drop(upstream);
    let url = p
        .presign(&PresignRequest::put_object(BUCKET, "gone"))
        .unwrap();
    let r = put_raw(&g.endpoint, url.url(), b"body").await;
    assert_eq!(r.status, 502, "{r:?}");
    assert!(!r.body.contains(&up_host), "{}", r.body);
    assert!(g.alive());
}

/// A refusal sent before the body was read (a bad signature, here) reaches a client that is still
/// uploading, every time: the receivers close such a connection lingering instead of resetting
/// it, so the client hears S3's code rather than a broken pipe.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refusal_reaches_a_client_still_sending_its_body() {
    let data = tempfile::tempdir().unwrap();
    let s = serve(data.path(), None).await;
    let g = gateway(&s.endpoint, None, &[]).await;
    let client = signpost::http::client().unwrap();
    let body = bytes::Bytes::from(vec![7u8; 24 << 20]);
    for endpoint in [&s.endpoint, &g.endpoint] {
        let url = presigner(endpoint)
            .presign(&PresignRequest::put_object(BUCKET, "refused-early"))
            .unwrap();
        let tampered = url
            .url()
            .as_str()
            .replace("X-Amz-Signature=", "X-Amz-Signature=0");
        for i in 0..10 {
            let r = client
                .put(&tampered)
                .body(body.clone())
                .send()
                .await
                .unwrap_or_else(|e| panic!("{endpoint}, attempt {i}: no answer: {e:?}"));
            assert_eq!(r.status().as_u16(), 403, "{endpoint}, attempt {i}");
            let text = r.text().await.unwrap();
            assert!(
                text.contains("SignatureDoesNotMatch")
                    || text.contains("AuthorizationQueryParametersError"),
                "{endpoint}: {text}"
            );
        }
    }
    assert_eq!(files(&data.path().join(BUCKET)), Vec::<String>::new());
}

/// `/healthz`, `/readyz` and `/metrics`; SIGTERM lets an upload in flight finish, then exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_a_drain_that_lets_uploads_finish() {
    let data = tempfile::tempdir().unwrap();
    let mut s = serve(data.path(), None).await;
    let client = signpost::http::client().unwrap();
    for (path, want) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let r = client
            .get(format!("{}{path}", s.endpoint))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap().trim(), want);
    }
    // An upload in flight when SIGTERM arrives: its body trickles for about a second more.
    let url = presigner(&s.endpoint)
        .presign(&PresignRequest::put_object(BUCKET, "drained"))
        .unwrap();
    let mut c = TcpStream::connect(host(&s.endpoint)).await.unwrap();
    let head = format!(
        "PUT {} HTTP/1.1\r\nHost: {}\r\nContent-Length: 10\r\n\r\n",
        target_of(url.url()),
        host(&s.endpoint)
    );
    c.write_all(head.as_bytes()).await.unwrap();
    c.write_all(b"01234").await.unwrap();
    // The PUT is in flight once the server has read its head: the metrics request and it.
    let mut metrics = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !metrics.contains("signpost_serve_requests_in_flight 2") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        metrics = client
            .get(format!("{}/metrics", s.endpoint))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    }
    assert!(
        metrics.contains("signpost_serve_requests_in_flight 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("# TYPE signpost_serve_request_duration_seconds histogram"),
        "{metrics}"
    );
    let pid = s.pid;
    let finish = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        c.write_all(b"56789").await.unwrap();
        let mut answer = String::new();
        let _ = c.read_to_string(&mut answer).await;
        answer
    });
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    // Draining: no new connection is taken.
    assert!(
        until(5, || std::net::TcpStream::connect(host(&s.endpoint))
            .is_err())
        .await,
        "still accepting"
    );
    let answer = finish.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let code = s.terminate(Duration::from_secs(10)).await.unwrap();
    assert_eq!(code, Some(0), "{}", s.log());
    assert_eq!(
        std::fs::read(data.path().join(BUCKET).join("drained")).unwrap(),
        b"0123456789"
    );
    let log = s.log();
    assert!(
        log.contains("method=PUT")
            && log.contains("path=/hostile/drained")
            && log.contains("status=200"),
        "{log}"
    );
    assert!(!log.contains("X-Amz-Signature"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "ANSI colour in a log that is not a terminal: {log}"
    );
}
