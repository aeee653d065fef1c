//! Retries for the network alert channels: exponential backoff on 429, 5xx and connection
//! failures, honouring `Retry-After`, final on anything else.
//!
//! Design: each network channel retries inside its own `send` (the `AlertChannel` contract
//! says the error a channel returns is final), through [`RetryPolicy::run`]. The attempts a
//! `send` made are counted in a task-local scope that [`deliver`] opens, so the notifier can
//! write `Delivery.attempts` without the trait carrying a count: `deliver(&*channel, &n)`
//! returns the outcome and the attempts, and [`deliver_within`] does the same under the
//! channel's deadline. Sleeping goes through `tokio::time::sleep`, so tests
//! run the backoff under paused time.

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

use legalops_core::Result;
use legalops_core::alerts::{AlertChannel, Notification};
use legalops_core::error::Error;

tokio::task_local! {
    /// Attempts made inside the current [`deliver`] scope.
    static ATTEMPTS: Cell<u32>;
}

/// How often and how patiently a channel retries one notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub attempts: u32,
    /// Wait after the first failure; doubles after each further failure.
    pub base: Duration,
    /// Longest wait between two attempts. A `Retry-After` longer than this ends the
    /// retries at once with `RateLimited`, so that a channel never outwaits its deadline.
    pub max: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, 0.5 s doubling, capped at 10 s (design: "Channels").
    fn default() -> Self {
        Self {
            attempts: 4,
            base: Duration::from_millis(500),
            max: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retries.
    pub fn none() -> Self {
        Self {
            attempts: 1,
            ..Self::default()
        }
    }

    /// The wait after the `failures`-th failed attempt (1-based): `base * 2^(failures-1)`,
    /// at most `max`.
    pub fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.base
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// Runs `op` until it succeeds, fails for good, or the attempts run out; returns the
    /// last outcome and the number of attempts made. `op` gets the attempt number (1-based).
    ///
    /// Retried: `RateLimited` (waiting at least its `retry_after`), `Timeout` and retryable
    /// `Backend` errors, i.e. [`Error::is_retryable`]. A `RateLimited` without a known delay
    /// (`retry_after` zero) is reported with the backoff that would have followed.
    pub async fn run<T, F, Fut>(&self, mut op: F) -> (Result<T>, u32)
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let attempts = self.attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            count_attempt();
            let err = match op(attempt).await {
                Ok(v) => return (Ok(v), attempt),
                Err(e) => e,
            };
            let backoff = self.backoff(attempt);
            let wait = match &err {
                Error::RateLimited { retry_after } if *retry_after > self.max => {
                    return (Err(err), attempt);
                }
                Error::RateLimited { retry_after } => backoff.max(*retry_after),
                e if e.is_retryable() => backoff,
                _ => return (Err(err), attempt),
            };
            if attempt >= attempts {
                let err = match err {
                    Error::RateLimited { retry_after } if retry_after.is_zero() => {
                        Error::RateLimited {
                            retry_after: backoff,
                        }
                    }
                    e => e,
                };
                return (Err(err), attempt);
            }
            tokio::time::sleep(wait).await;
        }
    }
}

fn count_attempt() {
    // Outside a `deliver` scope nobody is counting; that is not an error.
    let _ = ATTEMPTS.try_with(|c| c.set(c.get().saturating_add(1)));
}

/// Sends `notification` through `channel` and returns the outcome with the number of
/// attempts made, for `Delivery.attempts`. Network channels count each try of their retry
/// loop; a channel that does not retry (log, memory) counts as one attempt.
pub async fn deliver(channel: &dyn AlertChannel, notification: &Notification) -> (Result<()>, u32) {
    ATTEMPTS
        .scope(Cell::new(0), async {
            let result = channel.send(notification).await;
            let attempts = ATTEMPTS.try_with(Cell::get).unwrap_or(0);
            (result, attempts.max(1))
        })
        .await
}

