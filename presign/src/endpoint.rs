//! Where requests go: an S3 endpoint, its region, and how a bucket is addressed.
//!
//! - Virtual-hosted style puts the bucket in the host name: `https://BUCKET.s3.REGION.amazonaws.com/KEY`.
//!   AWS's default; the bucket name must be a DNS label.
//! - Path style puts it in the path: `http://127.0.0.1:9000/BUCKET/KEY`. What MinIO and most
//!   S3-compatible servers expect on a bare address.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html>.

use crate::error::PresignError;

/// How a bucket appears in a URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addressing {
    /// `scheme://host/BUCKET/KEY`.
    Path,
    /// `scheme://BUCKET.host/KEY`.
    VirtualHosted,
}

/// An S3 endpoint and region.
///
/// ```
/// use signpost_presign::{Endpoint, Addressing};
/// let aws = Endpoint::aws("eu-west-3")?;
/// assert_eq!(aws.addressing(), Addressing::VirtualHosted);
/// let minio = Endpoint::custom("http://127.0.0.1:9000", "us-east-1")?;
/// assert_eq!(minio.addressing(), Addressing::Path);
/// # Ok::<(), signpost_presign::PresignError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    scheme: &'static str,
    authority: String,
    base_path: String,
    region: String,
    addressing: Addressing,
}

/// Checks a region name: letters, digits, `-` and `_`, not empty.
pub fn validate_region(region: &str) -> Result<(), PresignError> {
    if region.is_empty()
        || region.len() > 64
        || !region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(PresignError::InvalidRegion {
            region: region.to_owned(),
        });
    }
    Ok(())
}

impl Endpoint {
    /// AWS S3 in `region`, virtual-hosted: `https://s3.REGION.amazonaws.com`.
    pub fn aws(region: &str) -> Result<Self, PresignError> {
        validate_region(region)?;
        Ok(Endpoint {
            scheme: "https",
            authority: format!("s3.{region}.amazonaws.com"),
            base_path: String::new(),
            region: region.to_owned(),
            addressing: Addressing::VirtualHosted,
        })
    }

    /// Any S3-compatible endpoint (`http://127.0.0.1:9000`, `https://minio.example.com/s3`),
    /// path-style by default. The default port of the scheme is dropped, as HTTP clients drop it
    /// from the Host header.
    pub fn custom(url: &str, region: &str) -> Result<Self, PresignError> {
        validate_region(region)?;
        let invalid = |reason: String| PresignError::InvalidEndpoint {
            endpoint: url.to_owned(),
            reason,
        };
        let parsed = url::Url::parse(url).map_err(|e| invalid(e.to_string()))?;
        let scheme = match parsed.scheme() {
            "http" => "http",
            "https" => "https",
            other => {
                return Err(PresignError::UnsupportedScheme {
                    endpoint: url.to_owned(),
                    scheme: other.to_owned(),
                });
            }
        };
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid("it has no host".into()))?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(invalid(
                "an endpoint has no query string or fragment".into(),
            ));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(invalid(
                "credentials do not belong in the endpoint URL; use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into(),
            ));
        }
        let authority = match parsed.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        Ok(Endpoint {
            scheme,
            authority,
            base_path: parsed.path().trim_end_matches('/').to_owned(),
            region: region.to_owned(),
            addressing: Addressing::Path,
        })
    }

    /// Switches the addressing style.
    pub fn with_addressing(mut self, addressing: Addressing) -> Self {
        self.addressing = addressing;
        self
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The addressing style.
    pub fn addressing(&self) -> Addressing {
        self.addressing
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// `scheme://authority/base`, as given.
    pub fn url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.base_path)
    }

    /// The Host of a request for `bucket`.
    pub fn host_for(&self, bucket: &str) -> std::borrow::Cow<'_, str> {
        match self.addressing {
            Addressing::Path => std::borrow::Cow::Borrowed(&self.authority),
            Addressing::VirtualHosted => {
                std::borrow::Cow::Owned(format!("{bucket}.{}", self.authority))
            }
        }
    }

    /// Appends the encoded path of `bucket`/`key`. An empty `key` names the bucket itself:
    /// `/bucket` in path style, `/` virtual-hosted.
    pub fn write_path(&self, out: &mut String, bucket: &str, key: &str) {
        out.push_str(&self.base_path);
        if self.addressing == Addressing::Path {
            out.push('/');
            crate::uri_encode::encode_component_into(out, bucket);
            if key.is_empty() {
                return;
            }
        }
        out.push('/');
        crate::uri_encode::encode_path_into(out, key);
    }

    /// Checks that `bucket` can be addressed: any name S3 allows in path style; a DNS-safe name
    /// for virtual-hosted style.
    pub fn validate_bucket(&self, bucket: &str) -> Result<(), PresignError> {
        let invalid = |rule: &'static str| {
            Err(PresignError::InvalidBucketName {
                bucket: bucket.to_owned(),
                rule,
            })
        };
        if bucket.is_empty() {
            return Err(PresignError::EmptyBucket);
        }
        if bucket.len() > 255
            || !bucket
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        {
            return invalid("a bucket name has at most 255 letters, digits, '.', '-' or '_'");
        }
        if self.addressing == Addressing::VirtualHosted {
            let b = bucket.as_bytes();
            if !(3..=63).contains(&b.len()) {
                return invalid("a virtual-hosted bucket name is 3 to 63 characters long");
            }
            if b.iter().any(|c| {
                !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-')
            }) {
                return invalid(
                    "a virtual-hosted bucket name has only lower-case letters, digits, '.' and '-'; use path-style addressing for other names",
                );
            }
            let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
            if !alnum(b[0]) || !alnum(b[b.len() - 1]) {
                return invalid(
                    "a virtual-hosted bucket name begins and ends with a letter or digit",
                );
            }
            if bucket.contains("..") || bucket.contains(".-") || bucket.contains("-.") {
                return invalid("a virtual-hosted bucket name has no '..', '.-' or '-.'");
            }
            if bucket.parse::<std::net::Ipv4Addr>().is_ok() {
                return invalid("a bucket name is not formatted as an IP address");
            }
            if self.scheme == "https" && bucket.contains('.') {
                return invalid(
                    "a bucket name with '.' breaks the TLS certificate of a virtual-hosted https endpoint; use path-style addressing",
                );
            }
        }
        Ok(())
    }
}

