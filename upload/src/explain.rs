//! Why a server refused, told from the evidence: what was sent and what came back. The person
//! reading the error is a runner operator far from the server that signed the URL, so the error
//! names the cause and what to do, not just S3's code.
//!
//! - SignatureDoesNotMatch: where the server returns the canonical request it computed (AWS
//!   does), the one of the request as sent is rebuilt and the first difference named (a header
//!   changed on the way, the query re-encoded, the path encoded differently); otherwise the likely
//!   causes for what was sent, most likely first.
//! - A region mismatch (301 PermanentRedirect, 400 AuthorizationHeaderMalformed,
//!   `x-amz-bucket-region`): the region signed for and the bucket's.
//! - Time: RequestTimeTooSkewed with this machine's offset from the server's clock; an expired
//!   session token told apart from an expired URL.
//! - A provider without POST Object (501 to a form: Cloudflare R2, Backblaze B2).
//! - The bug that started this project: a URL whose query string was lost on the way.

use reqwest::header::HeaderMap;
use signpost_wire::CredentialScope;
use signpost_wire::amz_date::format_rfc3339;
use signpost_wire::canonical::{Difference, first_difference, presigned_canonical_request};
use signpost_wire::s3_xml::{ErrorResponse, S3ErrorCode};
use time::OffsetDateTime;

use crate::error::TargetKind;
use crate::target::Target;

/// What was sent, as a refusal is explained from it.
pub(crate) struct Sent<'a> {
    pub(crate) method: &'a reqwest::Method,
    pub(crate) target: &'a Target,
    pub(crate) headers: &'a HeaderMap,
}

fn minutes(d: time::Duration) -> String {
    let s = d.whole_seconds().abs();
    if s < 120 {
        format!("{s} s")
    } else {
        format!("{} min", s / 60)
    }
}

/// The server's clock, from its `Date` header or the error document's `ServerTime`.
fn server_time(headers: &HeaderMap, s3: Option<&ErrorResponse>) -> Option<OffsetDateTime> {
    let from_header = headers
        .get("date")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .map(OffsetDateTime::from);
    from_header.or_else(|| {
        s3.and_then(|e| e.server_time.as_deref())
            .and_then(signpost_wire::amz_date::parse_rfc3339)
    })
}

/// The credential scope the request was signed with: the URL's, or a POST form's field.
fn signed_scope(req: &Sent<'_>, form_credential: Option<&str>) -> Option<CredentialScope> {
    match &req.target.auth {
        Ok(Some(q)) => Some(q.credential.clone()),
        _ => form_credential.and_then(|c| CredentialScope::parse(c).ok()),
    }
}

/// The explanation of a refusal, when the evidence gives one.
pub(crate) fn explain(
    req: &Sent<'_>,
    status: u16,
    s3: Option<&ErrorResponse>,
    headers: &HeaderMap,
    form_credential: Option<&str>,
    now: OffsetDateTime,
) -> Option<String> {
    let code = s3.map(|e| &e.code);
    let url = req.target.url.as_str();
    // Through a proxy, an answer that is not S3's is the proxy's own (407, a policy's 403, a
    // 502 when it could not reach the server).
    if s3.is_none()
        && let Some(proxy) = crate::client::proxy_for(url)
    {
        let host = crate::target::host_of(url);
        return Some(format!(
            "the answer came from the proxy {proxy}, not from S3 (it is no S3 error document): the proxy refused or could not forward the request; fix the proxy, or set NO_PROXY={host} to connect directly"
        ));
    }
    let query_auth = &req.target.auth;
    if matches!(status, 401 | 403) && req.target.signed_by_query && matches!(query_auth, Ok(None)) {
        return Some(
            "the URL carries no signature (no X-Amz-* query parameters): if it was presigned, its query string was lost on the way".into(),
        );
    }
    if req.target.kind == TargetKind::FormUrl
        && (status == 501 || code == Some(&S3ErrorCode::NotImplemented))
    {
        return Some(
            "this provider does not take browser-form POST uploads (Cloudflare R2 and Backblaze B2 answer 501 too): ask the server for a PUT descriptor (signpost presign put)".into(),
        );
    }
    // An S3 server refused a form without `key`: the descriptor carried a bare POST URL (as
    // PeerTube's own descriptors do) without the presigned POST's fields.
    if req.target.form_lacks_key && s3.is_some() && (400..500).contains(&status) {
        return Some(
            "the form has no `key` field: the descriptor's `fields` lack those of a presigned POST, and S3's POST Object needs `key` and, to authorize the upload, `policy` with its signature fields; ask the job server for a presigned POST with its fields (signpost presign post), or for a PUT URL (method PUT)".into(),
        );
    }
    let signed = signed_scope(req, form_credential);
    let bucket_region = headers
        .get("x-amz-bucket-region")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| s3.and_then(|e| e.region.clone()));
    let region_code = matches!(
        code,
        Some(
            S3ErrorCode::PermanentRedirect
                | S3ErrorCode::AuthorizationHeaderMalformed
                | S3ErrorCode::AuthorizationQueryParametersError
                | S3ErrorCode::IllegalLocationConstraintException
        )
    );
    if status == 301 || region_code {
        if let (Some(signed), Some(actual)) = (&signed, &bucket_region)
            && signed.region != *actual
        {
            return Some(format!(
                "the URL is signed for region {}, the bucket is in {actual}: sign for {actual}",
                signed.region
            ));
        }
        if let Some(endpoint) = s3.and_then(|e| e.endpoint.as_deref()) {
            return Some(format!(
                "the bucket must be addressed through {endpoint}: sign for that endpoint and its region"
            ));
        }
    }
    if code == Some(&S3ErrorCode::RequestTimeTooSkewed) {
        let server = server_time(headers, s3);
        let dated = query_auth
            .as_ref()
            .ok()
            .and_then(|q| q.as_ref())
            .map(|q| q.date);
        return Some(match (server, dated) {
            (Some(server), Some(dated)) => format!(
                "the URL is dated {dated}, {} {} the server's clock ({server}); this machine's clock is {} {} the server's: the signer's clock is off, or the URL was signed for later",
                minutes(dated - server),
                if dated > server { "ahead of" } else { "behind" },
                minutes(now - server),
                if now > server { "ahead of" } else { "behind" },
            ),
            (Some(server), None) => format!(
                "this machine's clock is {} {} the server's ({server})",
                minutes(now - server),
                if now > server { "ahead of" } else { "behind" }
            ),
            _ => "the signing time is more than 15 minutes from the server's clock: check the signer's clock".into(),
        });
    }
    if code == Some(&S3ErrorCode::ExpiredToken)
        || s3.is_some_and(|e| e.message.contains("token has expired"))
    {
        return Some(
            "the session token of the temporary credentials that signed the URL has expired (the URL's own expiry is not the cause): the server must sign with fresh credentials".into(),
        );
    }
    if code == Some(&S3ErrorCode::AccessDenied)
        && s3.is_some_and(|e| e.message.to_ascii_lowercase().contains("expired"))
    {
        let at = query_auth
            .as_ref()
            .ok()
            .and_then(|q| q.as_ref())
            .map(|q| q.expires_at());
        let server = server_time(headers, s3);
        return Some(match (at, server) {
            (Some(at), Some(server)) => format!(
                "the URL expired at {} by the server's clock ({}): ask the server for a new upload target",
                format_rfc3339(at),
                format_rfc3339(server)
            ),
            _ => "the URL has expired: ask the server for a new upload target".into(),
        });
    }
    let message = s3
        .map(|e| e.message.to_ascii_lowercase())
        .unwrap_or_default();
    if code == Some(&S3ErrorCode::SignatureDoesNotMatch)
        || (status == 403 && message.contains("signature"))
    {
        return Some(signature(req, s3));
    }
    // Whatever the server calls it (Garage: 400 InvalidRequest), a URL past its expiry by the
    // server's clock is expired.
    if let (Ok(Some(q)), Some(server)) = (query_auth, server_time(headers, s3))
        && (400..500).contains(&status)
        && server > q.expires_at()
    {
        return Some(format!(
            "the URL expired at {} by the server's clock ({}): ask the server for a new upload target",
            format_rfc3339(q.expires_at()),
            format_rfc3339(server)
        ));
    }
    None
}

