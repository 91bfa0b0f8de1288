//! A small TCP proxy for network faults, in the test process: it listens
//! on the address the broker's `PROXIED` listener advertises and forwards
//! to that listener, so a client that bootstraps through it reaches the
//! broker only through it (metadata names the proxy as the broker).
//!
//! Faults, switched at any time with [`Proxy::set`]:
//! - [`Fault::Latency`]: each chunk waits before it is forwarded;
//! - [`Fault::Bandwidth`]: at most so many bytes per second each way;
//! - [`Fault::Reset`]: every open connection is closed and new ones are
//!   closed at once, until the fault is cleared;
//! - [`Fault::Blackhole`]: connections stay open but nothing moves: the
//!   proxy stops reading, as when a partition drops every packet and TCP
//!   keeps retransmitting; when the fault clears, the held bytes flow on.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What the proxy does to traffic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Forward as is.
    None,
    /// Delay every chunk.
    Latency(Duration),
    /// Cap each direction of each connection, bytes per second.
    Bandwidth(u64),
    /// Close every connection, refuse new ones.
    Reset,
    /// Accept and keep connections, move nothing (stop reading).
    Blackhole,
}

struct Shared {
    fault: Mutex<Fault>,
    /// Bumped by `Reset`: pumps of an older generation close.
    generation: AtomicU64,
    stop: AtomicBool,
    /// Bytes forwarded, both directions.
    forwarded: AtomicU64,
    /// Connections accepted.
    accepted: AtomicU64,
}

/// The running proxy; stops on drop.
pub struct Proxy {
    shared: Arc<Shared>,
    /// Address it listens on.
    pub addr: String,
}

impl Proxy {
    /// Listens on `listen` and forwards to `upstream`.
    pub fn start(listen: &str, upstream: &str) -> Self {
        let listener =
            TcpListener::bind(listen).unwrap_or_else(|e| panic!("proxy bind {listen}: {e}"));
        listener.set_nonblocking(true).unwrap();
        let shared = Arc::new(Shared {
            fault: Mutex::new(Fault::None),
            generation: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            forwarded: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
        });
        let s = shared.clone();
        let upstream = upstream.to_owned();
        thread::spawn(move || {
            while !s.stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        s.accepted.fetch_add(1, Ordering::Relaxed);
                        if *s.fault.lock().unwrap() == Fault::Reset {
                            let _ = client.shutdown(Shutdown::Both);
                            continue;
                        }
                        let Ok(server) = TcpStream::connect(&upstream) else {
                            let _ = client.shutdown(Shutdown::Both);
                            continue;
                        };
                        let generation = s.generation.load(Ordering::Relaxed);
                        pump(
                            &s,
                            generation,
                            client.try_clone().unwrap(),
                            server.try_clone().unwrap(),
                        );
                        pump(&s, generation, server, client);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Self {
            shared,
            addr: listen.to_owned(),
        }
    }

    /// Switches the fault; `Reset` closes every open connection now.
    pub fn set(&self, fault: Fault) {
        *self.shared.fault.lock().unwrap() = fault;
        if fault == Fault::Reset {
            self.shared.generation.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Bytes forwarded so far.
    pub fn forwarded(&self) -> u64 {
        self.shared.forwarded.load(Ordering::Relaxed)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.generation.fetch_add(1, Ordering::Relaxed);
    }
}

/// Copies `from` → `to` on a thread of its own, applying the fault.
fn pump(shared: &Arc<Shared>, generation: u64, mut from: TcpStream, mut to: TcpStream) {
    let s = shared.clone();
    thread::spawn(move || {
        from.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            if s.stop.load(Ordering::Relaxed) || s.generation.load(Ordering::Relaxed) != generation
            {
                break;
            }
            let fault = *s.fault.lock().unwrap();
            if fault == Fault::Blackhole {
                thread::sleep(Duration::from_millis(50));
                continue;
            }
            let limit = match fault {
                Fault::Bandwidth(bps) => ((bps / 20).max(1) as usize).min(buf.len()),
                _ => buf.len(),
            };
            match from.read(&mut buf[..limit]) {
                Ok(0) => break,
                Ok(n) => {
                    match fault {
                        Fault::Latency(d) => thread::sleep(d),
                        Fault::Bandwidth(bps) => {
                            thread::sleep(Duration::from_secs_f64(n as f64 / bps as f64));
                        }
                        Fault::None | Fault::Reset | Fault::Blackhole => {}
                    }
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    s.forwarded.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => break,
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}
