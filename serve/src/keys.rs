//! Which bucket names and object keys the receivers take.
//!
//! Bucket names follow S3's rules for general purpose buckets
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html>).
//!
//! Keys: S3 stores any UTF-8 key of up to 1,024 bytes, but a key the gateway forwards may meet a
//! server that treats it as a path (MinIO refuses `.` and `..` segments), and one the embedded
//! server stores *is* a path under its bucket's directory. So:
//!
//! - [`check_key`] (both receivers): no `.` or `..` segment and no control character (XML 1.0,
//!   in which listings are written, cannot carry most of them), at most 1,024 bytes;
//! - [`check_file_key`] (the embedded server) also refuses an empty segment (a leading or
//!   trailing `/`, or `//`: `a//b` would be the file `a/b`, another key's) and a segment over
//!   255 bytes (a file name's limit).
//!
//! Such a key is refused with `400` before anything is stored; it never becomes a path outside
//! its bucket.

use signpost_wire::limits::MAX_KEY_BYTES;

/// Why a bucket name or a key is refused: S3's status and code, and the rule in the message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Not a valid bucket name.
    #[error("the bucket name {name:?} is not valid: {rule}")]
    Bucket {
        /// The name.
        name: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// Over S3's 1,024 bytes.
    #[error("the key is {len} bytes long; S3 keys are at most 1024 bytes")]
    KeyTooLong {
        /// Its length.
        len: usize,
    },
    /// A key this server cannot store as it means.
    #[error("the key {key:?} is not accepted: {rule}; choose a key without it")]
    Key {
        /// The key, with control characters escaped.
        key: String,
        /// The rule it breaks.
        rule: &'static str,
    },
}

impl NameError {
    /// S3's status and code.
    pub fn s3_code(&self) -> (u16, &'static str) {
        match self {
            NameError::Bucket { .. } => (400, "InvalidBucketName"),
            NameError::KeyTooLong { .. } => (400, "KeyTooLongError"),
            NameError::Key { .. } => (400, "InvalidArgument"),
        }
    }
}

/// Checks a bucket name against S3's rules.
pub fn check_bucket(name: &str) -> Result<(), NameError> {
    let bad = |rule| {
        Err(NameError::Bucket {
            name: name.chars().take(80).collect(),
            rule,
        })
    };
    if !(3..=63).contains(&name.len()) {
        return bad("bucket names are 3 to 63 characters long");
    }
    for label in name.split('.') {
        let b = label.as_bytes();
        if b.is_empty() {
            return bad("two periods may not be adjacent, nor begin or end the name");
        }
        if !b
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        {
            return bad("only lower-case letters, digits, periods and hyphens are allowed");
        }
        let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        if !edge(b[0]) || !edge(b[b.len() - 1]) {
            return bad("each part between periods begins and ends with a letter or digit");
        }
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("a bucket name may not look like an IP address");
    }
    if ["xn--", "sthree-", "amzn-s3-demo-"]
        .iter()
        .any(|p| name.starts_with(p))
        || ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]
            .iter()
            .any(|s| name.ends_with(s))
    {
        return bad("the name uses a prefix or suffix S3 reserves");
    }
    Ok(())
}

/// Checks an object key against the rules every receiver applies.
pub fn check_key(key: &str) -> Result<(), NameError> {
    check(key, false)
}

/// Checks a key the embedded server stores as a file: [`check_key`], and no empty or overlong
/// segment.
pub fn check_file_key(key: &str) -> Result<(), NameError> {
    check(key, true)
}

fn check(key: &str, file: bool) -> Result<(), NameError> {
    if key.len() > MAX_KEY_BYTES {
        return Err(NameError::KeyTooLong { len: key.len() });
    }
    let bad = |rule| {
        Err(NameError::Key {
            key: key.chars().take(200).flat_map(char::escape_debug).collect(),
            rule,
        })
    };
    if key.is_empty() {
        return bad("an object needs a key");
    }
    if key.chars().any(|c| c.is_control()) {
        return bad("control characters (NUL, newline, DEL, …) are not accepted in keys");
    }
    for segment in key.split('/') {
        match segment {
            "." | ".." => return bad("a `.` or `..` segment is not accepted"),
            "" if file => {
                return bad(
                    "an empty segment (a leading or trailing `/`, or `//`) is not accepted by this server, which stores keys as files",
                );
            }
            s if file && s.len() > 255 => {
                return bad(
                    "a segment between slashes is at most 255 bytes on this server, which stores keys as files",
                );
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3s_rules() {
        for ok in ["videos", "a.b-c", "123", "my-bucket.2026", "abc"] {
            assert_eq!(check_bucket(ok), Ok(()), "{ok}");
        }
        for bad in [
            "ab",
            "Videos",
            "foo.-bar",
            "foo-.bar",
            "foo..bar",
            ".foo",
            "foo.",
            "-foo",
            "foo-",
            "a_b",
            "192.168.1.1",
            "xn--abc",
            "foo-s3alias",
            &"a".repeat(64),
            "fo/o",
            "",
        ] {
            let e = check_bucket(bad).unwrap_err();
            assert_eq!(e.s3_code(), (400, "InvalidBucketName"), "{bad}");
        }
    }

    #[test]
    fn keys_that_are_not_paths_inside_their_bucket_are_refused() {
        for ok in [
            "a",
            "job-42/out.mp4",
            "a b+c~d/é 日本.bin",
            "...",
            "a/.b/c..",
            &"k".repeat(255),
        ] {
            assert_eq!(check_file_key(ok), Ok(()), "{ok}");
            assert_eq!(check_key(ok), Ok(()), "{ok}");
        }
        for bad in [
            "..", "../x", "a/../..", "a/./b", ".", "a\0b", "a\nb", "a\u{7f}",
        ] {
            for e in [
                check_key(bad).unwrap_err(),
                check_file_key(bad).unwrap_err(),
            ] {
                assert_eq!(e.s3_code(), (400, "InvalidArgument"), "{bad:?}");
                assert!(e.to_string().contains("choose a key"), "{e}");
            }
        }
        // Keys S3 stores as they are, which a file system would merge with others or refuse.
        for file_only in ["/abs", "a//b", "dir/", &format!("{}/x", "s".repeat(256))] {
            assert_eq!(check_key(file_only), Ok(()), "{file_only:?}");
            let e = check_file_key(file_only).unwrap_err();
            assert!(e.to_string().contains("stores keys as files"), "{e}");
        }
        let long = "k/".repeat(600);
        assert_eq!(
            check_key(&long).unwrap_err().s3_code(),
            (400, "KeyTooLongError")
        );
    }
}
