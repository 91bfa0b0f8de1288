//! Certificate reloads of a TLS server (the admin server's, the bridge's),
//! by outcome: the server's certificate watcher ([`crate::http::tls`])
//! counts them, the reporter and the bridge's `/metrics` export them as
//! `valuepulse_tls_reloads_total{outcome}`.

use std::sync::atomic::{AtomicU64, Ordering};

/// What became of a change of the certificate files: the `outcome` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The new files built a config, which new connections now get.
    Ok,
    /// The new files did not build a config (unreadable, unparsable, a key
    /// that does not match the certificate): the previous one is still
    /// served.
    Failed,
}

impl ReloadOutcome {
    /// Every outcome, in export order.
    pub const ALL: [Self; 2] = [Self::Ok, Self::Failed];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
        }
    }
}

/// Reloads since start, by outcome.
#[derive(Debug, Default)]
pub struct TlsReloads {
    ok: AtomicU64,
    failed: AtomicU64,
}

impl TlsReloads {
    fn counter(&self, o: ReloadOutcome) -> &AtomicU64 {
        match o {
            ReloadOutcome::Ok => &self.ok,
            ReloadOutcome::Failed => &self.failed,
        }
    }

    /// Counts one reload with outcome `o`.
    pub fn count(&self, o: ReloadOutcome) {
        self.counter(o).fetch_add(1, Ordering::Relaxed);
    }

    /// Reloads with outcome `o` since start.
    pub fn get(&self, o: ReloadOutcome) -> u64 {
        self.counter(o).load(Ordering::Relaxed)
    }

    /// `(outcome label, reloads)` of every outcome, in export order.
    pub fn by_outcome(&self) -> [(&'static str, u64); 2] {
        ReloadOutcome::ALL.map(|o| (o.as_str(), self.get(o)))
    }
}
