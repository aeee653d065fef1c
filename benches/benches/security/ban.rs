//! The first figure: time from the fifth failed login to the block decision, per fresh
//! attacking address, through the whole router over in-memory records and SQLite.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use legalops::core::identity::Role;
use legalops::core::{Clock, ManualClock, SystemClock};
use legalops::ops::audit::RequestMeta;
use legalops::ops::identity::Argon2Params;
use legalops::server::Platform;

use super::{bench_ip, fast_config, median, percentile, send};

const PW: &str = "Corr3ct-Horse-Battery!";
/// Between two attempts from one address: past the auth rate limit's 12 s emission
/// interval (5/min per IP), so that only the ban rule decides.
const SPACING: Duration = Duration::from_secs(13);

fn login_request(email: &str, password: &str) -> Request<Body> {
    let body = format!(r#"{{"email":"{email}","password":"{password}"}}"#);
    Request::post("/api/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::USER_AGENT, "bench-attacker/1.0")
        .body(Body::from(body))
        .expect("a valid request")
}

/// A platform under test with its manual clock (the tempdir must outlive it).
struct Backend {
    name: &'static str,
    platform: Platform,
    app: Router,
    clock: ManualClock,
}

async fn backend(name: &'static str, dir: &std::path::Path, sqlite: bool) -> Backend {
    let clock = ManualClock::new(SystemClock.now());
    let mut config = fast_config(dir);
    let builder = if sqlite {
        let url = format!("sqlite://{}", dir.join("bench.db").display());
        config.database_url = Some(url);
        config.documents_url = Some("memory://".to_owned());
        Platform::builder(config)
    } else {
        Platform::in_memory(config)
    };
    let (platform, _) = builder
        .clock(Arc::new(clock.clone()))
        .build()
        .await
        .expect("platform");
    let app = platform.router();
    Backend {
        name,
        platform,
        app,
        clock,
    }
}

/// How one attacking address spreads its attempts.
#[derive(Clone, Copy)]
enum Attack {
    /// Every attempt against one real account (brute force): the account locks at its
    /// fifth failure, so the sixth is refused by the lockout before any password check.
    OneAccount,
    /// Each attempt against another (unknown) account (credential stuffing): the sixth is
    /// a password check against the dummy hash, then the failure is recorded.
    NewAccountEach,
}

/// One attack from a fresh address `n`: five failures untimed, then the time of the sixth
/// (which creates the block) and of the seventh (refused by the blocklist), and whether
/// the sixth was refused by the account lockout.
async fn attack(b: &Backend, n: usize, shape: Attack) -> (Duration, Duration, bool) {
    let ip = bench_ip(0, 2 * n + 1 + shape as usize);
    let victim = format!("victim{n}@example.test");
    if let Attack::OneAccount = shape {
        b.platform
            .identity()
            .register(&victim, PW, "Victim", Role::Customer, &RequestMeta::new(ip))
            .await
            .expect("register the victim");
    }
    // Wrong passwords of their own per address and attempt, so that the password
    // spraying detector never fires and only the ban rule is measured.
    let request = |attempt: usize| match shape {
        Attack::OneAccount => login_request(&victim, &format!("Wr0ng-{n}-Password!")),
        Attack::NewAccountEach => login_request(
            &format!("user{n}-{attempt}@example.test"),
            &format!("Wr0ng-{n}-{attempt}-Password!"),
        ),
    };
    for attempt in 1..=5 {
        b.clock.advance(SPACING);
        let (status, _, text) = send(&b.app, ip, request(attempt)).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}: {text}"
        );
    }
    b.clock.advance(SPACING);
    let (status, sixth, sixth_text) = send(&b.app, ip, request(6)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "sixth attempt: {sixth_text}"
    );
    assert!(
        b.platform.security().check_ip(ip).is_some(),
        "the sixth failure blocks {ip} on {}",
        b.name
    );
    b.clock.advance(SPACING);
    let (status, seventh, text) = send(&b.app, ip, request(7)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "seventh attempt: {text}");
    (
        sixth,
        seventh,
        sixth_text.contains("too many failed logins"),
    )
}

fn micros(d: &[Duration]) -> Vec<f64> {
    d.iter().map(|d| d.as_secs_f64() * 1e6).collect()
}

/// OWASP-cost (19 MiB, 2 passes) argon2id verifications of a correct password, in us.
fn owasp_verify_micros(n: usize) -> Vec<f64> {
    use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
    let p = Argon2Params::OWASP;
    let params = Params::new(p.memory_kib, p.iterations, p.parallelism, None)
        .expect("OWASP parameters are valid");
    let hash = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(PW.as_bytes())
        .expect("hash")
        .to_string();
    (0..n)
        .map(|_| {
            let start = Instant::now();
            // As the login path does: the PHC string carries its own parameters.
            Argon2::default()
                .verify_password(PW.as_bytes(), hash.as_str())
                .expect("the password matches");
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect()
}

/// Sixth-attempt times, seventh-request times, sixth attempts refused by the lockout.
type Samples = (Vec<Duration>, Vec<Duration>, usize);

/// Measures and prints the time to the block decision and the OWASP verify for context.
pub(crate) async fn time_to_block(rounds: usize, ips: usize) {
    let (mem_dir, sql_dir) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let backends = [
        backend("in-memory", mem_dir.path(), false).await,
        backend("SQLite (temp file)", sql_dir.path(), true).await,
    ];
    let shapes = [
        (Attack::OneAccount, "one account"),
        (Attack::NewAccountEach, "new account each"),
    ];
    // One untimed attack of each shape (the dummy hash, prepared statements, metrics).
    for b in &backends {
        for (shape, _) in shapes {
            attack(b, 0, shape).await;
        }
    }
    let mut samples: Vec<[Samples; 2]> = backends.iter().map(|_| Default::default()).collect();
    let mut n = 1;
    for _ in 0..rounds {
        for _ in 0..ips {
            for (b, per_shape) in backends.iter().zip(&mut samples) {
                for ((shape, _), s) in shapes.iter().zip(per_shape.iter_mut()) {
                    let (sixth, seventh, via_lockout) = attack(b, n, *shape).await;
                    s.0.push(sixth);
                    s.1.push(seventh);
                    s.2 += usize::from(via_lockout);
                }
            }
            n += 1;
        }
    }
    println!(
        "security bench: time from the fifth failed login to the block decision \
         ({rounds} rounds x {ips} fresh addresses per backend and attack, interleaved; \
         in-process router)"
    );
    println!(
        "  argon2 at test cost (64 KiB, 1 pass): the figures are the security path, not \
         password hashing"
    );
    for (b, per_shape) in backends.iter().zip(samples) {
        println!("  {}", b.name);
        for ((_, label), (sixth, seventh, via_lockout)) in shapes.iter().zip(per_shape) {
            let (sixth, seventh) = (micros(&sixth), micros(&seventh));
            println!(
                "    {label:<17} 6th failure (creates the block): median {:>7.1} us, p95 {:>7.1} us \
                 ({via_lockout}/{} refused by the account lockout, no password check)",
                median(sixth.clone()),
                percentile(&sixth, 0.95),
                sixth.len()
            );
            println!(
                "    {:<17} 7th request (403, blocklist):    median {:>7.1} us, p95 {:>7.1} us",
                "",
                median(seventh.clone()),
                percentile(&seventh, 0.95)
            );
        }
    }
    let verify = owasp_verify_micros(rounds.clamp(1, 7));
    println!(
        "  for context, one argon2id verify at the default (OWASP) cost alone: median {:.1} us",
        median(verify)
    );
}
