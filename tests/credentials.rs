//! The AWS credential chain end to end against ministack (S3 that checks signatures and session
//! tokens, with STS and IAM): each source of the chain yields credentials that sign a URL its S3
//! accepts; each broken source is named in one line with its fix; an expiry past the
//! credentials' is cut (or refused with --strict-expiry).
//!
//! Run by `tests/servers/ministack.sh cargo test -p signpost-tests --test credentials --
//! --ignored` (CI does), which exports MINISTACK_ENDPOINT, MINISTACK_BUCKET, MINISTACK_ROLE_ARN.
//! The instance metadata service and the container endpoint are served here (the IMDSv2 token
//! flow; the container endpoint's authorization token), handing out credentials minted by
//! ministack's STS: ministack's own IMDS and container keys are not STS sessions its S3 knows.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use aws_credential_types::provider::ProvideCredentials;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use signpost_tests::binary;

struct Ministack {
    endpoint: String,
    bucket: String,
    role_arn: String,
}

fn ministack() -> Ministack {
    let var = |n: &str| {
        std::env::var(n).unwrap_or_else(|_| {
            panic!(
                "{n} is not set: run through tests/servers/ministack.sh (see this file's header)"
            )
        })
    };
    Ministack {
        endpoint: var("MINISTACK_ENDPOINT"),
        bucket: var("MINISTACK_BUCKET"),
        role_arn: var("MINISTACK_ROLE_ARN"),
    }
}

/// Credentials of the test role, minted by ministack's STS (AssumeRole with its root key).
async fn role_credentials(m: &Ministack) -> aws_credential_types::Credentials {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&m.endpoint)
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "root",
        ))
        .load()
        .await;
    aws_config::sts::AssumeRoleProvider::builder(&m.role_arn)
        .session_name("signpost-test")
        .configure(&conf)
        .build()
        .await
        .provide_credentials()
        .await
        .unwrap()
}

/// `signpost` with nothing from this process's environment but PATH, a HOME without `.aws`, and
/// the instance metadata service off unless a test turns it on.
fn signpost(home: &Path) -> Command {
    let mut c = Command::new(binary());
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env(
            "SIGNPOST_LOG",
            std::env::var("SIGNPOST_TEST_LOG").unwrap_or_else(|_| "off".into()),
        );
    c
}

fn presign_args<'a>(c: &'a mut Command, m: &Ministack, key: &str) -> &'a mut Command {
    c.args([
        "presign",
        "put",
        "--endpoint",
        &m.endpoint,
        "--bucket",
        &m.bucket,
        "--key",
        key,
        "--expires",
        "600",
    ])
}

