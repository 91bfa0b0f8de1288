//! `http.web_config`: TLS and basic auth of the admin server, read from a
//! web-config file in the format of the Prometheus exporter-toolkit (what
//! `node_exporter`'s `--web.config.file` reads), so one file serves both:
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt          # PEM chain, leaf first
//!   key_file: server.key           # PEM private key (PKCS#8, PKCS#1 or SEC1)
//!   client_auth_type: RequireAndVerifyClientCert   # optional
//!   client_ca_file: clients-ca.crt                 # with a verifying type
//!   min_version: TLS12             # optional: TLS12 (default) or TLS13
//! basic_auth_users:
//!   prometheus: $2y$10$...         # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':\n')
//! ```
//!
//! Relative paths are relative to the web-config file's directory, as in
//! exporter-toolkit. The file is read, its certificates and keys loaded and
//! its hashes checked once, at load: a bad file is a configuration error
//! naming `http.web_config`, and `check-config` exits 64. The files that
//! `tls_server_config` names (certificate, key, client CA) are read again
//! by the server while it runs ([`Tls::read`], [`Tls::build`], watched by
//! [`crate::http::tls`]), so a renewed certificate is served without a
//! restart; the web-config file itself (users, paths, versions) is read at
//! load only. Keys that
//! exporter-toolkit knows and valuepulse does not implement (cipher suites,
//! curve preferences, allowed client SANs, `http_server_config`) are refused
//! rather than silently ignored: a security setting that is not applied must
//! not look applied. An empty key (the default) means plain HTTP, no auth.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::de::Deserializer;
use serde::{Deserialize, Serializer};

/// The parsed web config: what the admin server applies.
#[derive(Clone, Default)]
pub struct WebConfig {
    /// The file it came from; `None` when `http.web_config` is empty.
    pub path: Option<PathBuf>,
    /// TLS server settings, when `tls_server_config` is present.
    pub tls: Option<Tls>,
    /// User name → bcrypt hash; empty for no basic auth.
    pub users: BTreeMap<String, String>,
}

impl fmt::Debug for WebConfig {
    // Never the hashes: they are secrets too (offline guessing).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebConfig")
            .field("path", &self.path)
            .field("tls", &self.tls.is_some())
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The file as written (exporter-toolkit's keys).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    tls_server_config: Option<TlsFile>,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, String>>,
}

/// `tls_server_config`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    #[serde(default)]
    cert_file: String,
    #[serde(default)]
    key_file: String,
    #[serde(default)]
    client_auth_type: Option<String>,
    #[serde(default)]
    client_ca_file: String,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
}

/// How client certificates are asked for, and the CA file that verifies
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ClientAuth {
    /// No client certificate is asked for.
    None,
    /// A client certificate, when sent, must chain to this CA file.
    VerifyIfGiven(PathBuf),
    /// Every client must send a certificate that chains to this CA file.
    RequireAndVerify(PathBuf),
}

impl ClientAuth {
    /// The client CA file, when client certificates are verified.
    fn ca_file(&self) -> Option<&Path> {
        match self {
            Self::None => None,
            Self::VerifyIfGiven(p) | Self::RequireAndVerify(p) => Some(p),
        }
    }
}

/// `tls_server_config`, loaded: the server config built from its files at
/// load, and what it takes to build it again from the same files when they
/// change ([`crate::http::tls`] watches them).
#[derive(Clone)]
pub struct Tls {
    /// The rustls config built at load.
    pub config: Arc<rustls::ServerConfig>,
    /// What the files held when `config` was built: the watcher's starting
    /// point, so a change between load and serving is not missed.
    pub loaded: Fingerprint,
    /// The settings, typed, with paths resolved.
    settings: Arc<TlsSettings>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// `tls_server_config` parsed: everything but the files' contents.
#[derive(Debug)]
struct TlsSettings {
    /// PEM chain, leaf first.
    cert_file: PathBuf,
    /// PEM private key.
    key_file: PathBuf,
    /// Client certificates.
    client_auth: ClientAuth,
    /// The protocol versions offered.
    versions: Vec<&'static rustls::SupportedProtocolVersion>,
}

/// The contents of the files a TLS config is built from, read one after the
/// other, or why one could not be read. It holds a private key: it is never
/// printed, and dropped once built.
pub struct TlsFiles {
    cert: Result<Vec<u8>, String>,
    key: Result<Vec<u8>, String>,
    /// `None` without client certificate verification.
    client_ca: Option<Result<Vec<u8>, String>>,
}

/// A digest of [`TlsFiles`] (XXH3-128): equal contents, equal fingerprints.
/// It tells whether the files changed without keeping a copy of the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint(u128);

impl TlsFiles {
    /// What the files hold, as a fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        let parts = [Some(&self.cert), Some(&self.key), self.client_ca.as_ref()];
        for part in parts {
            match part {
                None => h.update(&[0]),
                Some(Ok(bytes)) => {
                    h.update(&[1]);
                    h.update(&(bytes.len() as u64).to_le_bytes());
                    h.update(bytes);
                }
                Some(Err(why)) => {
                    h.update(&[2]);
                    h.update(&(why.len() as u64).to_le_bytes());
                    h.update(why.as_bytes());
                }
            }
        }
        Fingerprint(h.digest128())
    }
}

