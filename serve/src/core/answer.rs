//! The one S3 error answer every receiver sends: status, S3's `Code` and a message that names
//! the problem, as an `<Error>` document. Upstream addresses and signatures never go in it.

use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use signpost_wire::s3_xml::ErrorResponse;

/// The body every receiver answers with.
pub type Body = s3s::Body;

/// An S3 error document with its status (a status outside 400..=599 becomes 500).
pub fn error(status: u16, code: &str, message: &str) -> Response<Body> {
    let mut r = Response::new(Body::from(ErrorResponse::new(code, message).to_xml()));
    *r.status_mut() = StatusCode::from_u16(status)
        .ok()
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    r
}

/// A refusal of signpost's Verifier, as S3 words it (with the `Region` S3 adds when the
/// signature's region is not the receiver's), its code marked for `/metrics`.
pub fn refused(e: &signpost_presign::VerifyError) -> Response<Body> {
    let mut doc = ErrorResponse::new(e.s3_code(), e.to_string());
    if let signpost_presign::VerifyError::WrongRegion { expected, .. } = e {
        doc.region = Some(expected.clone());
    }
    let mut r = error(e.status(), e.s3_code(), "");
    *r.body_mut() = Body::from(doc.to_xml());
    r.extensions_mut()
        .insert(super::S3Code(e.s3_code().to_owned()));
    r
}

/// `503 SlowDown`, S3's answer when a limit of uploads at once is reached.
pub fn slow_down(why: &str) -> Response<Body> {
    error(
        503,
        "SlowDown",
        &format!("Please reduce your request rate. ({why})"),
    )
}
