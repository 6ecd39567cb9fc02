//! The Verifier's rules met by requests correctly signed over what they break, as anyone holding
//! the secret could sign them: only the rule itself can refuse them.

use signpost_wire::QueryAuthError;

use super::*;

/// Signs `url` (its query holding every `X-Amz-*` parameter but the signature) as anyone holding
/// `secret` can, whatever its parameters say: HMAC-SHA256 over the canonical request that
/// `signpost_wire::canonical` writes from the URL as sent, with the key derived here for `region`
/// and `service` (not the Verifier's code). A rule the Verifier then enforces is enforced for
/// itself, not by a signature that no longer matches.
fn signed_by_anyone(
    url: &str,
    headers: &[(&str, &str)],
    secret: &str,
    region: &str,
    service: &str,
) -> String {
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
        m.update(data);
        m.finalize().into_bytes().to_vec()
    }
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let canonical =
        signpost_wire::canonical::presigned_canonical_request("PUT", url, headers).unwrap();
    let amz_date = "20240501T120000Z";
    let scope = format!("20240501/{region}/{service}/aws4_request");
    let sts = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = mac(format!("AWS4{secret}").as_bytes(), b"20240501");
    for part in [region, service, "aws4_request"] {
        key = mac(&key, part.as_bytes());
    }
    format!("{url}&X-Amz-Signature={}", hex(&mac(&key, sts.as_bytes())))
}

/// `put_url` without its signature, with `from` replaced by `to` (which must occur).
fn unsigned_with(p: &Presigner, from: &str, to: &str) -> String {
    let url = put_url(p, "k");
    let unsigned = &url[..url.find("&X-Amz-Signature=").unwrap()];
    assert!(unsigned.contains(from), "{from} not in {unsigned}");
    unsigned.replacen(from, to, 1)
}

#[test]
fn the_test_signer_signs_as_the_presigner_does() {
    let (p, v) = setup();
    let h = [HOST, ("x-amz-meta-a", "1")];
    let url = put_url(&p, "k");
    let ours = signed_by_anyone(&unsigned_with(&p, "", ""), &h, "SECRET", "eu-west-1", "s3");
    assert_eq!(ours, url);
    v.verify_presigned("PUT", &ours, &h, T).unwrap();
}

#[test]
fn signed_headers_must_name_host_sorted_in_lower_case() {
    let (p, v) = setup();
    let h = [HOST, ("x-amz-meta-a", "1")];
    for (list, host_missing) in [
        ("x-amz-meta-a", true),
        ("x-amz-meta-a%3Bhost", false),
        ("host%3Bx-Amz-meta-a", false),
        ("host%3Bhost%3Bx-amz-meta-a", false),
    ] {
        // Correctly signed over the list as it stands: only the list's rules can refuse it.
        let url = signed_by_anyone(
            &unsigned_with(&p, "host%3Bx-amz-meta-a", list),
            &h,
            "SECRET",
            "eu-west-1",
            "s3",
        );
        let e = v.verify_presigned("PUT", &url, &h, T).unwrap_err();
        if host_missing {
            assert!(matches!(e, VerifyError::HostNotSigned), "{list}: {e:?}");
        } else {
            assert!(
                matches!(
                    e,
                    VerifyError::Malformed(QueryAuthError::Invalid {
                        param: "X-Amz-SignedHeaders",
                        ..
                    })
                ),
                "{list}: {e:?}"
            );
        }
    }
}

#[test]
fn the_algorithm_access_key_region_and_service_are_checked_on_their_own() {
    let (p, v) = setup();
    let h = [HOST, ("x-amz-meta-a", "1")];
    let cred = "AKID%2F20240501%2Feu-west-1%2Fs3%2Faws4_request";
    let cases: [(&str, &str, &str, &str, &str); 4] = [
        (
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Algorithm=AWS4-HMAC-SHA512",
            "SECRET",
            "eu-west-1",
            "s3",
        ),
        (
            cred,
            "OTHER%2F20240501%2Feu-west-1%2Fs3%2Faws4_request",
            "OTHER-SECRET",
            "eu-west-1",
            "s3",
        ),
        (
            cred,
            "AKID%2F20240501%2Fus-east-1%2Fs3%2Faws4_request",
            "SECRET",
            "us-east-1",
            "s3",
        ),
        (
            cred,
            "AKID%2F20240501%2Feu-west-1%2Fsqs%2Faws4_request",
            "SECRET",
            "eu-west-1",
            "sqs",
        ),
    ];
    let mut refusals = Vec::new();
    for (from, to, secret, region, service) in cases {
        let url = signed_by_anyone(&unsigned_with(&p, from, to), &h, secret, region, service);
        refusals.push(v.verify_presigned("PUT", &url, &h, T).unwrap_err());
    }
    assert!(
        matches!(&refusals[0], VerifyError::UnsupportedAlgorithm(a) if a == "AWS4-HMAC-SHA512"),
        "{:?}",
        refusals[0]
    );
    assert!(
        matches!(&refusals[1], VerifyError::UnknownAccessKey(k) if k == "OTHER"),
        "{:?}",
        refusals[1]
    );
    assert!(
        matches!(&refusals[2], VerifyError::WrongRegion { expected, got } if expected == "eu-west-1" && got == "us-east-1"),
        "{:?}",
        refusals[2]
    );
    assert!(
        matches!(&refusals[3], VerifyError::BadScope(m) if m.contains("sqs")),
        "{:?}",
        refusals[3]
    );
}
