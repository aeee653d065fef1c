//! Upload scanners over network services, and their composition: [`ClamdScanner`] (a
//! ClamAV daemon) and [`ChainScanner`] (several scanners, all of which must accept).
//!
//! The usual set-up puts the built-in scanner of `legalops-core` first (size, type sniffing,
//! executables, EICAR, file names) and clamd after it:
//! `ChainScanner::new(vec![Arc::new(BuiltinScanner::default()), Arc::new(clamd)])`.

mod clamd;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use legalops_core::scan::{Scanner, Upload, Verdict};
use legalops_core::{Error, Result};

pub use clamd::{ClamdScanner, DEFAULT_TIMEOUT};

/// Scanners run in order: the first refusal wins (later scanners never see a refused
/// upload), an acceptance needs every scanner to accept, and the acceptance returned is the
/// first scanner's (put the built-in scanner first: its sniffed type and sanitised name are
/// what gets stored). A scanner failure is the chain's failure, which callers treat as a
/// refusal.
#[derive(Debug, Clone)]
pub struct ChainScanner {
    scanners: Vec<Arc<dyn Scanner>>,
}

impl ChainScanner {
    /// A chain of `scanners`, in order; `InvalidConfig` if empty (an empty chain would
    /// accept everything).
    pub fn new(scanners: Vec<Arc<dyn Scanner>>) -> Result<Self> {
        if scanners.is_empty() {
            return Err(Error::invalid_config(
                "scan.scanners",
                "a scanner chain needs at least one scanner",
            ));
        }
        Ok(Self { scanners })
    }

    /// The scanners, in order.
    pub fn scanners(&self) -> &[Arc<dyn Scanner>] {
        &self.scanners
    }
}

impl fmt::Display for ChainScanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("chain(")?;
        for (i, s) in self.scanners.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{s}")?;
        }
        f.write_str(")")
    }
}

#[async_trait]
impl Scanner for ChainScanner {
    async fn scan(&self, upload: &Upload<'_>) -> Result<Verdict> {
        let mut first = None;
        for scanner in &self.scanners {
            match scanner.scan(upload).await? {
                Err(refusal) => return Ok(Err(refusal)),
                Ok(accepted) => {
                    first.get_or_insert(accepted);
                }
            }
        }
        first.map(Ok).ok_or_else(|| {
            // `new` refuses an empty chain, so every path above set `first`.
            Error::invalid_config(
                "scan.scanners",
                "a scanner chain needs at least one scanner",
            )
        })
    }

    async fn healthcheck(&self) -> Result<()> {
        for scanner in &self.scanners {
            scanner.healthcheck().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::scan::{Accepted, Refusal};
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug)]
    struct Fixed {
        name: &'static str,
        verdict: std::result::Result<Verdict, ()>,
        calls: AtomicUsize,
    }

    fn fixed(name: &'static str, verdict: std::result::Result<Verdict, ()>) -> Arc<Fixed> {
        Arc::new(Fixed {
            name,
            verdict,
            calls: AtomicUsize::new(0),
        })
    }

    fn ok(media_type: &str) -> std::result::Result<Verdict, ()> {
        Ok(Ok(Accepted {
            media_type: media_type.into(),
            file_name: "a.pdf".into(),
        }))
    }

    impl fmt::Display for Fixed {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.name)
        }
    }

    #[async_trait]
    impl Scanner for Fixed {
        async fn scan(&self, _upload: &Upload<'_>) -> Result<Verdict> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            self.verdict
                .clone()
                .map_err(|()| Error::backend(self.name, true, "down"))
        }

        async fn healthcheck(&self) -> Result<()> {
            self.verdict
                .clone()
                .map(|_| ())
                .map_err(|()| Error::backend(self.name, true, "down"))
        }
    }

    const UPLOAD: Upload<'static> = Upload {
        file_name: "a.pdf",
        declared_type: Some("application/pdf"),
        bytes: b"%PDF-1.7",
    };

    #[tokio::test]
    async fn acceptance_needs_all_and_keeps_the_first_scanners_answer() {
        let chain = ChainScanner::new(vec![
            fixed("builtin", ok("application/pdf")),
            fixed("clamd", ok("application/octet-stream")),
        ])
        .expect("non-empty");
        let v = chain.scan(&UPLOAD).await.expect("no failure");
        assert_eq!(v.expect("accepted").media_type, "application/pdf");
        assert_eq!(chain.to_string(), "chain(builtin, clamd)");
        chain.healthcheck().await.expect("all healthy");
    }

    #[tokio::test]
    async fn first_refusal_wins_and_later_scanners_are_not_asked() {
        let later = fixed("clamd", ok("application/octet-stream"));
        let chain = ChainScanner::new(vec![
            fixed("builtin", Ok(Err(Refusal::Executable("PE header".into())))),
            later.clone(),
        ])
        .expect("non-empty");
        let v = chain.scan(&UPLOAD).await.expect("no failure");
        assert!(matches!(v, Err(Refusal::Executable(_))));
        assert_eq!(later.calls.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_failing_scanner_fails_the_chain() {
        let chain = ChainScanner::new(vec![
            fixed("builtin", ok("image/png")),
            fixed("clamd", Err(())),
        ])
        .expect("non-empty");
        let e = chain.scan(&UPLOAD).await.expect_err("clamd down");
        assert_eq!(e.kind(), "backend");
        assert!(chain.healthcheck().await.is_err());
    }

    #[test]
    fn an_empty_chain_is_refused() {
        let e = ChainScanner::new(vec![]).expect_err("empty");
        assert_eq!(e.kind(), "invalid_config");
    }
}
