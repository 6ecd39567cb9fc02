//! Properties over arbitrary inputs:
//! - signpost's URL is byte-identical to the official `aws-sigv4` signer's (S3 settings: single
//!   percent-encoding, no path normalisation, unsigned payload, signature in the query);
//! - `verify(sign(x))` holds, and changing the method, path, query, a signed header, the time past
//!   expiry, or any byte of the signature makes it fail;
//! - no input panics the signer.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use proptest::prelude::*;
use signpost_presign::{
    Addressing, Credentials, Endpoint, PresignRequest, PresignedRequest, Presigner, Validity,
    Verifier,
};
use time::OffsetDateTime;

/// What `aws-sigv4` makes of the same request.
fn aws_sigv4_url(
    creds: &Credentials,
    region: &str,
    method: &str,
    unsigned_url: &str,
    headers: &[(String, String)],
    at: OffsetDateTime,
    expires: u64,
) -> String {
    let identity = aws_credential_types::Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key(),
        creds.session_token().map(str::to_owned),
        None,
        "test",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(expires));
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(at.unix_timestamp() as u64);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        method,
        unsigned_url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::UnsignedPayload,
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut req = http::Request::builder()
        .method(method)
        .uri(unsigned_url)
        .body(())
        .unwrap();
    for (k, v) in headers {
        req.headers_mut().insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v).unwrap(),
        );
    }
    instructions.apply_to_request_http1x(&mut req);
    req.uri().to_string()
}

/// Keys with what S3 users actually put in them: spaces, `+`, `~`, `%`, `=`, `&`, `?`, `#`,
/// unicode, `//`, a leading `/`; no `.`/`..` segment (refused by design).
fn arb_key() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z0-9._-]{1,8}",
        Just(" ".to_owned()),
        Just("+".to_owned()),
        Just("~".to_owned()),
        Just("%".to_owned()),
        Just("=".to_owned()),
        Just("&".to_owned()),
        Just("?".to_owned()),
        Just("#".to_owned()),
        Just("/".to_owned()),
        Just("//".to_owned()),
        Just("é".to_owned()),
        Just("日本".to_owned()),
        Just("🎬".to_owned()),
        Just("!*'();:@$,[]".to_owned()),
        "\\PC{1,3}",
    ];
    proptest::collection::vec(piece, 1..8)
        .prop_map(|v| v.concat())
        .prop_filter("no dot segments", |k| {
            !k.split('/').any(|s| s == "." || s == "..") && k.len() <= 1024
        })
}

fn base64_of(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| n << 8 | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn arb_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        Just("Content-Type".to_owned()),
        Just("Cache-Control".to_owned()),
        Just("Content-Disposition".to_owned()),
        Just("x-amz-checksum-sha256".to_owned()),
        Just("x-amz-checksum-crc32".to_owned()),
        Just("x-amz-checksum-crc32c".to_owned()),
        "x-amz-meta-[a-z0-9]{1,10}",
    ];
    // Values without leading/trailing/double spaces: signpost sends values normalized, as signed.
    let value = "[!-~]{1,12}( [!-~]{1,12}){0,2}";
    // Content-MD5 is the base64 of 16 bytes, or S3 (and the Verifier) refuse it as InvalidDigest.
    let md5 = proptest::option::of(proptest::array::uniform16(any::<u8>()))
        .prop_map(|d| d.map(|d| ("Content-MD5".to_owned(), base64_of(&d))));
    (proptest::collection::btree_map(name, value, 0..4), md5).prop_map(|(m, md5)| {
        let mut seen = std::collections::HashSet::new();
        m.into_iter()
            .chain(md5)
            .filter(|(k, _)| seen.insert(k.to_ascii_lowercase()))
            .collect()
    })
}

#[derive(Clone, Debug)]
enum Op {
    Put,
    Get,
    Create,
    Part(u32, String),
    Complete(String),
    Abort(String),
}