impl Tls {
    /// Reads the files named by `tls_server_config` as they are now,
    /// through symbolic links: each file is read whole from one side of a
    /// Kubernetes Secret volume's `..data` swap; a swap between two files'
    /// reads is a mix that the next read no longer sees.
    pub fn read(&self) -> TlsFiles {
        read_files(&self.settings)
    }

    /// Builds a server config from `files` with the checks of load: the
    /// chain parses and is not empty, the key parses and matches the leaf,
    /// the client CA parses. The error says which file and why (never a
    /// key's contents).
    pub fn build(&self, files: &TlsFiles) -> Result<rustls::ServerConfig, String> {
        build(&self.settings, files)
    }
}

impl WebConfig {
    /// Whether requests must carry basic-auth credentials.
    pub fn auth_required(&self) -> bool {
        !self.users.is_empty()
    }

    /// Reads, loads and checks the web-config file at `path`.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let file: File = if text.trim().is_empty() {
            File::default()
        } else {
            serde_yaml_ng::from_str(&text).map_err(|e| {
                let e = e.to_string();
                let hint = if e.contains("unknown field") {
                    " (valuepulse reads tls_server_config: cert_file, key_file, client_auth_type, client_ca_file, min_version, max_version; and basic_auth_users)"
                } else {
                    ""
                };
                format!("{}: {e}{hint}", path.display())
            })?
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let tls = file
            .tls_server_config
            .map(|t| load_tls(&t, dir))
            .transpose()
            .map_err(|e| format!("{}: tls_server_config: {e}", path.display()))?;
        let users = file.basic_auth_users.unwrap_or_default();
        for (user, hash) in &users {
            if user.is_empty() || user.contains(':') {
                return Err(format!(
                    "{}: basic_auth_users: a user name must be non-empty and hold no ':'",
                    path.display()
                ));
            }
            if hash.parse::<bcrypt::HashParts>().is_err() {
                // Never the hash itself.
                return Err(format!(
                    "{}: basic_auth_users.{user}: not a bcrypt hash (make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)",
                    path.display()
                ));
            }
        }
        Ok(Self {
            path: Some(path.to_path_buf()),
            tls,
            users,
        })
    }
}

/// Parses `t` (paths relative to `dir`), reads its files and builds the
/// server config.
fn load_tls(t: &TlsFile, dir: &Path) -> Result<Tls, String> {
    let settings = settings(t, dir)?;
    let files = read_files(&settings);
    let config = build(&settings, &files)?;
    Ok(Tls {
        config: Arc::new(config),
        loaded: files.fingerprint(),
        settings: Arc::new(settings),
    })
}

/// The typed settings of `t`, paths relative to `dir`: everything that can
/// be checked without the files' contents.
fn settings(t: &TlsFile, dir: &Path) -> Result<TlsSettings, String> {
    if t.cert_file.is_empty() || t.key_file.is_empty() {
        return Err("cert_file and key_file are both required".into());
    }
    let resolve = |p: &str| dir.join(p);
    let ca = || {
        if t.client_ca_file.is_empty() {
            Err(String::from(
                "client_auth_type verifies client certificates: client_ca_file is required",
            ))
        } else {
            Ok(resolve(&t.client_ca_file))
        }
    };
    let client_auth = match t.client_auth_type.as_deref().unwrap_or("NoClientCert") {
        "NoClientCert" | "" => {
            if !t.client_ca_file.is_empty() {
                return Err(
                    "client_ca_file is set but client_auth_type does not verify client certificates"
                        .into(),
                );
            }
            ClientAuth::None
        }
        "VerifyClientCertIfGiven" => ClientAuth::VerifyIfGiven(ca()?),
        "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerify(ca()?),
        other @ ("RequestClientCert" | "RequireAnyClientCert") => {
            return Err(format!(
                "client_auth_type {other}: accepting client certificates without verifying them is not supported; use VerifyClientCertIfGiven or RequireAndVerifyClientCert"
            ));
        }
        other => {
            return Err(format!(
                "client_auth_type {other:?}: expected NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"
            ));
        }
    };
    Ok(TlsSettings {
        cert_file: resolve(&t.cert_file),
        key_file: resolve(&t.key_file),
        client_auth,
        versions: versions(t.min_version.as_deref(), t.max_version.as_deref())?,
    })
}

