//! signpost vs the official `aws-sigv4` signer, side by side in one run: the same PUT URL
//! (byte-identical output, asserted before measuring), and a POST policy.
//!
//! `cargo bench -p signpost-presign`

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use criterion::{Criterion, criterion_group, criterion_main};
use signpost_presign::{Credentials, Endpoint, PresignRequest, Presigner};
use time::macros::datetime;

const AK: &str = "AKIAIOSFODNN7EXAMPLE";
const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

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
        .time(SystemTime::UNIX_EPOCH + Duration::from_secs(1_717_200_000))
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

fn bench(c: &mut Criterion) {
    let presigner = Presigner::new(
        Credentials::new(AK, SK),
        Endpoint::custom("http://127.0.0.1:9000", "us-east-1").expect("endpoint"),
    );
    let req = PresignRequest::put_object("videos", "job-42/output 1080p.mp4")
        .content_type("video/mp4")
        .expires_in(Duration::from_secs(3600))
        .at(datetime!(2024-06-01 0:00 UTC));
    let identity = aws_credential_types::Credentials::new(AK, SK, None, None, "bench").into();
    let unsigned = presigner.unsigned_url(&req);
    // Same inputs, same bytes: measured only once that holds.
    assert_eq!(
        presigner.presign(&req).expect("presign").url,
        aws_sigv4_put(&identity, &unsigned)
    );

    let mut g = c.benchmark_group("presign_put_url");
    g.bench_function("signpost", |b| {
        b.iter(|| black_box(presigner.presign(black_box(&req)).expect("presign").url))
    });
    g.bench_function("aws-sigv4", |b| {
        b.iter(|| black_box(aws_sigv4_put(&identity, black_box(&unsigned))))
    });
    g.finish();

    c.bench_function("post_policy/signpost", |b| {
        b.iter(|| {
            black_box(
                presigner
                    .post_policy("videos")
                    .key_starts_with("job-42/")
                    .content_length_range(1, 10 << 30)
                    .content_type("video/mp4")
                    .success_action_status(201)
                    .at(datetime!(2024-06-01 0:00 UTC))
                    .build()
                    .expect("policy"),
            )
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