fn arb_op() -> impl Strategy<Value = Op> {
    let id = "[A-Za-z0-9._~+/=-]{1,40}";
    prop_oneof![
        Just(Op::Put),
        Just(Op::Get),
        Just(Op::Create),
        (1u32..=10_000, id).prop_map(|(n, u)| Op::Part(n, u)),
        id.prop_map(Op::Complete),
        id.prop_map(Op::Abort),
    ]
}

fn request(op: &Op, bucket: &str, key: &str) -> PresignRequest {
    match op.clone() {
        Op::Put => PresignRequest::put_object(bucket, key),
        Op::Get => PresignRequest::get_object(bucket, key),
        Op::Create => PresignRequest::create_multipart_upload(bucket, key),
        Op::Part(n, u) => PresignRequest::upload_part(bucket, key, u, n),
        Op::Complete(u) => PresignRequest::complete_multipart_upload(bucket, key, u),
        Op::Abort(u) => PresignRequest::abort_multipart_upload(bucket, key, u),
    }
}

#[derive(Clone, Debug)]
struct Case {
    creds: Credentials,
    endpoint: Endpoint,
    bucket: String,
    key: String,
    op: Op,
    headers: Vec<(String, String)>,
    at: OffsetDateTime,
    expires: u64,
}

fn arb_case() -> impl Strategy<Value = Case> {
    let region = prop_oneof![
        Just("us-east-1".to_owned()),
        Just("eu-west-3".to_owned()),
        Just("ap-southeast-2".to_owned()),
        "[a-z]{2}-[a-z]{3,9}-[1-9]",
    ];
    let endpoint = prop_oneof![
        Just(("https://s3.amazonaws.com", Addressing::VirtualHosted)),
        Just(("http://127.0.0.1:9000", Addressing::Path)),
        Just(("http://localhost:9000/prefix", Addressing::Path)),
        Just(("https://minio.example.com", Addressing::Path)),
    ];
    let token = proptest::option::of("[A-Za-z0-9+/=]{10,60}");
    (
        ("AKIA[A-Z0-9]{16}", "[A-Za-z0-9+/]{40}", token),
        region,
        endpoint,
        "[a-z0-9][a-z0-9-]{1,20}[a-z0-9]",
        arb_key(),
        arb_op(),
        arb_headers(),
        946_684_800i64..4_102_444_800,
        1u64..=604_800,
    )
        .prop_map(
            |(
                (ak, sk, tok),
                region,
                (url, addressing),
                bucket,
                key,
                op,
                headers,
                secs,
                expires,
            )| {
                let mut creds = Credentials::new(ak, sk);
                if let Some(t) = tok {
                    creds = creds.with_session_token(t);
                }
                Case {
                    creds,
                    endpoint: Endpoint::custom(url, &region)
                        .unwrap()
                        .with_addressing(addressing),
                    bucket,
                    key,
                    op,
                    headers,
                    at: OffsetDateTime::from_unix_timestamp(secs).unwrap(),
                    expires,
                }
            },
        )
}

fn signed(case: &Case) -> (Presigner, PresignRequest, PresignedRequest) {
    let presigner = Presigner::new(case.creds.clone(), case.endpoint.clone());
    let validity = Validity::expires_in(Duration::from_secs(case.expires))
        .unwrap()
        .signed_at(case.at)
        .unwrap();
    let mut req = request(&case.op, &case.bucket, &case.key).validity(validity);
    for (k, v) in &case.headers {
        req = req.header(k, v);
    }
    let out = presigner.presign(&req).unwrap();
    (presigner, req, out)
}

/// The method and URL of a signed request, as a receiver sees them.
struct Out<'a> {
    method: &'a str,
    url: &'a str,
}

