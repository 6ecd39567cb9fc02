//! Signing, side by side in one run:
//!
//! - the same PUT URL from signpost, the official `aws-sigv4` signer, and object_store's S3
//!   signer (`Signer::signed_url_opts`); signpost's and aws-sigv4's URLs are asserted
//!   byte-identical, and object_store's signature verified by signpost's Verifier, before
//!   anything is measured;
//! - the floor: the cryptography any SigV4 signer must do for that URL (SHA-256 of the canonical
//!   request, HMAC of the string to sign with an already keyed state, both hex-encoded), asserted
//!   to produce signpost's signature;
//! - one Presigner shared by N threads against one Presigner per thread (a server signing from
//!   every worker), reported as URLs per second;
//! - signing through a cached credentials provider (temporary credentials, refreshed before
//!   they expire) against the same credentials given fixed;
//! - a POST policy, and a 10,000-part multipart plan (S3's maximum).
//!
//! `cargo bench -p signpost-bench`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use object_store::signer::{SignedUrlOptions, Signer};
use sha2::{Digest, Sha256};
use signpost_presign::{
    Credentials, Endpoint, MultipartPlan, PresignRequest, Presigner, Validity, Verifier,
};
use time::OffsetDateTime;
use time::macros::datetime;

const AK: &str = "AKIAIOSFODNN7EXAMPLE";
const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const KEY: &str = "job-42/output-1080p.mp4";
const AT: OffsetDateTime = datetime!(2024-06-01 0:00 UTC);

fn aws_sigv4_put(
    identity: &aws_smithy_runtime_api::client::identity::Identity,
    url: &str,
) -> String {
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(3600));
    let params = v4::SigningParams::builder()
        .identity(identity)
        .region("us-east-1")
        .name("s3")
        .time(SystemTime::UNIX_EPOCH + Duration::from_secs(AT.unix_timestamp() as u64))
        .settings(settings)
        .build()
        .expect("params")
        .into();
    let headers = [("content-type", "video/mp4")];
    let signable = SignableRequest::new(
        "PUT",
        url,
        headers.into_iter(),
        SignableBody::UnsignedPayload,
    )
    .expect("signable");
    let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
    let mut req = http::Request::builder()
        .method("PUT")
        .uri(url)
        .header("content-type", "video/mp4")
        .body(())
        .expect("request");
    instructions.apply_to_request_http1x(&mut req);
    req.uri().to_string()
}

/// Hex with a 256-entry table of digit pairs, as fast as a plain loop gets.
fn hex(b: &[u8]) -> [u8; 64] {
    const PAIRS: [[u8; 2]; 256] = {
        const H: &[u8; 16] = b"0123456789abcdef";
        let mut t = [[0u8; 2]; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = [H[i >> 4], H[i & 15]];
            i += 1;
        }
        t
    };
    let mut out = [0u8; 64];
    for (pair, x) in out.chunks_exact_mut(2).zip(b) {
        pair.copy_from_slice(&PAIRS[usize::from(*x)]);
    }
    out
}

fn signing_key(date: &str) -> [u8; 32] {
    let mac = |k: &[u8], d: &[u8]| -> [u8; 32] {
        let mut m = Hmac::<Sha256>::new_from_slice(k).expect("hmac");
        m.update(d);
        m.finalize().into_bytes().into()
    };
    let k = mac(format!("AWS4{SK}").as_bytes(), date.as_bytes());
    let k = mac(&k, b"us-east-1");
    let k = mac(&k, b"s3");
    mac(&k, b"aws4_request")
}

/// The work no SigV4 signer can skip for this URL, given a cached signing key.
struct Floor {
    canonical_request: String,
    sts_prefix: String,
    keyed: Hmac<Sha256>,
}

impl Floor {
    fn new(signpost_url: &str) -> Self {
        let query = signpost_url.split_once('?').expect("query").1;
        let mut pairs: Vec<&str> = query
            .split('&')
            .filter(|p| !p.starts_with("X-Amz-Signature="))
            .collect();
        pairs.sort_unstable();
        let canonical_request = format!(
            "PUT\n/videos/{KEY}\n{}\ncontent-type:video/mp4\nhost:127.0.0.1:9000\n\ncontent-type;host\nUNSIGNED-PAYLOAD",
            pairs.join("&")
        );
        Floor {
            canonical_request,
            sts_prefix: "AWS4-HMAC-SHA256\n20240601T000000Z\n20240601/us-east-1/s3/aws4_request\n"
                .into(),
            keyed: Hmac::<Sha256>::new_from_slice(&signing_key("20240601")).expect("hmac"),
        }
    }

    fn signature(&self) -> [u8; 64] {
        let creq = hex(&Sha256::digest(self.canonical_request.as_bytes()));
        let mut mac = self.keyed.clone();
        mac.update(self.sts_prefix.as_bytes());
        mac.update(&creq);
        hex(&mac.finalize().into_bytes())
    }
}

fn object_store_signer() -> object_store::aws::AmazonS3 {
    object_store::aws::AmazonS3Builder::new()
        .with_region("us-east-1")
        .with_bucket_name("videos")
        .with_endpoint("http://127.0.0.1:9000")
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false)
        .with_access_key_id(AK)
        .with_secret_access_key(SK)
        .build()
        .expect("object_store")
}

fn presigner() -> Presigner {
    Presigner::new(
        Credentials::new(AK, SK),
        Endpoint::custom("http://127.0.0.1:9000", "us-east-1").expect("endpoint"),
    )
}

fn put_request(at: OffsetDateTime) -> PresignRequest {
    PresignRequest::put_object("videos", KEY)
        .content_type("video/mp4")
        .validity(
            Validity::expires_in(Duration::from_secs(3600))
                .and_then(|v| v.signed_at(at))
                .expect("validity"),
        )
}

