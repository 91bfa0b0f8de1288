//! RFC 3339 timestamps to epoch milliseconds and back: the one parser the
//! decoders use and the one formatter every producer of events uses (`emit`,
//! the demo, the load generator, tests and benches).
//!
//! Every event carries one or more timestamps, so parsing them is on the hot
//! path. The common shape, `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, is
//! parsed here directly; anything else (or anything this fast path is unsure
//! about, such as a leap second) goes to the `time` crate, which stays the
//! authority on what is valid. Fractions below a millisecond are truncated.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::domain::Millis;
use crate::domain::event::InvalidReason;

/// Parses an RFC 3339 timestamp to epoch milliseconds.
pub fn parse_time(s: &str) -> Result<Millis, InvalidReason> {
    parse_rfc3339(s).ok_or(InvalidReason::BadTimestamp)
}

/// Epoch milliseconds as RFC 3339 in UTC: `YYYY-MM-DDTHH:MM:SSZ`, with
/// `.mmm` before the `Z` unless the time is a whole second.
/// [`parse_time`] reads it back to the same milliseconds.
pub fn format_time(ms: Millis) -> String {
    let mut out = Vec::with_capacity(24);
    write_time(&mut out, ms);
    String::from_utf8(out).expect("ASCII")
}

/// Appends [`format_time`]'s text to `out`, without a date library or an
/// allocation: the load generator runs it once per event.
pub fn write_time(out: &mut Vec<u8>, ms: Millis) {
    let (days, in_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let (h, rest) = (in_day / 3_600_000, in_day % 3_600_000);
    let (min, rest) = (rest / 60_000, rest % 60_000);
    let (s, milli) = (rest / 1000, rest % 1000);
    let two = |out: &mut Vec<u8>, sep: u8, v: i64| {
        out.extend_from_slice(&[sep, b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]);
    };
    if (0..=9999).contains(&y) {
        out.extend_from_slice(&[
            b'0' + (y / 1000) as u8,
            b'0' + (y / 100 % 10) as u8,
            b'0' + (y / 10 % 10) as u8,
            b'0' + (y % 10) as u8,
        ]);
    } else {
        // Outside RFC 3339's years: written as it is, read back as invalid.
        out.extend_from_slice(y.to_string().as_bytes());
    }
    two(out, b'-', i64::from(m));
    two(out, b'-', i64::from(d));
    two(out, b'T', h);
    two(out, b':', min);
    two(out, b':', s);
    if milli != 0 {
        out.extend_from_slice(&[
            b'.',
            b'0' + (milli / 100) as u8,
            b'0' + (milli / 10 % 10) as u8,
            b'0' + (milli % 10) as u8,
        ]);
    }
    out.push(b'Z');
}

/// The proleptic Gregorian date of a day since 1970-01-01 (Hinnant's
/// algorithm, the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Parses an RFC 3339 timestamp; `None` when it is not one.
pub fn parse_rfc3339(s: &str) -> Option<Millis> {
    fast(s.as_bytes()).or_else(|| {
        let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
        Some((t.unix_timestamp_nanos() / 1_000_000) as Millis)
    })
}

/// `n` ASCII digits at `b[at..]` as a number.
#[inline]
fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let mut v = 0u32;
    for &c in b.get(at..at + n)? {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The fast path; `None` means "not sure", never "invalid".
#[inline]
fn fast(b: &[u8]) -> Option<Millis> {
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = i64::from(digits(b, 0, 4)?);
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = i64::from(digits(b, 11, 2)?);
    let minute = i64::from(digits(b, 14, 2)?);
    let second = i64::from(digits(b, 17, 2)?);
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                millis = millis * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..3 {
            millis *= 10;
        }
    }
    let offset_s = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let oh = i64::from(digits(b, i + 1, 2)?);
            let om = i64::from(digits(b, i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'-' { -o } else { o }
        }
        _ => return None,
    };
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    Some(secs * 1000 + millis)
}

#[cfg(test)]
mod tests;
