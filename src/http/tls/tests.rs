//! The reload rules, each checked by a real TLS handshake (rustls client
//! and server over memory) against files laid out as a Kubernetes Secret
//! volume lays them out: `tls.crt -> ..data/tls.crt`, `..data -> ..v1`, a
//! renewal written to a new directory and published by swapping `..data`.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::*;
use crate::config::web::WebConfig;

/// A CA that signs the server's and clients' certificates.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    fn new() -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        Self {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate for `name` and its key, as PEM: (cert, key, cert DER).
    fn issue(&self, name: &str) -> (String, String, Vec<u8>) {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem(), cert.der().to_vec())
    }
}

/// A Secret volume in a fresh directory, with `web.yml` beside it naming
/// `tls.crt` and `tls.key` (and `ca.crt` with `client_auth`).
struct Volume {
    dir: PathBuf,
    version: u32,
}

impl Volume {
    fn new(name: &str) -> Self {
        let nanos = crate::clock::now_nanos();
        let dir =
            std::env::temp_dir().join(format!("vp-tls-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir, version: 0 }
    }

    /// Publishes `files` as the kubelet does: a new `..vN` directory, a
    /// `..data_tmp` link to it renamed over `..data`, and a link per file
    /// into `..data` (made once).
    fn publish(&mut self, files: &[(&str, &str)]) {
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
                symlink(Path::new("..data").join(name), &link).unwrap();
            }
        }
    }

    /// Overwrites one file of the current version in place (a writer that
    /// is not the kubelet).
    fn overwrite(&self, name: &str, text: &str) {
        std::fs::write(self.dir.join(name), text).unwrap();
    }

    /// The TLS of a web config naming the files (`extra` under
    /// `tls_server_config`).
    fn tls(&self, extra: &str) -> Tls {
        let path = self.dir.join("web.yml");
        std::fs::write(
            &path,
            format!("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n{extra}"),
        )
        .unwrap();
        WebConfig::load(&path).unwrap().tls.expect("tls")
    }
}

