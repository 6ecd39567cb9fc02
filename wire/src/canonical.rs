//! The canonical request S3 computes for a query-signed request, rebuilt from the request as it
//! is sent (through [`crate::sigv4`]'s writer, the signer's): no secret is needed to write it,
//! only to sign it. When a server answers
//! SignatureDoesNotMatch with the canonical request it computed (AWS does), comparing the two line
//! by line names what changed on the way.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>.

use crate::sigv4::{CanonicalParts, canonical_request_string, normalize_header_value, param};
use crate::uri::{
    decode_path, decode_query_component, encode_component_bytes_into, encode_path_bytes_into,
};

/// The canonical request of a presigned request as sent: `method`, the full `url` as requested,
/// the `headers` sent (Host is taken from the URL when not given). `None` when the URL carries
/// no `X-Amz-SignedHeaders` or has a malformed escape.
///
/// ```
/// let c = signpost_wire::canonical::presigned_canonical_request(
///     "PUT",
///     "http://127.0.0.1:9000/b/a%20b?X-Amz-SignedHeaders=content-type%3Bhost&X-Amz-Signature=00",
///     &[("Content-Type", " video/mp4 ")],
/// ).unwrap();
/// assert_eq!(c, "PUT\n/b/a%20b\nX-Amz-SignedHeaders=content-type%3Bhost\n\
///                content-type:video/mp4\nhost:127.0.0.1:9000\n\ncontent-type;host\nUNSIGNED-PAYLOAD");
/// ```
pub fn presigned_canonical_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let i = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, target) = rest.split_at(i);
    let target = target.split('#').next().unwrap_or("");
    let (raw_path, raw_query) = target.split_once('?').unwrap_or((target, ""));
    let mut path = String::new();
    encode_path_bytes_into(&mut path, &decode_path(raw_path)?);
    if path.is_empty() {
        path.push('/');
    }
    let mut query = Vec::new();
    let mut signed = None;
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode_query_component(k)?, decode_query_component(v)?);
        if k == param::X_AMZ_SIGNATURE.as_bytes() {
            continue;
        }
        if k == param::X_AMZ_SIGNED_HEADERS.as_bytes() {
            signed = Some(String::from_utf8_lossy(&v).into_owned());
        }
        let (mut ek, mut ev) = (String::new(), String::new());
        encode_component_bytes_into(&mut ek, &k);
        encode_component_bytes_into(&mut ev, &v);
        query.push((ek, ev));
    }
    query.sort();
    let signed = signed?;
    let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (&**k, &**v)).collect();
    let values: Vec<(&str, String)> = signed
        .split(';')
        .map(|name| {
            let values: Vec<_> = headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| normalize_header_value(v))
                .collect();
            if values.is_empty() && name == "host" {
                (name, authority.to_owned())
            } else {
                (name, values.join(","))
            }
        })
        .collect();
    let headers: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, &**v)).collect();
    Some(canonical_request_string(&CanonicalParts {
        method,
        path: &path,
        query: &query,
        headers: &headers,
    }))
}

/// Where two canonical requests first differ, in S3's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Difference {
    /// The method.
    Method {
        /// As sent.
        sent: String,
        /// As the server saw it.
        seen: String,
    },
    /// The canonical path.
    Path {
        /// As sent.
        sent: String,
        /// As the server saw it.
        seen: String,
    },
    /// The canonical query.
    Query {
        /// As sent.
        sent: String,
        /// As the server saw it.
        seen: String,
    },
    /// A signed header's value.
    Header {
        /// The header.
        name: String,
        /// As sent.
        sent: String,
        /// As the server saw it.
        seen: String,
    },
    /// Something else (the signed header list, the payload line).
    Other {
        /// As sent.
        sent: String,
        /// As the server saw it.
        seen: String,
    },
}

/// The first difference between the canonical request of what was sent and the one a server
/// computed; `None` when they are the same.
pub fn first_difference(sent: &str, seen: &str) -> Option<Difference> {
    let (a, b): (Vec<&str>, Vec<&str>) = (sent.split('\n').collect(), seen.split('\n').collect());
    let n = a.len().max(b.len());
    (0..n).find_map(|i| {
        let (x, y) = (
            a.get(i).copied().unwrap_or(""),
            b.get(i).copied().unwrap_or(""),
        );
        if x == y {
            return None;
        }
        let (sent, seen) = (x.to_owned(), y.to_owned());
        Some(match i {
            0 => Difference::Method { sent, seen },
            1 => Difference::Path { sent, seen },
            2 => Difference::Query { sent, seen },
            _ => match (x.split_once(':'), y.split_once(':')) {
                (Some((nx, vx)), Some((ny, vy))) if nx == ny && !nx.contains(';') => {
                    Difference::Header {
                        name: nx.to_owned(),
                        sent: vx.to_owned(),
                        seen: vy.to_owned(),
                    }
                }
                _ => Difference::Other { sent, seen },
            },
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_are_named() {
        let url = "http://h/b/k?X-Amz-Date=1&X-Amz-SignedHeaders=content-type%3Bhost";
        let sent =
            presigned_canonical_request("PUT", url, &[("Content-Type", "video/mp4")]).unwrap();
        assert_eq!(first_difference(&sent, &sent), None);
        let proxy =
            presigned_canonical_request("PUT", url, &[("Content-Type", "video/mp4; x")]).unwrap();
        assert_eq!(
            first_difference(&sent, &proxy),
            Some(Difference::Header {
                name: "content-type".into(),
                sent: "video/mp4".into(),
                seen: "video/mp4; x".into()
            })
        );
        let path = sent.replacen("/b/k", "/b/k%2F", 1);
        assert!(matches!(
            first_difference(&sent, &path),
            Some(Difference::Path { .. })
        ));
        let query = sent.replacen("X-Amz-Date=1", "X-Amz-Date=2", 1);
        assert!(matches!(
            first_difference(&sent, &query),
            Some(Difference::Query { .. })
        ));
        assert!(presigned_canonical_request("PUT", "http://h/k", &[]).is_none());
    }

    /// AWS's published query-auth example (fixtures/aws/query-auth-get-object.json).
    #[test]
    fn aws_documented_canonical_request() {
        let path = format!(
            "{}/../fixtures/aws/query-auth-get-object.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let f: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let url = f["url"].as_str().unwrap();
        let ours = presigned_canonical_request("GET", url, &[]).unwrap();
        assert_eq!(ours, f["canonical_request"].as_str().unwrap());
    }

    #[test]
    fn a_re_encoded_query_canonicalises_alike() {
        let a = "http://h/k?x=a%20b~&X-Amz-SignedHeaders=host";
        let b = "http://h/k?x=a+b%7E&X-Amz-SignedHeaders=host";
        assert_eq!(
            presigned_canonical_request("GET", a, &[]),
            presigned_canonical_request("GET", b, &[])
        );
    }
}
