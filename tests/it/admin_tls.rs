//! The admin server behind an exporter-toolkit web config: TLS checked by a
//! real rustls client against a CA made in the test, basic auth with bcrypt
//! hashes (right, wrong and no password), probes open, plain HTTP refused,
//! and client certificates verified when the config asks for them; and a
//! certificate renewed in a Kubernetes-style Secret volume served without a
//! restart, by the daemon and by the bridge, while a broken renewal keeps
//! the last good certificate and is counted and logged once.

#![allow(
    clippy::print_stderr,
    reason = "the renewal test prints how long the server took to act"
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{self, Daemon, http_get, unique};
use base64::Engine as _;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

const USER: &str = "prometheus";
/// The names a server certificate is issued for.
const SERVER_NAMES: &[&str] = &["localhost", "127.0.0.1"];
const PASSWORD: &str = "correct horse battery staple";

/// A CA, a server certificate for localhost/127.0.0.1 and a client
/// certificate, all signed by the CA, written as PEM files into a fresh
/// directory; the CA issues more on request.
struct Pki {
    dir: PathBuf,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(unique("vp-pki"));
        std::fs::create_dir_all(&dir).unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let pki = Self {
            dir,
            issuer: Issuer::new(ca_params, ca_key),
        };
        let write = |name: &str, text: String| std::fs::write(pki.dir.join(name), text).unwrap();
        write("ca.crt", ca.pem());
        for (name, sans) in [("server", SERVER_NAMES), ("client", &["scraper"][..])] {
            let (cert, key, _) = pki.issue(sans);
            write(&format!("{name}.crt"), cert);
            write(&format!("{name}.key"), key);
        }
        pki
    }

    /// A new certificate for `sans` signed by the CA: (cert PEM, key PEM,
    /// cert DER).
    fn issue(&self, sans: &[&str]) -> (String, String, Vec<u8>) {
        let key = KeyPair::generate().unwrap();
        let sans: Vec<String> = sans.iter().map(|s| (*s).to_owned()).collect();
        let cert = CertificateParams::new(sans)
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem(), cert.der().to_vec())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes a web config and returns its path.
    fn web_config(&self, yaml: &str) -> String {
        let path = self.dir.join(unique("web") + ".yml");
        std::fs::write(&path, yaml).unwrap();
        path.display().to_string()
    }

    /// A TLS client trusting the CA, with the client certificate if asked.
    fn client(&self, with_cert: bool) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(self.path("ca.crt")).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
        let config = if with_cert {
            let certs = CertificateDer::pem_file_iter(self.path("client.crt"))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_file(self.path("client.key")).unwrap();
            builder.with_client_auth_cert(certs, key).unwrap()
        } else {
            builder.with_no_client_auth()
        };
        Arc::new(config)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// GET over TLS: (status, head, body), or the error of the connection.
