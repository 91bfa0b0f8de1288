//! Parsing and printing of typed values.

use super::*;

#[test]
fn sizes_parse_plain_bytes_binary_and_decimal_units() {
    assert_eq!(parse_size("65536"), Ok(65_536));
    assert_eq!(parse_size("64KiB"), Ok(65_536));
    assert_eq!(parse_size("512MiB"), Ok(512 << 20));
    assert_eq!(parse_size("1GiB"), Ok(1 << 30));
    assert_eq!(parse_size("1 GiB"), Ok(1 << 30));
    assert_eq!(parse_size("2TiB"), Ok(2 << 40));
    assert_eq!(parse_size("10MB"), Ok(10_000_000));
    assert_eq!(parse_size("3kB"), Ok(3_000));
    assert_eq!(parse_size("100B"), Ok(100));
    assert_eq!(parse_size("1_048_576"), Ok(1 << 20));
    for bad in [
        "",
        "0",
        "0MiB",
        "GiB",
        "1.5GiB",
        "1gib",
        "-1",
        "1 furlong",
        "99999999999TiB",
    ] {
        assert!(parse_size(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn sizes_print_in_the_largest_exact_binary_unit() {
    assert_eq!(format_size(65_536), "64KiB");
    assert_eq!(format_size(1 << 30), "1GiB");
    assert_eq!(format_size(1536 << 20), "1536MiB");
    assert_eq!(format_size(1000), "1000");
    for n in [1u64, 1000, 65_536, 1 << 30, 3 << 40, 123_456_789] {
        assert_eq!(parse_size(&format_size(n)), Ok(n));
    }
}

#[test]
fn durations_refuse_zero_and_text_without_a_unit() {
    assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
    assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
    for bad in ["", "0s", "soon", "10", "-5s"] {
        assert!(parse_duration(bad).is_err(), "{bad:?}");
    }
    let printed = humantime::format_duration(Duration::from_secs(30 * 86_400)).to_string();
    assert_eq!(
        parse_duration(&printed),
        Ok(Duration::from_secs(30 * 86_400))
    );
}
