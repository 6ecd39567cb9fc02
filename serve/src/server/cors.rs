//! Cross-origin requests from browsers (an uppy upload, a single-page app): the preflight is
//! answered and responses carry `Access-Control-Allow-Origin` and `-Expose-Headers: ETag`.
//!
//! A bucket with a CORS configuration (PutBucketCors) is governed by its rules, as S3 does: the
//! first rule whose origin, method and headers match answers. A bucket without one follows the
//! server's policy: by default any loopback origin (`http://localhost:*`, `http://127.0.0.1:*`,
//! `http://[::1]:*`), as a local development server should, or the origins given with
//! `--cors-origin` (`*` for any).
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html>.

use s3s::dto::CORSRule;

use super::store::BucketCors;

/// The methods S3 answers.
const METHODS: &str = "GET, PUT, POST, DELETE, HEAD";
/// What a browser script may read from an answer by default: the ETag (uppy completes multipart
/// uploads with it) and where the object is.
const EXPOSE: &str = "ETag, Location, x-amz-request-id, x-amz-version-id";

/// Which origins the server admits for buckets without a CORS configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorsOrigins {
    /// `localhost`, `127.0.0.1` and `[::1]`, any port, http or https.
    Loopback,
    /// Any origin.
    Any,
    /// Exactly these origins (`scheme://host[:port]`).
    List(Vec<String>),
}

impl CorsOrigins {
    /// From `--cors-origin` values: none means loopback, `*` means any.
    pub fn from_args(origins: &[String]) -> Self {
        if origins.is_empty() {
            CorsOrigins::Loopback
        } else if origins.iter().any(|o| o == "*") {
            CorsOrigins::Any
        } else {
            CorsOrigins::List(origins.to_vec())
        }
    }

    fn admits(&self, origin: &str) -> bool {
        match self {
            CorsOrigins::Any => true,
            CorsOrigins::List(list) => list.iter().any(|o| o == origin),
            CorsOrigins::Loopback => url::Url::parse(origin).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
                    && u.path() == "/"
            }),
        }
    }
}

/// What a request from `origin` is allowed, as response headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowed {
    pub origin: String,
    pub methods: String,
    pub headers: Option<String>,
    pub expose: String,
    pub max_age: Option<i32>,
}

/// The server's CORS: its default policy and the buckets' own configurations.
#[derive(Clone, Debug)]
pub struct Cors {
    pub default: CorsOrigins,
    pub buckets: BucketCors,
}

/// `pattern` (at most one `*`) matches `value`.
fn wildcard(pattern: &str, value: &str, ignore_case: bool) -> bool {
    let eq = |a: &str, b: &str| {
        if ignore_case {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    match pattern.split_once('*') {
        None => eq(pattern, value),
        Some((pre, post)) => {
            value.len() >= pre.len() + post.len()
                && eq(&value[..pre.len()], pre)
                && eq(&value[value.len() - post.len()..], post)
        }
    }
}

fn rule_allows(rule: &CORSRule, origin: &str, method: &str, headers: &[&str]) -> Option<Allowed> {
    let origin_ok = rule
        .allowed_origins
        .iter()
        .any(|o| wildcard(o, origin, false));
    let method_ok = rule.allowed_methods.iter().any(|m| m == method);
    let allowed_headers = rule.allowed_headers.as_deref().unwrap_or(&[]);
    let headers_ok = headers
        .iter()
        .all(|h| allowed_headers.iter().any(|a| wildcard(a, h, true)));
    (origin_ok && method_ok && headers_ok).then(|| Allowed {
        origin: if rule.allowed_origins.iter().any(|o| o == "*") {
            "*".into()
        } else {
            origin.to_owned()
        },
        methods: rule.allowed_methods.join(", "),
        headers: (!headers.is_empty()).then(|| headers.join(", ")),
        expose: rule
            .expose_headers
            .as_deref()
            .map(|e| e.join(", "))
            .unwrap_or_default(),
        max_age: rule.max_age_seconds,
    })
}

impl Cors {
    /// What `origin` may do with `method` (and, for a preflight, the `headers` it asks for) on
    /// `bucket`; `None`: not allowed.
    pub fn allow(
        &self,
        bucket: Option<&str>,
        origin: &str,
        method: &str,
        headers: &[&str],
    ) -> Option<Allowed> {
        if let Some(rules) = bucket.and_then(|b| self.buckets.rules(b)) {
            return rules
                .iter()
                .find_map(|r| rule_allows(r, origin, method, headers));
        }
        self.default.admits(origin).then(|| Allowed {
            origin: origin.to_owned(),
            methods: METHODS.into(),
            headers: (!headers.is_empty()).then(|| headers.join(", ")),
            expose: EXPOSE.into(),
            max_age: Some(3600),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str]) -> CORSRule {
        CORSRule {
            allowed_origins: origins.iter().map(|s| (*s).to_owned()).collect(),
            allowed_methods: methods.iter().map(|s| (*s).to_owned()).collect(),
            allowed_headers: Some(headers.iter().map(|s| (*s).to_owned()).collect()),
            expose_headers: Some(vec!["ETag".into()]),
            ..CORSRule::default()
        }
    }

    #[test]
    fn loopback_by_default_listed_origins_or_any() {
        let loopback = CorsOrigins::from_args(&[]);
        for o in [
            "http://localhost:5173",
            "http://127.0.0.1:8080",
            "https://localhost",
        ] {
            assert!(loopback.admits(o), "{o}");
        }
        for o in ["http://example.com", "http://localhost.evil.com", "null"] {
            assert!(!loopback.admits(o), "{o}");
        }
        let listed = CorsOrigins::from_args(&["https://app.example".into()]);
        assert!(listed.admits("https://app.example"));
        assert!(!listed.admits("http://localhost:3000"));
        assert!(CorsOrigins::from_args(&["*".into()]).admits("https://anything.example"));
    }

    #[test]
    fn bucket_rules_match_origin_method_and_headers() {
        let r = rule(
            &["https://*.example.com"],
            &["PUT", "POST"],
            &["content-*", "x-amz-*"],
        );
        let ok = rule_allows(&r, "https://app.example.com", "PUT", &["content-type"]).unwrap();
        assert_eq!(ok.origin, "https://app.example.com");
        assert_eq!(ok.expose, "ETag");
        assert!(rule_allows(&r, "https://app.example.org", "PUT", &[]).is_none());
        assert!(rule_allows(&r, "https://app.example.com", "DELETE", &[]).is_none());
        assert!(rule_allows(&r, "https://app.example.com", "PUT", &["authorization"]).is_none());
        let any = rule(&["*"], &["GET"], &[]);
        assert_eq!(
            rule_allows(&any, "http://x", "GET", &[]).unwrap().origin,
            "*"
        );
    }
}
