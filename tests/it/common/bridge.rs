//! The bridge as the tests drive it: `valuepulse bridge` as a child
//! process, plain-socket HTTP requests, GitHub deliveries built and signed
//! as GitHub documents them, and the topics a bridge and its daemon share.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use valuepulse::bridge::verify::sign_hmac_sha256_hex;

use super::{Daemon, at, free_port, normalize, parse, unique};

/// The GitHub secret the bridge tests configure.
pub const GITHUB_SECRET: &str = "gh-current-secret";

/// `valuepulse bridge` as a child process.
pub struct Bridge {
    child: Child,
    /// Where it listens.
    pub addr: String,
}

impl Bridge {
    /// Starts `valuepulse bridge --config <config>` with the test broker and
    /// `env`, and waits until it is ready.
    pub fn start(config: &std::path::Path, env: &[(&str, &str)]) -> Self {
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new(env!("CARGO_BIN_EXE_valuepulse"))
            .args(["bridge", "--config"])
            .arg(config)
            .env("VALUEPULSE__KAFKA__BROKERS", super::brokers())
            .env("VALUEPULSE__BRIDGE__LISTEN", &addr)
            .env("VALUEPULSE__LOG__FORMAT", "json")
            .envs(env.iter().copied())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn valuepulse bridge");
        let b = Self { child, addr };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Some((200, _)) = post_or_get(&b.addr, "GET", "/readyz", &[], b"") {
                return b;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the bridge was not ready within 60 s");
    }

    /// POSTs `body` with `headers`; (status, response body).
    pub fn post(&self, path: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, String) {
        post_or_get(&self.addr, "POST", path, headers, body).expect("the bridge answers")
    }

    pub fn metrics(&self) -> String {
        post_or_get(&self.addr, "GET", "/metrics", &[], b"")
            .expect("scrape the bridge")
            .1
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request over a plain socket; None if not connectable.
pub fn post_or_get(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).ok()?;
    // The server may answer (413) before reading a large body.
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// GitHub's headers for one delivery, signed with `secret`.
pub fn github(event: &str, body: &[u8], secret: Option<&str>) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("X-GitHub-Event", event.to_owned()),
        ("X-GitHub-Delivery", unique("delivery")),
        ("User-Agent", "GitHub-Hookshot/abc1234".to_owned()),
        ("Content-Type", "application/json".to_owned()),
    ];
    if let Some(s) = secret {
        h.push(("X-Hub-Signature-256", sign_hmac_sha256_hex(s, body)));
    }
    h
}

pub fn repository() -> Value {
    json!({"id": 186853002, "name": "checkout", "full_name": "acme/checkout",
           "private": false, "owner": {"login": "acme", "id": 1, "type": "Organization"},
           "html_url": "https://github.com/acme/checkout", "default_branch": "main"})
}

/// A `deployment_status` delivery of deployment `id` in `state`.
pub fn deployment_status(now: i64, id: u64, state: &str, finished: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "action": "created",
        "deployment_status": {
            "url": format!("https://api.github.com/repos/acme/checkout/deployments/{id}/statuses/1"),
            "id": id * 10, "state": state, "environment": "prod",
            "creator": {"login": "acme-bot", "id": 2, "type": "Bot"},
            "description": "", "target_url": "",
            "created_at": at(now, finished), "updated_at": at(now, finished)
        },
        "deployment": {
            "url": format!("https://api.github.com/repos/acme/checkout/deployments/{id}"),
            "id": id, "sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", "ref": "main",
            "task": "deploy", "payload": {}, "environment": "prod", "description": null,
            "created_at": at(now, finished - 600), "updated_at": at(now, finished)
        },
        "repository": repository(),
        "sender": {"login": "acme-bot", "id": 2, "type": "Bot"}
    }))
    .unwrap()
}

/// The daemon's value of `series` (labels in any order), once it has it.
pub fn wait_for(daemon: &Daemon, series: &str, want: f64) -> f64 {
    let key = normalize(series);
    let start = Instant::now();
    let mut last = None;
    while start.elapsed() < Duration::from_secs(60) {
        last = parse(&daemon.scrape()).get(&key).copied();
        if last == Some(want) {
            return want;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("{series}: want {want}, last {last:?}");
}

/// The daemon's `valuepulse_events_total{outcome, topic}`, once it is `want`.
pub fn wait_for_outcome(daemon: &Daemon, topic: &str, outcome: &str, want: f64) -> f64 {
    wait_for(
        daemon,
        &format!(r#"valuepulse_events_total{{outcome="{outcome}",topic="{topic}"}}"#),
        want,
    )
}

/// The four topics a bridge test and its daemon share, named after the
/// test, created with `create`, and the environment that names them.
pub struct Topics {
    pub deploys: String,
    pub incidents: String,
    pub changes: String,
    pub usage: String,
}

impl Topics {
    pub fn create(prefix: &str, create: impl FnOnce(&[(&str, i32)])) -> Self {
        let t = Self {
            deploys: unique(&format!("{prefix}-deploys")),
            incidents: unique(&format!("{prefix}-incidents")),
            changes: unique(&format!("{prefix}-changes")),
            usage: unique(&format!("{prefix}-usage")),
        };
        create(&[
            (&t.deploys, 1),
            (&t.incidents, 1),
            (&t.changes, 1),
            (&t.usage, 1),
        ]);
        t
    }

    pub fn env(&self) -> [(&'static str, &str); 4] {
        [
            ("VALUEPULSE__TOPICS__DEPLOYS", self.deploys.as_str()),
            ("VALUEPULSE__TOPICS__INCIDENTS", self.incidents.as_str()),
            ("VALUEPULSE__TOPICS__CHANGES", self.changes.as_str()),
            ("VALUEPULSE__TOPICS__FEATURE_USAGE", self.usage.as_str()),
        ]
    }
}
