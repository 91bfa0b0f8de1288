//! `run` in process: it serves its probes while Kafka is unreachable and
//! stops, in order and in time, when its shutdown future completes.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::*;

/// Status line and body of `GET path`, over a plain socket.
fn get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).expect("connect to the admin server");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_probes_without_kafka_and_stops_when_its_shutdown_future_completes() {
    let mut config = Config::load(None).expect("defaults load");
    // Nothing listens on port 1 of loopback: every Kafka request is refused.
    config.kafka.brokers = "127.0.0.1:1".into();
    config.kafka.request_timeout = Duration::from_millis(500);
    config.ingest.close_timeout = Duration::from_secs(5);
    config.http.listen = "127.0.0.1:0".parse().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let (listening, listen) = oneshot::channel();
    let daemon = tokio::spawn(run(
        config,
        async {
            let _ = stopped.await;
        },
        Some(listening),
    ));
    let (addr, handles) = listen.await.expect("run reports its address");

    let probes = tokio::task::spawn_blocking(move || {
        (get(addr, "/livez"), get(addr, "/readyz"), get(addr, "/"))
    })
    .await
    .unwrap();
    let ((live, _), (ready, why), (page, _)) = probes;
    assert!(live.contains(" 200"), "/livez: {live}");
    assert!(ready.contains(" 503"), "/readyz without Kafka: {ready}");
    assert!(why.contains("not ready"), "{why}");
    assert!(page.contains(" 200"), "/: {page}");
    assert!(handles.progress.readiness().is_err());

    let asked = Instant::now();
    stop.send(()).unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(15), daemon)
        .await
        .expect("run returns after its shutdown future completes")
        .expect("run does not panic");
    assert!(
        ended.is_ok(),
        "a requested shutdown is not a failure: {ended:?}"
    );
    // Consumers get up to ingest.close_timeout; nothing waits longer.
    assert!(
        asked.elapsed() < Duration::from_secs(8),
        "{:?}",
        asked.elapsed()
    );
    // The admin server is gone.
    assert!(
        TcpStream::connect(addr).is_err(),
        "still listening after run returned"
    );
}
