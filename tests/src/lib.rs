//! What every integration test needs: an S3 server to talk to.
//!
//! By default each test starts the embedded server (s3s + s3s-fs) in-process on a free port
//! with a temporary directory and fresh credentials. With `SIGNPOST_TEST_ENDPOINT` set, the
//! tests run against that server instead (MinIO, Garage, AWS), with the `AWS_*` credentials.

pub mod proxy;
pub mod raw;
pub mod receiver;
pub mod tls;

use signpost_presign::{Credentials, Endpoint, Presigner};
use signpost_serve::server::{EmbeddedServer, ServeOptions};

/// The `signpost` binary, built once per test process. Cargo only tells the `signpost` package's
/// own tests where its binary is, so this workspace-level suite builds it (same profile).
pub fn binary() -> &'static std::path::Path {
    static BIN: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        escargot::CargoBuild::new()
            .package("signpost")
            .bin("signpost")
            .current_release()
            .run()
            .map(|b| b.path().to_owned())
            .unwrap_or_else(|e| panic!("cannot build the signpost binary: {e}"))
    })
}

/// `job` as JSON, its URLs pointed at `proxy` when one is given, written to `dir/name`.
pub fn job_file(
    dir: &std::path::Path,
    name: &str,
    job: &signpost_upload::RunnerJobCustomUpload,
    t: &TestTarget,
    proxy: Option<&proxy::TestProxy>,
) -> std::path::PathBuf {
    let mut json = job.to_json_pretty();
    if let Some(p) = proxy {
        json = json.replace(t.endpoint.trim_end_matches('/'), &p.base);
    }
    let path = dir.join(name);
    std::fs::write(&path, json).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path
}

/// Adds `upload --no-progress --json --concurrency 4 --job JOB FILE` to `c`, its output piped:
/// the multipart upload the kill tests interrupt.
pub fn upload_args(c: &mut tokio::process::Command, job: &std::path::Path, file: &std::path::Path) {
    c.args([
        "upload",
        "--no-progress",
        "--json",
        "--concurrency",
        "4",
        "--job",
    ])
    .arg(job)
    .arg(file)
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
}

/// A free loopback port (bound, then released): for a process that must be told its port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// An address where nothing listens, for a proxy or service that is not there: the discard port,
/// below the kernel's range for port 0, so no server that a test running meanwhile starts can be
/// there (a port a test binds and frees could be taken again at once). Panics if something
/// accepts there after all.
pub fn dead_addr() -> &'static str {
    const DEAD: &str = "127.0.0.1:9";
    assert!(
        std::net::TcpStream::connect(DEAD).is_err(),
        "something listens on {DEAD}: the test needs an address where nothing does"
    );
    DEAD
}

/// A URL signed by aws-sigv4 exactly as given (no path normalisation, no re-encoding, any
/// expiry), for requests signpost's own signer refuses to make: `(ak, sk)` signs `method` on
/// `unsigned_url` with `headers` for `region` and `service` at `at`, valid for `expires` seconds.
pub fn sigv4(
    unsigned_url: &str,
    headers: &[(&str, &str)],
    (ak, sk): (&str, &str),
    region: &str,
    service: &str,
    at: time::OffsetDateTime,
    expires: u64,
) -> String {
    sigv4_method(
        "PUT",
        unsigned_url,
        headers,
        (ak, sk),
        region,
        service,
        at,
        expires,
    )
}

/// [`sigv4`] for another method.
#[allow(clippy::too_many_arguments)]
pub fn sigv4_method(
    method: &str,
    unsigned_url: &str,
    headers: &[(&str, &str)],
    (ak, sk): (&str, &str),
    region: &str,
    service: &str,
    at: time::OffsetDateTime,
    expires: u64,
) -> String {
    use aws_sigv4::http_request::{
        PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
        UriPathNormalizationMode, sign,
    };
    use std::time::{Duration, SystemTime};
    let identity = aws_credential_types::Credentials::new(ak, sk, None, None, "test").into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(expires));
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(SystemTime::UNIX_EPOCH + Duration::from_secs(at.unix_timestamp() as u64))
        .settings(settings)
        .build()
        .unwrap_or_else(|e| panic!("signing parameters: {e}"))
        .into();
    let signable = SignableRequest::new(
        method,
        unsigned_url,
        headers.iter().copied(),
        SignableBody::UnsignedPayload,
    )
    .unwrap_or_else(|e| panic!("{unsigned_url}: {e}"));
    let (instructions, _) = sign(signable, &params)
        .unwrap_or_else(|e| panic!("signing {unsigned_url}: {e}"))
        .into_parts();
    let mut req = http::Request::builder()
        .method(method)
        .uri(unsigned_url)
        .body(())
        .unwrap_or_else(|e| panic!("{unsigned_url}: {e}"));
    for (k, v) in headers {
        let name = http::HeaderName::from_bytes(k.as_bytes())
            .unwrap_or_else(|e| panic!("header {k}: {e}"));
        let value = v.parse().unwrap_or_else(|e| panic!("header {k}: {e}"));
        req.headers_mut().insert(name, value);
    }
    instructions.apply_to_request_http1x(&mut req);
    req.uri().to_string()
}

