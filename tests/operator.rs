//! The `signpost` command as an operator meets it: each command takes only the options it uses,
//! help that groups the connection options and never shows a flag as required because the
//! environment set it, sizes and durations read the same way everywhere, say which endpoint was
//! signed for, `--json` with one schema (failures too), a server that a closed standard output
//! does not kill, and messages that name the fix.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use signpost_tests::{TestTarget, binary};

fn signpost(t: &TestTarget) -> Command {
    let mut c = Command::new(binary());
    c.env_clear().envs(t.cli_env());
    c
}

/// The binary with no environment but the given variables.
fn bare(env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(binary());
    c.env_clear().env("SIGNPOST_LOG", "off");
    for (k, v) in env {
        c.env(k, v);
    }
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

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {}", text(&out.stdout)))
}

/// The flags (`--name`) a help page lists.
fn flags(help: &str) -> Vec<String> {
    help.split_whitespace()
        .filter_map(|w| {
            let w = w.trim_end_matches([',', '.', ')', ']']);
            w.strip_prefix("--")
                .filter(|f| {
                    !f.is_empty()
                        && f.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                })
                .map(|f| format!("--{f}"))
        })
        .collect()
}

async fn help(args: &[&str]) -> String {
    let mut c = bare(&[]);
    c.args(args).arg("--help");
    let out = run(c).await;
    assert!(out.status.success(), "{args:?} --help");
    text(&out.stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_command_takes_only_the_options_it_uses_under_one_heading() {
    const HEADING: &str = "S3 endpoint and credentials";
    let connection = [
        "--endpoint",
        "--region",
        "--access-key",
        "--secret-key",
        "--profile",
    ];
    // Commands that sign or connect list the connection options under their own heading, after
    // the command's own options.
    for cmd in [
        &["presign", "put"][..],
        &["presign", "multipart"],
        &["roundtrip"],
        &["gateway"],
    ] {
        let h = help(cmd).await;
        let at = h.find(HEADING).unwrap_or_else(|| panic!("{cmd:?}: {h}"));
        for f in connection {
            let pos = h
                .find(&format!("{f} "))
                .unwrap_or_else(|| panic!("{cmd:?} {f}"));
            assert!(pos > at, "{cmd:?}: {f} is under the heading");
        }
    }
    // Those that do not: the flag is refused, not ignored.
    for (cmd, flag, value) in [
        (
            &["upload", "--job", "j.json", "f"][..],
            "--endpoint",
            "http://bogus.invalid",
        ),
        (&["upload", "--job", "j.json", "f"], "--region", "eu-west-9"),
        (&["serve"], "--endpoint", "http://x"),
        (&["serve"], "--access-key", "AKID"),
        (&["inspect", "http://h/b/k"], "--access-key", "AKID"),
        (&["inspect", "http://h/b/k"], "--endpoint", "http://x"),
        (&["verify", "http://h/b/k"], "--endpoint", "http://x"),
    ] {
        let mut c = bare(&[]);
        c.args(cmd).args([flag, value]);
        let out = run(c).await;
        assert_eq!(out.status.code(), Some(2), "{cmd:?} {flag}");
        assert!(
            text(&out.stderr).contains(&format!("unexpected argument '{flag}'")),
            "{cmd:?} {flag}: {}",
            text(&out.stderr)
        );
    }
    let inspect = help(&["inspect"]).await;
    assert!(inspect.contains("no credentials"), "{inspect}");
    assert!(!inspect.contains("--access-key"), "{inspect}");
    let upload = flags(&help(&["upload"]).await);
    assert!(upload.contains(&"--ca-bundle".to_owned()), "{upload:?}");
    assert!(!upload.contains(&"--endpoint".to_owned()), "{upload:?}");

    // Values in the environment never make a flag look required, nor show in help.
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIDFROMENV"),
        ("AWS_SECRET_ACCESS_KEY", "SECRETFROMENV"),
        ("AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"),
    ];
    let mut c = bare(&env);
    c.args(["presign", "put", "--bucket", "bucket"]);
    let out = run(c).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("--key <KEY>"), "{err}");
    let usage = err.lines().find(|l| l.starts_with("Usage:")).unwrap();
    for f in ["--access-key", "--secret-key", "--ca-bundle"] {
        assert!(!usage.contains(f), "{f} in {usage}");
    }
    let mut c = bare(&env);
    c.args(["presign", "put", "--help"]);
    let h = text(&run(c).await.stdout);
    assert!(
        !h.contains("AKIDFROMENV") && !h.contains("SECRETFROMENV"),
        "{h}"
    );
    assert!(h.contains("[env: AWS_ACCESS_KEY_ID"), "{h}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durations_and_sizes_are_read_one_way_and_refused_with_the_reason() {
    let t = TestTarget::start().await.unwrap();
    let presign_put = |extra: &[&str]| {
        let mut c = signpost(&t);
        c.args(["presign", "put", "--bucket", &t.bucket, "--key", "k"])
            .args(extra);
        c
    };
    for (given, secs) in [
        ("90s", 90),
        ("30m", 1800),
        ("6h", 21_600),
        ("7d", 604_800),
        ("3600", 3600),
        ("1h30m", 5400),
    ] {
        let out = run(presign_put(&["--expires", given])).await;
        assert!(out.status.success(), "{given}: {}", text(&out.stderr));
        let url = json(&out)["url"].as_str().unwrap().to_owned();
        assert!(
            url.contains(&format!("X-Amz-Expires={secs}&")),
            "{given}: {url}"
        );
    }
    for (given, says) in [
        ("-5", "a duration cannot be negative"),
        ("1x", "unknown unit"),
        ("8d", "604800"),
    ] {
        let out = run(presign_put(&["--expires", given])).await;
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{given}");
        assert!(err.contains(says), "{given}: {err}");
        assert!(out.stdout.is_empty(), "{given}: nothing signed");
    }
    // The receivers' timeouts read durations too.
    let mut c = bare(&[]);
    c.args(["serve", "--header-timeout", "-5"]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot be negative"),
        "{}",
        text(&out.stderr)
    );

    // Sizes: exact, never rounded to the largest number; a POST over S3's 5 GiB warned of.
    let presign_post = |max: &str| {
        let mut c = signpost(&t);
        c.args([
            "presign",
            "post",
            "--bucket",
            &t.bucket,
            "--key",
            "k",
            "--max-size",
            max,
        ]);
        c
    };
    for too_big in ["18446744073709551616", "16777216TiB", "-1"] {
        let out = run(presign_post(too_big)).await;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{too_big}: {err}");
        assert!(
            err.contains("too large") || err.contains("cannot be negative"),
            "{too_big}: {err}"
        );
    }
    let out = run(presign_post("10GiB")).await;
    assert!(out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("warning") && err.contains("5 GiB") && err.contains("presign multipart"),
        "{err}"
    );
    let out = run(presign_post("1GiB")).await;
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
    // One name for the largest object: presign's --max-size in the gateway too.
    let h = help(&["gateway"]).await;
    assert!(h.contains("--max-size <SIZE>"), "{h}");
    assert!(
        h.contains("KiB MiB GiB TiB") && h.contains("90s, 30m, 6h, 7d"),
        "{h}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presign_says_which_endpoint_it_signed_for() {
    let t = TestTarget::start().await.unwrap();
    let mut c = signpost(&t);
    c.args(["presign", "put", "--bucket", &t.bucket, "--key", "k"]);
    let out = run(c).await;
    assert!(out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("signed for {}", t.endpoint.trim_end_matches('/'))),
        "{err}"
    );
    // No endpoint anywhere: AWS, said so, with how to sign for a local server instead.
    let mut c = bare(&[
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        ),
    ]);
    c.args([
        "presign",
        "put",
        "--bucket",
        "videos",
        "--key",
        "k",
        "--region",
        "eu-west-3",
    ]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("signed for AWS S3 at https://s3.eu-west-3.amazonaws.com")
            && err.contains("AWS_ENDPOINT_URL"),
        "{err}"
    );
    assert!(!err.contains("wJalrXUtnFEMI"), "no secret: {err}");
}