fn https_get(
    addr: &str,
    path: &str,
    client: &Arc<rustls::ClientConfig>,
    auth: Option<(&str, &str)>,
) -> Result<(u16, String, String), String> {
    let server = ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(client.clone(), server).map_err(|e| e.to_string())?;
    let sock = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some((user, password)) = auth {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        req.push_str(&format!("Authorization: Basic {token}\r\n"));
    }
    req.push_str("\r\n");
    tls.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    if let Err(e) = tls.read_to_end(&mut raw) {
        // A server closing without close_notify after a complete answer.
        if raw.is_empty() {
            return Err(e.to_string());
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no response head")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    Ok((status, head.to_owned(), body.to_owned()))
}

/// A daemon with `web_config` and an unreachable broker (the admin server
/// does not need Kafka), once it answers over TLS.
fn daemon(web_config: &str, client: &Arc<rustls::ClientConfig>) -> Daemon {
    let d = Daemon::start(&[
        ("VALUEPULSE__KAFKA__BROKERS", "127.0.0.1:1"),
        ("VALUEPULSE__HTTP__WEB_CONFIG", web_config),
    ]);
    let start = Instant::now();
    loop {
        match https_get(&d.addr, "/livez", client, None) {
            Ok(_) => return d,
            Err(e) if start.elapsed() > Duration::from_secs(15) => {
                panic!("the admin server never answered over TLS: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn web_config(pki: &Pki, extra_tls: &str) -> String {
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    pki.web_config(&format!(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{extra_tls}basic_auth_users:\n  {USER}: {hash}\n"
    ))
}

#[test]
fn tls_with_basic_auth_serves_metrics_to_the_right_password_only_and_leaves_probes_open() {
    let _isolation = common::shared();
    let pki = Pki::new();
    let client = pki.client(false);
    let d = daemon(&web_config(&pki, ""), &client);

    let (status, head, body) =
        https_get(&d.addr, "/metrics", &client, Some((USER, PASSWORD))).unwrap();
    assert_eq!(status, 200, "{head}");
    assert!(body.contains("valuepulse_build_info{version=\""), "{body}");
    assert!(body.contains("process_resident_memory_bytes "), "{body}");

    let (status, head, _) = https_get(&d.addr, "/metrics", &client, Some((USER, "wrong"))).unwrap();
    assert_eq!(status, 401, "wrong password: {head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: basic"),
        "{head}"
    );
    let (status, _, _) =
        https_get(&d.addr, "/metrics", &client, Some(("nobody", PASSWORD))).unwrap();
    assert_eq!(status, 401, "unknown user");
    let (status, _, _) = https_get(&d.addr, "/metrics", &client, None).unwrap();
    assert_eq!(status, 401, "no password");
    let (status, _, body) = https_get(&d.addr, "/", &client, None).unwrap();
    assert_eq!(status, 401, "the page is guarded too: {body}");
    let (status, _, body) = https_get(&d.addr, "/", &client, Some((USER, PASSWORD))).unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("href=\"/metrics\""), "{body}");
    // The weekly pulse is behind the same auth as the page.
    for path in ["/pulse?format=json", "/pulse/teams"] {
        let (status, _, body) = https_get(&d.addr, path, &client, None).unwrap();
        assert_eq!(status, 401, "{path} is guarded: {body}");
        let (status, _, body) = https_get(&d.addr, path, &client, Some((USER, PASSWORD))).unwrap();
        assert_eq!(status, 200, "{path}: {body}");
    }

    // Probes answer without credentials (a kubelet has none).
    let (status, _, _) = https_get(&d.addr, "/livez", &client, None).unwrap();
    assert_eq!(status, 200);
    let (status, _, body) = https_get(&d.addr, "/readyz", &client, None).unwrap();
    assert_eq!(status, 503, "not ready (no broker), but not 401: {body}");

    // Plain HTTP to the TLS port gets no HTTP answer.
    match http_get(&d.addr, "/livez", &[]) {
        None => {}
        Some((status, head, _)) => panic!("plain HTTP answered {status}: {head}"),
    }

    // `valuepulse pulse` (and `pulse send`, same client) reaches it with
    // the CA and the credentials from a file; without either it says why.
    let auth = pki.path("daemon-auth");
    std::fs::write(&auth, format!("{USER}:{PASSWORD}\n")).unwrap();
    let wrong = pki.path("wrong-auth");
    std::fs::write(&wrong, format!("{USER}:wrong")).unwrap();
    let url = format!("https://{}", d.addr);
    let ca = pki.path("ca.crt").display().to_string();
    let pulse = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_valuepulse"))
            .args(["pulse", "--url", &url, "--format", "json"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let auth = auth.display().to_string();
    let (code, stdout, stderr) = pulse(&["--user-file", &auth, "--ca-file", &ca]);
    assert_eq!(code, Some(0), "{stderr}");
    let p: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(p["schema"], "valuepulse.pulse/v1", "{stdout}");
    let wrong = wrong.display().to_string();
    let (code, _, stderr) = pulse(&["--user-file", &wrong, "--ca-file", &ca]);
    assert_eq!(code, Some(69), "{stderr}");
    assert!(stderr.contains("(401)"), "{stderr}");
    assert!(
        !stderr.contains("wrong"),
        "no credential is printed: {stderr}"
    );
    let (code, _, stderr) = pulse(&["--user-file", &auth]);
    assert_eq!(
        code,
        Some(69),
        "Mozilla's roots do not know the test CA: {stderr}"
    );
    assert!(stderr.contains("TLS failed"), "{stderr}");
}

#[test]
fn required_client_certificates_are_verified_against_the_client_ca() {
    let _isolation = common::shared();
    let pki = Pki::new();
    let with_cert = pki.client(true);
    let d = daemon(
        &web_config(
            &pki,
            "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n",
        ),
        &with_cert,
    );
    let (status, _, _) =
        https_get(&d.addr, "/metrics", &with_cert, Some((USER, PASSWORD))).unwrap();
    assert_eq!(status, 200);
    let without = pki.client(false);
    assert!(
        https_get(&d.addr, "/livez", &without, None).is_err(),
        "a client without a certificate must not get an answer"
    );
}

#[test]
fn check_config_refuses_a_bad_web_config_with_exit_64_naming_the_key() {
    let _isolation = common::shared();
    let pki = Pki::new();
    let bad =
        pki.web_config("tls_server_config:\n  cert_file: server.crt\n  key_file: missing.key\n");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_valuepulse"))
        .arg("check-config")
        .env("VALUEPULSE__HTTP__WEB_CONFIG", &bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("http.web_config"), "{err}");
    assert!(err.contains("missing.key"), "{err}");
    let good = web_config(&pki, "");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_valuepulse"))
        .arg("check-config")
        .env("VALUEPULSE__HTTP__WEB_CONFIG", &good)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains(&format!("web_config = \"{good}\"")),
        "{shown}"
    );
    assert!(!shown.contains("$2"), "no hash in check-config: {shown}");
}

/// A Kubernetes Secret volume in a directory: each file a link into
/// `..data`, itself a link to the current `..vN` directory; an update is
/// a new `..vN` published by renaming a fresh link over `..data`, as the
/// kubelet's atomic writer does (and as cert-manager's renewals reach a
/// pod).
struct SecretVolume {
    dir: PathBuf,
    version: u32,
}

impl SecretVolume {
    fn new(dir: PathBuf) -> Self {
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir, version: 0 }
    }

    fn publish(&mut self, files: &[(&str, &str)]) {
        use std::os::unix::fs::symlink;
        self.version += 1;
        let version = format!("..v{}", self.version);
        std::fs::create_dir(self.dir.join(&version)).unwrap();
        for (name, text) in files {
            std::fs::write(self.dir.join(&version).join(name), text).unwrap();
        }
        let tmp = self.dir.join("..data_tmp");
        symlink(&version, &tmp).unwrap();
        std::fs::rename(&tmp, self.dir.join("..data")).unwrap();
        for (name, _) in files {
            let link = self.dir.join(name);
            if link.symlink_metadata().is_err() {
                symlink(std::path::Path::new("..data").join(name), &link).unwrap();
            }
        }
    }
}

/// The leaf certificate (DER) the TLS server at `addr` presents to
/// `client` in a full handshake, or why the handshake failed.
fn served_leaf(addr: &str, client: &Arc<rustls::ClientConfig>) -> Result<Vec<u8>, String> {
    let server = ServerName::try_from("localhost").unwrap();
    let mut conn =
        rustls::ClientConnection::new(client.clone(), server).map_err(|e| e.to_string())?;
    let mut sock = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).map_err(|e| e.to_string())?;
    }
    let leaf = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or("no server certificate")?;
    Ok(leaf.to_vec())
}

/// `valuepulse_tls_reloads_total{outcome}` in `metrics`.
fn reloads(metrics: &str, outcome: &str) -> Option<u64> {
    let series = format!("valuepulse_tls_reloads_total{{outcome=\"{outcome}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&series))
        .map(|v| v.parse().unwrap())
}

/// Polls `check` every 100 ms until it holds; how long that took, or a
/// panic saying `what` after `timeout`.
fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < timeout, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    start.elapsed()
}

/// Longest a change of the files takes to be acted on: one poll, or two
/// for a failure (a first one is tried again), plus slack for a busy
/// machine.
const RENEWAL_DEADLINE: Duration = Duration::from_secs(5 + 10);
const FAILURE_DEADLINE: Duration = Duration::from_secs(2 * 5 + 10);

/// The renewal scenario against a server on `addr` whose web config names
/// `volume`'s `tls.crt` and `tls.key`, now holding `a` (PEM cert, key and
/// DER): a renewal to a new certificate is served without a restart and
/// counted `ok`; a renewal with a garbage key is counted `failed` and the
/// last good certificate stays in service. `scrape` reads the server's
/// `/metrics`.
fn renewal_scenario(
    pki: &Pki,
    volume: &mut SecretVolume,
    addr: &str,
    der_a: &[u8],
    scrape: &dyn Fn() -> String,
) {
    let client = pki.client(false);
    assert_eq!(served_leaf(addr, &client).unwrap(), der_a, "certificate A");
    let m = scrape();
    assert_eq!(reloads(&m, "ok"), Some(0), "{m}");
    assert_eq!(reloads(&m, "failed"), Some(0), "{m}");

    let (cert_b, key_b, der_b) = pki.issue(SERVER_NAMES);
    volume.publish(&[("tls.crt", &cert_b), ("tls.key", &key_b)]);
    let took = wait_for("the renewed certificate B served", RENEWAL_DEADLINE, || {
        served_leaf(addr, &client).is_ok_and(|leaf| leaf == der_b)
    });
    eprintln!("renewed certificate served {took:?} after the swap");
    // The daemon's scrape serves a report up to two report intervals old.
    wait_for("the renewal counted", Duration::from_secs(5), || {
        reloads(&scrape(), "ok") == Some(1)
    });
    let m = scrape();
    assert_eq!(reloads(&m, "failed"), Some(0), "{m}");

    let (cert_c, _, _) = pki.issue(SERVER_NAMES);
    volume.publish(&[
        ("tls.crt", &cert_c),
        (
            "tls.key",
            "-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n",
        ),
    ]);
    let took = wait_for("the broken renewal counted", FAILURE_DEADLINE, || {
        reloads(&scrape(), "failed") == Some(1)
    });
    eprintln!("broken renewal counted {took:?} after the swap");
    // Two more polls: counted once per change, not once per poll.
    std::thread::sleep(Duration::from_secs(2 * 5));
    let m = scrape();
    assert_eq!(reloads(&m, "failed"), Some(1), "{m}");
    assert_eq!(reloads(&m, "ok"), Some(1), "{m}");
    assert_eq!(
        served_leaf(addr, &client).unwrap(),
        der_b,
        "the last good certificate B is still served"
    );
}

/// A web config in `pki`'s directory naming the volume's files, with basic
/// auth.
fn volume_web_config(pki: &Pki) -> (SecretVolume, String, Vec<u8>) {
    let mut volume = SecretVolume::new(pki.path("secret"));
    let (cert_a, key_a, der_a) = pki.issue(SERVER_NAMES);
    volume.publish(&[("tls.crt", &cert_a), ("tls.key", &key_a)]);
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    let config = pki.web_config(&format!(
        "tls_server_config:\n  cert_file: secret/tls.crt\n  key_file: secret/tls.key\nbasic_auth_users:\n  {USER}: {hash}\n"
    ));
    (volume, config, der_a)
}

#[test]
fn a_renewed_certificate_is_served_without_a_restart_and_a_broken_renewal_keeps_the_last_good_one()
{
    let _isolation = common::shared();
    let pki = Pki::new();
    let (mut volume, config, der_a) = volume_web_config(&pki);
    let d = daemon(&config, &pki.client(false));
    let client = pki.client(false);
    let scrape = || {
        let (status, _, body) =
            https_get(&d.addr, "/metrics", &client, Some((USER, PASSWORD))).unwrap();
        assert_eq!(status, 200);
        body
    };
    renewal_scenario(&pki, &mut volume, &d.addr, &der_a, &scrape);
}

#[test]
fn the_bridge_picks_up_a_renewed_certificate_and_warns_once_about_a_broken_one() {
    let _isolation = common::shared();
    let pki = Pki::new();
    let (mut volume, config, der_a) = volume_web_config(&pki);
    let addr = format!("127.0.0.1:{}", common::free_port());
    let log = pki.path("bridge.log");
    // Kafka is not needed to serve TLS (the bridge is then not ready).
    let mut bridge = std::process::Command::new(env!("CARGO_BIN_EXE_valuepulse"))
        .arg("bridge")
        .env("VALUEPULSE__KAFKA__BROKERS", "127.0.0.1:1")
        .env("VALUEPULSE__BRIDGE__LISTEN", &addr)
        .env("VALUEPULSE__BRIDGE__WEB_CONFIG", &config)
        .env("VALUEPULSE__LOG__FORMAT", "json")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let client = pki.client(false);
    wait_for("the bridge serving TLS", Duration::from_secs(15), || {
        served_leaf(&addr, &client).is_ok()
    });
    let scrape = || {
        let (status, _, body) =
            https_get(&addr, "/metrics", &client, Some((USER, PASSWORD))).unwrap();
        assert_eq!(status, 200);
        body
    };
    renewal_scenario(&pki, &mut volume, &addr, &der_a, &scrape);
    let _ = bridge.kill();
    let _ = bridge.wait();
    let log = std::fs::read_to_string(&log).unwrap();
    let lines = |message: &str| log.lines().filter(|l| l.contains(message)).count();
    assert_eq!(lines("Reloaded the TLS certificate"), 1, "{log}");
    let warned: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Could not reload the TLS certificate"))
        .collect();
    assert_eq!(warned.len(), 1, "one warning per broken change:\n{log}");
    assert!(warned[0].contains("\"level\":\"WARN\""), "{}", warned[0]);
    assert!(warned[0].contains("bridge.web_config"), "{}", warned[0]);
    assert!(
        !log.contains("garbage"),
        "no key material in the log:\n{log}"
    );
}
