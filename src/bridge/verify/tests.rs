//! Signature schemes against the providers' own published examples, and
//! every way a delivery can fail to be authentic.

use super::*;

/// GitHub's documented test values ("Validating webhook deliveries"):
/// this secret and body give this `X-Hub-Signature-256`.
const GH_SECRET: &str = "It's a Secret to Everybody";
const GH_BODY: &[u8] = b"Hello, World!";
const GH_SIGNATURE: &str =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

fn secrets(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn github_documented_example_verifies() {
    let s = secrets(&[GH_SECRET]);
    assert_eq!(hmac_sha256_hex(&s, GH_BODY, Some(GH_SIGNATURE)), Ok(()));
    assert_eq!(sign_hmac_sha256_hex(GH_SECRET, GH_BODY), GH_SIGNATURE);
    // Upper-case hex is the same digest.
    let upper = format!("sha256={}", GH_SIGNATURE[7..].to_uppercase());
    assert_eq!(hmac_sha256_hex(&s, GH_BODY, Some(&upper)), Ok(()));
}

#[test]
fn any_of_several_secrets_verifies_during_a_rotation() {
    let s = secrets(&["the-new-one", GH_SECRET]);
    assert_eq!(hmac_sha256_hex(&s, GH_BODY, Some(GH_SIGNATURE)), Ok(()));
}

#[test]
fn a_retired_secret_a_changed_body_or_a_bad_header_is_refused() {
    let retired = secrets(&["the-new-one"]);
    assert_eq!(
        hmac_sha256_hex(&retired, GH_BODY, Some(GH_SIGNATURE)),
        Err(Refused::Mismatch)
    );
    let s = secrets(&[GH_SECRET]);
    assert_eq!(
        hmac_sha256_hex(&s, b"Hello, World?", Some(GH_SIGNATURE)),
        Err(Refused::Mismatch)
    );
    assert_eq!(hmac_sha256_hex(&s, GH_BODY, None), Err(Refused::Missing));
    for bad in ["757107ea", "sha1=757107ea", "sha256=zz", "sha256=abc"] {
        assert_eq!(
            hmac_sha256_hex(&s, GH_BODY, Some(bad)),
            Err(Refused::Malformed),
            "{bad}"
        );
    }
    // A truncated digest is a mismatch, never a prefix match.
    assert_eq!(
        hmac_sha256_hex(&s, GH_BODY, Some(&GH_SIGNATURE[..GH_SIGNATURE.len() - 2])),
        Err(Refused::Mismatch)
    );
    assert_eq!(
        hmac_sha256_hex(&[], GH_BODY, Some(GH_SIGNATURE)),
        Err(Refused::Mismatch)
    );
}

#[test]
fn pagerduty_accepts_one_matching_v1_among_several() {
    let good = &GH_SIGNATURE[7..];
    let s = secrets(&[GH_SECRET]);
    let header = format!("v1=00ff,v1={good}");
    assert_eq!(pagerduty(&s, GH_BODY, Some(&header)), Ok(()));
    let header = format!("v2=abcd, v1={good}");
    assert_eq!(pagerduty(&s, GH_BODY, Some(&header)), Ok(()));
    assert_eq!(
        pagerduty(&s, GH_BODY, Some("v1=00ff,v1=abcd")),
        Err(Refused::Mismatch)
    );
    assert_eq!(
        pagerduty(&s, GH_BODY, Some("v2=abcd")),
        Err(Refused::Malformed)
    );
    assert_eq!(pagerduty(&s, GH_BODY, None), Err(Refused::Missing));
}

#[test]
fn a_token_must_equal_one_secret_exactly() {
    let s = secrets(&["tok-1", "tok-2"]);
    assert_eq!(token(&s, Some("tok-2")), Ok(()));
    assert_eq!(token(&s, Some("tok-")), Err(Refused::Mismatch));
    assert_eq!(token(&s, Some("tok-22")), Err(Refused::Mismatch));
    assert_eq!(token(&s, Some("")), Err(Refused::Mismatch));
    assert_eq!(token(&s, None), Err(Refused::Missing));
}

/// The Standard Webhooks specification's example: this secret, id,
/// timestamp and body give this signature.
const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SW_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SW_TS: i64 = 1_614_265_330;
const SW_BODY: &[u8] = br#"{"test": 2432232314}"#;
const SW_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

fn sw(signature: &str) -> StandardHeaders<'_> {
    StandardHeaders {
        id: Some(SW_ID),
        timestamp: Some("1614265330"),
        signature: Some(signature),
    }
}

#[test]
fn standard_webhooks_documented_example_verifies_within_the_tolerance() {
    let s = secrets(&[SW_SECRET]);
    assert_eq!(
        standard_webhooks(&s, SW_BODY, sw(SW_SIGNATURE), SW_TS, 300),
        Ok(())
    );
    // Several signatures, space-separated: one is enough.
    let two = format!("v1,AAAA {SW_SIGNATURE}");
    assert_eq!(
        standard_webhooks(&s, SW_BODY, sw(&two), SW_TS + 300, 300),
        Ok(())
    );
}

#[test]
fn standard_webhooks_outside_the_tolerance_is_stale() {
    let s = secrets(&[SW_SECRET]);
    assert_eq!(
        standard_webhooks(&s, SW_BODY, sw(SW_SIGNATURE), SW_TS + 301, 300),
        Err(Refused::Stale)
    );
    assert_eq!(
        standard_webhooks(&s, SW_BODY, sw(SW_SIGNATURE), SW_TS - 301, 300),
        Err(Refused::Stale)
    );
}

#[test]
fn standard_webhooks_refuses_missing_headers_other_bodies_and_other_secrets() {
    let s = secrets(&[SW_SECRET]);
    let mut h = sw(SW_SIGNATURE);
    h.id = None;
    assert_eq!(
        standard_webhooks(&s, SW_BODY, h, SW_TS, 300),
        Err(Refused::Missing)
    );
    assert_eq!(
        standard_webhooks(&s, b"{}", sw(SW_SIGNATURE), SW_TS, 300),
        Err(Refused::Mismatch)
    );
    let other = secrets(&["whsec_b3RoZXI="]);
    assert_eq!(
        standard_webhooks(&other, SW_BODY, sw(SW_SIGNATURE), SW_TS, 300),
        Err(Refused::Mismatch)
    );
    assert_eq!(
        standard_webhooks(&s, SW_BODY, sw("v2,abcd"), SW_TS, 300),
        Err(Refused::Malformed)
    );
}
