//! Basic auth against bcrypt hashes.

use super::*;
use base64::engine::general_purpose::STANDARD;

fn header(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

fn auth() -> BasicAuth {
    BasicAuth::new(BTreeMap::from([(
        "prometheus".to_owned(),
        bcrypt::hash("s3cret", 4).unwrap(),
    )]))
}

#[tokio::test]
async fn the_right_password_passes_and_is_remembered() {
    let a = auth();
    let h = header("prometheus", "s3cret");
    assert!(a.allows(Some(&h)).await);
    assert!(a.lock().contains(&h));
    assert!(a.allows(Some(&h)).await);
}

#[tokio::test]
async fn wrong_passwords_unknown_users_and_other_schemes_fail() {
    let a = auth();
    for h in [
        header("prometheus", "wrong"),
        header("nobody", "s3cret"),
        header("prometheus", ""),
        "Bearer abc".to_owned(),
        "Basic !!!".to_owned(),
        format!("Basic {}", STANDARD.encode("no-colon")),
    ] {
        assert!(!a.allows(Some(&h)).await, "{h}");
    }
    assert!(!a.allows(None).await);
    assert!(a.lock().is_empty(), "failures are not remembered");
}

#[test]
fn credentials_split_at_the_first_colon() {
    assert_eq!(
        credentials(&header("u", "a:b")),
        Some(("u".to_owned(), "a:b".to_owned()))
    );
    assert_eq!(credentials("basic dTpw"), Some(("u".into(), "p".into())));
}