/// `len` bytes from the system's random source (incompressible, unlike any pattern).
pub fn random_bytes(len: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::with_capacity(len as usize);
    std::fs::File::open("/dev/urandom")?
        .take(len)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// A server for one test, with the credentials and bucket to use.
#[derive(Debug)]
pub struct TestTarget {
    /// The endpoint URL.
    pub endpoint: String,
    /// Region to sign for.
    pub region: String,
    /// Access key id.
    pub access_key: String,
    /// Secret.
    pub secret_key: String,
    /// A bucket that exists.
    pub bucket: String,
    /// Whether this is the embedded server (its data directory can be inspected).
    pub embedded: Option<EmbeddedServer>,
    /// Which server: `s3s-fs` (embedded), or SIGNPOST_TEST_SERVER (`garage`, `ceph`, as the
    /// scripts in tests/servers set it), else `unknown`.
    pub server: String,
}

impl TestTarget {
    /// Starts the embedded server, or points at `SIGNPOST_TEST_ENDPOINT`.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(false).await
    }

    /// Like [`start`](Self::start), but an embedded server lets s3s alone judge presigned URLs
    /// and answer POST forms, rather than signpost's Verifier: for comparing the Verifier with
    /// another implementation.
    pub async fn start_independent() -> anyhow::Result<Self> {
        Self::start_with(true).await
    }

    async fn start_with(s3s_auth: bool) -> anyhow::Result<Self> {
        let bucket =
            std::env::var("SIGNPOST_TEST_BUCKET").unwrap_or_else(|_| "signpost-test".into());
        if let Ok(endpoint) = std::env::var("SIGNPOST_TEST_ENDPOINT") {
            let var = |n: &str| {
                std::env::var(n)
                    .map_err(|_| anyhow::anyhow!("SIGNPOST_TEST_ENDPOINT is set but {n} is not"))
            };
            let t = TestTarget {
                endpoint,
                region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
                access_key: var("AWS_ACCESS_KEY_ID")?,
                secret_key: var("AWS_SECRET_ACCESS_KEY")?,
                bucket,
                embedded: None,
                server: std::env::var("SIGNPOST_TEST_SERVER").unwrap_or_else(|_| "unknown".into()),
            };
            signpost::s3::ensure_bucket(&signpost::http::caller()?, &t.presigner()?, &t.bucket)
                .await?;
            return Ok(t);
        }
        let access_key = format!("test{}", fastrand::u32(..));
        let secret_key: String = (0..40).map(|_| fastrand::alphanumeric()).collect();
        let server = EmbeddedServer::start(ServeOptions {
            buckets: vec![bucket.clone()],
            s3s_auth,
            ..ServeOptions::new(
                "127.0.0.1:0".parse()?,
                access_key.clone(),
                secret_key.clone(),
            )
        })
        .await?;
        Ok(TestTarget {
            endpoint: server.endpoint.clone(),
            region: "us-east-1".into(),
            access_key,
            secret_key,
            bucket,
            embedded: Some(server),
            server: "s3s-fs".into(),
        })
    }

    /// The credentials.
    pub fn credentials(&self) -> Credentials {
        Credentials::new(&self.access_key, self.secret_key.as_str())
    }

    /// A presigner for this server.
    pub fn presigner(&self) -> anyhow::Result<Presigner> {
        Ok(Presigner::new(
            self.credentials(),
            Endpoint::custom(&self.endpoint, &self.region)?,
        ))
    }

    /// GETs `key` back through a presigned URL: the status and the body.
    pub async fn get(&self, key: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        self.send_get(&signpost_presign::PresignRequest::get_object(
            &*self.bucket,
            key,
        ))
        .await
    }

    /// ListMultipartUploads of the bucket under `prefix`: the status and the body.
    pub async fn list_uploads(&self, prefix: &str) -> anyhow::Result<(u16, String)> {
        let (status, body) = self
            .send_get(
                &signpost_presign::PresignRequest::bucket(
                    signpost_presign::S3Operation::ListMultipartUploads,
                    &*self.bucket,
                )
                .query("prefix", prefix),
            )
            .await?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }

    /// Sends `req` (a GET) presigned for this server: the status and the body.
    pub async fn send_get(
        &self,
        req: &signpost_presign::PresignRequest,
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let url = self.presigner()?.presign(req)?;
        let resp = signpost::http::client()?
            .get(url.url().as_str())
            .send()
            .await?;
        let status = resp.status().as_u16();
        Ok((status, resp.bytes().await?.to_vec()))
    }

    /// The environment the `signpost` binary runs with in tests (after `env_clear`): this
    /// server's endpoint and credentials, and `SIGNPOST_LOG` off (`SIGNPOST_TEST_LOG=debug` shows
    /// what the binary did).
    pub fn cli_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", self.region.clone()),
            ("AWS_ACCESS_KEY_ID", self.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_key.clone()),
            (
                "SIGNPOST_LOG",
                std::env::var("SIGNPOST_TEST_LOG").unwrap_or_else(|_| "off".into()),
            ),
        ]
    }

    /// A key no other test run uses.
    pub fn key(&self, name: &str) -> String {
        format!("it/{}/{name}", fastrand::u64(..))
    }
}
