//! [`ClamdScanner`]: uploads checked by a ClamAV daemon over its TCP protocol, for operators
//! who run ClamAV. It answers only "malware or not"; put it behind the built-in scanner in a
//! [`ChainScanner`](super::ChainScanner) so that size, type and name rules apply first and
//! the stored name and type come from the built-in scanner.
//!
//! Protocol (clamd(8)): `zINSTREAM\0`, then chunks each prefixed by its length as a 4-byte
//! big-endian integer, then a zero-length chunk; the reply ends with `\0` and is
//! `stream: OK`, `stream: <signature> FOUND` or `<message> ERROR`. `zPING\0` answers
//! `PONG`. One connection per command: clamd closes it after the reply.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use legalops_core::scan::{Accepted, Refusal, Scanner, Upload, Verdict};
use legalops_core::{Error, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The default connect and read timeouts.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes per INSTREAM chunk (clamd's own clients send 8 KiB to 64 KiB).
const CHUNK: usize = 64 * 1024;
/// A reply longer than this is not clamd.
const MAX_REPLY: usize = 4096;

/// A ClamAV daemon reached over TCP.
#[derive(Debug, Clone)]
pub struct ClamdScanner {
    url: String,
    address: String,
    connect_timeout: Duration,
    read_timeout: Duration,
    chunk_size: usize,
}

impl ClamdScanner {
    /// A scanner for `tcp://host:port` (an IPv6 host in brackets). `InvalidConfig` naming
    /// `scan.clamd_url` for any other form. Nothing is contacted until the first scan or
    /// [`Scanner::healthcheck`].
    pub fn from_url(url: &str) -> Result<Self> {
        let bad = |m: &str| Error::invalid_config("scan.clamd_url", m.to_owned());
        let rest = url
            .strip_prefix("tcp://")
            .ok_or_else(|| bad("must be tcp://host:port (only clamd's TCP socket is supported)"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| bad("must name a port: tcp://host:port"))?;
        let port_ok = port.parse::<u16>().is_ok_and(|p| p != 0);
        let host_ok = !host.is_empty()
            && !host.contains(['/', '?', '#', '@', ' '])
            && (host.starts_with('[') == host.ends_with(']'))
            && (host.starts_with('[') || !host.contains(':'));
        if !port_ok || !host_ok {
            return Err(bad("must be tcp://host:port with a port from 1 to 65535"));
        }
        Ok(Self {
            url: format!("tcp://{host}:{port}"),
            address: format!("{host}:{port}"),
            connect_timeout: DEFAULT_TIMEOUT,
            read_timeout: DEFAULT_TIMEOUT,
            chunk_size: CHUNK,
        })
    }

    /// The same scanner with other timeouts: `connect` for the TCP connection, `read` for
    /// the whole exchange after it (sending the upload and reading the verdict).
    pub fn with_timeouts(self, connect: Duration, read: Duration) -> Self {
        Self {
            connect_timeout: connect,
            read_timeout: read,
            ..self
        }
    }

    /// The same scanner sending chunks of at most `bytes` (at least 1).
    pub fn with_chunk_size(self, bytes: usize) -> Self {
        Self {
            chunk_size: bytes.max(1),
            ..self
        }
    }

    fn backend(&self, retryable: bool, e: impl Into<legalops_core::BoxError>) -> Error {
        Error::backend(self.to_string(), retryable, e)
    }

    async fn connect(&self) -> Result<TcpStream> {
        match tokio::time::timeout(self.connect_timeout, TcpStream::connect(&self.address)).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(e)) => Err(self.backend(true, e)),
            Err(_) => Err(Error::Timeout {
                operation: format!("connecting to {self}"),
                after: self.connect_timeout,
            }),
        }
    }

    /// Sends `command` (and, for INSTREAM, `body`) and returns clamd's reply text.
    async fn exchange(&self, command: &[u8], body: Option<&[u8]>) -> Result<String> {
        let mut stream = self.connect().await?;
        let talk = async {
            let sent = send(&mut stream, command, body, self.chunk_size).await;
            // clamd answers (e.g. "size limit exceeded") and closes while we still write:
            // its reply is the better error, so read it even after a failed write.
            let reply = read_reply(&mut stream).await;
            match (sent, reply) {
                (_, Ok(r)) if !r.is_empty() => Ok(r),
                (Err(e), _) | (Ok(()), Err(e)) => Err(self.backend(true, e)),
                (Ok(()), Ok(_)) => Err(self.backend(true, "clamd closed without a reply")),
            }
        };
        match tokio::time::timeout(self.read_timeout, talk).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout {
                operation: format!("waiting for {self}"),
                after: self.read_timeout,
            }),
        }
    }
}

