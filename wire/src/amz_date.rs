//! The timestamp formats of SigV4.
//!
//! - `X-Amz-Date` and the string to sign use ISO 8601 basic format, `20130524T000000Z`.
//! - The credential scope uses the date alone, `20130524`.
//! - A POST policy's `expiration` uses ISO 8601 extended format with milliseconds,
//!   `2013-08-06T12:00:00.000Z`.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html> and
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html>.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Formats `t` (converted to UTC) as `YYYYMMDDTHHMMSSZ`, the `X-Amz-Date` format.
///
/// ```
/// use time::macros::datetime;
/// let s = signpost_wire::amz_date::format_amz_date(datetime!(2013-05-24 0:00 UTC));
/// assert_eq!(&s, b"20130524T000000Z");
/// ```
pub fn format_amz_date(t: OffsetDateTime) -> [u8; 16] {
    let t = t.to_offset(UtcOffset::UTC);
    let mut out = *b"00000000T000000Z";
    write_digits(&mut out[0..4], t.year().clamp(0, 9999) as u32);
    write_digits(&mut out[4..6], u8::from(t.month()) as u32);
    write_digits(&mut out[6..8], t.day() as u32);
    write_digits(&mut out[9..11], t.hour() as u32);
    write_digits(&mut out[11..13], t.minute() as u32);
    write_digits(&mut out[13..15], t.second() as u32);
    out
}

fn write_digits(out: &mut [u8], mut v: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Parses `YYYYMMDDTHHMMSSZ`. Returns `None` for anything else.
///
/// ```
/// let t = signpost_wire::amz_date::parse_amz_date("20130524T000000Z").unwrap();
/// assert_eq!(t.unix_timestamp(), 1369353600);
/// assert!(signpost_wire::amz_date::parse_amz_date("2013-05-24").is_none());
/// ```
pub fn parse_amz_date(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let mut v = 0u32;
        for &c in &b[r] {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(c - b'0');
        }
        Some(v)
    };
    let month = Month::try_from(num(4..6)? as u8).ok()?;
    let date = Date::from_calendar_date(num(0..4)? as i32, month, num(6..8)? as u8).ok()?;
    let time = Time::from_hms(num(9..11)? as u8, num(11..13)? as u8, num(13..15)? as u8).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

/// Formats `t` as a POST policy expiration, `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC.
///
/// ```
/// use time::macros::datetime;
/// let s = signpost_wire::amz_date::format_policy_expiration(datetime!(2015-12-30 12:00 UTC));
/// assert_eq!(s, "2015-12-30T12:00:00.000Z");
/// ```
pub fn format_policy_expiration(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!("{}.{:03}Z", seconds_utc(t), t.millisecond())
}

/// Formats `t` (converted to UTC, to the second) as RFC 3339, `2026-12-04T21:41:31Z`: how
/// messages and reports show a time, the way AWS's own documents and tools write it.
///
/// ```
/// use time::macros::datetime;
/// let s = signpost_wire::amz_date::format_rfc3339(datetime!(2020-01-01 1:00:00.25 +02:00));
/// assert_eq!(s, "2019-12-31T23:00:00Z");
/// ```
pub fn format_rfc3339(t: OffsetDateTime) -> String {
    format!("{}Z", seconds_utc(t.to_offset(UtcOffset::UTC)))
}

/// `YYYY-MM-DDTHH:MM:SS` of a UTC time.
fn seconds_utc(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
}

/// Parses an RFC 3339 / ISO 8601 timestamp such as `2015-12-30T12:00:00.000Z` or
/// `2015-12-30T12:00:00+01:00`. Returns `None` if it is not one.
pub fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn amz_date_round_trips(secs in 0i64..253_402_300_799) {
            let t = OffsetDateTime::from_unix_timestamp(secs).unwrap();
            let s = format_amz_date(t);
            let back = parse_amz_date(std::str::from_utf8(&s).unwrap()).unwrap();
            prop_assert_eq!(back, t);
        }

        #[test]
        fn policy_expiration_round_trips(secs in 0i64..253_402_300_799, ms in 0u16..1000) {
            let t = OffsetDateTime::from_unix_timestamp(secs).unwrap()
                + time::Duration::milliseconds(i64::from(ms));
            prop_assert_eq!(parse_rfc3339(&format_policy_expiration(t)), Some(t));
        }

        #[test]
        fn parse_amz_date_never_panics(s in ".{0,20}") {
            let _ = parse_amz_date(&s);
        }
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(parse_amz_date("20130230T000000Z").is_none());
        assert!(parse_amz_date("20131301T000000Z").is_none());
        assert!(parse_amz_date("20130101T250000Z").is_none());
        assert!(parse_amz_date("2013010xT000000Z").is_none());
    }
}
