//! `ClamdScanner` against a fake clamd started inside the test on 127.0.0.1:0: it parses
//! INSTREAM chunks like the real daemon and answers FOUND for the EICAR test string.
//! (A real ClamAV cannot run offline: its signature database is a download.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use legalops_core::scan::builtin::BuiltinScanner;
use legalops_core::scan::{Refusal, Scanner, Upload};
use legalops_ops::scan::{ChainScanner, ClamdScanner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// Built from two halves so that this source file is not itself flagged by a virus scanner.
fn eicar() -> Vec<u8> {
    let mut s = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-".to_vec();
    s.extend_from_slice(b"ANTIVIRUS-TEST-FILE!$H+H*");
    s
}

/// A "signature" only the fake clamd knows, to show what clamd adds behind the built-in
/// scanner (which knows EICAR itself).
const MARKER: &[u8] = b"LEGALOPS-FAKE-CLAMD-MARKER";

#[derive(Debug, Clone, Copy)]
enum Mode {
    Normal,
    /// Answers `... ERROR` past this many bytes, as clamd does past StreamMaxLength.
    Limit(usize),
    /// Accepts and never answers.
    Silent,
}

struct Fake {
    url: String,
    chunks: Arc<AtomicUsize>,
}

async fn fake_clamd(mode: Mode) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let url = format!("tcp://{}", listener.local_addr().expect("bound"));
    let chunks = Arc::new(AtomicUsize::new(0));
    let counter = chunks.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve(socket, mode, counter.clone()));
        }
    });
    Fake { url, chunks }
}

async fn serve(mut socket: TcpStream, mode: Mode, chunks: Arc<AtomicUsize>) {
    let mut command = Vec::new();
    let mut byte = [0u8; 1];
    while socket.read_exact(&mut byte).await.is_ok() && byte[0] != 0 {
        command.push(byte[0]);
    }
    if let Mode::Silent = mode {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        return;
    }
    let reply: &[u8] = match command.as_slice() {
        b"zPING" => b"PONG\0",
        b"zINSTREAM" => {
            let mut stream = Vec::new();
            loop {
                let mut len = [0u8; 4];
                if socket.read_exact(&mut len).await.is_err() {
                    return;
                }
                let len = u32::from_be_bytes(len) as usize;
                if len == 0 {
                    break;
                }
                chunks.fetch_add(1, Ordering::Relaxed);
                let start = stream.len();
                stream.resize(start + len, 0);
                if socket.read_exact(&mut stream[start..]).await.is_err() {
                    return;
                }
                if let Mode::Limit(max) = mode
                    && stream.len() > max
                {
                    let _ = socket
                        .write_all(b"INSTREAM size limit exceeded. ERROR\0")
                        .await;
                    return;
                }
            }
            if stream.windows(eicar().len()).any(|w| w == eicar()) {
                b"stream: Eicar-Test-Signature FOUND\0"
            } else if stream.windows(MARKER.len()).any(|w| w == MARKER) {
                b"stream: Legalops.Test.Marker FOUND\0"
            } else {
                b"stream: OK\0"
            }
        }
        _ => b"UNKNOWN COMMAND\0",
    };
    let _ = socket.write_all(reply).await;
}

fn upload(bytes: &[u8]) -> Upload<'_> {
    Upload {
        file_name: "../letter.pdf",
        declared_type: Some("application/pdf"),
        bytes,
    }
}

#[tokio::test]
async fn clean_stream_is_accepted_in_chunks() {
    let fake = fake_clamd(Mode::Normal).await;
    let clamd = ClamdScanner::from_url(&fake.url)
        .expect("valid url")
        .with_chunk_size(4);
    let v = clamd
        .scan(&upload(b"%PDF-1.7 hello"))
        .await
        .expect("clamd answers");
    let accepted = v.expect("clean");
    assert_eq!(accepted.file_name, "letter.pdf");
    assert_eq!(
        fake.chunks.load(Ordering::Relaxed),
        4,
        "14 bytes in 4-byte chunks"
    );
}

#[tokio::test]
async fn eicar_is_refused_as_malware_even_across_chunk_boundaries() {
    let fake = fake_clamd(Mode::Normal).await;
    let clamd = ClamdScanner::from_url(&fake.url)
        .expect("valid url")
        .with_chunk_size(7);
    let mut body = b"prefix ".to_vec();
    body.extend(eicar());
    let v = clamd.scan(&upload(&body)).await.expect("clamd answers");
    assert_eq!(v, Err(Refusal::Malware("Eicar-Test-Signature".into())));
}