fn header_refs(h: &[(String, String)]) -> Vec<(&str, &str)> {
    h.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn byte_identical_to_aws_sigv4(case in arb_case()) {
        let (presigner, req, out) = signed(&case);
        let theirs = aws_sigv4_url(
            &case.creds,
            case.endpoint.region(),
            out.method().as_str(),
            &presigner.unsigned_url(&req),
            &case.headers,
            case.at,
            case.expires,
        );
        prop_assert_eq!(out.url().as_str(), theirs);
    }

    #[test]
    fn verify_accepts_what_sign_makes_and_refuses_tampering(case in arb_case(), pick in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let (_, _, signed) = signed(&case);
        let out = Out { method: signed.method().as_str(), url: signed.url().as_str() };
        let v = Verifier::new(case.creds.clone(), case.endpoint.region());
        let host = case.endpoint.host_for(&case.bucket);
        let mut h = header_refs(&case.headers);
        h.push(("Host", &host));
        prop_assert!(v.verify_presigned(out.method, out.url, &h, case.at).is_ok());

        // The method.
        let other = if out.method == "PUT" { "POST" } else { "PUT" };
        prop_assert!(v.verify_presigned(other, out.url, &h, case.at).is_err());
        // Past expiry.
        let late = case.at + time::Duration::seconds(case.expires as i64 + 1);
        prop_assert!(v.verify_presigned(out.method, out.url, &h, late).is_err());
        // Any byte of the URL (scheme and host aside, which select the receiver): path, query,
        // signature. Changed to another byte that keeps the URL parseable.
        let start = out.url.find("://").unwrap() + 3;
        let path_start = start + out.url[start..].find('/').unwrap();
        let bytes = out.url.as_bytes();
        let i = path_start + pick.index(bytes.len() - path_start);
        let mut tampered = bytes.to_vec();
        // Inside a percent-escape only another hex digit changes the meaning: `%3b` and `%3B`
        // decode to the same byte, and S3 (rightly) accepts both spellings.
        let in_escape = (i >= 1 && bytes[i - 1] == b'%') || (i >= 2 && bytes[i - 2] == b'%');
        let candidates: &[u8] = if in_escape {
            b"0123456789ABCDEF"
        } else {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        };
        let mut k = usize::from(flip) % candidates.len();
        while candidates[k].eq_ignore_ascii_case(&tampered[i]) {
            k = (k + 1) % candidates.len();
        }
        tampered[i] = candidates[k];
        let tampered = String::from_utf8(tampered).unwrap();
        prop_assert!(
            v.verify_presigned(out.method, &tampered, &h, case.at).is_err(),
            "accepted after changing byte {} of {}", i, tampered
        );
        // A signed header's value.
        if let Some((name, value)) = case.headers.first() {
            let mut changed = case.headers.clone();
            changed[0] = (name.clone(), format!("{value}x"));
            let mut changed = header_refs(&changed);
            changed.push(("Host", &host));
            prop_assert!(v.verify_presigned(out.method, out.url, &changed, case.at).is_err());
        }
    }

    #[test]
    fn arbitrary_strings_never_panic(bucket in "\\PC{0,70}", key in "\\PC{0,80}", region in "\\PC{0,20}", endpoint in "\\PC{0,40}", hname in "\\PC{0,20}", hval in "\\PC{0,20}", expires in any::<u64>()) {
        let creds = Credentials::new("AKID", "SECRET");
        let endpoints = [Endpoint::custom(&endpoint, &region), Endpoint::aws(&region), Endpoint::custom("http://127.0.0.1:9000", "us-east-1")];
        for ep in endpoints.into_iter().flatten() {
            {
                let p = Presigner::new(creds.clone(), ep);
                let mut req = PresignRequest::put_object(bucket.as_str(), key.as_str())
                    .header(hname.as_str(), hval.as_str());
                if let Ok(v) = Validity::expires_in(Duration::from_secs(expires)) {
                    req = req.validity(v);
                }
                let _ = p.presign(&req);
                let _ = p.post_policy(bucket.as_str()).key(key.as_str()).field(hname.as_str(), hval.as_str()).build();
                let v = Verifier::new(creds.clone(), region.as_str());
                let _ = v.verify_presigned(&hname, &key, &[(hname.as_str(), hval.as_str())], OffsetDateTime::now_utc());
                let _ = v.verify_post(&key, [(hname.as_str(), hval.as_str())], OffsetDateTime::now_utc());
            }
        }
    }
}
