//! What the embedded server refuses before s3s sees a request, as S3 refuses it:
//!
//! - a path that is not UTF-8 once decoded (`400 InvalidURI`), an invalid bucket name
//!   (`400 InvalidBucketName`), a key that would not stay a file inside its bucket
//!   ([`crate::keys`]);
//! - query authentication judged by signpost's [`Verifier`], with the gateway's rules: expiry
//!   within 7 days, the server's region, the credentials' session token (none), every `x-amz-*`
//!   header signed, no `Authorization` header beside it (s3s 0.14 accepts all of these);
//! - header authentication signed for another region or service (`400
//!   AuthorizationHeaderMalformed`, naming the region expected, as AWS and Garage answer;
//!   s3s ignores the scope).

use hyper::{Request, Response};
use signpost_presign::Verifier;

use super::own;
use crate::core::{Body, RequestBody};

/// The SigV4 query parameters whose presence makes a request query-authenticated, in any case.
const QUERY_AUTH: [&str; 3] = ["x-amz-algorithm", "x-amz-signature", "x-amz-credential"];

/// An answer refusing the request (boxed: a response is large beside `Ok(())`).
pub(super) type Refusal = Box<Response<Body>>;

pub(super) struct Guard {
    verifier: Verifier,
}

impl Guard {
    pub(super) fn new(verifier: Verifier) -> Self {
        Guard { verifier }
    }

    /// `Ok` when s3s (or the POST handler) may see the request; `verify` false leaves query
    /// authentication to s3s alone (for tests that compare the Verifier with it).
    pub(super) fn check(&self, req: &Request<RequestBody>, verify: bool) -> Result<(), Refusal> {
        let raw = req.uri().path();
        let path = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| {
                own(
                    400,
                    "InvalidURI",
                    "the request path is not UTF-8 once decoded",
                )
            })?;
        let query = req.uri().query().unwrap_or("");
        let query_auth = query.split('&').any(|pair| {
            let name = pair.split_once('=').map_or(pair, |(n, _)| n);
            let name = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
            QUERY_AUTH.iter().any(|p| p.eq_ignore_ascii_case(&name))
        });
        if query_auth && verify {
            crate::core::verify_presigned(&self.verifier, req.method().as_str(), req)
                .map_err(|e| Box::new(crate::core::answer::refused(&e)))?;
        } else if !query_auth
            && let Some(auth) = req
                .headers()
                .get(hyper::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
        {
            self.check_header_scope(auth)?;
        }
        // Names after query authentication, so that a tampered URL is refused as such.
        let rest = path.strip_prefix('/').unwrap_or(&path);
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if !bucket.is_empty() {
            crate::keys::check_bucket(bucket).map_err(|e| named(&e))?;
        }
        if !key.is_empty() {
            crate::keys::check_file_key(key).map_err(|e| named(&e))?;
        }
        Ok(())
    }

    /// `AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/SERVICE/aws4_request, …`: the region and
    /// service must be the server's. The rest is s3s's to check.
    fn check_header_scope(&self, auth: &str) -> Result<(), Refusal> {
        let Some(rest) = auth.strip_prefix("AWS4-HMAC-SHA256") else {
            return Ok(());
        };
        let Some(scope) = rest
            .split(',')
            .map(str::trim)
            .find_map(|p| p.strip_prefix("Credential="))
        else {
            return Ok(());
        };
        let parts: Vec<&str> = scope.split('/').collect();
        let [_, _, region, service, _] = parts[..] else {
            return Err(Box::new(own(
                400,
                "AuthorizationHeaderMalformed",
                "The authorization header is malformed; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".",
            )));
        };
        let expected = self.verifier.region();
        if region != expected {
            let mut r = own(
                400,
                "AuthorizationHeaderMalformed",
                &format!(
                    "The authorization header is malformed; the region '{region}' is wrong; expecting '{expected}'"
                ),
            );
            r.headers_mut().insert(
                "x-amz-bucket-region",
                hyper::header::HeaderValue::from_str(expected)
                    .unwrap_or(hyper::header::HeaderValue::from_static("us-east-1")),
            );
            return Err(Box::new(r));
        }
        if service != "s3" {
            return Err(Box::new(own(
                400,
                "AuthorizationHeaderMalformed",
                &format!(
                    "The authorization header is malformed; incorrect service '{service}'. This endpoint belongs to 's3'."
                ),
            )));
        }
        Ok(())
    }
}

fn named(e: &crate::keys::NameError) -> Refusal {
    let (status, code) = e.s3_code();
    Box::new(own(status, code, &e.to_string()))
}