#[tokio::test]
async fn clamd_error_is_a_backend_failure() {
    let fake = fake_clamd(Mode::Limit(16)).await;
    let clamd = ClamdScanner::from_url(&fake.url)
        .expect("valid url")
        .with_chunk_size(8);
    let e = clamd
        .scan(&upload(&[b'a'; 4096]))
        .await
        .expect_err("too big for clamd");
    assert_eq!(e.kind(), "backend");
    assert!(e.to_string().contains("size limit exceeded"), "{e}");
}

#[tokio::test]
async fn ping_pong_is_the_healthcheck() {
    let fake = fake_clamd(Mode::Normal).await;
    let clamd = ClamdScanner::from_url(&fake.url).expect("valid url");
    clamd.healthcheck().await.expect("PONG");
}

#[tokio::test]
async fn unreachable_clamd_fails_health_and_scans() {
    // Bind then drop: a port on which nothing listens.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
        .local_addr()
        .expect("bound")
        .port();
    let clamd = ClamdScanner::from_url(&format!("tcp://127.0.0.1:{port}")).expect("valid url");
    assert_eq!(
        clamd.healthcheck().await.expect_err("down").kind(),
        "backend"
    );
    assert!(clamd.scan(&upload(b"x")).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn a_silent_clamd_times_out() {
    let fake = fake_clamd(Mode::Silent).await;
    let clamd = ClamdScanner::from_url(&fake.url)
        .expect("valid url")
        .with_timeouts(Duration::from_secs(10), Duration::from_secs(10));
    // Paused time: the runtime jumps to the deadline instead of the test waiting for it.
    let e = clamd.scan(&upload(b"x")).await.expect_err("no answer");
    assert_eq!(e.kind(), "timeout");
}

#[tokio::test]
async fn chain_puts_clamd_behind_another_scanner() {
    let fake = fake_clamd(Mode::Normal).await;
    let clamd: Arc<dyn Scanner> = Arc::new(ClamdScanner::from_url(&fake.url).expect("valid url"));
    let chain = ChainScanner::new(vec![clamd.clone(), clamd]).expect("non-empty");
    assert_eq!(
        chain.to_string(),
        format!("chain(clamd {0}, clamd {0})", fake.url)
    );
    let v = chain.scan(&upload(&eicar())).await.expect("answers");
    assert!(matches!(v, Err(Refusal::Malware(_))));
    assert_eq!(
        fake.chunks.load(Ordering::Relaxed),
        1,
        "the second scanner never ran"
    );
}

#[tokio::test]
async fn builtin_first_then_clamd() {
    let fake = fake_clamd(Mode::Normal).await;
    let chain = ChainScanner::new(vec![
        Arc::new(BuiltinScanner::default()),
        Arc::new(ClamdScanner::from_url(&fake.url).expect("valid url")),
    ])
    .expect("non-empty");
    let pdf = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n".to_vec();

    let accepted = chain
        .scan(&upload(&pdf))
        .await
        .expect("answers")
        .expect("clean pdf");
    assert_eq!(
        accepted.media_type, "application/pdf",
        "the built-in scanner's sniffed type"
    );
    assert_eq!(fake.chunks.load(Ordering::Relaxed), 1, "clamd saw it");

    // What only clamd knows is refused by clamd.
    let mut marked = pdf.clone();
    marked.extend_from_slice(MARKER);
    let v = chain.scan(&upload(&marked)).await.expect("answers");
    assert_eq!(v, Err(Refusal::Malware("Legalops.Test.Marker".into())));
    assert_eq!(fake.chunks.load(Ordering::Relaxed), 2);

    // What the built-in scanner refuses never reaches clamd.
    let mut exe = b"MZ\x90\x00".to_vec();
    exe.extend_from_slice(&[0; 64]);
    let v = chain.scan(&upload(&exe)).await.expect("answers");
    assert!(v.is_err(), "a renamed executable is refused: {v:?}");
    let v = chain.scan(&upload(&eicar())).await.expect("answers");
    assert!(matches!(v, Err(Refusal::Malware(_))), "{v:?}");
    assert_eq!(
        fake.chunks.load(Ordering::Relaxed),
        2,
        "clamd was not asked again"
    );
}
