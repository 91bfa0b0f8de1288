//! Process lifecycle and the admin endpoints: signals, an unreachable broker,
//! gzip, `check-config`, and log colour (a terminal's only).

use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{self, Daemon, create_topics, http_get, unique};

#[test]
fn unreachable_broker_keeps_retrying_not_ready_but_alive_and_sigterm_exits_zero() {
    let _isolation = common::shared();
    // Nothing listens on port 1 of loopback.
    let mut daemon = Daemon::start(&[
        ("VALUEPULSE__KAFKA__BROKERS", "127.0.0.1:1"),
        ("VALUEPULSE__KAFKA__REQUEST_TIMEOUT", "1s"),
    ]);
    let start = Instant::now();
    let mut answered = false;
    while start.elapsed() < Duration::from_secs(8) {
        if let Some((status, _, body)) = daemon.get("/readyz") {
            answered = true;
            assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
            assert!(String::from_utf8_lossy(&body).starts_with("not ready: small-topics:"));
            let (live, _, _) = daemon.get("/livez").unwrap();
            assert_eq!(live, 200, "/livez must not depend on Kafka");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(answered, "admin server never answered");
    assert!(
        daemon.alive(),
        "daemon died while the broker was unreachable"
    );
    let metrics = daemon.scrape();
    assert!(metrics.contains("valuepulse_ready 0"), "{metrics}");
    let t = Instant::now();
    let status = daemon
        .terminate(Duration::from_secs(10))
        .expect("exit within 10 s of SIGTERM");
    assert!(status.success(), "exit status {status}");
    assert!(t.elapsed() < Duration::from_secs(10));
}

#[test]
fn sigterm_while_consuming_exits_zero_within_ten_seconds() {
    let _isolation = common::shared();
    let (deploys, incidents, usage) = (unique("deploys"), unique("incidents"), unique("usage"));
    create_topics(&[(&deploys, 1), (&incidents, 1), (&usage, 2)]);
    let mut daemon = Daemon::start(&[
        ("VALUEPULSE__TOPICS__DEPLOYS", &deploys),
        ("VALUEPULSE__TOPICS__INCIDENTS", &incidents),
        ("VALUEPULSE__TOPICS__FEATURE_USAGE", &usage),
    ]);
    daemon.wait_ready(Duration::from_secs(60));
    let status = daemon
        .terminate(Duration::from_secs(10))
        .expect("exit within 10 s of SIGTERM");
    assert!(status.success(), "exit status {status}");
}

#[test]
fn metrics_are_gzipped_when_asked_and_carry_the_text_format_content_type() {
    let _isolation = common::shared();
    let daemon = Daemon::start(&[("VALUEPULSE__KAFKA__BROKERS", "127.0.0.1:1")]);
    let start = Instant::now();
    let (status, head, body) = loop {
        if let Some(r) = http_get(&daemon.addr, "/metrics", &[("Accept-Encoding", "gzip")]) {
            break r;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "admin server never answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status, 200);
    let head = head.to_ascii_lowercase();
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert!(
        head.contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    let mut text = String::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert!(text.contains("valuepulse_build_info{version=\""), "{text}");
    let (_, plain_head, _) = daemon.get("/metrics").unwrap();
    assert!(!plain_head.to_ascii_lowercase().contains("content-encoding"));
}

#[test]
fn check_config_prints_redacted_config_or_exits_64_naming_the_key() {
    let _isolation = common::shared();
    let bin = env!("CARGO_BIN_EXE_valuepulse");
    let dir = std::env::temp_dir().join(unique("valuepulse-cfg"));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "[kafka]\nbrokers = \"k:9092\"\n[kafka.properties]\n\"sasl.username\" = \"vp\"\n\"sasl.password\" = \"hunter2\"\n\"security.protocol\" = \"SASL_SSL\"\n\"sasl.mechanism\" = \"PLAIN\"\n",
    )
    .unwrap();
    let out = Command::new(bin)
        .args(["check-config", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(shown.contains("brokers = \"k:9092\""), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");

    let cases = [
        ("[http]\nlisten = \"127.0.0.1:9464\"\nlisen = 1\n", "lisen"),
        ("[windows]\nsizes = [\"1d\", \"soon\"]\n", "windows.sizes"),
        (
            "[kafka.properties]\n\"no.such.property\" = \"1\"\n",
            "kafka.properties",
        ),
    ];
    for (i, (toml, key)) in cases.iter().enumerate() {
        let bad = dir.join(format!("bad{i}.toml"));
        std::fs::write(&bad, toml).unwrap();
        let out = Command::new(bin)
            .args(["check-config", "--config"])
            .arg(&bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(64), "{toml}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.contains(key), "{err} should name {key}");
    }
    let out = Command::new(bin).arg("--version").output().unwrap();
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .starts_with("valuepulse ")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn text_logs_to_a_pipe_carry_no_colour_codes_and_a_terminal_gets_them_unless_no_color() {
    let _isolation = common::shared();
    // `valuepulse bridge` with no source logs a warning through tracing,
    // then exits at once: its port is taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let bin = env!("CARGO_BIN_EXE_valuepulse");
    let env = [
        ("VALUEPULSE__KAFKA__BROKERS", "127.0.0.1:1"),
        ("VALUEPULSE__BRIDGE__LISTEN", addr.as_str()),
        ("VALUEPULSE__LOG__FORMAT", "text"),
    ];
    let warning = "No source is enabled";

    let out = Command::new(bin)
        .arg("bridge")
        .envs(env)
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the port is taken");
    let piped = String::from_utf8_lossy(&out.stderr);
    assert!(piped.contains(warning), "{piped}");
    assert!(!piped.contains('\x1b'), "colour codes in a pipe: {piped:?}");

    // The same under a terminal: script(1) runs it on a pseudo-terminal and
    // copies what it wrote there to its own stdout.
    let on_a_terminal = |no_color: Option<&str>| {
        let mut c = Command::new("script");
        c.args(["-qec", &format!("'{bin}' bridge"), "/dev/null"])
            .envs(env);
        match no_color {
            Some(v) => c.env("NO_COLOR", v),
            None => c.env_remove("NO_COLOR"),
        };
        let out = c
            .output()
            .expect("script(1) from util-linux runs the binary on a terminal");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_a_terminal(None);
    assert!(coloured.contains(warning), "{coloured:?}");
    assert!(
        coloured.contains("\x1b["),
        "a terminal gets colour: {coloured:?}"
    );
    let plain = on_a_terminal(Some("1"));
    assert!(plain.contains(warning), "{plain:?}");
    assert!(!plain.contains('\x1b'), "NO_COLOR=1: {plain:?}");
    drop(taken);
}