async fn wait_healthy(endpoint: &str, deadline: Instant) -> bool {
    let client = signpost::http::client().unwrap();
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{endpoint}/healthz")).send().await
            && r.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_says_how_to_use_it_and_outlives_a_closed_stdout() {
    let port = signpost_tests::free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut child = tokio::process::Command::new(binary())
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .env_clear()
        .env("SIGNPOST_LOG", "info")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // `serve | head -3`: the reader goes away after three lines.
    let mut out = child.stdout.take().unwrap();
    let banner = {
        use tokio::io::AsyncReadExt;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let deadline = Instant::now() + Duration::from_secs(30);
        while !text(&buf).contains("drains and stops it") {
            assert!(Instant::now() < deadline, "no banner: {}", text(&buf));
            let n = tokio::time::timeout(Duration::from_secs(30), out.read(&mut chunk))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "stdout closed early: {}", text(&buf));
            buf.extend_from_slice(&chunk[..n]);
        }
        text(&buf)
    };
    drop(out);
    assert!(
        banner.contains(&format!("export AWS_ENDPOINT_URL={endpoint}")),
        "{banner}"
    );
    assert!(
        banner.contains("export AWS_ACCESS_KEY_ID=minioadmin AWS_SECRET_ACCESS_KEY=minioadmin"),
        "{banner}"
    );
    assert!(
        banner.contains("a temporary directory, deleted") && banner.contains("--data DIR"),
        "{banner}"
    );
    let data = banner
        .lines()
        .find_map(|l| l.trim().strip_prefix("data:"))
        .and_then(|v| v.split_whitespace().next())
        .unwrap()
        .to_owned();
    assert!(Path::new(&data).is_dir());
    // Still serving with nobody reading its standard output, its access log on standard error.
    assert!(wait_healthy(&endpoint, Instant::now() + Duration::from_secs(10)).await);
    let pid = child.id().unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .unwrap()
        .unwrap();
    let mut err = String::new();
    {
        use tokio::io::AsyncReadExt;
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .await
            .unwrap();
    }
    assert!(status.success(), "{status}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !err.contains('\x1b'),
        "no colour codes in a log that is not a terminal: {err}"
    );
    assert!(err.contains("/healthz"), "the access log: {err}");
    assert!(
        !Path::new(&data).exists(),
        "the temporary directory is deleted"
    );
}

