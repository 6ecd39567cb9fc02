//! What a verified request's body must satisfy: the Verifier sees no body, the receiver streams
//! it and checks these as it goes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::VerifyError;

/// Limits and digest a body must meet, from the verified request or form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BodyRules {
    /// The `Content-Length` the request announced (signed or not): the body is exactly this long.
    pub length: Option<u64>,
    /// The POST policy's `content-length-range` (both ends inclusive).
    pub length_range: Option<(u64, u64)>,
    /// The `Content-MD5` sent: S3 checks the body against it whether or not it was signed.
    pub content_md5: Option<[u8; 16]>,
}

impl BodyRules {
    /// Parses a `Content-MD5` header value (base64 of 16 bytes).
    pub(crate) fn parse_md5(value: &str) -> Result<[u8; 16], VerifyError> {
        BASE64
            .decode(value.trim())
            .ok()
            .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
            .ok_or(VerifyError::InvalidDigest)
    }

    /// The largest body allowed, if any.
    pub fn max_length(&self) -> Option<u64> {
        match (self.length, self.length_range) {
            (Some(l), Some((_, max))) => Some(l.min(max)),
            (Some(l), None) => Some(l),
            (None, Some((_, max))) => Some(max),
            (None, None) => None,
        }
    }

    /// Called as bytes arrive: refuses once `received` is over what is allowed, so a receiver
    /// stops before storing more.
    pub fn check_progress(&self, received: u64) -> Result<(), VerifyError> {
        match self.max_length() {
            Some(limit) if received > limit => Err(VerifyError::EntityTooLarge {
                size: received,
                limit,
            }),
            _ => Ok(()),
        }
    }

    /// Called when the body has ended, with its length and MD5.
    pub fn check_complete(&self, received: u64, md5: Option<[u8; 16]>) -> Result<(), VerifyError> {
        self.check_progress(received)?;
        if let Some(expected) = self.length
            && received < expected
        {
            return Err(VerifyError::IncompleteBody {
                size: received,
                expected,
            });
        }
        if let Some((min, _)) = self.length_range
            && received < min
        {
            return Err(VerifyError::EntityTooSmall {
                size: received,
                limit: min,
            });
        }
        if let Some(want) = self.content_md5
            && md5 != Some(want)
        {
            return Err(VerifyError::BadDigest);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_limit_answers_its_s3_code() {
        let exact = BodyRules {
            length: Some(10),
            ..BodyRules::default()
        };
        assert_eq!(
            exact.check_progress(11).unwrap_err().s3_code(),
            "EntityTooLarge"
        );
        assert_eq!(
            exact.check_complete(9, None).unwrap_err().s3_code(),
            "IncompleteBody"
        );
        assert!(exact.check_complete(10, None).is_ok());
        let range = BodyRules {
            length_range: Some((5, 8)),
            ..BodyRules::default()
        };
        assert_eq!(
            range.check_complete(4, None).unwrap_err().s3_code(),
            "EntityTooSmall"
        );
        assert_eq!(
            range.check_progress(9).unwrap_err().s3_code(),
            "EntityTooLarge"
        );
        let md5 = BodyRules {
            content_md5: Some(BodyRules::parse_md5("1B2M2Y8AsgTpgAmY7PhCfg==").unwrap()),
            ..BodyRules::default()
        };
        // MD5 of the empty string.
        let empty = [
            0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04, 0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8,
            0x42, 0x7e,
        ];
        assert!(md5.check_complete(0, Some(empty)).is_ok());
        assert_eq!(
            md5.check_complete(0, Some([0; 16])).unwrap_err().s3_code(),
            "BadDigest"
        );
        assert!(BodyRules::parse_md5("not base64").is_err());
    }
}
