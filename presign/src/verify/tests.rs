//! The Verifier's rules, one by one; `tests/differential.rs` (workspace) holds them against real
//! servers.

use std::time::Duration as StdDuration;

use signpost_wire::PolicyViolation;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;
use crate::{Endpoint, PresignRequest, Presigner, Validity};

mod forged;

const T: OffsetDateTime = datetime!(2024-05-01 12:00 UTC);
const HOST: (&str, &str) = ("Host", "127.0.0.1:9000");

fn setup() -> (Presigner, Verifier) {
    let c = Credentials::new("AKID", "SECRET");
    (
        Presigner::new(
            c.clone(),
            Endpoint::custom("http://127.0.0.1:9000", "eu-west-1").unwrap(),
        ),
        Verifier::new(c, "eu-west-1"),
    )
}

fn at(t: OffsetDateTime, secs: u64) -> Validity {
    Validity::expires_in(StdDuration::from_secs(secs))
        .unwrap()
        .signed_at(t)
        .unwrap()
}

fn put_url(p: &Presigner, key: &str) -> String {
    p.presign(
        &PresignRequest::put_object("b", key)
            .meta("a", "1")
            .validity(at(T, 60)),
    )
    .unwrap()
    .url()
    .as_str()
    .to_owned()
}

#[test]
fn rules_in_turn() {
    let (p, v) = setup();
    let url = put_url(&p, "k");
    let h = [HOST, ("x-amz-meta-a", "1")];
    let ok = v.verify_presigned("PUT", &url, &h, T).unwrap();
    assert_eq!(ok.path(), "/b/k");
    assert_eq!(ok.expires_at, T + Duration::seconds(60));
    assert!(matches!(
        v.verify_presigned("PUT", &url, &h, T + Duration::seconds(61)),
        Err(VerifyError::Expired { .. })
    ));
    assert!(matches!(
        v.verify_presigned("PUT", &url, &h, T - Duration::hours(1)),
        Err(VerifyError::NotYetValid { .. })
    ));
    assert!(
        v.verify_presigned("PUT", &url, &h, T - Duration::minutes(10))
            .is_ok(),
        "a clock 10 minutes behind is within S3's 15"
    );
    assert!(matches!(
        v.verify_presigned("PUT", &url, &[HOST], T),
        Err(VerifyError::SignedHeaderMissing(_))
    ));
    let extra = [HOST, ("x-amz-meta-a", "1"), ("x-amz-acl", "public-read")];
    assert!(matches!(
        v.verify_presigned("PUT", &url, &extra, T),
        Err(VerifyError::UnsignedHeader(_))
    ));
    let e = v.verify_presigned("GET", &url, &h, T).unwrap_err();
    assert_eq!(e.s3_code(), "SignatureDoesNotMatch");
    if let VerifyError::SignatureDoesNotMatch {
        canonical_request, ..
    } = e
    {
        assert!(
            canonical_request.starts_with("GET\n/b/k\n"),
            "{canonical_request}"
        );
    }
    let other_region = Verifier::new(Credentials::new("AKID", "SECRET"), "us-east-1");
    let e = other_region
        .verify_presigned("PUT", &url, &h, T)
        .unwrap_err();
    assert!(e.to_string().contains("\"eu-west-1\""), "{e}");
    let wrong_key = Verifier::new(Credentials::new("AKID", "OTHER"), "eu-west-1");
    assert!(matches!(
        wrong_key.verify_presigned("PUT", &url, &h, T),
        Err(VerifyError::SignatureDoesNotMatch { .. })
    ));
    assert_eq!(
        v.verify_presigned("PUT", "/b/k", &[HOST], T),
        Err(VerifyError::NotPresigned)
    );
}

#[test]
fn methods_are_s3_methods_in_upper_case() {
    let (p, v) = setup();
    let url = put_url(&p, "k");
    let h = [HOST, ("x-amz-meta-a", "1")];
    for m in ["put", "Put", "PATCH", "OPTIONS", ""] {
        let e = v.verify_presigned(m, &url, &h, T).unwrap_err();
        assert!(matches!(e, VerifyError::InvalidMethod(_)), "{m}: {e}");
        assert_eq!(e.status(), 405);
    }
}