impl Drop for Volume {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A client trusting `ca`, with a client certificate if given.
fn client(ca: &Ca, cert: Option<(&str, &str)>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.pem.as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    Arc::new(match cert {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    })
}

/// A full handshake of `client` with a server on `tls`'s current config,
/// over memory: the leaf the server presented (DER), or why it failed.
fn handshake(tls: &ReloadingTls, client: Arc<rustls::ClientConfig>) -> Result<Vec<u8>, String> {
    let name = ServerName::try_from("localhost").unwrap();
    let mut c = rustls::ClientConnection::new(client, name).map_err(|e| e.to_string())?;
    let mut s = rustls::ServerConnection::new(tls.current()).map_err(|e| e.to_string())?;
    for _ in 0..10 {
        let mut wire = Vec::new();
        c.write_tls(&mut wire).unwrap();
        s.read_tls(&mut &wire[..]).unwrap();
        s.process_new_packets()
            .map_err(|e| format!("server: {e}"))?;
        wire.clear();
        s.write_tls(&mut wire).unwrap();
        c.read_tls(&mut &wire[..]).unwrap();
        c.process_new_packets()
            .map_err(|e| format!("client: {e}"))?;
        if !c.is_handshaking() && !s.is_handshaking() {
            // The server's verdict on a client certificate under TLS 1.3
            // comes after the client's last flight.
            let mut wire = Vec::new();
            c.write_tls(&mut wire).unwrap();
            s.read_tls(&mut &wire[..]).unwrap();
            s.process_new_packets()
                .map_err(|e| format!("server: {e}"))?;
            let leaf = c.peer_certificates().ok_or("no server certificate")?[0].to_vec();
            return Ok(leaf);
        }
    }
    Err("handshake did not finish".into())
}

fn counts(tls: &ReloadingTls) -> [(&'static str, u64); 2] {
    tls.reloads().by_outcome()
}

#[test]
fn unchanged_files_are_polled_without_a_reload() {
    let ca = Ca::new();
    let (cert, key, der) = ca.issue("localhost");
    let mut v = Volume::new("same");
    v.publish(&[("tls.crt", &cert), ("tls.key", &key)]);
    let tls = ReloadingTls::new(v.tls(""), "http.web_config");
    for _ in 0..3 {
        assert_eq!(tls.poll(), Poll::Unchanged);
    }
    // The same contents republished (a Secret update that changed another
    // key) are no change either.
    v.publish(&[("tls.crt", &cert), ("tls.key", &key)]);
    assert_eq!(tls.poll(), Poll::Unchanged);
    assert_eq!(handshake(&tls, client(&ca, None)).unwrap(), der);
    assert_eq!(counts(&tls), [("ok", 0), ("failed", 0)]);
}

#[test]
fn a_renewal_published_by_a_link_swap_is_served_after_one_poll_and_counted_ok() {
    let ca = Ca::new();
    let (cert_a, key_a, der_a) = ca.issue("localhost");
    let (cert_b, key_b, der_b) = ca.issue("localhost");
    let mut v = Volume::new("renew");
    v.publish(&[("tls.crt", &cert_a), ("tls.key", &key_a)]);
    let tls = ReloadingTls::new(v.tls(""), "http.web_config");
    assert_eq!(handshake(&tls, client(&ca, None)).unwrap(), der_a);

    v.publish(&[("tls.crt", &cert_b), ("tls.key", &key_b)]);
    assert_eq!(
        handshake(&tls, client(&ca, None)).unwrap(),
        der_a,
        "served until the poll"
    );
    assert_eq!(tls.poll(), Poll::Reloaded);
    assert_eq!(handshake(&tls, client(&ca, None)).unwrap(), der_b);
    assert_eq!(tls.poll(), Poll::Unchanged);
    assert_eq!(counts(&tls), [("ok", 1), ("failed", 0)]);
}

#[test]
fn a_broken_renewal_keeps_the_old_certificate_and_is_counted_once() {
    let ca = Ca::new();
    let (cert_a, key_a, der_a) = ca.issue("localhost");
    let (cert_b, key_b, der_b) = ca.issue("localhost");
    let mut v = Volume::new("broken");
    v.publish(&[("tls.crt", &cert_a), ("tls.key", &key_a)]);
    let tls = ReloadingTls::new(v.tls(""), "http.web_config");

    v.publish(&[("tls.crt", &cert_b), ("tls.key", "garbage\n")]);
    let Poll::Retrying(why) = tls.poll() else {
        panic!("a first failure is retried before it is reported")
    };
    assert!(why.contains("key_file") && why.contains("tls.key"), "{why}");
    assert!(matches!(tls.poll(), Poll::Failed(_)));
    // Once per change: the same broken files again are not news.
    for _ in 0..3 {
        assert_eq!(tls.poll(), Poll::Unchanged);
    }
    assert_eq!(handshake(&tls, client(&ca, None)).unwrap(), der_a);
    assert_eq!(counts(&tls), [("ok", 0), ("failed", 1)]);

    // Fixed: served at the next poll.
    v.publish(&[("tls.crt", &cert_b), ("tls.key", &key_b)]);
    assert_eq!(tls.poll(), Poll::Reloaded);
    assert_eq!(handshake(&tls, client(&ca, None)).unwrap(), der_b);
    assert_eq!(counts(&tls), [("ok", 1), ("failed", 1)]);
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_refused() {
    let ca = Ca::new();
    let (cert_a, key_a, der_a) = ca.issue("localhost");
    let (cert_b, _, _) = ca.issue("localhost");
    let mut v = Volume::new("mismatch");
    v.publish(&[("tls.crt", &cert_a), ("tls.key", &key_a)]);
    let tls = ReloadingTls::new(v.tls(""), "http.web_config");

    v.publish(&[("tls.crt", &cert_b), ("tls.key", &key_a)]);
    assert!(matches!(tls.poll(), Poll::Retrying(_)));
    let Poll::Failed(why) = tls.poll() else {
        panic!("a mismatched pair must fail")
    };
    assert!(why.contains("do not make a usable pair"), "{why}");
    assert_eq!(handshake(&tls, client(&ca, None)).unwrap(), der_a);
    assert_eq!(counts(&tls), [("ok", 0), ("failed", 1)]);
}

#[test]
fn a_renewal_caught_half_written_is_served_at_the_next_poll_without_a_failure() {
    let ca = Ca::new();
    let (cert_a, key_a, _) = ca.issue("localhost");
    let (cert_b, key_b, der_b) = ca.issue("localhost");
    let mut v = Volume::new("half");
    v.publish(&[("tls.crt", &cert_a), ("tls.key", &key_a)]);
    let tls = ReloadingTls::new(v.tls(""), "http.web_config");

    // A writer that replaces the files one by one, polled in between.
    v.overwrite("tls.crt", &cert_b);
    assert!(matches!(tls.poll(), Poll::Retrying(_)));
    v.overwrite("tls.key", &key_b);
    assert_eq!(tls.poll(), Poll::Reloaded);
    assert_eq!(handshake(&tls, client(&ca, None)).unwrap(), der_b);
    assert_eq!(counts(&tls), [("ok", 1), ("failed", 0)]);
}

#[test]
fn a_renewal_undone_before_it_is_reported_is_no_failure() {
    let ca = Ca::new();
    let (cert_a, key_a, der_a) = ca.issue("localhost");
    let mut v = Volume::new("undone");
    v.publish(&[("tls.crt", &cert_a), ("tls.key", &key_a)]);
    let tls = ReloadingTls::new(v.tls(""), "http.web_config");

    v.publish(&[("tls.crt", &cert_a), ("tls.key", "garbage\n")]);
    assert!(matches!(tls.poll(), Poll::Retrying(_)));
    v.publish(&[("tls.crt", &cert_a), ("tls.key", &key_a)]);
    assert_eq!(tls.poll(), Poll::Unchanged);
    assert_eq!(handshake(&tls, client(&ca, None)).unwrap(), der_a);
    assert_eq!(counts(&tls), [("ok", 0), ("failed", 0)]);
}

#[test]
fn a_renewed_client_ca_verifies_the_new_clients_and_refuses_the_old() {
    let server_ca = Ca::new();
    let (cert, key, der) = server_ca.issue("localhost");
    let (old_ca, new_ca) = (Ca::new(), Ca::new());
    let (old_cert, old_key, _) = old_ca.issue("scraper");
    let (new_cert, new_key, _) = new_ca.issue("scraper");
    let mut v = Volume::new("client-ca");
    v.publish(&[
        ("tls.crt", &cert),
        ("tls.key", &key),
        ("ca.crt", &old_ca.pem),
    ]);
    let tls = ReloadingTls::new(
        v.tls("  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"),
        "http.web_config",
    );
    let old_client = client(&server_ca, Some((&old_cert, &old_key)));
    let new_client = client(&server_ca, Some((&new_cert, &new_key)));
    assert_eq!(handshake(&tls, old_client.clone()).unwrap(), der);
    assert!(handshake(&tls, new_client.clone()).is_err());

    v.publish(&[
        ("tls.crt", &cert),
        ("tls.key", &key),
        ("ca.crt", &new_ca.pem),
    ]);
    assert_eq!(tls.poll(), Poll::Reloaded);
    assert_eq!(handshake(&tls, new_client).unwrap(), der);
    let refused = handshake(&tls, old_client).unwrap_err();
    assert!(refused.starts_with("server:"), "{refused}");
    assert_eq!(counts(&tls), [("ok", 1), ("failed", 0)]);
}

#[test]
fn a_watcher_stops_with_its_token() {
    let ca = Ca::new();
    let (cert, key, _) = ca.issue("localhost");
    let mut v = Volume::new("stop");
    v.publish(&[("tls.crt", &cert), ("tls.key", &key)]);
    let tls = Arc::new(ReloadingTls::new(v.tls(""), "http.web_config"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let stop = CancellationToken::new();
        let watcher = tokio::spawn(tls.clone().watch(stop.clone()));
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(1), watcher)
            .await
            .expect("stops at once")
            .unwrap();
    });
}