/// SignatureDoesNotMatch: the first difference, or the likely causes.
fn signature(req: &Sent<'_>, s3: Option<&ErrorResponse>) -> String {
    let url = req.target.url.as_str();
    if req.target.kind == TargetKind::FormUrl {
        return "the form's policy or signature was changed after signing, or signed with other credentials or for another region".into();
    }
    let sent: Vec<(&str, &str)> = req
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    let ours = presigned_canonical_request(req.method.as_str(), url, &sent);
    if let (Some(theirs), Some(ours)) = (s3.and_then(|e| e.canonical_request.as_deref()), &ours) {
        return match first_difference(ours, theirs) {
            Some(Difference::Header { name, sent, seen }) => format!(
                "the signed header {name} arrived as {seen:?} but was sent as {sent:?}: something on the way (a proxy) changed it"
            ),
            Some(Difference::Query { sent, seen }) => format!(
                "the query string was re-encoded on the way: sent as {sent:?}, the server read {seen:?}"
            ),
            Some(Difference::Path { sent, seen }) => format!(
                "the path was encoded differently on the way: sent as {sent:?}, the server read {seen:?}"
            ),
            Some(Difference::Method { sent, seen }) => format!(
                "the method changed on the way: sent {sent}, the server saw {seen}"
            ),
            Some(Difference::Other { sent, seen }) => format!(
                "the canonical request differs from the one sent: {sent:?} here, {seen:?} at the server"
            ),
            None => {
                "the server computed the canonical request that was sent: the URL was signed with another secret key, for another region or at another time than its scope says".into()
            }
        };
    }
    // No canonical request from the server: the likely causes for what was sent.
    let mut causes = Vec::new();
    if let Ok(Some(q)) = &req.target.auth {
        let others: Vec<&str> = q
            .signed_headers
            .iter()
            .map(String::as_str)
            .filter(|h| *h != "host")
            .collect();
        if !others.is_empty() {
            causes.push(format!(
                "a signed header ({}) was changed on the way or not sent as signed",
                others.join(", ")
            ));
        }
    }
    let path = url.split_once("://").map_or("", |(_, r)| r);
    let path = path.split('?').next().unwrap_or("");
    if path.contains('%') || path.contains('+') {
        causes.push(
            "the path, which has escapes, was re-encoded on the way (a proxy or an HTTP library)"
                .into(),
        );
    }
    causes.push("the query string was re-encoded or changed on the way".into());
    causes.push(
        "the URL was signed with other credentials or for another region than the server's".into(),
    );
    let list: Vec<String> = causes
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{}) {c}", i + 1))
        .collect();
    format!("likely causes, most likely first: {}", list.join("; "))
}