fn bench_single(c: &mut Criterion) {
    let presigner = presigner();
    let req = put_request(AT);
    let identity = aws_credential_types::Credentials::new(AK, SK, None, None, "bench").into();
    let unsigned = presigner.unsigned_url(&req);
    let ours = presigner
        .presign(&req)
        .expect("presign")
        .url()
        .as_str()
        .to_owned();
    // Same inputs, same bytes: measured only once that holds.
    assert_eq!(ours, aws_sigv4_put(&identity, &unsigned));
    let floor = Floor::new(&ours);
    assert!(ours.ends_with(std::str::from_utf8(&floor.signature()).expect("hex")));

    // object_store signs with the clock; its URL must pass signpost's verifier.
    let store = object_store_signer();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let path = object_store::path::Path::from(KEY);
    let opts = SignedUrlOptions::default().with_signed_header(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("video/mp4"),
    );
    let os_sign = || {
        rt.block_on(store.signed_url_opts(
            http::Method::PUT,
            &path,
            Duration::from_secs(3600),
            &opts,
        ))
        .expect("object_store signs")
    };
    let theirs = os_sign();
    Verifier::new(Credentials::new(AK, SK), "us-east-1")
        .verify_presigned(
            "PUT",
            theirs.as_str(),
            &[("Host", "127.0.0.1:9000"), ("Content-Type", "video/mp4")],
            OffsetDateTime::now_utc(),
        )
        .expect("object_store's URL verifies");

    let mut g = c.benchmark_group("presign_put_url");
    g.bench_function("signpost", |b| {
        b.iter(|| black_box(presigner.presign(black_box(&req)).expect("presign")))
    });
    g.bench_function("aws-sigv4", |b| {
        b.iter(|| black_box(aws_sigv4_put(&identity, black_box(&unsigned))))
    });
    g.bench_function("object_store", |b| b.iter(|| black_box(os_sign())));
    g.bench_function("floor (sha256 + hmac + hex)", |b| {
        b.iter(|| black_box(black_box(&floor).signature()))
    });
    g.finish();

    c.bench_function("post_policy/signpost", |b| {
        let v = Validity::default().signed_at(AT).expect("validity");
        b.iter(|| {
            black_box(
                presigner
                    .post_policy("videos")
                    .key_starts_with("job-42/")
                    .content_length_range(1, 10 << 30)
                    .content_type("video/mp4")
                    .success_action_status(201)
                    .validity(v)
                    .build()
                    .expect("policy"),
            )
        })
    });

    let plan = MultipartPlan::builder("videos", "big.mp4", "VXBsb2FkSWQ")
        .part_size(5 << 20)
        .max_object_size(10_000 * (5 << 20))
        .build()
        .expect("plan");
    assert_eq!(plan.part_count(), 10_000);
    c.bench_function("multipart_plan_10000_parts/signpost", |b| {
        let v = Validity::default().signed_at(AT).expect("validity");
        b.iter(|| black_box(plan.presign(&presigner, v).expect("plan").into_descriptor()))
    });
}

/// `threads` threads each sign `per_thread` URLs, with one shared Presigner or one each.
fn sign_on_threads(threads: usize, per_thread: u64, shared: bool) -> Duration {
    let one = Arc::new(presigner());
    let barrier = Arc::new(std::sync::Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let p = if shared {
                Arc::clone(&one)
            } else {
                Arc::new(presigner())
            };
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let req = put_request(AT);
                // Warm the day's key before the clock starts.
                black_box(p.presign(&req).expect("presign"));
                barrier.wait();
                for _ in 0..per_thread {
                    black_box(p.presign(black_box(&req)).expect("presign"));
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join().expect("thread");
    }
    start.elapsed()
}

/// Signing through a credentials provider (cached, refreshed before expiry) against fixed
/// credentials: the same temporary credentials, the same URL, asserted identical first.
fn bench_provider(c: &mut Criterion) {
    use futures_util::FutureExt as _;
    const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN/+=";
    let endpoint = || Endpoint::custom("http://127.0.0.1:9000", "us-east-1").expect("endpoint");
    let expiry = SystemTime::now() + Duration::from_secs(12 * 3600);
    let fixed = Presigner::new(
        Credentials::new(AK, SK)
            .with_session_token(TOKEN)
            .with_expiry(OffsetDateTime::from(expiry)),
        endpoint(),
    );
    let cached = Presigner::with_provider(
        aws_credential_types::Credentials::new(AK, SK, Some(TOKEN.into()), Some(expiry), "bench"),
        endpoint(),
    );
    let req = put_request(AT);
    let sign_cached = || {
        cached
            .presign_fresh(black_box(&req))
            .now_or_never()
            .expect("cached credentials sign without waiting")
            .expect("presign")
    };
    // The first call loads them; every later one reads the cache.
    assert_eq!(sign_cached(), fixed.presign(&req).expect("presign"));
    let mut g = c.benchmark_group("presign_put_url_credentials");
    g.bench_function("fixed", |b| {
        b.iter(|| black_box(fixed.presign(black_box(&req)).expect("presign")))
    });
    g.bench_function("cached_provider", |b| b.iter(|| black_box(sign_cached())));
    g.finish();
}

fn bench_threads(c: &mut Criterion) {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut g = c.benchmark_group("presign_put_url_threads");
    for threads in [1, cores] {
        g.throughput(Throughput::Elements(threads as u64));
        for (name, shared) in [("shared", true), ("per_thread", false)] {
            if threads == 1 && !shared {
                continue;
            }
            g.bench_function(format!("{name}/{threads}"), |b| {
                b.iter_custom(|iters| sign_on_threads(threads, iters, shared))
            });
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench_single, bench_provider, bench_threads
}
criterion_main!(benches);