async fn output(mut c: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The URL of a `presign put` that succeeded.
fn url_of(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "presign failed: {}",
        text(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["url"].as_str().unwrap().to_owned()
}

async fn put(url: &str, body: &'static [u8]) -> (u16, String) {
    let r = signpost::http::client()
        .unwrap()
        .put(url)
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The URL is accepted by ministack's S3 (which checks the signature and the session token),
/// stores the body, and a damaged session token is refused.
async fn assert_accepted_and_token_checked(url: &str, body: &'static [u8]) {
    let (status, answer) = put(url, body).await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        url.contains("X-Amz-Security-Token="),
        "temporary credentials: {url}"
    );
    // Editing a signed parameter breaks the signature too, so this only shows the URL is not
    // accepted whatever its token says; the token check itself is
    // `another_sessions_token_is_refused_as_an_invalid_token`.
    let damaged = url.replace("X-Amz-Security-Token=", "X-Amz-Security-Token=X");
    let (status, answer) = put(&damaged, body).await;
    assert!(
        (400..500).contains(&status) && answer.contains("<Code>"),
        "a damaged token must be refused with S3's error: {status} {answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ministack: tests/servers/ministack.sh cargo test -p signpost-tests --test credentials -- --ignored"]
async fn another_sessions_token_is_refused_as_an_invalid_token() {
    // URLs correctly signed with one session's key and secret: only the token can be refused.
    let m = ministack();
    let (a, b) = (role_credentials(&m).await, role_credentials(&m).await);
    let url = |token: Option<&str>| {
        let mut c = signpost_presign::Credentials::new(a.access_key_id(), a.secret_access_key());
        if let Some(t) = token {
            c = c.with_session_token(t);
        }
        signpost_presign::Presigner::new(
            c,
            signpost_presign::Endpoint::custom(&m.endpoint, "us-east-1").unwrap(),
        )
        .presign(&signpost_presign::PresignRequest::put_object(
            &*m.bucket,
            key("token"),
        ))
        .unwrap()
        .url()
        .as_str()
        .to_owned()
    };
    let (status, answer) = put(&url(a.session_token()), b"its own token").await;
    assert_eq!(status, 200, "{answer}");
    for (what, token) in [
        ("another session's token", b.session_token()),
        ("no token", None),
    ] {
        let (status, answer) = put(&url(token), b"x").await;
        assert_eq!(status, 400, "{what}: {answer}");
        assert!(
            answer.contains("<Code>InvalidToken</Code>"),
            "{what}: {answer}"
        );
    }
}

fn key(name: &str) -> String {
    format!("creds/{}/{name}", fastrand::u64(..))
}

/// `cmd` presigns a PUT (for a key named after `name`) whose URL ministack's S3 accepts and whose
/// damaged token it refuses; the command's output, for what its log says.
async fn assert_signs(
    m: &Ministack,
    mut cmd: Command,
    name: &str,
    body: &'static [u8],
) -> std::process::Output {
    presign_args(&mut cmd, m, &key(name));
    let out = output(cmd).await;
    assert_accepted_and_token_checked(&url_of(&out), body).await;
    out
}

/// `cmd` fails to presign, printing nothing and one line on stderr, which is returned.
async fn assert_refused_in_one_line(m: &Ministack, mut cmd: Command, what: &str) -> String {
    presign_args(&mut cmd, m, &key("refused"));
    let out = output(cmd).await;
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{what}: {err}");
    assert!(out.stdout.is_empty(), "{what}: nothing signed");
    assert_eq!(err.trim_end().lines().count(), 1, "{what}: one line: {err}");
    err
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// What a `credential_process` prints for `c`.
fn process_json(c: &aws_credential_types::Credentials) -> String {
    serde_json::json!({
        "Version": 1,
        "AccessKeyId": c.access_key_id(),
        "SecretAccessKey": c.secret_access_key(),
        "SessionToken": c.session_token().unwrap(),
        "Expiration": rfc3339(time::OffsetDateTime::from(c.expiry().unwrap())),
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ministack: tests/servers/ministack.sh cargo test -p signpost-tests --test credentials -- --ignored"]
async fn environment_session_credentials_sign_what_s3_accepts() {
    let m = ministack();
    let home = tempfile::tempdir().unwrap();
    let c = role_credentials(&m).await;
    let mut cmd = signpost(home.path());
    cmd.env("AWS_ACCESS_KEY_ID", c.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", c.secret_access_key())
        .env("AWS_SESSION_TOKEN", c.session_token().unwrap());
    assert_signs(&m, cmd, "env", b"from the environment").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ministack: tests/servers/ministack.sh cargo test -p signpost-tests --test credentials -- --ignored"]
async fn profile_assume_role_and_credential_process() {
    let m = ministack();
    let home = tempfile::tempdir().unwrap();
    let c = role_credentials(&m).await;
    let json_file = home.path().join("process.json");
    std::fs::write(&json_file, process_json(&c)).unwrap();
    let config = home.path().join("config");
    std::fs::write(
        &config,
        format!(
            "[profile base]\nregion = us-east-1\n\n\
             [profile uploader]\nrole_arn = {}\nsource_profile = base\nregion = us-east-1\n\n\
             [profile process]\ncredential_process = cat {}\n\n\
             [profile garbage]\ncredential_process = echo this is not JSON\n\n\
             [profile failing]\ncredential_process = false\n",
            m.role_arn,
            json_file.display()
        ),
    )
    .unwrap();
    let credentials = home.path().join("credentials");
    std::fs::write(
        &credentials,
        "[base]\naws_access_key_id = test\naws_secret_access_key = test\n",
    )
    .unwrap();
    let with_profile = |profile: &str| {
        let mut cmd = signpost(home.path());
        cmd.env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .env("AWS_ENDPOINT_URL_STS", &m.endpoint)
            .env("SIGNPOST_LOG", "debug")
            .env("AWS_PROFILE", profile);
        cmd
    };

    // role_arn + source_profile: AssumeRole at AWS_ENDPOINT_URL_STS.
    let out = assert_signs(&m, with_profile("uploader"), "assume-role", b"assumed role").await;
    let log = text(&out.stderr);
    assert!(
        log.contains("CredentialsProfile"),
        "the source is named: {log}"
    );
    assert!(!log.contains(c.secret_access_key()), "{log}");
    assert!(!log.contains("test\""), "{log}");

    // The same through an HTTP proxy: the chain's STS call goes through it, as every other
    // connection does.
    let proxy = signpost_tests::proxy::TestProxy::start(
        &m.endpoint,
        signpost_tests::proxy::ProxyRules::default(),
    )
    .await
    .unwrap();
    let mut cmd = with_profile("uploader");
    cmd.env("HTTP_PROXY", &proxy.base);
    assert_signs(
        &m,
        cmd,
        "assume-role-proxied",
        b"assumed role, through a proxy",
    )
    .await;
    assert!(
        proxy.seen().iter().any(|s| s.method == "POST"),
        "AssumeRole went through the proxy: {:?}",
        proxy.seen()
    );

    // credential_process printing STS credentials.
    let out = assert_signs(
        &m,
        with_profile("process"),
        "process",
        b"credential_process",
    )
    .await;
    let log = text(&out.stderr);
    assert!(log.contains("CredentialsProcess"), "{log}");
    for secret in [c.secret_access_key(), c.session_token().unwrap()] {
        assert!(!log.contains(secret), "a secret in the log: {log}");
    }

    // Broken sources: one line each, the source named, the fix given, nothing printed.
    for (profile, names) in [
        ("garbage", "credential_process"),
        ("failing", "credential_process"),
        ("no-such-profile", "no-such-profile"),
    ] {
        let mut cmd = with_profile(profile);
        cmd.env("SIGNPOST_LOG", "off");
        let err = assert_refused_in_one_line(&m, cmd, profile).await;
        assert!(err.contains(names), "{profile}: names {names}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ministack: tests/servers/ministack.sh cargo test -p signpost-tests --test credentials -- --ignored"]
async fn web_identity_token_file() {
    let m = ministack();
    let home = tempfile::tempdir().unwrap();
    let token = home.path().join("token");
    // A JWT from the issuer the role trusts (ministack checks the trust policy against the
    // token's `iss`, not the token's signature).
    let b64 = |v: serde_json::Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let jwt = format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(serde_json::json!({"alg": "RS256", "typ": "JWT"})),
        b64(serde_json::json!({
            "iss": "https://oidc.signpost.test",
            "sub": "system:serviceaccount:runners:signpost",
            "aud": "sts.amazonaws.com",
        }))
    );
    std::fs::write(&token, jwt).unwrap();
    let web = |token_file: &Path| {
        let mut cmd = signpost(home.path());
        cmd.env("AWS_WEB_IDENTITY_TOKEN_FILE", token_file)
            .env("AWS_ROLE_ARN", &m.role_arn)
            .env("AWS_ROLE_SESSION_NAME", "signpost-web")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL_STS", &m.endpoint);
        cmd
    };
    assert_signs(&m, web(&token), "web-identity", b"web identity").await;

    let err = assert_refused_in_one_line(&m, web(&home.path().join("missing-token")), "web").await;
    assert!(
        err.contains("missing-token") || err.contains("web identity"),
        "{err}"
    );
    assert!(err.contains("token file"), "the fix: {err}");
}

/// A local HTTP server answering with `answer`, recording the requests' method, path and
/// headers.
type Seen = Arc<Mutex<Vec<(String, String, Option<String>, Option<String>)>>>;

async fn local_server(
    answer: impl Fn(&str, &str, Option<&str>, Option<&str>) -> (u16, String) + Send + Sync + 'static,
) -> (String, Seen, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let answer = Arc::new(answer);
    let s = Arc::clone(&seen);
    let task =
        signpost::fault_proxy::serve(listener, move |req: Request<hyper::body::Incoming>| {
            let answer = Arc::clone(&answer);
            let seen = Arc::clone(&s);
            async move {
                let h = |n: &str| {
                    req.headers()
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let (auth, imds) = (h("authorization"), h("x-aws-ec2-metadata-token"));
                let (method, path) = (req.method().to_string(), req.uri().path().to_owned());
                seen.lock().unwrap().push((
                    method.clone(),
                    path.clone(),
                    auth.clone(),
                    imds.clone(),
                ));
                let (status, body) = answer(&method, &path, auth.as_deref(), imds.as_deref());
                let mut r = Response::new(Full::new(Bytes::from(body)));
                *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                // IMDSv2 answers its token with the token's lifetime.
                r.headers_mut().insert(
                    "x-aws-ec2-metadata-token-ttl-seconds",
                    hyper::header::HeaderValue::from_static("21600"),
                );
                r
            }
        });
    (base, seen, task)
}

fn credentials_json(c: &aws_credential_types::Credentials) -> String {
    let exp = rfc3339(time::OffsetDateTime::from(c.expiry().unwrap()));
    serde_json::json!({
        "Code": "Success",
        "Type": "AWS-HMAC",
        "AccessKeyId": c.access_key_id(),
        "SecretAccessKey": c.secret_access_key(),
        "Token": c.session_token().unwrap(),
        "Expiration": exp,
        "LastUpdated": rfc3339(time::OffsetDateTime::now_utc()),
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ministack: tests/servers/ministack.sh cargo test -p signpost-tests --test credentials -- --ignored"]
async fn container_credentials_with_an_authorization_token() {
    let m = ministack();
    let home = tempfile::tempdir().unwrap();
    let body = credentials_json(&role_credentials(&m).await);
    let (base, seen, task) = local_server(move |_, path, auth, _| {
        if path == "/task-creds" && auth == Some("secret-container-token") {
            (200, body.clone())
        } else {
            (401, "unauthorized".into())
        }
    })
    .await;
    let container = |token: &str| {
        let mut cmd = signpost(home.path());
        cmd.env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{base}/task-creds"),
        )
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", token);
        cmd
    };
    assert_signs(
        &m,
        container("secret-container-token"),
        "container",
        b"container role",
    )
    .await;
    assert!(
        seen.lock().unwrap().iter().any(
            |(_, p, a, _)| p == "/task-creds" && a.as_deref() == Some("secret-container-token")
        )
    );

    let err = assert_refused_in_one_line(&m, container("wrong-token"), "container").await;
    assert!(
        err.contains("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
        "the fix: {err}"
    );
    assert!(
        !err.contains("wrong-token"),
        "the token is not printed: {err}"
    );
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ministack: tests/servers/ministack.sh cargo test -p signpost-tests --test credentials -- --ignored"]
async fn ec2_instance_metadata_v2_and_its_absence() {
    let m = ministack();
    let home = tempfile::tempdir().unwrap();
    let c = role_credentials(&m).await;
    let body = credentials_json(&c);
    // IMDSv2: a PUT for a session token, then the role's name, then its credentials, each
    // with the token.
    let (base, seen, task) = local_server(move |method, path, _, token| {
        let tok = "imds-session-token";
        match (method, path) {
            ("PUT", "/latest/api/token") => (200, tok.into()),
            (_, _) if token != Some(tok) => (401, String::new()),
            ("GET", "/latest/meta-data/iam/security-credentials/") => (200, "uploader-role".into()),
            ("GET", "/latest/meta-data/iam/security-credentials/uploader-role") => {
                (200, body.clone())
            }
            _ => (404, String::new()),
        }
    })
    .await;
    let imds = |endpoint: &str| {
        let mut cmd = signpost(home.path());
        cmd.env("AWS_EC2_METADATA_DISABLED", "false")
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint)
            .env("AWS_REGION", "us-east-1");
        cmd
    };
    assert_signs(&m, imds(&base), "imds", b"instance role").await;
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|(m, p, _, _)| m == "PUT" && p == "/latest/api/token")
    );
    assert!(
        seen.iter()
            .filter(|(_, p, _, _)| p.starts_with("/latest/meta-data/"))
            .all(|(_, _, _, t)| t.as_deref() == Some("imds-session-token")),
        "IMDSv2: every metadata read carries the session token: {seen:?}"
    );
    task.abort();

    // Nothing listening where the metadata service should be.
    let dead = format!("http://{}", signpost_tests::dead_addr());
    let err = assert_refused_in_one_line(&m, imds(&dead), "imds").await;
    assert!(
        err.contains("AWS_EC2_METADATA_DISABLED") || err.contains("Ec2InstanceMetadata"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ministack: tests/servers/ministack.sh cargo test -p signpost-tests --test credentials -- --ignored"]
async fn an_expiry_past_the_credentials_is_cut_or_refused() {
    let m = ministack();
    let home = tempfile::tempdir().unwrap();
    let c = role_credentials(&m).await;
    let creds_end = time::OffsetDateTime::from(c.expiry().unwrap());
    let env = |cmd: &mut Command| {
        cmd.env("AWS_ACCESS_KEY_ID", c.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", c.secret_access_key())
            .env("AWS_SESSION_TOKEN", c.session_token().unwrap());
    };
    // AWS_SESSION_TOKEN from the environment has no expiry the CLI can know: a profile's
    // credential_process gives one.
    let json_file = home.path().join("process.json");
    std::fs::write(&json_file, process_json(&c)).unwrap();
    let config = home.path().join("config");
    std::fs::write(
        &config,
        format!(
            "[profile p]\ncredential_process = cat {}\n",
            json_file.display()
        ),
    )
    .unwrap();
    let week = |strict: bool| {
        let mut cmd = signpost(home.path());
        cmd.env("AWS_CONFIG_FILE", &config).args([
            "presign",
            "put",
            "--profile",
            "p",
            "--endpoint",
            &m.endpoint,
            "--bucket",
            &m.bucket,
            "--key",
            "creds/week",
            "--expires",
            "604800",
        ]);
        if strict {
            cmd.arg("--strict-expiry");
        }
        cmd
    };
    let out = output(week(false)).await;
    let url = url_of(&out);
    let warning = text(&out.stderr);
    assert!(
        warning.contains("warning: the credentials expire at"),
        "{warning}"
    );
    let expires: i64 = url
        .split("X-Amz-Expires=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    let remaining = (creds_end - time::OffsetDateTime::now_utc()).whole_seconds();
    assert!(
        expires <= remaining + 1 && expires >= remaining - 30,
        "X-Amz-Expires {expires} vs the credentials' {remaining} s left"
    );
    let (status, answer) = put(&url, b"capped").await;
    assert_eq!(status, 200, "{answer}");

    let out = output(week(true)).await;
    let err = text(&out.stderr);
    assert!(!out.status.success() && out.stdout.is_empty(), "{err}");
    assert!(
        err.contains("--strict-expiry") || err.contains("strict expiry"),
        "{err}"
    );
    assert!(err.contains("expire at"), "{err}");

    // Static credentials from the environment: nothing to cut, no warning.
    let mut cmd = signpost(home.path());
    env(&mut cmd);
    presign_args(&mut cmd, &m, &key("static"));
    let out = output(cmd).await;
    url_of(&out);
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
}
