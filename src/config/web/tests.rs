//! Reading exporter-toolkit web-config files.

use super::*;
use crate::config::Config;

/// A fresh directory under the system temp dir.
fn dir(name: &str) -> PathBuf {
    let nanos = crate::clock::now_nanos();
    let d = std::env::temp_dir().join(format!("vp-web-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A self-signed certificate and key for localhost, written as
/// `server.crt` and `server.key` into `d`.
fn write_cert(d: &Path) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(d.join("server.crt"), cert.pem()).unwrap();
    std::fs::write(d.join("server.key"), key.serialize_pem()).unwrap();
}

fn load(d: &Path, yaml: &str) -> Result<WebConfig, String> {
    let path = d.join("web.yml");
    std::fs::write(&path, yaml).unwrap();
    WebConfig::load(&path)
}

#[test]
fn an_empty_file_means_plain_http_without_auth() {
    let d = dir("empty");
    let c = load(&d, "").unwrap();
    assert!(c.tls.is_none());
    assert!(!c.auth_required());
}

#[test]
fn tls_and_users_load_with_paths_relative_to_the_file() {
    let d = dir("full");
    write_cert(&d);
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let c = load(
        &d,
        &format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\nbasic_auth_users:\n  prometheus: {hash}\n"
        ),
    )
    .unwrap();
    let tls = c.tls.as_ref().expect("tls");
    assert_eq!(tls.config.alpn_protocols, [b"http/1.1".to_vec()]);
    assert!(c.auth_required());
    assert!(
        !format!("{c:?}").contains(&hash),
        "Debug must not print hashes"
    );
}

#[test]
fn bad_files_are_refused_with_the_reason_and_never_the_hash() {
    let d = dir("bad");
    write_cert(&d);
    let cases: [(&str, &str); 8] = [
        (
            "tls_server_config:\n  cert_file: server.crt\n",
            "cert_file and key_file",
        ),
        (
            "tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n",
            "nope.crt",
        ),
        (
            "tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n",
            "no PEM certificate",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
            "cipher_suites",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAnyClientCert\n",
            "not supported",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n",
            "client_ca_file is required",
        ),
        ("basic_auth_users:\n  alice: plaintext-password\n", "alice"),
        ("http_server_config:\n  http2: true\n", "http_server_config"),
    ];
    for (yaml, says) in cases {
        let e = load(&d, yaml).unwrap_err();
        assert!(e.contains(says), "{yaml}: {e} should say {says}");
        assert!(!e.contains("plaintext-password"), "{e}");
    }
}

#[test]
fn client_certificates_verified_against_the_client_ca() {
    let d = dir("mtls");
    write_cert(&d);
    std::fs::copy(d.join("server.crt"), d.join("ca.crt")).unwrap();
    let c = load(
        &d,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n",
    );
    assert!(c.is_ok(), "{c:?}");
}

#[test]
fn a_bad_web_config_is_a_config_error_naming_the_key() {
    let d = dir("key");
    let path = d.join("web.yml");
    std::fs::write(&path, "tls_server_config:\n  cert_file: x\n").unwrap();
    let e = Config::load_with_env(
        None,
        [(
            "VALUEPULSE__HTTP__WEB_CONFIG".to_owned(),
            path.display().to_string(),
        )],
    )
    .unwrap_err();
    assert_eq!(e.key, "http.web_config", "{e}");
    let missing = Config::load_with_env(
        None,
        [(
            "VALUEPULSE__HTTP__WEB_CONFIG".to_owned(),
            "/nonexistent/web.yml".to_owned(),
        )],
    )
    .unwrap_err();
    assert_eq!(missing.key, "http.web_config", "{missing}");
    let ok = Config::load_with_env(None, std::iter::empty()).unwrap();
    assert!(ok.http.web_config.path.is_none());
    assert!(ok.to_redacted_toml().contains("web_config = \"\""));
}
