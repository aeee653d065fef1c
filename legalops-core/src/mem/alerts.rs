//! [`MemoryChannel`]: an alert channel that keeps what it was sent, for the dashboard's
//! recent-notifications view and as a receiver in engines' tests (including a failing one,
//! to prove that one broken channel does not block the others).

use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{NAME, injected_failure, lock};
use crate::alerts::{AlertChannel, Notification};
use crate::error::Result;

#[derive(Debug, Default)]
struct Inner {
    sent: VecDeque<Notification>,
    fail_next: u32,
    failed: u64,
}

/// An [`AlertChannel`] that records delivered notifications, newest last, keeping the
/// last `capacity`.
#[derive(Debug)]
pub struct MemoryChannel {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl Default for MemoryChannel {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryChannel {
    /// How many notifications a channel keeps by default: enough for a dashboard, bounded
    /// so that a noisy alert cannot grow memory without limit.
    pub const DEFAULT_CAPACITY: usize = 1000;

    /// A channel keeping the last [`Self::DEFAULT_CAPACITY`] notifications.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A channel keeping the last `capacity` notifications (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
        }
    }

    /// The notifications delivered so far, oldest first (at most the capacity).
    pub fn sent(&self) -> Vec<Notification> {
        lock(&self.inner).sent.iter().cloned().collect()
    }

    /// Makes the next `n` sends fail with a retryable `Backend` error and record nothing.
    pub fn fail_next(&self, n: u32) {
        lock(&self.inner).fail_next = n;
    }

    /// How many sends have failed (injected failures).
    pub fn failed(&self) -> u64 {
        lock(&self.inner).failed
    }

    /// Forgets every recorded notification.
    pub fn clear(&self) {
        lock(&self.inner).sent.clear();
    }
}

impl fmt::Display for MemoryChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(NAME)
    }
}

#[async_trait]
impl AlertChannel for MemoryChannel {
    async fn send(&self, notification: &Notification) -> Result<()> {
        let mut inner = lock(&self.inner);
        if inner.fail_next > 0 {
            inner.fail_next -= 1;
            inner.failed += 1;
            return Err(injected_failure());
        }
        if inner.sent.len() == self.capacity {
            inner.sent.pop_front();
        }
        inner.sent.push_back(notification.clone());
        Ok(())
    }

    async fn healthcheck(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::mem::block_on;
    use crate::metrics::Labels;

    fn note(group: &str) -> Notification {
        Notification::new("ops", group, Labels::new(), "http://localhost", Vec::new())
    }

    #[test]
    fn fail_next_fails_exactly_that_many_sends_and_records_none_of_them() {
        let ch = MemoryChannel::new();
        ch.fail_next(2);
        for _ in 0..2 {
            let r = block_on(ch.send(&note("a")));
            assert!(
                matches!(r, Err(ref e @ Error::Backend { .. }) if e.is_retryable()),
                "{r:?}"
            );
        }
        assert!(block_on(ch.send(&note("b"))).is_ok());
        assert_eq!(ch.failed(), 2);
        let groups: Vec<String> = ch.sent().into_iter().map(|n| n.group_key).collect();
        assert_eq!(groups, ["b"]);
    }

    #[test]
    fn keeps_only_the_newest_up_to_capacity() {
        let ch = MemoryChannel::with_capacity(3);
        for i in 0..5 {
            assert!(block_on(ch.send(&note(&format!("g{i}")))).is_ok());
        }
        let groups: Vec<String> = ch.sent().into_iter().map(|n| n.group_key).collect();
        assert_eq!(groups, ["g2", "g3", "g4"]);
        ch.clear();
        assert!(ch.sent().is_empty());
    }
}
