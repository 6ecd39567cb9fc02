//! TLS with a private CA and HTTP proxies, as the AWS tools handle them: `--ca-bundle` /
//! `AWS_CA_BUNDLE` for every command that connects, `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY`
//! honoured, and a failing proxy named as what failed. The S3 server is the suite's (embedded,
//! Garage or Ceph), behind a TLS front with a throwaway CA.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use assert_cmd::Command;
use signpost_tests::proxy::{ConnectProxy, ProxyRules, TestProxy};
use signpost_tests::tls::TlsFront;
use signpost_tests::{TestTarget, binary, dead_addr};

fn signpost(t: &TestTarget, endpoint: &str) -> Command {
    let mut c = Command::new(binary());
    c.env_clear()
        .envs(t.cli_env())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    c
}

async fn run(mut c: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn authority(endpoint: &str) -> String {
    endpoint
        .split_once("://")
        .map_or(endpoint, |(_, r)| r)
        .trim_end_matches('/')
        .to_owned()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// `signpost upload` of `file` to `job` at `endpoint`, with `setup` adding environment or flags
/// before the subcommand.
async fn upload(
    t: &TestTarget,
    endpoint: &str,
    job: &Path,
    file: &Path,
    setup: impl FnOnce(&mut Command),
) -> std::process::Output {
    let mut c = signpost(t, endpoint);
    c.args(["upload", "--job"]).arg(job).arg(file);
    setup(&mut c);
    run(c).await
}

/// `presign put` for `key` at `endpoint`, written to a job file.
async fn put_job(t: &TestTarget, endpoint: &str, dir: &Path, key: &str) -> std::path::PathBuf {
    let mut c = signpost(t, endpoint);
    c.args(["presign", "put", "--bucket", &t.bucket, "--key", key]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    write(dir, &format!("{}.json", fastrand::u64(..)), &out.stdout)
}

/// `presign multipart` for `key` at `endpoint` (5 MiB parts), written to a job file; `setup` adds
/// what the command needs to connect (it starts the upload on the server).
async fn multipart_job(
    t: &TestTarget,
    endpoint: &str,
    dir: &Path,
    key: &str,
    setup: impl FnOnce(&mut Command),
) -> std::path::PathBuf {
    let mut c = signpost(t, endpoint);
    setup(&mut c);
    c.args([
        "presign",
        "multipart",
        "--bucket",
        &t.bucket,
        "--key",
        key,
        "--part-size",
        "5MiB",
        "--max-size",
        "1GiB",
    ]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    write(dir, &format!("{}.json", fastrand::u64(..)), &out.stdout)
}

/// `signpost roundtrip --ca-bundle` against an HTTPS endpoint with a private CA: every call it
/// makes trusts the bundle (its bucket check failed with UnknownIssuer before, as its client and
/// uploaders never got it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_round_trip_trusts_the_ca_bundle_it_is_given() {
    let t = TestTarget::start().await.unwrap();
    let front = TlsFront::start(authority(&t.endpoint)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = write(dir.path(), "ca.pem", front.ca_pem.as_bytes());
    let roundtrip = |with_ca: bool| {
        let mut c = signpost(&t, &front.endpoint);
        c.args(["roundtrip", "--bucket", &t.bucket, "--size", "6MiB"]);
        if with_ca {
            c.arg("--ca-bundle").arg(&ca);
        }
        run(c)
    };
    let out = roundtrip(false).await;
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("certificate"),
        "{}",
        text(&out.stderr)
    );
    let out = roundtrip(true).await;
    let table = text(&out.stdout);
    assert!(out.status.success(), "{table}{}", text(&out.stderr));
    assert!(table.contains("9 passed, 0 failed"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_ca_is_trusted_only_when_given() {
    let t = TestTarget::start().await.unwrap();
    let front = TlsFront::start(authority(&t.endpoint)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = write(dir.path(), "ca.pem", front.ca_pem.as_bytes());
    let data = signpost_tests::random_bytes(3 << 20).unwrap();
    let file = write(dir.path(), "video.mp4", &data);

    // Without the CA: refused by the TLS handshake, and the error says what to do.
    let key = t.key("tls/put.mp4");
    let job = put_job(&t, &front.endpoint, dir.path(), &key).await;
    let out = upload(&t, &front.endpoint, &job, &file, |_| {}).await;
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("certificate"), "{err}");
    assert!(err.contains("--ca-bundle"), "the fix: {err}");
    assert!(
        err.contains("after 1 attempt(s)"),
        "the same certificate would meet every try: {err}"
    );
    assert_eq!(t.get(&key).await.unwrap().0, 404, "nothing stored");

    // With --ca-bundle: stored, byte for byte.
    let out = upload(&t, &front.endpoint, &job, &file, |c| {
        c.args(["--ca-bundle", ca.to_str().unwrap()]);
    })
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(t.get(&key).await.unwrap().1, data);

    // AWS_CA_BUNDLE, for a command that connects itself (presign multipart starts the upload)
    // and the multipart upload that follows.
    let key = t.key("tls/multipart.mp4");
    let job = multipart_job(&t, &front.endpoint, dir.path(), &key, |c| {
        c.env("AWS_CA_BUNDLE", &ca);
    })
    .await;
    let big = signpost_tests::random_bytes(11 << 20).unwrap();
    let big_file = write(dir.path(), "big.mp4", &big);
    let out = upload(&t, &front.endpoint, &job, &big_file, |c| {
        c.env("AWS_CA_BUNDLE", &ca);
    })
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(t.get(&key).await.unwrap().1, big);

    // A bundle that is not one: named, with what is wrong, before anything is sent.
    let not_pem = write(dir.path(), "not.pem", b"hello\n");
    for (bundle, says) in [
        (not_pem.to_str().unwrap(), "no certificate"),
        ("/nonexistent/ca.pem", "cannot read"),
    ] {
        let out = upload(&t, &front.endpoint, &job, &file, |c| {
            c.args(["--ca-bundle", bundle]);
        })
        .await;
        let err = text(&out.stderr);
        assert!(!out.status.success());
        assert!(err.contains(bundle) && err.contains(says), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_goes_through_a_connect_tunnel_with_tls_end_to_end() {
    let t = TestTarget::start().await.unwrap();
    let front = TlsFront::start(authority(&t.endpoint)).await.unwrap();
    let proxy = ConnectProxy::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = write(dir.path(), "ca.pem", front.ca_pem.as_bytes());
    let through = |c: &mut Command| {
        c.env("HTTPS_PROXY", &proxy.base)
            .env("HTTP_PROXY", format!("http://{}", dead_addr())) // never used for https
            .env("AWS_CA_BUNDLE", &ca);
    };

    // A single PUT: the uploader's connection goes through the tunnel, and the server's
    // certificate is still checked against the private CA (TLS runs end to end).
    let data = signpost_tests::random_bytes(3 << 20).unwrap();
    let file = write(dir.path(), "video.mp4", &data);
    let key = t.key("tunnel/put.mp4");
    let job = put_job(&t, &front.endpoint, dir.path(), &key).await;
    let out = upload(&t, &front.endpoint, &job, &file, through).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(t.get(&key).await.unwrap().1, data);
    let front_authority = authority(&front.endpoint);
    assert!(
        proxy.tunnels().contains(&front_authority),
        "the upload went through the tunnel: {:?}",
        proxy.tunnels()
    );

    // The CLI's own S3 call (presign multipart starts the upload) and the parts, all through it.
    let before = proxy.tunnels().len();
    let key = t.key("tunnel/multipart.mp4");
    let job = multipart_job(&t, &front.endpoint, dir.path(), &key, through).await;
    assert!(
        proxy.tunnels().len() > before,
        "presign multipart used the tunnel"
    );
    let big = signpost_tests::random_bytes(11 << 20).unwrap();
    let big_file = write(dir.path(), "big.mp4", &big);
    let before = proxy.tunnels().len();
    let out = upload(&t, &front.endpoint, &job, &big_file, through).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(t.get(&key).await.unwrap().1, big);
    assert!(proxy.tunnels().len() > before, "the parts used the tunnel");

    // Through the tunnel the certificate is still the server's: without the CA it is refused,
    // and the error points at the CA bundle, not at the proxy.
    let key = t.key("tunnel/untrusted.mp4");
    let job = put_job(&t, &front.endpoint, dir.path(), &key).await;
    let out = upload(&t, &front.endpoint, &job, &file, |c| {
        c.env("HTTPS_PROXY", &proxy.base);
    })
    .await;
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("--ca-bundle"), "{err}");
    assert!(
        err.contains("after 1 attempt(s)"),
        "a certificate is not retried: {err}"
    );
    assert_eq!(t.get(&key).await.unwrap().0, 404, "nothing stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_proxy_is_used_and_a_failing_one_is_named() {
    let t = TestTarget::start().await.unwrap();
    let proxy = TestProxy::start(&t.endpoint, ProxyRules::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = signpost_tests::random_bytes(1 << 20).unwrap();
    let file = write(dir.path(), "clip.mp4", &data);

    // Through the proxy: every request goes to it (absolute-form), the object is stored.
    let key = t.key("proxy/ok.mp4");
    let job = put_job(&t, &t.endpoint, dir.path(), &key).await;
    let out = upload(&t, &t.endpoint, &job, &file, |c| {
        c.env("HTTP_PROXY", &proxy.base);
    })
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(t.get(&key).await.unwrap().1, data);
    assert!(
        proxy.seen().iter().any(|s| s.method == "PUT"),
        "the upload went through the proxy"
    );

    // A proxy that is not there: the proxy is named as what failed, with the way around it.
    // The user and password hold `-`, which no temporary path here has (tempfile names are
    // alphanumeric), so finding either in the message can only mean they were printed.
    let (user, password) = ("proxy-user", "proxy-pass-w0rd");
    let dead = format!("http://{user}:{password}@{}", dead_addr());
    let key = t.key("proxy/dead.mp4");
    let job = put_job(&t, &t.endpoint, dir.path(), &key).await;
    let out = upload(&t, &t.endpoint, &job, &file, |c| {
        c.env("HTTP_PROXY", &dead);
    })
    .await;
    let err = text(&out.stderr);
    assert!(!out.status.success());
    let host = authority(&t.endpoint);
    assert!(err.contains("through the proxy http://127.0.0.1:"), "{err}");
    assert!(err.contains(&format!("NO_PROXY={host}")), "{err}");
    assert!(
        !err.contains(password) && !err.contains(user),
        "the proxy's user and password are not printed: {err}"
    );
    assert_eq!(t.get(&key).await.unwrap().0, 404);

    // NO_PROXY for the server's host: straight to it, the dead proxy unused.
    let out = upload(&t, &t.endpoint, &job, &file, |c| {
        c.env("HTTP_PROXY", &dead).env("NO_PROXY", "127.0.0.1");
    })
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(t.get(&key).await.unwrap().1, data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_that_refuses_is_named_for_http_and_https() {
    let t = TestTarget::start().await.unwrap();
    // A proxy whose policy refuses everything: plain requests and CONNECT tunnels alike.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    let task = signpost::fault_proxy::serve(listener, |_req| async {
        let mut r = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(
            b"Access denied by proxy policy",
        )));
        *r.status_mut() = hyper::StatusCode::FORBIDDEN;
        r
    });
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "clip.mp4", b"some video");
    for (scheme, variable) in [("http", "HTTP_PROXY"), ("https", "HTTPS_PROXY")] {
        // A server only the proxy could reach (the name cannot resolve here).
        let endpoint = format!("{scheme}://s3.example.invalid");
        let job = put_job(&t, &endpoint, dir.path(), "k.mp4").await;
        let out = upload(&t, &endpoint, &job, &file, |c| {
            c.env(variable, &proxy);
        })
        .await;
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{scheme}: {err}");
        assert!(err.contains(&proxy), "{scheme}: the proxy is named: {err}");
        assert!(
            err.contains("NO_PROXY=s3.example.invalid"),
            "{scheme}: the way around it: {err}"
        );
        assert!(
            !err.contains("could not reach s3.example.invalid after"),
            "{scheme}: not blamed on the server: {err}"
        );
    }
    task.abort();
}