#[test]
fn a_request_without_one_host_header_is_refused() {
    let (p, v) = setup();
    let url = put_url(&p, "k");
    assert_eq!(
        v.verify_presigned("PUT", &url, &[("x-amz-meta-a", "1")], T),
        Err(VerifyError::MissingHost)
    );
    let two = [HOST, HOST, ("x-amz-meta-a", "1")];
    assert_eq!(
        v.verify_presigned("PUT", &url, &two, T),
        Err(VerifyError::MissingHost)
    );
    let other = [("Host", "evil.example"), ("x-amz-meta-a", "1")];
    assert!(matches!(
        v.verify_presigned("PUT", &url, &other, T),
        Err(VerifyError::SignatureDoesNotMatch { .. })
    ));
}

#[test]
fn duplicated_or_respelled_query_parameters_are_refused() {
    let (p, v) = setup();
    let url = put_url(&p, "k");
    let h = [HOST, ("x-amz-meta-a", "1")];
    let zeros = "0".repeat(64);
    for tampered in [
        format!("{url}&X-Amz-%53ignature={zeros}"),
        format!("{url}&X-Amz-Signature={zeros}"),
        url.replacen("X-Amz-Date=", "X-Amz-Date=20240501T120000Z&X-Amz-Date=", 1),
        url.replacen("X-Amz-Signature=", "X-Amz-%53ignature=", 1),
        url.replacen("X-Amz-Date=", "x-amz-date=", 1),
        format!("{url}&Signature=abc"),
    ] {
        let e = v.verify_presigned("PUT", &tampered, &h, T).unwrap_err();
        assert!(
            matches!(
                e,
                VerifyError::DuplicateParameter(_)
                    | VerifyError::AmbiguousParameter(_)
                    | VerifyError::TwoAuthMechanisms
            ),
            "{tampered}: {e}"
        );
    }
    let e = v
        .verify_presigned("PUT", &format!("{url}&a=%zz"), &h, T)
        .unwrap_err();
    assert_eq!(e, VerifyError::MalformedEscape("query string"));
}

#[test]
fn an_authorization_header_beside_query_auth_is_refused() {
    let (p, v) = setup();
    let url = put_url(&p, "k");
    let h = [
        HOST,
        ("x-amz-meta-a", "1"),
        ("Authorization", "AWS4-HMAC-SHA256 x"),
    ];
    assert_eq!(
        v.verify_presigned("PUT", &url, &h, T),
        Err(VerifyError::TwoAuthMechanisms)
    );
}

#[test]
fn the_path_is_decoded_then_encoded_once_as_s3_does() {
    let (p, v) = setup();
    let h = [HOST, ("x-amz-meta-a", "1")];
    // An encoded plain letter is the letter: servers accept it, so does the Verifier.
    let url = put_url(&p, "heldout");
    let spelled = url.replacen("heldout", "held%6Fut", 1);
    assert_eq!(
        v.verify_presigned("PUT", &spelled, &h, T).unwrap().path(),
        "/b/heldout"
    );
    // `%2F` where the signer wrote `/` decodes to `/`: the same object, accepted.
    let url = put_url(&p, "dir/file");
    let escaped = url.replacen("dir/file", "dir%2Ffile", 1);
    assert!(v.verify_presigned("PUT", &escaped, &h, T).is_ok());
    // Lower-case escapes decode to the same bytes.
    let url = put_url(&p, "é");
    assert!(url.contains("%C3%A9"));
    let lower = url.replacen("%C3%A9", "%c3%a9", 1);
    assert!(v.verify_presigned("PUT", &lower, &h, T).is_ok());
    let broken = url.replacen("%C3%A9", "%C3%G9", 1);
    assert_eq!(
        v.verify_presigned("PUT", &broken, &h, T),
        Err(VerifyError::MalformedEscape("path"))
    );
}

#[test]
fn an_unsigned_payload_declaration_is_accepted_other_unsigned_amz_headers_are_not() {
    let (p, v) = setup();
    let url = put_url(&p, "k");
    let ok = [
        HOST,
        ("x-amz-meta-a", "1"),
        ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
    ];
    assert!(v.verify_presigned("PUT", &url, &ok, T).is_ok());
    let hashed = [HOST, ("x-amz-meta-a", "1"), ("x-amz-content-sha256", "ab")];
    assert!(matches!(
        v.verify_presigned("PUT", &url, &hashed, T),
        Err(VerifyError::UnsignedHeader(_))
    ));
}

