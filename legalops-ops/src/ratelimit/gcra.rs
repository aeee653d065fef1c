//! The generic cell rate algorithm (GCRA) on one key, as pure arithmetic over nanoseconds.
//!
//! A key keeps one number, its theoretical arrival time (TAT): when the key would be back
//! to full capacity. A request is allowed when taking one more emission interval `T` would
//! not put the TAT more than `burst * T` ahead of now. Unlike fixed windows there is no
//! edge where two bursts meet, and the wait for the next allowed request is exact.
//!
//! Written here rather than taken from `governor` (the workspace's first choice): governor
//! takes an injected clock cleanly, but keeps each key's TAT relative to the instant its
//! limiter was built, fixes the quota per limiter and keeps the TAT private. DoS mode must
//! change every quota at once without forgetting who is in debt, the `RateLimit` header
//! needs the exact time to full capacity (the TAT), and the key cap must evict the keys
//! closest to fresh (smallest TAT): all three need the TAT as an absolute, readable time.

/// A quota as GCRA sees it: the emission interval and the burst, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cell {
    /// Nanoseconds each request costs (`60 s / per_minute`).
    pub interval: i128,
    /// How many requests a fresh key may make at once (>= 1).
    pub burst: u32,
}

/// What one request did to one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Whether the request conforms.
    pub allowed: bool,
    /// The TAT to store (unchanged when refused).
    pub tat: i128,
    /// Requests a caller could still make right now.
    pub remaining: u32,
    /// Nanoseconds until the key is back to full capacity.
    pub reset_after: i128,
    /// Nanoseconds until a request would be allowed (0 when allowed).
    pub retry_after: i128,
}

impl Cell {
    /// A cell of `per_minute` requests per minute with bursts of `burst` (both >= 1; the
    /// caller validates, and zero is clamped to one rather than divided by).
    pub fn per_minute(per_minute: u32, burst: u32) -> Self {
        const MINUTE: i128 = 60_000_000_000;
        Self {
            interval: MINUTE / i128::from(per_minute.max(1)),
            burst: burst.max(1),
        }
    }

    fn capacity(self) -> i128 {
        self.interval * i128::from(self.burst)
    }

    /// Judges one request at `now` against the stored TAT (`None` for a fresh key).
    pub fn check(self, tat: Option<i128>, now: i128) -> Outcome {
        let tat = tat.map_or(now, |t| t.max(now));
        let next = tat + self.interval;
        if next - now <= self.capacity() {
            Outcome {
                allowed: true,
                tat: next,
                remaining: self.remaining(next - now),
                reset_after: next - now,
                retry_after: 0,
            }
        } else {
            Outcome {
                allowed: false,
                tat,
                remaining: 0,
                reset_after: tat - now,
                retry_after: next - self.capacity() - now,
            }
        }
    }

    fn remaining(self, debt: i128) -> u32 {
        let free = (self.capacity() - debt) / self.interval;
        u32::try_from(free.clamp(0, i128::from(self.burst))).unwrap_or(self.burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SEC: i128 = 1_000_000_000;

    #[test]
    fn five_per_minute_allows_five_then_waits_twelve_seconds() {
        let cell = Cell::per_minute(5, 5);
        let mut tat = None;
        for left in (0..5).rev() {
            let o = cell.check(tat, 0);
            assert!(o.allowed);
            assert_eq!(o.remaining, left);
            tat = Some(o.tat);
        }
        let refused = cell.check(tat, 0);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, 12 * SEC);
        assert_eq!(refused.reset_after, 60 * SEC);
        assert!(!cell.check(tat, 12 * SEC - 1).allowed);
        assert!(cell.check(tat, 12 * SEC).allowed);
    }

    #[test]
    fn an_idle_key_is_back_to_full_burst() {
        let cell = Cell::per_minute(5, 5);
        let o = cell.check(Some(1_000 * SEC), 2_000 * SEC);
        assert!(o.allowed);
        assert_eq!(o.remaining, 4);
    }

    proptest! {
        // The GCRA bound: between any two allowed requests at times a <= b, at most
        // `burst + floor((b - a) / T)` requests are allowed (both ends included). With
        // burst = per_minute this is why no window of under a minute ever sees two full
        // bursts, wherever the minute boundaries fall.
        #[test]
        fn allowed_requests_never_exceed_burst_plus_rate(
            per_minute in 1u32..200,
            burst in 1u32..50,
            gaps in proptest::collection::vec(0i128..20 * SEC, 1..300),
        ) {
            let cell = Cell::per_minute(per_minute, burst);
            let mut tat = None;
            let mut now = 0;
            let mut allowed = Vec::new();
            for gap in gaps {
                now += gap;
                let o = cell.check(tat, now);
                if o.allowed {
                    allowed.push(now);
                    tat = Some(o.tat);
                }
            }
            for (i, a) in allowed.iter().enumerate() {
                for (j, b) in allowed.iter().enumerate().skip(i) {
                    let n = (j - i + 1) as i128;
                    prop_assert!(n <= i128::from(burst) + (b - a) / cell.interval,
                        "{n} allowed in {} ns", b - a);
                }
            }
        }

        // Retry-after is exact: waiting exactly that long is allowed, a nanosecond less is not.
        #[test]
        fn retry_after_is_exact(
            per_minute in 1u32..200,
            burst in 1u32..20,
            gaps in proptest::collection::vec(0i128..5 * SEC, 1..100),
        ) {
            let cell = Cell::per_minute(per_minute, burst);
            let mut tat = None;
            let mut now = 0;
            for gap in gaps {
                now += gap;
                let o = cell.check(tat, now);
                if o.allowed {
                    tat = Some(o.tat);
                } else {
                    prop_assert!(o.retry_after > 0);
                    prop_assert!(!cell.check(tat, now + o.retry_after - 1).allowed);
                    prop_assert!(cell.check(tat, now + o.retry_after).allowed);
                }
            }
        }
    }
}
