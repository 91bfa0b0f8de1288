//! Basic auth of the admin server against the bcrypt hashes of
//! `http.web_config` (`basic_auth_users`), as exporter-toolkit does it:
//!
//! - a bcrypt check costs tens of milliseconds by design, so it runs on the
//!   blocking pool, at most [`CONCURRENT_CHECKS`] at a time (a flood of wrong
//!   passwords cannot take every core), and a credential that passed is
//!   remembered (up to [`REMEMBERED`] of them) so a scraper every 15 s pays
//!   once;
//! - an unknown user is checked against a dummy hash, so the answer takes
//!   as long as for a known one (no user enumeration by timing);
//! - only `/livez` and `/readyz` are open ([`OPEN_PATHS`]).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use tokio::sync::Semaphore;

/// Paths served without credentials: the Kubernetes probes. Their answers
/// carry no data ("ok", "ready", or why not), and a kubelet probe cannot
/// read credentials from a Secret.
pub const OPEN_PATHS: [&str; 2] = ["/livez", "/readyz"];

/// bcrypt checks running at once.
pub const CONCURRENT_CHECKS: usize = 2;

/// Credentials remembered after passing; the memory is cleared when full.
pub const REMEMBERED: usize = 64;

/// The users and what has been verified.
pub struct BasicAuth {
    /// User → bcrypt hash.
    users: BTreeMap<String, String>,
    /// `Authorization` header values that passed.
    passed: Mutex<HashSet<String>>,
    /// Bounds the bcrypt checks running at once.
    checks: Arc<Semaphore>,
    /// A hash checked for unknown users, at the cost of the first user's
    /// hash, so they take as long as known ones; made at first need.
    dummy: Arc<OnceLock<String>>,
    /// That cost.
    cost: u32,
}

impl BasicAuth {
    /// Auth against `users` (user → bcrypt hash).
    pub fn new(users: BTreeMap<String, String>) -> Self {
        let cost = users
            .values()
            .find_map(|h| h.parse::<bcrypt::HashParts>().ok())
            .map_or(bcrypt::DEFAULT_COST, |p| p.get_cost());
        Self {
            users,
            passed: Mutex::new(HashSet::new()),
            checks: Arc::new(Semaphore::new(CONCURRENT_CHECKS)),
            dummy: Arc::new(OnceLock::new()),
            cost,
        }
    }

    /// Whether an `Authorization` header value names a user and their
    /// password.
    pub async fn allows(&self, authorization: Option<&str>) -> bool {
        let Some(header) = authorization else {
            return false;
        };
        if self.lock().contains(header) {
            return true;
        }
        let Some((user, password)) = credentials(header) else {
            return false;
        };
        let (hash, known) = match self.users.get(&user) {
            Some(h) => (Some(h.clone()), true),
            None => (None, false),
        };
        let Ok(_slot) = self.checks.clone().acquire_owned().await else {
            return false;
        };
        let (dummy, cost) = (self.dummy.clone(), self.cost);
        let verified = tokio::task::spawn_blocking(move || {
            let hash = hash.unwrap_or_else(|| {
                dummy
                    .get_or_init(|| bcrypt::hash("no user has this", cost).unwrap_or_default())
                    .clone()
            });
            bcrypt::verify(password, &hash)
        })
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(false);
        let ok = verified && known;
        if ok {
            let mut passed = self.lock();
            if passed.len() >= REMEMBERED {
                passed.clear();
            }
            passed.insert(header.to_owned());
        }
        ok
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.passed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `Basic base64(user:password)` → (user, password).
fn credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests;
