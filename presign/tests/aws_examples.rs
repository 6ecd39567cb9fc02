//! AWS's published examples, reproduced exactly through the public API: the presigned URL,
//! the policy, and the verifier's verdicts. The vectors live in `fixtures/aws/`; the intermediate
//! values (canonical request, string to sign, signing key) are checked by the crate's own
//! `aws_vectors` unit tests.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use signpost_presign::{
    Addressing, Credentials, Endpoint, PresignRequest, Presigner, Validity, Verifier, VerifyError,
};
use signpost_wire::PolicyDocument;
use signpost_wire::amz_date::{parse_amz_date, parse_rfc3339};

fn fixture(name: &str) -> Value {
    let path = format!("{}/../fixtures/aws/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("fixture field {k}"))
}

#[test]
fn query_auth_example_url_canonical_request_and_string_to_sign() {
    let f = fixture("query-auth-get-object.json");
    let presigner = Presigner::new(
        Credentials::new(s(&f, "access_key_id"), s(&f, "secret_access_key")),
        Endpoint::custom(s(&f, "endpoint"), s(&f, "region"))
            .unwrap()
            .with_addressing(Addressing::VirtualHosted),
    );
    let at = parse_amz_date(s(&f, "amz_date")).unwrap();
    let validity = Validity::expires_in(std::time::Duration::from_secs(
        f["expires"].as_u64().unwrap(),
    ))
    .unwrap()
    .signed_at(at)
    .unwrap();
    let req = PresignRequest::get_object(s(&f, "bucket"), s(&f, "key")).validity(validity);
    let signed = presigner.presign(&req).unwrap();
    assert_eq!(signed.url(), s(&f, "url"));

    // A request with another method is refused, and the refusal shows the canonical request
    // and string to sign as AWS documents them, but for that method.
    let wrong_method = Verifier::new(
        Credentials::new(s(&f, "access_key_id"), s(&f, "secret_access_key")),
        "us-east-1",
    )
    .verify_presigned(
        "HEAD",
        s(&f, "url"),
        &[("Host", "examplebucket.s3.amazonaws.com")],
        at,
    );
    match wrong_method {
        Err(VerifyError::SignatureDoesNotMatch {
            canonical_request,
            string_to_sign,
        }) => {
            assert_eq!(
                canonical_request,
                s(&f, "canonical_request").replacen("GET", "HEAD", 1)
            );
            assert!(string_to_sign.starts_with("AWS4-HMAC-SHA256\n20130524T000000Z\n"));
        }
        other => panic!("{other:?}"),
    }
    // The verifier accepts AWS's URL at its date, and refuses it a second after expiry.
    let v = Verifier::new(
        Credentials::new(s(&f, "access_key_id"), s(&f, "secret_access_key")),
        "us-east-1",
    );
    let host = [("Host", "examplebucket.s3.amazonaws.com")];
    let ok = v.verify_presigned("GET", s(&f, "url"), &host, at).unwrap();
    assert_eq!(ok.path(), "/test.txt");
    let late = at + time::Duration::seconds(86401);
    assert!(
        v.verify_presigned("GET", s(&f, "url"), &host, late)
            .is_err()
    );
}

#[test]
fn post_policy_example_parse_and_verify() {
    let f = fixture("post-policy-example.json");
    let policy = s(&f, "policy");

    let doc = PolicyDocument::from_base64(policy).unwrap();
    assert_eq!(doc.expiration, parse_rfc3339(s(&f, "expiration")).unwrap());
    assert_eq!(
        doc.conditions.len() as u64,
        f["condition_count"].as_u64().unwrap()
    );
    assert_eq!(doc.eq_value("bucket"), Some("sigv4examplebucket"));

    // AWS's own form passes signpost's verifier, field for field.
    let fields: Vec<(String, String)> = f["form"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let name = p[0].as_str().unwrap().to_owned();
            let value = match p[1].as_str().unwrap() {
                "<policy>" => policy.to_owned(),
                "<signature>" => s(&f, "signature").to_owned(),
                v => v.to_owned(),
            };
            (name, value)
        })
        .collect();
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let v = Verifier::new(
        Credentials::new(s(&f, "access_key_id"), s(&f, "secret_access_key")),
        "us-east-1",
    );
    let at = parse_rfc3339(s(&f, "verify_at")).unwrap();
    let form = v
        .verify_post(s(&f, "url"), pairs.iter().copied(), at)
        .unwrap();
    assert_eq!(form.key, "user/user1/MyPhoto.jpg");
    assert!(form.body.check_complete(1000, None).is_ok());
    // A key outside user/user1/ is refused by the policy.
    let mut moved = pairs.clone();
    moved[0].1 = "user/user2/MyPhoto.jpg";
    let e = v
        .verify_post(s(&f, "url"), moved.iter().copied(), at)
        .unwrap_err();
    assert!(e.to_string().contains("$key"), "{e}");
}