/// Checks `v`'s keys (besides the envelope's) against README's `--json` row for `command`.
fn readme_keys(v: &serde_json::Value, command: &str) {
    let readme = readme();
    let doc = section(&readme, "### `--json`");
    let row = doc
        .lines()
        .find(|l| l.starts_with(&format!("| `{command}` |")))
        .unwrap_or_else(|| panic!("no --json row for {command}"));
    let mut want: Vec<String> = row
        .split('|')
        .nth(2)
        .unwrap()
        .split([':', '('])
        .next()
        .unwrap()
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    let mut got: Vec<String> = v
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !["schemaVersion", "command", "ok"].contains(&k.as_str()))
        .cloned()
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "README's --json keys for {command}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_has_one_schema_and_failures_come_as_json_with_a_kind() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = t.key("json.bin");
    let file = write(dir.path(), "f.bin", &[7u8; 1000]);
    let mut c = signpost(&t);
    c.args(["presign", "put", "--bucket", &t.bucket, "--key", &key]);
    let job = write(dir.path(), "job.json", &run(c).await.stdout);

    let envelope = |v: &serde_json::Value, command: &str, ok: bool| {
        assert_eq!(v["schemaVersion"], 1, "{v}");
        assert_eq!(v["command"], command, "{v}");
        assert_eq!(v["ok"], ok, "{v}");
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        for k in &keys {
            assert!(
                !k.contains('_') && k.chars().next().unwrap().is_ascii_lowercase(),
                "camelCase keys only: {k} in {v}"
            );
        }
    };

    // upload: the result, and each kind of failure.
    let mut c = signpost(&t);
    c.args(["upload", "--json", "--job"]).arg(&job).arg(&file);
    let v = json(&run(c).await);
    envelope(&v, "upload", true);
    readme_keys(&v, "upload");
    assert_eq!(v["bytes"], 1000);

    let malformed = write(
        dir.path(),
        "bad.json",
        br#"{"url": "http://h/b/k", "methd": "PUT"}"#,
    );
    let expired = {
        let mut c = signpost(&t);
        c.args([
            "presign",
            "put",
            "--bucket",
            &t.bucket,
            "--key",
            &key,
            "--expires",
            "60",
            "--at",
            "2020-01-01T00:00:00Z",
        ]);
        write(dir.path(), "old.json", &run(c).await.stdout)
    };
    let gone = dir.path().join("missing.bin");
    let unreachable = write(
        dir.path(),
        "down.json",
        format!(r#"{{"url": "http://{}/b/k"}}"#, signpost_tests::dead_addr()).as_bytes(),
    );
    for (job, path, kind, said) in [
        (&malformed, &file, "invalid-descriptor", "methd"),
        (
            &expired,
            &file,
            "expired",
            "expired at 2020-01-01T00:01:00Z",
        ),
        (&job, &gone, "file-unreadable", "missing.bin"),
        (
            &unreachable,
            &file,
            "unreachable",
            "nothing is listening there",
        ),
    ] {
        let mut c = signpost(&t);
        c.args(["upload", "--json", "--retries", "0", "--job"])
            .arg(job)
            .arg(path);
        let out = run(c).await;
        assert_eq!(out.status.code(), Some(1), "{kind}");
        let v = json(&out);
        envelope(&v, "upload", false);
        assert_eq!(v["error"]["kind"], kind, "{v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains(said), "{kind}: {message}");
        assert!(
            text(&out.stderr).contains(message),
            "the same line on standard error: {}",
            text(&out.stderr)
        );
    }
    // Refused by the server: its status and code.
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&job).unwrap()).unwrap();
    let url = doc["url"].as_str().unwrap().to_owned();
    let sig = url.rfind("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let flipped = if &url[sig..=sig] == "0" { "1" } else { "0" };
    doc["url"] = format!("{}{flipped}{}", &url[..sig], &url[sig + 1..]).into();
    let tampered = write(dir.path(), "tampered.json", doc.to_string().as_bytes());
    let mut c = signpost(&t);
    c.args(["upload", "--json", "--job"])
        .arg(&tampered)
        .arg(&file);
    let v = json(&run(c).await);
    envelope(&v, "upload", false);
    assert_eq!(v["error"]["status"], 403, "{v}");
    // Garage answers AccessDenied "Invalid signature" where S3 says SignatureDoesNotMatch.
    assert!(
        ["SignatureDoesNotMatch", "AccessDenied"].contains(&v["error"]["s3Code"].as_str().unwrap()),
        "{v}"
    );
    assert_eq!(v["error"]["kind"], "needs-new-target", "{v}");
    assert_eq!(v["error"]["needsNewTarget"], true, "{v}");

    // inspect, verify, presign, roundtrip.
    let mut c = signpost(&t);
    c.args(["inspect", "--json"]).arg(&job);
    let v = json(&run(c).await);
    envelope(&v, "inspect", true);
    readme_keys(&v, "inspect");
    assert_eq!(v["signedHeaders"], serde_json::json!(["host"]), "{v}");
    let mut c = signpost(&t);
    c.args(["inspect", "--json"]).arg(&malformed);
    let out = run(c).await;
    let v = json(&out);
    envelope(&v, "inspect", false);
    assert_eq!(v["error"]["kind"], "invalid-descriptor", "{v}");

    let mut c = signpost(&t);
    c.args(["verify", "--json"]).arg(&job);
    let v = json(&run(c).await);
    envelope(&v, "verify", true);
    readme_keys(&v, "verify");
    assert_eq!(v["checks"][0]["accepted"], true, "{v}");
    let mut c = signpost(&t);
    c.args(["verify", "--json"]).arg(&tampered);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    envelope(&v, "verify", false);
    assert_eq!(v["checks"][0]["s3Code"], "SignatureDoesNotMatch", "{v}");

    let mut c = signpost(&t);
    c.args(["presign", "put", "--json", "--bucket", "", "--key", "k"]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    envelope(&v, "presign", false);
    assert_eq!(v["error"]["kind"], "invalid-argument", "{v}");
    let mut c = signpost(&t);
    c.args([
        "presign", "get", "--json", "--bucket", &t.bucket, "--key", &key,
    ]);
    let v = json(&run(c).await);
    envelope(&v, "presign", true);
    assert!(v["url"].as_str().unwrap().contains("X-Amz-Signature="));

    let mut c = signpost(&t);
    c.args([
        "roundtrip",
        "--json",
        "--bucket",
        &t.bucket,
        "--size",
        "1MiB",
        "--mode",
        "put",
    ]);
    let v = json(&run(c).await);
    envelope(&v, "roundtrip", true);
    readme_keys(&v, "roundtrip");
    assert_eq!(v["cases"][0]["passed"], true, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_the_real_cause_and_the_fix() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "f.bin", b"hello!");
    let key = t.key("hint.bin");

    // A Content-Length in the headers that the URL does not sign: the descriptor is at fault,
    // inspect finds it, upload refuses it before sending.
    let mut c = signpost(&t);
    c.args(["presign", "put", "--bucket", &t.bucket, "--key", &key]);
    let mut doc: serde_json::Value = serde_json::from_slice(&run(c).await.stdout).unwrap();
    doc["headers"] = serde_json::json!({ "Content-Length": "5" });
    let job = write(dir.path(), "cl.json", doc.to_string().as_bytes());
    let mut c = signpost(&t);
    c.args(["inspect"]).arg(&job);
    let out = run(c).await;
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(!said.contains("no problem found"), "{said}");
    assert!(
        said.contains("Content-Length: 5, which the presigned URL does not sign"),
        "{said}"
    );
    let mut c = signpost(&t);
    c.args(["upload", "--job"]).arg(&job).arg(&file);
    let out = run(c).await;
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("does not sign") && !err.contains("the URL was signed for"),
        "{err}"
    );
    assert_eq!(t.get(&key).await.unwrap().0, 404, "nothing stored");

    // An access key the server does not know.
    let mut c = signpost(&t);
    c.env("AWS_ACCESS_KEY_ID", "AKIDNOTONTHISSERVER");
    c.args(["presign", "put", "--bucket", &t.bucket, "--key", &key]);
    let job = write(dir.path(), "unknown.json", &run(c).await.stdout);
    let mut c = signpost(&t);
    c.args(["upload", "--job"]).arg(&job).arg(&file);
    let out = run(c).await;
    let err = text(&out.stderr);
    assert!(!out.status.success());
    // s3s and Ceph: InvalidAccessKeyId; Garage: AccessDenied "No such key" (measured).
    assert!(
        err.contains("unknown to this server")
            && (err.contains("InvalidAccessKeyId") || err.contains("No such key")),
        "{err}"
    );

    // A server that is not running: say so, and where to look.
    let mut c = signpost(&t);
    c.env(
        "AWS_ENDPOINT_URL",
        format!("http://{}", signpost_tests::dead_addr()),
    );
    c.args([
        "presign",
        "multipart",
        "--bucket",
        &t.bucket,
        "--key",
        &key,
        "--max-size",
        "10MiB",
    ]);
    let out = run(c).await;
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("nothing is listening there") && err.contains("--endpoint"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborting_with_expired_urls_says_how_to_get_fresh_ones_and_that_works() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = t.key("abort-expired.bin");
    // The upload is started now; its URLs were signed for a window long gone.
    let mut c = signpost(&t);
    c.args([
        "presign",
        "multipart",
        "--bucket",
        &t.bucket,
        "--key",
        &key,
        "--max-size",
        "10MiB",
        "--at",
        "2020-01-01T00:00:00Z",
        "--expires",
        "1h",
    ]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let job = write(dir.path(), "old.json", &out.stdout);
    let (status, listing) = t.list_uploads(&key).await.unwrap();
    assert_eq!(status, 200);
    assert!(
        listing.contains("<UploadId>"),
        "the upload is open: {listing}"
    );
    let id = listing
        .split("<UploadId>")
        .nth(1)
        .and_then(|r| r.split("</UploadId>").next())
        .unwrap()
        .to_owned();

    let mut c = signpost(&t);
    c.args(["upload", "--abort", "--job"]).arg(&job);
    let out = run(c).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("expired"), "{err}");
    let pipeline = err
        .split("With the credentials at hand: ")
        .nth(1)
        .and_then(|r| r.split("; else ").next())
        .unwrap_or_else(|| panic!("no command to abort with fresh URLs: {err}"))
        .replace("BUCKET", &t.bucket)
        .replace("KEY", &key);
    // The id as a shell word (Ceph's ids hold `~`, quoted).
    assert!(
        pipeline.contains(&format!("--upload-id {id} "))
            || pipeline.contains(&format!("--upload-id '{id}' ")),
        "{pipeline}"
    );
    assert!(
        err.contains("signpost presign multipart --upload-id"),
        "{err}"
    );

    // The command it gives, run as printed (with the bucket and key filled in), aborts it.
    let bin_dir = binary().parent().unwrap().to_owned();
    let mut c = Command::new("sh");
    c.args(["-c", &pipeline]).env_clear().envs(t.cli_env()).env(
        "PATH",
        format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    let out = run(c).await;
    assert!(out.status.success(), "{pipeline}: {}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("was aborted"),
        "{}",
        text(&out.stdout)
    );
    let (_, listing) = t.list_uploads(&key).await.unwrap();
    assert!(!listing.contains(&id), "the upload is gone: {listing}");
}

/// README.md, as committed.
fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap()
}

/// The lines of README's section that starts with `heading`, up to the next heading of its level
/// or above.
fn section(readme: &str, heading: &str) -> String {
    let start = readme
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README has no {heading:?}"));
    let level = heading.split(' ').next().unwrap().len();
    let rest = &readme[start + heading.len() + 2..];
    let end = rest
        .lines()
        .scan(0usize, |at, l| {
            let here = *at;
            *at += l.len() + 1;
            Some((here, l))
        })
        .find(|(_, l)| {
            let hashes = l.chars().take_while(|c| *c == '#').count();
            hashes > 0 && hashes <= level && l.chars().nth(hashes) == Some(' ')
        })
        .map_or(rest.len(), |(at, _)| at);
    rest[..end].to_owned()
}

/// A help page's flags, without those under the given headings (`--help` and `--version` left out).
fn own_flags(help: &str, skip_headings: &[&str]) -> Vec<String> {
    let mut skip = false;
    let mut out = Vec::new();
    for line in help.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            skip = skip_headings.iter().any(|h| line.starts_with(h));
            continue;
        }
        if skip {
            continue;
        }
        // A flag's own line starts with it (after `-x,`); flags named in descriptions are not its.
        let t = line.trim_start();
        let t = t
            .strip_prefix("-h, ")
            .or_else(|| t.strip_prefix("-V, "))
            .unwrap_or(t);
        if let Some(f) = t.strip_prefix("--") {
            let name: String = f
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
                .collect();
            if !name.is_empty() && name != "help" && name != "version" {
                out.push(format!("--{name}"));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_command_table_and_json_kinds_match_the_binary() {
    let readme = readme();
    let commands = section(&readme, "## The `signpost` command");
    let mut rows: std::collections::BTreeMap<String, String> = Default::default();
    for line in commands.lines().filter(|l| l.starts_with("| `signpost ")) {
        let cell = line.split('`').nth(1).unwrap();
        let path: Vec<&str> = cell
            .split_whitespace()
            .skip(1)
            .take_while(|w| {
                w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !w.starts_with('-')
            })
            .collect();
        rows.entry(path.join(" "))
            .or_default()
            .push_str(&format!(" {cell}"));
    }
    // Every command and subcommand the binary has is in the table.
    let mut expected = Vec::new();
    for (parent, prefix) in [(vec![], ""), (vec!["presign"], "presign ")] {
        let h = help(&parent).await;
        let listed = h
            .split("Commands:")
            .nth(1)
            .unwrap()
            .split("\n\n")
            .next()
            .unwrap()
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|c| *c != "help" && *c != "presign")
            .map(|c| format!("{prefix}{c}"))
            .collect::<Vec<_>>();
        expected.extend(listed);
    }
    let mut in_table: Vec<String> = rows.keys().cloned().collect();
    expected.sort();
    in_table.sort();
    assert_eq!(
        in_table, expected,
        "README's command table lists exactly the commands"
    );
    let limits = section(&readme, "## The `signpost` command");
    let limits = limits
        .split("`LIMITS`")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap();
    for (path, row) in &rows {
        let args: Vec<&str> = path.split(' ').collect();
        let h = help(&args).await;
        let all = own_flags(&h, &[]);
        for f in flags(row) {
            assert!(
                all.contains(&f),
                "README's row for `{path}` names {f}, which it does not take"
            );
        }
        for f in own_flags(&h, &["S3 endpoint and credentials", "Limits"]) {
            assert!(
                row.contains(&format!("{f} ")) || row.contains(&format!("{f}]")),
                "`signpost {path}` takes {f}, missing from README's row"
            );
        }
        for f in own_flags(&h, &["Options", "S3 endpoint and credentials"]) {
            assert!(
                limits.contains(&format!("`{f}`")) || limits.contains(&format!("`{f} ")),
                "LIMITS does not list {f} of {path}"
            );
        }
    }

    let json_doc = section(&readme, "### `--json`");
    // Every failure kind the command can report is documented.
    for kind in signpost::report::kinds() {
        assert!(
            json_doc.contains(&format!("`{kind}`")),
            "README's --json kinds lack {kind}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_presign_examples_run_as_written() {
    let t = TestTarget::start().await.unwrap();
    let readme = readme();
    // "(what `signpost presign … ` prints)": each such example, with its bucket made this
    // test's (the examples say `videos`), must sign as written.
    let examples: Vec<String> = readme
        .lines()
        .filter(|l| l.contains("prints"))
        .filter_map(|l| l.split("(what `").nth(1)?.split('`').next())
        .filter(|c| c.starts_with("signpost presign "))
        .map(str::to_owned)
        .collect();
    assert!(examples.len() >= 3, "{examples:?}");
    for example in &examples {
        let words: Vec<String> = example
            .split_whitespace()
            .skip(1)
            .map(|w| {
                if w == "videos" {
                    t.bucket.clone()
                } else {
                    w.to_owned()
                }
            })
            .collect();
        assert!(
            words.contains(&"--bucket".to_owned()),
            "{example} names its bucket"
        );
        let key_of = |w: &[String]| {
            w.iter()
                .position(|x| x == "--key" || x == "--key-prefix")
                .map(|i| w[i + 1].clone())
        };
        let mut words = words.clone();
        // A key of its own, so runs never meet.
        let own = t.key("readme");
        if let Some(i) = words
            .iter()
            .position(|x| x == "--key" || x == "--key-prefix")
        {
            words[i + 1] = format!("{own}/{}", key_of(&words).unwrap());
        }
        let mut c = signpost(&t);
        c.args(&words);
        let out = run(c).await;
        assert!(out.status.success(), "{example}: {}", text(&out.stderr));
        let job = json(&out);
        assert!(job["url"].as_str().is_some(), "{example}: {job}");
        if words.iter().any(|w| w == "multipart") {
            // Started on the server: abort it, so the shared bucket keeps no open upload.
            let dir = tempfile::tempdir().unwrap();
            let jf = write(dir.path(), "job.json", &out.stdout);
            let mut c = signpost(&t);
            c.args(["upload", "--abort", "--job"]).arg(&jf);
            let out = run(c).await;
            assert!(out.status.success(), "{}", text(&out.stderr));
        }
    }
}
