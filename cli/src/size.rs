//! Sizes and durations on the command line, read the same way by every command.
//!
//! Sizes: `1048576`, `64MiB`, `20GiB`, `10GB`, `1.5GiB`. Durations: `3600` (seconds), `90s`,
//! `30m`, `6h`, `7d`, `1h30m`. A value that does not fit, or a negative one, is refused with what
//! was wrong: never rounded to something else.

use std::time::Duration;

/// What `--help` says about sizes and durations.
pub const UNITS_HELP: &str = "SIZE: bytes (1048576) or with a unit: KiB MiB GiB TiB are powers of 1024 (K M G T mean the same), KB MB GB TB powers of 1000; decimals allowed (1.5GiB).
DURATION: seconds (3600) or with a unit: 90s, 30m, 6h, 7d, or combined (1h30m).";

/// Parses a size; binary (KiB, MiB, GiB, TiB; K, M, G, T) and decimal (KB, MB, GB, TB) units,
/// any case. Exact: `18446744073709551616` is refused, not read as the largest `u64`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if t.starts_with('-') {
        return Err(format!("{s:?}: a size cannot be negative"));
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let example = "e.g. 1048576, 64MiB, 20GiB, 10GB";
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() || frac.contains('.') {
        return Err(format!("{s:?} is not a size ({example})"));
    }
    let mult: u128 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "unknown size unit {other:?} in {s:?} (use B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)"
            ));
        }
    };
    let too_large = || format!("{s:?} is too large: at most 18446744073709551615 bytes (16 EiB)");
    // Exact arithmetic: digits as a fraction int.frac, scaled, rounded to the nearest byte.
    let digits = format!("{int}{frac}");
    if digits.len() > 30 {
        return Err(too_large());
    }
    let n: u128 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size ({example})"))?;
    let scale = 10u128.pow(frac.len() as u32);
    let bytes = n
        .checked_mul(mult)
        .map(|v| (v + scale / 2) / scale)
        .ok_or_else(too_large)?;
    u64::try_from(bytes).map_err(|_| too_large())
}

/// Parses a duration: seconds, or numbers each followed by `s`, `m`, `h` or `d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let example = "e.g. 3600, 90s, 30m, 6h, 7d";
    if t.starts_with('-') {
        return Err(format!("{s:?}: a duration cannot be negative ({example})"));
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse()
            .map(Duration::from_secs)
            .map_err(|_| format!("{s:?} is too long a duration"));
    }
    let mut total: u64 = 0;
    let mut rest = t;
    if rest.is_empty() {
        return Err(format!("{s:?} is not a duration ({example})"));
    }
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("{s:?}: the last number has no unit ({example})"))?;
        let (num, tail) = rest.split_at(end);
        let unit = tail.chars().next().unwrap_or(' ');
        let secs: u64 = match unit.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => {
                return Err(format!(
                    "{s:?} is not a duration: unknown unit {unit:?} ({example})"
                ));
            }
        };
        if num.is_empty() {
            return Err(format!("{s:?} is not a duration ({example})"));
        }
        // All digits: a parse failure can only be a number too large.
        let n: u64 = num
            .parse()
            .map_err(|_| format!("{s:?} is too long a duration"))?;
        total = n
            .checked_mul(secs)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("{s:?} is too long a duration"))?;
        rest = &tail[unit.len_utf8()..];
    }
    Ok(Duration::from_secs(total))
}

/// A duration as the banners write it, in its largest whole unit: `45s`, `1m`, `6h`, `7d`.
pub fn describe(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("20GiB"), Ok(20 << 30));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            parse_size("16777216TiB"),
            Err("\"16777216TiB\" is too large: at most 18446744073709551615 bytes (16 EiB)".into())
        );
        assert!(
            parse_size("18446744073709551616")
                .unwrap_err()
                .contains("too large")
        );
        assert!(
            parse_size("99999999999999999999999999999999999")
                .unwrap_err()
                .contains("too large")
        );
        assert!(parse_size("-5").unwrap_err().contains("negative"));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("1.2.3").is_err());
        assert!(parse_size(".").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("6h"), Ok(Duration::from_secs(21_600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("-5").unwrap_err().contains("negative"));
        assert!(parse_duration("5x").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("1h30").unwrap_err().contains("no unit"));
        assert!(parse_duration("").is_err());
        assert!(
            parse_duration("99999999999999999999d")
                .unwrap_err()
                .contains("too long")
        );
        assert_eq!(describe(Duration::from_secs(21_600)), "6h");
        assert_eq!(describe(Duration::from_secs(90)), "90s");
        assert_eq!(describe(Duration::from_secs(45)), "45s");
    }
}
