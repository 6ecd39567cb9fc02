//! AWS's published intermediate values (canonical request, string to sign, signing key,
//! signatures), reproduced by the private steps of the algorithm. The vectors live in
//! `fixtures/aws/`; `tests/aws_examples.rs` checks the public results of the same examples.

use serde_json::Value;

use crate::canonical_request::{
    CanonicalParts, canonical_request_hash, canonical_request_string, string_to_sign,
};
use crate::signing_key::{SigningMac, generate_signing_key};
use crate::uri_encode::hex_into;

fn fixture(name: &str) -> Value {
    let path = format!("{}/../fixtures/aws/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("fixture field {k}"))
}

fn hex(b: &[u8]) -> String {
    let mut out = String::new();
    hex_into(&mut out, b);
    out
}

#[test]
fn query_auth_example_canonical_request_string_to_sign_and_signature() {
    let f = fixture("query-auth-get-object.json");
    let query = [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        (
            "X-Amz-Credential",
            "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request",
        ),
        ("X-Amz-Date", "20130524T000000Z"),
        ("X-Amz-Expires", "86400"),
        ("X-Amz-SignedHeaders", "host"),
    ];
    let parts = CanonicalParts {
        method: "GET",
        path: "/test.txt",
        query: &query,
        headers: &[("host", "examplebucket.s3.amazonaws.com")],
    };
    assert_eq!(canonical_request_string(&parts), s(&f, "canonical_request"));
    let sts = string_to_sign(
        "20130524T000000Z",
        "20130524/us-east-1/s3/aws4_request",
        &canonical_request_hash(&parts),
    );
    assert_eq!(sts, s(&f, "string_to_sign"));
    let key = generate_signing_key(s(&f, "secret_access_key"), "20130524", "us-east-1", "s3");
    assert_eq!(
        hex(&SigningMac::new(&key).sign(&[sts.as_bytes()])),
        s(&f, "signature")
    );
}

#[test]
fn post_policy_example_signature() {
    let f = fixture("post-policy-example.json");
    let key = generate_signing_key(
        s(&f, "secret_access_key"),
        s(&f, "date"),
        s(&f, "region"),
        "s3",
    );
    assert_eq!(
        hex(&SigningMac::new(&key).sign(&[s(&f, "policy").as_bytes()])),
        s(&f, "signature")
    );
}

#[test]
fn signing_key_example() {
    let f = fixture("signing-key-example.json");
    let k = generate_signing_key(
        s(&f, "secret_access_key"),
        s(&f, "date"),
        s(&f, "region"),
        s(&f, "service"),
    );
    assert_eq!(hex(&k), s(&f, "signing_key"));
}
