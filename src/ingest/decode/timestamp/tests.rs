//! The RFC 3339 fast path against the `time` crate.

use super::*;

fn reference(s: &str) -> Option<Millis> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as Millis)
}

#[test]
fn fast_path_agrees_with_the_time_crate_on_a_sweep_of_valid_timestamps() {
    // A deterministic sweep over 1970–2199, every month end, leap days,
    // fractions of 0–9 digits and offsets of both signs.
    let mut rng = crate::testkit::Rng::new(0x9E37_79B9_7F4A_7C15u64);
    let mut next = move |n: u64| rng.below(n);
    for _ in 0..50_000 {
        let y = 1970 + next(230) as i64;
        let m = 1 + next(12) as u32;
        let d = 1 + next(u64::from(days_in_month(y, m))) as u32;
        let frac_digits = next(10) as usize;
        let frac: String = (0..frac_digits)
            .map(|_| char::from(b'0' + next(10) as u8))
            .collect();
        let frac = if frac.is_empty() {
            String::new()
        } else {
            format!(".{frac}")
        };
        let off = match next(3) {
            0 => "Z".to_owned(),
            1 => format!("+{:02}:{:02}", next(24), next(60)),
            _ => format!("-{:02}:{:02}", next(24), next(60)),
        };
        let s = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{frac}{off}",
            next(24),
            next(60),
            next(60)
        );
        assert_eq!(fast(s.as_bytes()), reference(&s), "{s}");
    }
}

#[test]
fn invalid_or_unusual_forms_fall_back_to_the_time_crate() {
    for s in [
        "2026-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-11-25T24:00:00Z",
        "2026-11-25T10:04:00",
        "2026-11-25 10:04:00Z",
        "2026-11-25T10:04:00.Z",
        "2026-11-25T10:04:00+0100",
        "yesterday",
        "",
    ] {
        assert_eq!(fast(s.as_bytes()), None, "{s}");
        assert_eq!(parse_rfc3339(s), reference(s), "{s}");
    }
    assert_eq!(
        parse_rfc3339("2024-02-29T12:00:00z"),
        reference("2024-02-29T12:00:00Z")
    );
}

#[test]
fn format_time_agrees_with_the_time_crate_and_reads_back() {
    for ms in [
        0,
        951_782_400_000,   // 2000-02-29
        1_709_208_000_123, // 2024-02-29T12:00:00.123
        1_800_000_000_000, // 2027-01-15T08:00:00
        1_800_000_000_250,
        4_102_444_799_999, // 2099-12-31T23:59:59.999
        -86_400_001,       // 1969-12-30T23:59:59.999
        253_402_300_799_000,
    ] {
        let ours = format_time(ms);
        assert_eq!(parse_time(&ours), Ok(ms), "{ours}");
        let theirs = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap()
            .format(&Rfc3339)
            .unwrap();
        // The time crate trims a fraction's trailing zeros; we write three
        // digits or none.
        assert_eq!(&ours[..19], &theirs[..19]);
        assert_eq!(ours.len(), if ms % 1000 == 0 { 20 } else { 24 }, "{ours}");
    }
    assert_eq!(format_time(1_800_000_000_000), "2027-01-15T08:00:00Z");
    assert_eq!(format_time(1_800_000_000_050), "2027-01-15T08:00:00.050Z");
    let mut out = b"at ".to_vec();
    write_time(&mut out, 0);
    assert_eq!(out, b"at 1970-01-01T00:00:00Z");
}