async fn send(
    stream: &mut TcpStream,
    command: &[u8],
    body: Option<&[u8]>,
    chunk_size: usize,
) -> std::io::Result<()> {
    stream.write_all(command).await?;
    if let Some(body) = body {
        for chunk in body.chunks(chunk_size) {
            let len = u32::try_from(chunk.len()).map_err(std::io::Error::other)?;
            stream.write_all(&len.to_be_bytes()).await?;
            stream.write_all(chunk).await?;
        }
        stream.write_all(&[0, 0, 0, 0]).await?;
    }
    stream.flush().await
}

async fn read_reply(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut reply = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buf[..n]);
        if reply.contains(&0) || reply.len() > MAX_REPLY {
            break;
        }
    }
    let end = reply.iter().position(|b| *b == 0).unwrap_or(reply.len());
    Ok(String::from_utf8_lossy(&reply[..end.min(MAX_REPLY)])
        .trim()
        .to_owned())
}

/// What a reply to INSTREAM means: `Ok(None)` clean, `Ok(Some(signature))` malware,
/// `Err(reply)` a clamd error or something that is not clamd.
pub(crate) fn parse_reply(reply: &str) -> std::result::Result<Option<String>, String> {
    let reply = reply.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    let body = reply.strip_prefix("stream:").map(str::trim);
    match body {
        Some("OK") => Ok(None),
        Some(b) if b.ends_with(" FOUND") => {
            let sig = b.trim_end_matches(" FOUND").trim();
            // The name comes from outside and ends up in API answers: printable, bounded.
            let sig: String = sig
                .chars()
                .filter(|c| (' '..='~').contains(c))
                .take(200)
                .collect();
            Ok(Some(if sig.is_empty() {
                "unknown".to_owned()
            } else {
                sig
            }))
        }
        _ => Err(reply
            .chars()
            .filter(|c| (' '..='~').contains(c))
            .take(200)
            .collect()),
    }
}

/// A name safe to store when clamd is used alone: the last path segment, with anything
/// but letters, digits, `.`, `-` and `_` replaced. The built-in scanner does better.
fn plain_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base
        .chars()
        .take(200)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim_start_matches('.').to_owned();
    if clean.is_empty() {
        "upload".to_owned()
    } else {
        clean
    }
}

impl fmt::Display for ClamdScanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "clamd {}", self.url)
    }
}

#[async_trait]
impl Scanner for ClamdScanner {
    async fn scan(&self, upload: &Upload<'_>) -> Result<Verdict> {
        let reply = self.exchange(b"zINSTREAM\0", Some(upload.bytes)).await?;
        match parse_reply(&reply) {
            Ok(None) => Ok(Ok(Accepted {
                media_type: "application/octet-stream".to_owned(),
                file_name: plain_name(upload.file_name),
            })),
            Ok(Some(signature)) => Ok(Err(Refusal::Malware(signature))),
            Err(message) => Err(self.backend(false, format!("clamd answered: {message}"))),
        }
    }

    async fn healthcheck(&self) -> Result<()> {
        let reply = self.exchange(b"zPING\0", None).await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(self.backend(false, "clamd did not answer PING with PONG"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_url_accepts_tcp_host_port_only() {
        for ok in [
            "tcp://127.0.0.1:3310",
            "tcp://clamav:3310/",
            "tcp://[::1]:3310",
        ] {
            let s = ClamdScanner::from_url(ok).expect(ok);
            assert!(s.to_string().starts_with("clamd tcp://"), "{s}");
        }
        for bad in [
            "unix:///run/clamd.sock",
            "127.0.0.1:3310",
            "tcp://127.0.0.1",
            "tcp://127.0.0.1:0",
            "tcp://127.0.0.1:99999",
            "tcp://:3310",
            "tcp://::1:3310",
            "tcp://user@host:3310",
        ] {
            let e = ClamdScanner::from_url(bad).expect_err(bad);
            assert_eq!(e.kind(), "invalid_config", "{bad}");
            assert!(e.to_string().contains("scan.clamd_url"), "{e}");
        }
    }

    #[test]
    fn replies_are_read_as_clean_malware_or_error() {
        assert_eq!(parse_reply("stream: OK\0"), Ok(None));
        assert_eq!(
            parse_reply("stream: Eicar-Test-Signature FOUND"),
            Ok(Some("Eicar-Test-Signature".to_owned()))
        );
        assert_eq!(
            parse_reply("stream: \u{1b}[31mX FOUND"),
            Ok(Some("[31mX".to_owned()))
        );
        assert!(parse_reply("INSTREAM size limit exceeded. ERROR").is_err());
        assert!(parse_reply("HTTP/1.1 400 Bad Request").is_err());
        assert!(parse_reply("").is_err());
    }

    #[test]
    fn names_lose_paths_and_odd_characters() {
        assert_eq!(plain_name("../../etc/passwd"), "passwd");
        assert_eq!(plain_name("C:\\x\\my file (1).pdf"), "my_file__1_.pdf");
        assert_eq!(plain_name(".."), "upload");
        assert_eq!(plain_name(""), "upload");
    }
}
