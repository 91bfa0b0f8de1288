//! The pulse client: URLs, the request it sends, the answers it reads, on
//! a local listener standing in for the daemon.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;

use super::*;

#[test]
fn a_url_is_plain_http_with_an_optional_port_and_prefix() {
    let t = |addr: &str, prefix: &str| Target {
        addr: addr.into(),
        prefix: prefix.into(),
    };
    assert_eq!(
        Target::parse("http://host:9464").unwrap(),
        t("host:9464", "")
    );
    assert_eq!(
        Target::parse("http://host:9464/").unwrap(),
        t("host:9464", "")
    );
    assert_eq!(Target::parse("http://host").unwrap(), t("host:80", ""));
    assert_eq!(Target::parse("http://h:1/vp/").unwrap(), t("h:1", "/vp"));
    assert_eq!(
        Target::parse("http://[::1]:9464").unwrap(),
        t("[::1]:9464", "")
    );
    for bad in ["https://host", "host:9464", "http://", "http://u:p@host"] {
        assert!(Target::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(
        pulse_path("", Some("a&b c"), "markdown"),
        "/pulse?format=markdown&team=a%26b+c"
    );
    assert_eq!(pulse_path("/vp", None, "json"), "/vp/pulse?format=json");
}

#[test]
fn chunked_and_plain_bodies_are_read_whole() {
    let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";
    assert_eq!(parse_response(plain).unwrap(), (200, "hello".into()));
    let chunked = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    assert_eq!(parse_response(chunked).unwrap(), (404, "abcde".into()));
    assert!(parse_response(b"garbage").is_err());
}

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
        String::from_utf8(req).unwrap()
    });
    (addr, h)
}

#[test]
fn the_body_of_a_200_is_returned_and_the_request_carries_basic_auth() {
    let (addr, h) = serve_once("HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\n# Pulse\n");
    let target = Target::parse(&format!("http://{addr}")).unwrap();
    let body = get(&target, "/pulse?format=markdown", Some("ops:secret")).unwrap();
    assert_eq!(body, "# Pulse\n");
    let req = h.join().unwrap();
    assert!(
        req.starts_with("GET /pulse?format=markdown HTTP/1.1\r\n"),
        "{req}"
    );
    assert!(
        req.contains("Authorization: Basic b3BzOnNlY3JldA==\r\n"),
        "{req}"
    );
}

#[test]
fn another_status_is_an_error_with_its_body() {
    let (addr, h) =
        serve_once("HTTP/1.1 404 Not Found\r\ncontent-length: 17\r\n\r\n{\"teams\":[\"a\"]}\n\n");
    let target = Target::parse(&format!("http://{addr}")).unwrap();
    match get(&target, "/pulse?team=x", None) {
        Err(ClientError::Status { status: 404, body }) => assert_eq!(body, "{\"teams\":[\"a\"]}"),
        other => panic!("{other:?}"),
    }
    h.join().unwrap();
}
