//! The client against a local listener standing in for the daemon and a
//! destination: the requests it sends, the answers it reads.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;

use super::*;

/// Serves one canned answer and hands back the request it got.
fn serve_once(answer: &'static str) -> (String, std::thread::JoinHandle<String>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let h = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = [0u8; 4096];
        let mut req = Vec::new();
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).unwrap();
            req.extend_from_slice(&buf[..n]);
        }
        s.write_all(answer.as_bytes()).unwrap();
        String::from_utf8(req).unwrap().to_ascii_lowercase()
    });
    (addr, h)
}

fn with_user(user: &str) -> Client {
    let access = DaemonAccess {
        user: Some(user.to_owned()),
        ..DaemonAccess::default()
    };
    Client::with_daemon_access(Duration::from_secs(5), &access).unwrap()
}

#[test]
fn the_daemon_gets_the_credentials_and_a_200s_body_is_returned() {
    let (addr, h) = serve_once("HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\n# Pulse\n");
    let body = with_user("ops:secret")
        .pulse_text(&format!("http://{addr}/"), Some("a&b c"), "markdown")
        .unwrap();
    assert_eq!(body, "# Pulse\n");
    let req = h.join().unwrap();
    assert!(
        req.starts_with("get /pulse?format=markdown&team=a%26b%20c http/1.1\r\n"),
        "{req}"
    );
    assert!(
        req.contains("authorization: basic b3bzonnly3jlda==\r\n"),
        "{req}"
    );
}

#[test]
fn a_destination_never_gets_the_daemons_credentials() {
    let (addr, h) = serve_once("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    let posted = with_user("ops:secret").post(&format!("http://{addr}/hook"), b"{}");
    assert_eq!(posted, Posted::Accepted(200));
    let req = h.join().unwrap();
    assert!(!req.contains("authorization"), "{req}");
}

#[test]
fn statuses_say_what_went_wrong() {
    let (addr, h) =
        serve_once("HTTP/1.1 404 Not Found\r\ncontent-length: 17\r\n\r\n{\"teams\":[\"a\"]}\n\n");
    match Client::new(Duration::from_secs(5)).pulse_text(
        &format!("http://{addr}"),
        Some("x"),
        "json",
    ) {
        Err(FetchError::UnknownTeam(body)) => assert_eq!(body, "{\"teams\":[\"a\"]}"),
        other => panic!("{other:?}"),
    }
    h.join().unwrap();
    let (addr, h) = serve_once("HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n");
    assert!(matches!(
        Client::new(Duration::from_secs(5)).pulse(&format!("http://{addr}"), None),
        Err(FetchError::Unauthorized)
    ));
    h.join().unwrap();
}

#[test]
fn access_is_checked_before_any_request() {
    let dir = std::env::temp_dir().join(format!("vp-client-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let user_file = dir.join("user");
    std::fs::write(&user_file, "ops:secret\n").unwrap();
    let access = |user: Option<&str>, user_file: Option<&Path>, ca: Option<&Path>| DaemonAccess {
        user: user.map(str::to_owned),
        user_file: user_file.map(Path::to_owned),
        ca_file: ca.map(Path::to_owned),
    };
    let t = Duration::from_secs(1);
    assert!(Client::with_daemon_access(t, &access(None, Some(&user_file), None)).is_ok());
    for bad in ["no-colon", ":password-only"] {
        let e = Client::with_daemon_access(t, &access(Some(bad), None, None))
            .err()
            .unwrap();
        assert!(!e.to_string().contains(bad), "{e}");
    }
    let missing = dir.join("missing");
    assert!(matches!(
        Client::with_daemon_access(t, &access(None, Some(&missing), None)),
        Err(AccessError::UserFile(..))
    ));
    let not_pem = dir.join("ca.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    assert!(matches!(
        Client::with_daemon_access(t, &access(None, None, Some(&not_pem))),
        Err(AccessError::Ca(..))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}