#[test]
fn a_token_must_be_the_credentials_own() {
    let (p, v) = setup();
    let url = put_url(&p, "k");
    let h = [HOST, ("x-amz-meta-a", "1")];
    let with_token = format!("{url}&X-Amz-Security-Token=abc");
    assert_eq!(
        v.verify_presigned("PUT", &with_token, &h, T),
        Err(VerifyError::TokenMismatch)
    );
}

#[test]
fn body_rules_come_from_the_headers() {
    let (p, v) = setup();
    let url = put_url(&p, "k");
    let h = [
        HOST,
        ("x-amz-meta-a", "1"),
        ("Content-Length", "10"),
        ("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
    ];
    let ok = v.verify_presigned("PUT", &url, &h, T).unwrap();
    assert_eq!(ok.body.length, Some(10));
    assert!(ok.body.content_md5.is_some());
    assert_eq!(
        ok.body.check_complete(9, None).unwrap_err().s3_code(),
        "IncompleteBody"
    );
}

fn form(p: &Presigner) -> (String, Vec<(String, String)>) {
    let form = p
        .post_policy("b")
        .key_starts_with("up/")
        .content_length_range(1, 10)
        .validity(at(T, 3600))
        .build()
        .unwrap();
    let mut fields: Vec<(String, String)> = form
        .fields
        .iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
    fields[0].1 = "up/video.mp4".into();
    (form.url.as_str().to_owned(), fields)
}

fn refs(fs: &[(String, String)]) -> Vec<(&str, &str)> {
    fs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

#[test]
fn post_forms() {
    let (p, v) = setup();
    let (url, fields) = form(&p);
    let ok = v.verify_post(&url, refs(&fields), T).unwrap();
    assert_eq!(ok.key, "up/video.mp4");
    assert_eq!(ok.body.length_range, Some((1, 10)));
    assert_eq!(
        ok.body.check_complete(11, None).unwrap_err().s3_code(),
        "EntityTooLarge"
    );
    let mut moved = fields.clone();
    moved[0].1 = "elsewhere/video.mp4".into();
    assert!(matches!(
        v.verify_post(&url, refs(&moved), T),
        Err(VerifyError::Policy(PolicyViolation::ConditionFailed { .. }))
    ));
    assert!(matches!(
        v.verify_post(&url, refs(&fields), T + Duration::hours(2)),
        Err(VerifyError::Policy(PolicyViolation::Expired { .. }))
    ));
    assert!(matches!(
        v.verify_post("http://127.0.0.1:9000/other", refs(&fields), T),
        Err(VerifyError::Policy(_))
    ));
    let mut extra = fields.clone();
    extra.insert(1, ("acl".into(), "public-read".into()));
    assert!(matches!(
        v.verify_post(&url, refs(&extra), T),
        Err(VerifyError::Policy(
            PolicyViolation::FieldNotInPolicy { .. }
        ))
    ));
    let mut tampered = fields.clone();
    let pol = tampered.iter_mut().find(|(k, _)| k == "policy").unwrap();
    pol.1 = pol.1.replace('A', "B");
    assert!(matches!(
        v.verify_post(&url, refs(&tampered), T),
        Err(VerifyError::SignatureDoesNotMatch { .. })
    ));
}

#[test]
fn a_post_field_given_twice_in_any_case_is_refused() {
    let (p, v) = setup();
    let (url, fields) = form(&p);
    let sig = fields.iter().find(|(k, _)| k == "x-amz-signature").unwrap();
    for (name, value) in [
        ("key", "other/a.mp4".to_owned()),
        ("Key", "other/a.mp4".to_owned()),
        ("KEY", "up/video.mp4".to_owned()),
        ("x-amz-signature", "0".repeat(64)),
        ("X-Amz-Signature", sig.1.clone()),
    ] {
        for at_end in [true, false] {
            let mut dup = fields.clone();
            if at_end {
                dup.push((name.into(), value.clone()));
            } else {
                dup.insert(0, (name.into(), value.clone()));
            }
            let e = v.verify_post(&url, refs(&dup), T).unwrap_err();
            assert!(matches!(e, VerifyError::DuplicateField(_)), "{name}: {e}");
        }
    }
}