/// [`deliver`] under a deadline: a send still running after `deadline` is dropped and
/// reported as `Timeout`, with the attempts it had made by then, so that a slow channel
/// neither delays the others nor loses its count.
pub async fn deliver_within(
    channel: &dyn AlertChannel,
    notification: &Notification,
    deadline: Duration,
) -> (Result<()>, u32) {
    ATTEMPTS
        .scope(Cell::new(0), async {
            let result = tokio::time::timeout(deadline, channel.send(notification))
                .await
                .unwrap_or_else(|_| {
                    Err(Error::Timeout {
                        operation: format!("delivery to {channel}"),
                        after: deadline,
                    })
                });
            let attempts = ATTEMPTS.try_with(Cell::get).unwrap_or(0);
            (result, attempts.max(1))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tokio::time::Instant;

    fn retryable() -> Error {
        Error::backend("test", true, "HTTP 503")
    }

    /// Runs `policy` over a scripted sequence of outcomes; returns (outcome, attempts, wait).
    async fn script(policy: RetryPolicy, outcomes: Vec<Result<u8>>) -> (Result<u8>, u32, Duration) {
        let outcomes = Mutex::new(outcomes.into_iter());
        let start = Instant::now();
        let (r, n) = policy
            .run(|_| {
                let next = outcomes
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .next()
                    .unwrap_or(Ok(0));
                async move { next }
            })
            .await;
        (r, n, start.elapsed())
    }

    #[test]
    fn backoff_doubles_from_base_and_stops_at_max() {
        let p = RetryPolicy::default();
        let waits: Vec<_> = (1..=7).map(|f| p.backoff(f).as_millis()).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
        assert_eq!(p.backoff(u32::MAX), p.max);
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_with_backoff_until_success() {
        let (r, n, waited) = script(
            RetryPolicy::default(),
            vec![Err(retryable()), Err(retryable()), Ok(7)],
        )
        .await;
        assert_eq!(r.ok(), Some(7));
        assert_eq!(n, 3);
        assert_eq!(waited, Duration::from_millis(1500));
    }

    #[tokio::test(start_paused = true)]
    async fn a_final_error_is_not_retried() {
        let final_err = Error::backend("test", false, "HTTP 400");
        let (r, n, waited) = script(RetryPolicy::default(), vec![Err(final_err)]).await;
        assert!(matches!(
            r,
            Err(Error::Backend {
                retryable: false,
                ..
            })
        ));
        assert_eq!((n, waited), (1, Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_run_out_after_the_policy_count() {
        let errs = (0..10).map(|_| Err(retryable())).collect();
        let (r, n, waited) = script(RetryPolicy::default(), errs).await;
        assert!(matches!(
            r,
            Err(Error::Backend {
                retryable: true,
                ..
            })
        ));
        assert_eq!(n, 4);
        assert_eq!(waited, Duration::from_millis(500 + 1000 + 2000));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_and_a_longer_one_than_max_ends_at_once() {
        let limited = |s| Error::RateLimited {
            retry_after: Duration::from_secs(s),
        };
        let (r, n, waited) = script(RetryPolicy::default(), vec![Err(limited(3)), Ok(1)]).await;
        assert_eq!((r.ok(), n, waited), (Some(1), 2, Duration::from_secs(3)));
        let (r, n, waited) = script(RetryPolicy::default(), vec![Err(limited(60))]).await;
        assert!(
            matches!(r, Err(Error::RateLimited { retry_after }) if retry_after.as_secs() == 60)
        );
        assert_eq!((n, waited), (1, Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unknown_retry_after_is_reported_as_the_next_backoff() {
        let unknown = || {
            Err(Error::RateLimited {
                retry_after: Duration::ZERO,
            })
        };
        let policy = RetryPolicy {
            attempts: 2,
            ..RetryPolicy::default()
        };
        let (r, n, _) = script(policy, vec![unknown(), unknown()]).await;
        assert_eq!(n, 2);
        assert!(
            matches!(r, Err(Error::RateLimited { retry_after }) if retry_after == Duration::from_secs(1))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn deliver_counts_the_attempts_of_the_send_and_one_for_a_plain_channel() {
        #[derive(Debug)]
        struct Flaky;
        impl std::fmt::Display for Flaky {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("flaky")
            }
        }
        #[async_trait::async_trait]
        impl AlertChannel for Flaky {
            async fn send(&self, _: &Notification) -> Result<()> {
                let mut left = 2;
                RetryPolicy::default()
                    .run(|_| {
                        left -= 1;
                        let r = if left > 0 { Err(retryable()) } else { Ok(()) };
                        async move { r }
                    })
                    .await
                    .0
            }
            async fn healthcheck(&self) -> Result<()> {
                Ok(())
            }
        }
        let n = Notification::new("r", "g", Default::default(), "", vec![]);
        let (r, attempts) = deliver(&Flaky, &n).await;
        assert!(r.is_ok());
        assert_eq!(attempts, 2);
        let (r, attempts) = deliver(&crate::channels::LogChannel, &n).await;
        assert!(r.is_ok());
        assert_eq!(attempts, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_cuts_a_retrying_send_short_and_keeps_its_attempt_count() {
        #[derive(Debug)]
        struct Down;
        impl std::fmt::Display for Down {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("down")
            }
        }
        #[async_trait::async_trait]
        impl AlertChannel for Down {
            async fn send(&self, _: &Notification) -> Result<()> {
                let policy = RetryPolicy {
                    attempts: 10,
                    ..RetryPolicy::default()
                };
                policy.run(|_| async { Err(retryable()) }).await.0
            }
            async fn healthcheck(&self) -> Result<()> {
                Ok(())
            }
        }
        let n = Notification::new("r", "g", Default::default(), "", vec![]);
        let start = Instant::now();
        // Attempts at 0, 0.5 s, 1.5 s; the next would be at 3.5 s.
        let (r, attempts) = deliver_within(&Down, &n, Duration::from_secs(2)).await;
        assert!(
            matches!(r, Err(Error::Timeout { ref operation, .. }) if operation == "delivery to down")
        );
        assert_eq!(attempts, 3);
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }
}
