//! `/pulse`'s query: the team (percent-decoded, empty is the
//! organisation) and the format (400 for anything unknown).

use super::*;

fn ok(q: Option<&str>) -> (Option<String>, PulseFormat) {
    pulse_query(q).unwrap_or_else(|_| panic!("{q:?} refused"))
}

#[test]
fn a_pulse_query_names_a_team_and_a_format() {
    assert_eq!(ok(None), (None, PulseFormat::Html));
    assert_eq!(
        ok(Some("team=payments")),
        (Some("payments".into()), PulseFormat::Html)
    );
    assert_eq!(
        ok(Some("format=json&team=a%26b+c")),
        (Some("a&b c".into()), PulseFormat::Json)
    );
    assert_eq!(
        ok(Some("team=&format=markdown")),
        (None, PulseFormat::Markdown)
    );
    assert_eq!(ok(Some("format=html&other=1")), (None, PulseFormat::Html));
}

#[test]
fn a_malformed_format_is_a_bad_request() {
    for q in ["format=xml", "format=", "format=JSON", "team=x&format=%00"] {
        let why = pulse_query(Some(q)).expect_err(q);
        assert!(why.starts_with("unknown format"), "{q}: {why}");
    }
}
