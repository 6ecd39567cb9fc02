//! The built `signpost` binary: presign, upload and roundtrip as a person or a script runs them.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use assert_cmd::Command;
use sha2::{Digest, Sha256};
use signpost_tests::{TestTarget, binary};

fn signpost(t: &TestTarget) -> Command {
    let mut c = Command::new(binary());
    c.env_clear().envs(t.cli_env());
    c
}

/// Runs the command on a blocking thread (the test's runtime serves the embedded server).
async fn run(mut c: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

async fn get_back(t: &TestTarget, key: &str) -> Vec<u8> {
    let (status, body) = t.get(key).await.unwrap();
    assert_eq!(status, 200, "GET {key}");
    body
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presign_put_then_upload_then_read_back() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let file = write(dir.path(), "out.mp4", &data);
    let key = t.key("cli put.mp4");
    let mut c = signpost(&t);
    c.args([
        "presign",
        "put",
        "--bucket",
        &t.bucket,
        "--key",
        &key,
        "--content-type",
        "video/mp4",
        "--meta",
        "job=42",
    ]);
    c.args(["--checksum-sha256", file.to_str().unwrap()]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let job: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(job["method"], "PUT");
    assert_eq!(job["headers"]["Content-Type"], "video/mp4");
    assert!(job["url"].as_str().unwrap().contains("X-Amz-Signature="));
    assert!(
        !text(&out.stdout).contains(&t.secret_key),
        "no secret in the output"
    );
    let job_file = write(dir.path(), "job.json", &out.stdout);

    let mut c = signpost(&t);
    c.args([
        "upload",
        "--json",
        "--job",
        job_file.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["status"], 200);
    assert_eq!(result["bytes"], 3_000_000);
    assert!(result["seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(
        Sha256::digest(get_back(&t, &key).await),
        Sha256::digest(&data)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presign_post_then_upload_from_stdin_descriptor() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "clip.webm", b"webm bytes");
    let prefix = t.key("post/");
    let mut c = signpost(&t);
    c.args([
        "presign",
        "post",
        "--bucket",
        &t.bucket,
        "--key-prefix",
        &prefix,
        "--max-size",
        "1MiB",
    ]);
    c.args(["--content-type-prefix", "video/", "--success-status", "201"]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut c = signpost(&t);
    c.args([
        "upload",
        "--json",
        "--content-type",
        "video/webm",
        "--job",
        "-",
        file.to_str().unwrap(),
    ]);
    c.write_stdin(out.stdout);
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["status"], 201);
    let key = format!("{prefix}clip.webm");
    assert_eq!(result["key"], key.as_str());
    assert_eq!(get_back(&t, &key).await, b"webm bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presign_multipart_then_upload() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..(11u32 << 20)).map(|i| (i % 253) as u8).collect();
    let file = write(dir.path(), "big.mp4", &data);
    let key = t.key("multi.mp4");
    let mut c = signpost(&t);
    c.args([
        "presign",
        "multipart",
        "--bucket",
        &t.bucket,
        "--key",
        &key,
        "--part-size",
        "5MiB",
        "--max-size",
        "20MiB",
    ]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let job: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(job["multipart"]["parts"].as_array().unwrap().len(), 4);
    let job_file = write(dir.path(), "job.json", &out.stdout);
    let mut c = signpost(&t);
    c.args([
        "upload",
        "--json",
        "--job",
        job_file.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["parts"], 3);
    assert_eq!(
        Sha256::digest(get_back(&t, &key).await),
        Sha256::digest(&data)
    );
}

/// Standard input takes the upload's options like a file does: what applies is honoured, what
/// cannot apply to a stream is refused by its flag before anything is sent (before, the stream
/// path built no options and ignored them all).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_input_honours_or_refuses_each_upload_option() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..(7u32 << 20)).map(|i| (i % 249) as u8).collect();
    let presign = |key: &str| {
        let mut c = signpost(&t);
        c.args(["presign", "multipart", "--bucket", &t.bucket, "--key", key]);
        c.args(["--part-size", "5MiB", "--max-size", "20MiB"]);
        c
    };
    for (flags, named) in [
        (&["--on-failure", "keep"][..], "--on-failure keep"),
        (&["--content-type", "video/mp4"][..], "--content-type"),
        (&["--file-name", "a.mp4"][..], "--file-name"),
        (&["--put-digest", "first"][..], "--put-digest"),
    ] {
        let key = t.key("stdin-refused.bin");
        let out = run(presign(&key)).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        let job = write(dir.path(), "refused.json", &out.stdout);
        let mut c = signpost(&t);
        c.args([
            "upload",
            "--no-progress",
            "--job",
            job.to_str().unwrap(),
            "-",
        ]);
        c.args(flags);
        c.write_stdin(data.clone());
        let out = run(c).await;
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{flags:?} was accepted");
        assert!(
            err.contains("has no effect on a stream") && err.contains(named),
            "{flags:?}: {err}"
        );
        let (status, _) = t.get(&key).await.unwrap();
        assert_eq!(status, 404, "{flags:?}: nothing stored");
        // The upload `presign multipart` opened is the test's to close: suites share the bucket.
        let mut c = signpost(&t);
        c.args(["upload", "--abort", "--job", job.to_str().unwrap()]);
        let out = run(c).await;
        assert!(out.status.success(), "{flags:?}: {}", text(&out.stderr));
        let (status, body) = t.list_uploads(&key).await.unwrap();
        assert_eq!(status, 200);
        assert!(!body.contains("<UploadId>"), "{flags:?}: left open: {body}");
    }
    let key = t.key("stdin-md5-off.bin");
    let out = run(presign(&key)).await;
    let job = write(dir.path(), "ok.json", &out.stdout);
    let mut c = signpost(&t);
    c.args([
        "upload",
        "--json",
        "--no-content-md5",
        "--on-failure",
        "abort",
    ]);
    c.args(["--job", job.to_str().unwrap(), "-"]);
    c.write_stdin(data.clone());
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["parts"], 2);
    assert_eq!(
        Sha256::digest(get_back(&t, &key).await),
        Sha256::digest(&data)
    );
}

/// `presign multipart` against a server that is down: retried, then one line naming the host,
/// never the presigned CreateMultipartUpload URL or its signature (before, it printed the whole
/// URL with its X-Amz-Signature after one attempt).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presign_multipart_against_a_server_that_is_down_names_the_host_not_the_url() {
    let t = TestTarget::start().await.unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut c = signpost(&t);
    c.env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"));
    c.env("SIGNPOST_LOG", "warn");
    c.args(["presign", "multipart", "--bucket", "down-bucket"]);
    c.args(["--key", "down/key.mp4", "--max-size", "1GiB"]);
    let out = run(c).await;
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.contains("attempt"), "retried, and says so: {err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: CreateMultipartUpload for down-bucket/down/key.mp4"),
        "{err}"
    );
    // The retries are logged with the URL redacted: its signature and credential are masked.
    for (i, _) in err.match_indices("X-Amz-Signature=") {
        assert!(err[i..].starts_with("X-Amz-Signature=******"), "{err}");
    }
    assert!(
        err.contains("X-Amz-Signature=******"),
        "the retries are logged: {err}"
    );
    for secret in [&t.secret_key, &t.access_key] {
        assert!(
            !err.contains(secret.as_str()),
            "a credential printed: {err}"
        );
    }
    assert!(!last.contains("X-Amz-"), "the error names no URL: {last}");
}

/// A plan `presign multipart` must refuse is refused before CreateMultipartUpload: no upload is
/// left open on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presign_multipart_refuses_a_bad_plan_before_starting_an_upload() {
    let t = TestTarget::start().await.unwrap();
    let key = t.key("refused-plan.mp4");
    for (part, max, says) in [
        ("4MiB", "1GiB", "part size"),
        ("6GiB", "10GiB", "part size"),
        ("5MiB", "100GiB", "parts"),
    ] {
        let mut c = signpost(&t);
        c.args([
            "presign",
            "multipart",
            "--bucket",
            &t.bucket,
            "--key",
            &key,
            "--part-size",
            part,
            "--max-size",
            max,
        ]);
        let out = run(c).await;
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{part} {max}: accepted");
        assert!(out.stdout.is_empty(), "{part} {max}: {}", text(&out.stdout));
        assert!(err.contains(says), "{part} {max}: {err}");
    }
    let (status, body) = t.list_uploads(&key).await.unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("<ListMultipartUploadsResult"), "{body}");
    assert!(
        !body.contains("<UploadId>"),
        "an upload was left open: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_one_clear_line_and_a_failing_exit() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "f.bin", b"data");
    // (arguments, standard input, what the error line must say)
    type Case<'a> = (Vec<String>, Option<&'a [u8]>, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![
                "upload".into(),
                "--job".into(),
                dir.path().join("nope.json").display().to_string(),
                file.display().to_string(),
            ],
            None,
            "cannot read the descriptor",
        ),
        (
            vec![
                "upload".into(),
                "--job".into(),
                "-".into(),
                file.display().to_string(),
            ],
            Some(b"{not json"),
            "malformed upload descriptor",
        ),
        (
            vec![
                "upload".into(),
                "--job".into(),
                "-".into(),
                file.display().to_string(),
            ],
            Some(br#"{"url":"ftp://h/x"}"#),
            "unsupported scheme `ftp`",
        ),
        (
            vec![
                "upload".into(),
                "--job".into(),
                "-".into(),
                dir.path().join("missing.mp4").display().to_string(),
            ],
            Some(br#"{"url":"http://127.0.0.1:1/b/k"}"#),
            "file not found",
        ),
        (
            vec![
                "presign".into(),
                "put".into(),
                "--bucket".into(),
                t.bucket.clone(),
                "--key".into(),
                "k".into(),
                "--expires".into(),
                "999999".into(),
            ],
            None,
            "604800",
        ),
        (
            vec![
                "presign".into(),
                "put".into(),
                "--bucket".into(),
                "".into(),
                "--key".into(),
                "k".into(),
            ],
            None,
            "bucket name is empty",
        ),
        (
            vec![
                "presign".into(),
                "put".into(),
                "--bucket".into(),
                t.bucket.clone(),
                "--key".into(),
                "k".into(),
                "--region".into(),
                "us east".into(),
            ],
            None,
            "invalid region",
        ),
    ];
    for (args, stdin, expect) in cases {
        let mut c = signpost(&t);
        c.args(&args);
        if let Some(s) = stdin {
            c.write_stdin(s.to_vec());
        }
        let out = run(c).await;
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert_eq!(
            err.trim().lines().count(),
            1,
            "{args:?}: one line, got {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{err}"
        );
    }
    assert_eq!(
        std::fs::read(&file).unwrap(),
        b"data",
        "the source file is untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_target_fails_before_sending_and_says_so() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "f.bin", b"data");
    let mut c = signpost(&t);
    c.args([
        "presign",
        "put",
        "--bucket",
        &t.bucket,
        "--key",
        "k",
        "--expires",
        "60",
        "--at",
        "2020-01-01T00:00:00Z",
    ]);
    let out = run(c).await;
    assert!(out.status.success());
    let mut c = signpost(&t);
    c.args(["upload", "--job", "-", file.to_str().unwrap()]);
    c.write_stdin(out.stdout);
    let out = run(c).await;
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("expired at 2020-01-01T00:01:00Z"), "{err}");
    assert!(
        err.contains("ask the server for a new upload target"),
        "{err}"
    );
    assert!(err.contains("was not modified"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roundtrip_command_against_the_server() {
    let t = TestTarget::start().await.unwrap();
    let mut c = signpost(&t);
    c.args(["roundtrip", "--bucket", &t.bucket, "--size", "6MiB"]);
    let out = run(c).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("9 passed, 0 failed"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roundtrip_command_with_no_endpoint_starts_its_own_server() {
    let mut c = Command::new(binary());
    c.env_clear().env("SIGNPOST_LOG", "off");
    c.args(["roundtrip", "--size", "1MiB", "--mode", "put"]);
    let out = run(c).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("(embedded s3s-fs server)"), "{stdout}");
    assert!(stdout.contains("1 passed, 0 failed"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_printed_curl_command_uploads_the_file() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    let file = write(dir.path(), "clip.mp4", &data);
    let prefix = t.key("curl/");
    let mut c = signpost(&t);
    c.args([
        "presign",
        "post",
        "--bucket",
        &t.bucket,
        "--key-prefix",
        &prefix,
        "--format",
        "curl",
    ]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let command = text(&out.stdout).replace("file=@FILE", &format!("file=@{}", file.display()));
    let sh = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh")
            .args(["-c", &command])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(sh.status.success(), "{}", text(&sh.stderr));
    let status = text(&sh.stdout);
    assert!(
        ["200", "201", "204"].contains(&status.trim()),
        "curl got {status}"
    );
    assert_eq!(get_back(&t, &format!("{prefix}clip.mp4")).await, data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_reads_a_descriptor_and_names_what_would_stop_an_upload() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = t.key("inspect me.mp4");
    let mut c = signpost(&t);
    c.args([
        "presign",
        "put",
        "--bucket",
        &t.bucket,
        "--key",
        &key,
        "--content-type",
        "video/mp4",
    ]);
    let good = run(c).await.stdout;
    let job = write(dir.path(), "good.json", &good);
    let mut c = signpost(&t);
    c.env_remove("AWS_SECRET_ACCESS_KEY");
    c.args(["inspect", "--json", job.to_str().unwrap()]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let i: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(i["key"], key.as_str());
    assert_eq!(
        i["signedHeaders"],
        serde_json::json!(["content-type", "host"])
    );
    assert_eq!(i["credential"]["region"], t.region.as_str());
    assert!(i["expiresIn"].as_i64().unwrap() > 3500);
    let at = |f: &str| {
        time::OffsetDateTime::parse(
            i[f].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap_or_else(|e| panic!("{f} {}: {e}", i[f]))
    };
    assert_eq!(at("expiresAt") - at("signedAt"), time::Duration::hours(1));
    assert!(!text(&out.stdout).contains(&t.secret_key));

    // A URL from an SDK that baked in the checksum of an empty body, and expired.
    let mut c = signpost(&t);
    c.args([
        "presign",
        "put",
        "--bucket",
        &t.bucket,
        "--key",
        &key,
        "--at",
        "2020-01-01T00:00:00Z",
    ]);
    let old: serde_json::Value = serde_json::from_slice(&run(c).await.stdout).unwrap();
    let url = format!(
        "{}&x-amz-checksum-crc32=AAAAAA%3D%3D",
        old["url"].as_str().unwrap()
    );
    let mut c = signpost(&t);
    c.args(["inspect", &url]);
    let out = run(c).await;
    let report = text(&out.stdout);
    assert!(!out.status.success());
    assert!(report.contains("EXPIRED"), "{report}");
    assert!(
        report.contains("PROBLEM          the presigned URL expired"),
        "{report}"
    );
    assert!(report.contains("checksum of an empty body"), "{report}");

    // A bare POST URL with no form fields, as PeerTube hands runners today: a note (S3 refuses
    // it), not a problem (a gateway takes it), so the exit status stays 0. A presigned POST with
    // its fields has no note.
    let bare = write(
        dir.path(),
        "bare.json",
        serde_json::json!({ "url": format!("{}/{}", t.endpoint, t.bucket), "method": "POST" })
            .to_string()
            .as_bytes(),
    );
    let mut post = signpost(&t);
    post.args([
        "presign",
        "post",
        "--bucket",
        &t.bucket,
        "--key-prefix",
        "notes/",
        "--max-size",
        "1MiB",
    ]);
    let presigned = write(dir.path(), "post.json", &run(post).await.stdout);
    for (job, noted) in [(bare, true), (presigned, false)] {
        let mut c = signpost(&t);
        c.args(["inspect", "--json", job.to_str().unwrap()]);
        let out = run(c).await;
        assert!(out.status.success(), "{}", text(&out.stdout));
        let i: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(i["kind"], "POST form");
        let notes = i["notes"].as_array().unwrap();
        assert_eq!(
            notes
                .iter()
                .any(|n| n.as_str().unwrap().contains("the form has no `key` field")),
            noted,
            "{notes:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_says_whether_s3_would_accept_the_request() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut c = signpost(&t);
    c.args([
        "presign",
        "put",
        "--bucket",
        &t.bucket,
        "--key",
        "v.mp4",
        "--content-type",
        "video/mp4",
    ]);
    let job = write(dir.path(), "job.json", &run(c).await.stdout);
    let mut c = signpost(&t);
    c.args(["verify", job.to_str().unwrap()]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("PUT request: accepted"));
    let mut c = signpost(&t);
    c.args([
        "verify",
        job.to_str().unwrap(),
        "--header",
        "Content-Type: text/html",
    ]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("refused, 403 SignatureDoesNotMatch"),
        "{}",
        text(&out.stdout)
    );
    let mut c = signpost(&t);
    c.args([
        "presign",
        "post",
        "--bucket",
        &t.bucket,
        "--key-prefix",
        "v/",
    ]);
    let form = write(dir.path(), "form.json", &run(c).await.stdout);
    let mut c = signpost(&t);
    c.env("AWS_SECRET_ACCESS_KEY", "not-the-secret");
    c.args(["verify", form.to_str().unwrap()]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("POST form: refused"),
        "{}",
        text(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_size_put_refuses_any_other_size() {
    let t = TestTarget::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = t.key("fixed size.mp4");
    let mut c = signpost(&t);
    c.args(["presign", "put", "--bucket", &t.bucket, "--key", &key]);
    c.args(["--content-length", "100000"]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let job: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(job["headers"]["Content-Length"], "100000");
    let url = job["url"].as_str().unwrap().to_owned();
    assert!(
        url.contains("X-Amz-SignedHeaders=content-length%3Bhost"),
        "{url}"
    );
    let job_file = write(dir.path(), "job.json", &out.stdout);

    // Another size: refused before a byte is sent, nothing stored.
    let short = write(dir.path(), "short.mp4", &vec![7u8; 99_999]);
    let mut c = signpost(&t);
    c.args([
        "upload",
        "--job",
        job_file.to_str().unwrap(),
        short.to_str().unwrap(),
    ]);
    let out = run(c).await;
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("99999 bytes") && err.contains("exactly 100000 bytes"),
        "{err}"
    );
    assert!(err.contains("nothing was sent"), "{err}");
    assert_eq!(t.get(&key).await.unwrap().0, 404);

    // Sent anyway by another client: the server refuses it (the size is signed).
    let resp = signpost::http::client()
        .unwrap()
        .put(&url)
        .body(vec![7u8; 99_999])
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        403,
        "{}",
        resp.text().await.unwrap()
    );
    assert_eq!(t.get(&key).await.unwrap().0, 404);

    // The size it was signed for: stored.
    let data = signpost_tests::random_bytes(100_000).unwrap();
    let exact = write(dir.path(), "exact.mp4", &data);
    let mut c = signpost(&t);
    c.args([
        "upload",
        "--job",
        job_file.to_str().unwrap(),
        exact.to_str().unwrap(),
    ]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(get_back(&t, &key).await, data);
}
