//! One module per subcommand; the logic they call lives in the libraries.

pub mod gateway;
pub mod inspect;
pub mod presign;
pub mod receiver;
pub mod roundtrip;
pub mod serve;
pub mod upload;

/// Parses `K=V`.
pub fn key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}

/// Parses an RFC 3339 time.
pub fn rfc3339(s: &str) -> Result<time::OffsetDateTime, String> {
    signpost_wire::amz_date::parse_rfc3339(s)
        .ok_or_else(|| format!("{s:?} is not an RFC 3339 time (e.g. 2026-01-31T12:00:00Z)"))
}

/// Parses a size with units.
pub fn size(s: &str) -> Result<u64, String> {
    signpost::size::parse_size(s)
}

/// Parses a duration (`3600`, `90s`, `30m`, `6h`, `7d`).
pub fn duration(s: &str) -> Result<std::time::Duration, String> {
    signpost::size::parse_duration(s)
}

/// Parses a duration that must not be zero.
pub fn positive_duration(s: &str) -> Result<std::time::Duration, String> {
    match duration(s)? {
        d if d.is_zero() => Err(format!("{s:?}: must be at least 1 s")),
        d => Ok(d),
    }
}