/// Reads the files of `s`, cert first, key second, client CA last.
fn read_files(s: &TlsSettings) -> TlsFiles {
    let read = |p: &Path| std::fs::read(p).map_err(|e| e.to_string());
    TlsFiles {
        cert: read(&s.cert_file),
        key: read(&s.key_file),
        client_ca: s.client_auth.ca_file().map(read),
    }
}

/// Builds the rustls server config of `s` from the contents `f`.
fn build(s: &TlsSettings, f: &TlsFiles) -> Result<rustls::ServerConfig, String> {
    let cert_path = s.cert_file.display();
    let cert = f
        .cert
        .as_ref()
        .map_err(|e| format!("cert_file {cert_path}: {e}"))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cert_file {cert_path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("cert_file {cert_path}: no PEM certificate in it"));
    }
    let key_path = s.key_file.display();
    let key = f
        .key
        .as_ref()
        .map_err(|e| format!("key_file {key_path}: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(key)
        .map_err(|e| format!("key_file {key_path}: no usable PEM private key ({e})"))?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = match (&s.client_auth, &f.client_ca) {
        (ClientAuth::None, _) => WebPkiClientVerifier::no_client_auth(),
        (ClientAuth::VerifyIfGiven(ca_path) | ClientAuth::RequireAndVerify(ca_path), ca) => {
            let ca_path = ca_path.display();
            let ca = ca
                .as_ref()
                .ok_or_else(|| format!("client_ca_file {ca_path}: not read"))?
                .as_ref()
                .map_err(|e| format!("client_ca_file {ca_path}: {e}"))?;
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(ca) {
                let cert = cert.map_err(|e| format!("client_ca_file {ca_path}: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("client_ca_file {ca_path}: {e}"))?;
            }
            let builder =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let builder = if matches!(s.client_auth, ClientAuth::VerifyIfGiven(_)) {
                builder.allow_unauthenticated()
            } else {
                builder
            };
            builder
                .build()
                .map_err(|e| format!("client_ca_file {ca_path}: {e}"))?
        }
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&s.versions)
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| format!("cert_file and key_file do not make a usable pair: {e}"))?;
    // The admin server speaks HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The protocol versions between `min` and `max` (exporter-toolkit's names;
/// TLS 1.0 and 1.1 are not offered by rustls at all).
fn versions(
    min: Option<&str>,
    max: Option<&str>,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    let rank = |key: &str, v: &str| match v {
        "TLS12" => Ok(12),
        "TLS13" => Ok(13),
        "TLS10" | "TLS11" => Err(format!("{key} {v}: TLS 1.0 and 1.1 are not supported")),
        other => Err(format!("{key} {other:?}: expected TLS12 or TLS13")),
    };
    let lo = min
        .map(|v| rank("min_version", v))
        .transpose()?
        .unwrap_or(12);
    let hi = max
        .map(|v| rank("max_version", v))
        .transpose()?
        .unwrap_or(13);
    if lo > hi {
        return Err("min_version is above max_version".into());
    }
    Ok(
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(r, _)| (lo..=hi).contains(r))
            .map(|(_, v)| v)
            .collect(),
    )
}

/// Reads `http.web_config`: a path (loaded at once) or empty.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<WebConfig, D::Error> {
    let path = String::deserialize(d)?;
    let path = path.trim();
    if path.is_empty() {
        return Ok(WebConfig::default());
    }
    WebConfig::load(Path::new(path)).map_err(serde::de::Error::custom)
}

/// Writes the path back (`check-config`), never the contents.
pub fn serialize<S: Serializer>(v: &WebConfig, s: S) -> Result<S::Ok, S::Error> {
    match &v.path {
        Some(p) => s.collect_str(&p.display()),
        None => s.serialize_str(""),
    }
}

#[cfg(test)]
mod tests;
