//! The TLS config of a server (the admin server's, the bridge's), rebuilt
//! when the files it was built from change: a renewed certificate is served
//! without a restart.
//!
//! cert-manager renews a certificate in place, and a Kubernetes Secret
//! volume publishes the new files by swapping a `..data` symbolic link.
//! So the files are polled, every [`RELOAD_EVERY`], by their contents
//! (read through the links, compared as a [`Fingerprint`]): no inotify
//! watch to lose across a link swap, no modification time to trust. When
//! the contents change, the config is built again with the checks of load
//! ([`Tls::build`]: the chain parses, the key parses and matches the leaf,
//! the client CA parses) and new handshakes get it; connections already
//! open keep theirs. The client CA file, under mutual TLS, is watched and
//! reloaded the same way.
//!
//! A change that does not build is given one more poll (a renewal written
//! file by file can be caught half-done); if it still does not build, the
//! previous config stays in service, one warning is logged and
//! `valuepulse_tls_reloads_total{outcome="failed"}` counts it, once per
//! change of the files, not once per poll.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::web::{Fingerprint, Tls};
use crate::telemetry::tls_reloads::{ReloadOutcome, TlsReloads};

/// How often the certificate, key and client CA files are read to see
/// whether they changed. A renewed certificate is served at most this long
/// after its files change (twice this for a renewal caught half-written).
pub const RELOAD_EVERY: Duration = Duration::from_secs(5);

/// A server's TLS config, as its files say now.
pub struct ReloadingTls {
    /// What the config is built from, and how.
    tls: Tls,
    /// The config key that named the web-config file, for the logs
    /// (`http.web_config`, `bridge.web_config`).
    key: &'static str,
    /// The config new handshakes get.
    current: RwLock<Arc<rustls::ServerConfig>>,
    /// What the files held at the last polls.
    watch: Mutex<Watch>,
    /// Reloads by outcome, exported as `valuepulse_tls_reloads_total`.
    reloads: Arc<TlsReloads>,
}

/// What the polls have seen.
#[derive(Debug)]
struct Watch {
    /// The files behind the config served now.
    served: Fingerprint,
    /// Set when the last poll found changed files that did not build (not
    /// reported yet: they may have been caught half-written).
    retrying: bool,
    /// Files reported as a failed reload: not tried again until they
    /// change, so one broken renewal is one warning and one count.
    refused: Option<Fingerprint>,
}

/// What one poll found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// The files are those of the config served, or of a change already
    /// reported as failed.
    Unchanged,
    /// The files changed and built: new handshakes get the new config.
    Reloaded,
    /// The files changed and did not build; the next poll tries again
    /// before reporting it.
    Retrying(String),
    /// The files changed and did not build at two polls in a row: the
    /// previous config is still served, and this was logged and counted.
    Failed(String),
}

impl ReloadingTls {
    /// Serves `tls.config` until its files change. `key` names the
    /// config key of the web-config file in the logs.
    pub fn new(tls: Tls, key: &'static str) -> Self {
        Self {
            current: RwLock::new(tls.config.clone()),
            watch: Mutex::new(Watch {
                served: tls.loaded,
                retrying: false,
                refused: None,
            }),
            tls,
            key,
            reloads: Arc::new(TlsReloads::default()),
        }
    }

    /// The config for a new handshake.
    pub fn current(&self) -> Arc<rustls::ServerConfig> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The reload counts, for the metrics.
    pub fn reloads(&self) -> Arc<TlsReloads> {
        self.reloads.clone()
    }

    /// Reads the files once and acts on a change: one poll of [`Self::watch`]
    /// (blocking file reads).
    pub fn poll(&self) -> Poll {
        let mut w = self.watch.lock().unwrap_or_else(PoisonError::into_inner);
        let files = self.tls.read();
        let seen = files.fingerprint();
        if seen == w.served {
            // Back to what is served (a renewal undone): a later change to
            // the refused files again is news again.
            w.retrying = false;
            w.refused = None;
            return Poll::Unchanged;
        }
        if w.refused == Some(seen) {
            return Poll::Unchanged;
        }
        match self.tls.build(&files) {
            Ok(config) => {
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
                *w = Watch {
                    served: seen,
                    retrying: false,
                    refused: None,
                };
                self.reloads.count(ReloadOutcome::Ok);
                tracing::info!(
                    key = self.key,
                    "Reloaded the TLS certificate: new connections get the new one."
                );
                Poll::Reloaded
            }
            Err(why) if !w.retrying => {
                w.retrying = true;
                tracing::debug!(
                    key = self.key,
                    reason = %why,
                    "The TLS files changed but do not build yet; trying again at the next poll."
                );
                Poll::Retrying(why)
            }
            Err(why) => {
                w.retrying = false;
                w.refused = Some(seen);
                self.reloads.count(ReloadOutcome::Failed);
                tracing::warn!(
                    key = self.key,
                    reason = %why,
                    "Could not reload the TLS certificate; still serving the previous one."
                );
                Poll::Failed(why)
            }
        }
    }

    /// Polls the files every [`RELOAD_EVERY`] until `stop`.
    pub async fn watch(self: Arc<Self>, stop: CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(RELOAD_EVERY) => {}
            }
            let me = self.clone();
            if let Err(e) = tokio::task::spawn_blocking(move || me.poll()).await {
                tracing::warn!(key = self.key, error = %e, "The TLS file watcher's poll failed.");
            }
        }
    }
}

#[cfg(test)]
mod tests;
