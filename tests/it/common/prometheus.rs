//! A real Prometheus server (Debian's `prometheus`) on loopback, in a
//! directory of its own, stopped on drop; and `promtool` for backfilling
//! its storage before it starts.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, http_get, unique};

/// A Prometheus server on loopback, stopped on drop.
pub struct Prometheus {
    child: Child,
    /// `127.0.0.1:<port>` of its HTTP API.
    pub addr: String,
    _dir: PathBuf,
}

impl Prometheus {
    /// A fresh directory for one server: `config` and `data` go in it.
    pub fn dir() -> PathBuf {
        let dir = std::env::temp_dir().join(unique("valuepulse-prometheus"));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        dir
    }

    /// Starts Prometheus with `config` (YAML), its storage in `dir/data`
    /// (backfilled or empty), and waits until it says it is ready.
    pub fn start(dir: PathBuf, config: &str) -> Self {
        Self::start_on(dir, config, format!("127.0.0.1:{}", free_port()))
    }

    /// [`Self::start`], listening on `addr` (known before it starts).
    pub fn start_on(dir: PathBuf, config: &str, addr: String) -> Self {
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start the prometheus server ({e}): install Debian's `prometheus` package (deploy/test.sh checks for it)")
            });
        let p = Self {
            child,
            addr,
            _dir: dir,
        };
        let start = Instant::now();
        while !matches!(http_get(&p.addr, "/-/ready", &[]), Some((200, _, _))) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "Prometheus was not ready within 60 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        p
    }
}

impl Prometheus {
    /// The instant query `promql`'s samples: (labels, value).
    pub fn query(&self, promql: &str) -> Vec<(serde_json::Value, f64)> {
        let path = format!(
            "/api/v1/query?query={}",
            valuepulse::pulse::client::percent_encode(promql)
        );
        let Some((200, _, body)) = http_get(&self.addr, &path, &[]) else {
            return Vec::new();
        };
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        v["data"]["result"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                let value = s["value"][1].as_str().and_then(|v| v.parse().ok());
                (s["metric"].clone(), value.unwrap_or(f64::NAN))
            })
            .collect()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `openmetrics` (text ending in `# EOF`) to a file and backfills
/// `dir/data` from it with `promtool tsdb create-blocks-from openmetrics`,
/// as an operator backfills history.
pub fn backfill(dir: &Path, openmetrics: &str) {
    let input = dir.join("history.om");
    std::fs::write(&input, openmetrics).unwrap();
    let out = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(dir.join("data"))
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run promtool ({e}): install Debian's `prometheus` package (deploy/test.sh checks for it)")
        });
    assert!(
        out.status.success(),
        "promtool could not backfill: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