/// Checks an object key: 1 to 1024 bytes, and no `.` or `..` path segment (HTTP clients and
/// proxies remove those from URLs, so the request would name another key).
pub fn validate_key(key: &str) -> Result<(), PresignError> {
    if key.is_empty() {
        return Err(PresignError::EmptyKey);
    }
    if key.len() > 1024 {
        return Err(PresignError::KeyTooLong { len: key.len() });
    }
    if key.split('/').any(|seg| seg == "." || seg == "..") {
        return Err(PresignError::KeyDotSegment {
            key: key.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_endpoints_normalize() {
        let e = Endpoint::custom("https://minio.example.com:443/s3/", "us-east-1").unwrap();
        assert_eq!(e.url(), "https://minio.example.com/s3");
        let mut p = String::new();
        e.write_path(&mut p, "b", "a b/c");
        assert_eq!(p, "/s3/b/a%20b/c");
        let e = Endpoint::custom("http://127.0.0.1:9000", "us-east-1").unwrap();
        assert_eq!(e.host_for("b"), "127.0.0.1:9000");
    }

    #[test]
    fn bad_endpoints_are_named() {
        let e = Endpoint::custom("ftp://h", "us-east-1").unwrap_err();
        assert!(e.to_string().contains("ftp"), "{e}");
        assert!(Endpoint::custom("not a url", "us-east-1").is_err());
        assert!(matches!(
            Endpoint::custom("http://h", "us east"),
            Err(PresignError::InvalidRegion { .. })
        ));
        assert!(
            Endpoint::custom("http://u:p@h", "r")
                .unwrap_err()
                .to_string()
                .contains("AWS_ACCESS_KEY_ID")
        );
    }

    #[test]
    fn bucket_rules() {
        let vh = Endpoint::aws("us-east-1").unwrap();
        assert!(vh.validate_bucket("my-bucket").is_ok());
        for bad in [
            "",
            "ab",
            "My_Bucket",
            "-ab",
            "a..b",
            "192.168.1.1",
            "my.bucket",
        ] {
            assert!(vh.validate_bucket(bad).is_err(), "{bad}");
        }
        let path = Endpoint::custom("http://h:9000", "us-east-1").unwrap();
        assert!(path.validate_bucket("My_Bucket").is_ok());
        assert!(path.validate_bucket("a/b").is_err());
    }

    #[test]
    fn key_rules() {
        assert!(validate_key("a/b c+d~é//e").is_ok());
        assert!(validate_key("/leading").is_ok());
        assert!(matches!(validate_key(""), Err(PresignError::EmptyKey)));
        assert!(matches!(
            validate_key(&"k".repeat(1025)),
            Err(PresignError::KeyTooLong { len: 1025 })
        ));
        assert!(matches!(
            validate_key("a/../b"),
            Err(PresignError::KeyDotSegment { .. })
        ));
        assert!(validate_key("a/.../b").is_ok());
    }
}
