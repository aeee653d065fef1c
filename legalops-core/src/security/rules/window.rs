//! Bounded sliding-window state per key, for the suspicious-activity detectors: how many
//! distinct values a key showed in the last window ([`DistinctCounter`]) and when a key's
//! recent events happened ([`EventWindow`]).
//!
//! Memory is bounded whatever the traffic: at most `max_keys` keys (the least recently seen
//! is evicted first) and at most `max_values` values or events per key (the oldest goes).
//! Keys idle for a whole window are dropped on the next call, so state, such as a password
//! spraying tag, is held for the window only. Each also remembers when its key last fired
//! a finding, so that a finding fires once per key per window, not on every further event.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::Hash;
use std::time::Duration;

use time::OffsetDateTime;

use super::{minus, plus};

/// Per-key state with least-recently-touched eviction and idle expiry.
#[derive(Debug, Clone)]
struct Keyed<K, S> {
    slots: HashMap<K, Slot<S>>,
    /// Touch sequence -> key, oldest first: finds the eviction victim in O(log n).
    order: BTreeMap<u64, K>,
    next_seq: u64,
    window: Duration,
    max_keys: usize,
}

#[derive(Debug, Clone)]
struct Slot<S> {
    seq: u64,
    touched: OffsetDateTime,
    fired_at: Option<OffsetDateTime>,
    state: S,
}

impl<K: Hash + Eq + Clone, S: Default> Keyed<K, S> {
    fn new(window: Duration, max_keys: usize) -> Self {
        Self {
            slots: HashMap::new(),
            order: BTreeMap::new(),
            next_seq: 0,
            window,
            max_keys: max_keys.max(1),
        }
    }

    /// Drops keys idle since before the window. Touch order follows `now` when time only
    /// moves forward; with a clock stepped back, expiry is merely late, never wrong.
    fn expire(&mut self, now: OffsetDateTime) {
        let horizon = minus(now, self.window);
        while let Some((_, key)) = self.order.first_key_value() {
            match self.slots.get(key) {
                Some(slot) if slot.touched >= horizon => break,
                _ => {
                    if let Some((_, key)) = self.order.pop_first() {
                        self.slots.remove(&key);
                    }
                }
            }
        }
    }

    /// The slot of `key`, created (evicting the least recently touched key if full) and
    /// marked touched at `now`.
    fn touch(&mut self, key: &K, now: OffsetDateTime) -> &mut Slot<S> {
        self.expire(now);
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(slot) = self.slots.get(key) {
            self.order.remove(&slot.seq);
        } else if self.slots.len() >= self.max_keys
            && let Some((_, victim)) = self.order.pop_first()
        {
            self.slots.remove(&victim);
        }
        self.order.insert(seq, key.clone());
        let slot = self.slots.entry(key.clone()).or_insert_with(|| Slot {
            seq,
            touched: now,
            fired_at: None,
            state: S::default(),
        });
        slot.seq = seq;
        slot.touched = slot.touched.max(now);
        slot
    }

    fn len(&self) -> usize {
        self.slots.len()
    }
}

impl<S> Slot<S> {
    /// Whether a finding may fire now (none fired within the window), and if so marks it.
    fn fire_once(&mut self, now: OffsetDateTime, window: Duration) -> bool {
        if self.fired_at.is_some_and(|at| now < plus(at, window)) {
            return false;
        }
        self.fired_at = Some(now);
        true
    }
}

/// Counts distinct values `V` per key `K` within a sliding window, and reports once per
/// window when a key passes a threshold.
#[derive(Debug, Clone)]
pub struct DistinctCounter<K, V> {
    keys: Keyed<K, VecDeque<(V, OffsetDateTime)>>,
    threshold: u64,
    max_values: usize,
}

impl<K: Hash + Eq + Clone, V: PartialEq> DistinctCounter<K, V> {
    /// A counter over `window` that reports a key with **more than** `threshold` distinct
    /// values, keeping at most `max_keys` keys and `max_values` values per key (so counts
    /// are capped at `max_values`: keep it above `threshold`).
    pub fn new(window: Duration, threshold: u64, max_keys: usize, max_values: usize) -> Self {
        Self {
            keys: Keyed::new(window, max_keys),
            threshold,
            max_values: max_values.max(1),
        }
    }

    /// Records that `key` showed `value` at `now`. Returns the distinct count when it is
    /// past the threshold and the key has not been reported within the window.
    pub fn observe(&mut self, key: &K, value: V, now: OffsetDateTime) -> Option<u64> {
        let window = self.keys.window;
        let horizon = minus(now, window);
        let max_values = self.max_values;
        let slot = self.keys.touch(key, now);
        let values = &mut slot.state;
        values.retain(|(_, seen)| *seen >= horizon);
        if let Some(pos) = values.iter().position(|(v, _)| *v == value) {
            values.remove(pos);
        }
        if values.len() >= max_values {
            values.pop_front();
        }
        values.push_back((value, now));
        let count = values.len() as u64;
        (count > self.threshold && slot.fire_once(now, window)).then_some(count)
    }

    /// Distinct values of `key` within the window ending at `now`.
    pub fn count(&self, key: &K, now: OffsetDateTime) -> u64 {
        let horizon = minus(now, self.keys.window);
        self.keys.slots.get(key).map_or(0, |s| {
            s.state.iter().filter(|(_, seen)| *seen >= horizon).count() as u64
        })
    }

    /// How many keys are held.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.keys.len() == 0
    }

    /// Drops everything older than the window (also done on every `observe`).
    pub fn prune(&mut self, now: OffsetDateTime) {
        self.keys.expire(now);
    }
}

/// The times of each key's most recent events within a sliding window.
#[derive(Debug, Clone)]
pub struct EventWindow<K> {
    keys: Keyed<K, VecDeque<OffsetDateTime>>,
    max_events: usize,
}

impl<K: Hash + Eq + Clone> EventWindow<K> {
    /// A window of `window` keeping at most `max_keys` keys and the last `max_events`
    /// events per key.
    pub fn new(window: Duration, max_keys: usize, max_events: usize) -> Self {
        Self {
            keys: Keyed::new(window, max_keys),
            max_events: max_events.max(1),
        }
    }

    /// Records an event of `key` at `now` and returns the key's events in the window (at
    /// most `max_events`, oldest first).
    pub fn observe(&mut self, key: &K, now: OffsetDateTime) -> &VecDeque<OffsetDateTime> {
        let horizon = minus(now, self.keys.window);
        let max_events = self.max_events;
        let slot = self.keys.touch(key, now);
        let events = &mut slot.state;
        while events.front().is_some_and(|t| *t < horizon) {
            events.pop_front();
        }
        if events.len() >= max_events {
            events.pop_front();
        }
        events.push_back(now);
        &slot.state
    }

    /// Marks a finding for `key` at `now`; false if one already fired within the window (or
    /// the key is unknown).
    pub fn fire(&mut self, key: &K, now: OffsetDateTime) -> bool {
        let window = self.keys.window;
        self.keys
            .slots
            .get_mut(key)
            .is_some_and(|slot| slot.fire_once(now, window))
    }

    /// How many keys are held.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.keys.len() == 0
    }

    /// Drops keys idle for the whole window.
    pub fn prune(&mut self, now: OffsetDateTime) {
        self.keys.expire(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-05-01 09:00 UTC);
    const WINDOW: Duration = Duration::from_secs(600);

    fn at(secs: i64) -> OffsetDateTime {
        T0 + time::Duration::seconds(secs)
    }

    #[test]
    fn reports_past_the_threshold_once_per_window() {
        let mut c = DistinctCounter::new(WINDOW, 3, 100, 16);
        let fired: Vec<Option<u64>> = (0..6)
            .map(|i| c.observe(&"ip", i, at(i64::from(i))))
            .collect();
        assert_eq!(fired, vec![None, None, None, Some(4), None, None]);
        // A repeated value is not a new distinct one.
        assert_eq!(c.count(&"ip", at(6)), 6);
        assert_eq!(c.observe(&"ip", 5, at(7)), None);
        assert_eq!(c.count(&"ip", at(7)), 6);
        // A window after the report, the old values are gone: it takes 4 fresh ones again.
        let later = 3 + 600;
        let fired: Vec<Option<u64>> = (10..14)
            .map(|i| c.observe(&"ip", i, at(later + i64::from(i))))
            .collect();
        assert_eq!(fired, vec![None, None, None, Some(4)]);
    }

    #[test]
    fn values_leave_the_window() {
        let mut c = DistinctCounter::new(WINDOW, 10, 100, 16);
        c.observe(&1u8, "a", at(0));
        c.observe(&1u8, "b", at(300));
        assert_eq!(c.count(&1, at(599)), 2);
        assert_eq!(c.count(&1, at(601)), 1);
        assert_eq!(c.count(&1, at(901)), 0);
    }

    #[test]
    fn a_flood_of_distinct_keys_and_values_stays_bounded() {
        let mut c = DistinctCounter::new(WINDOW, 5, 1000, 16);
        for i in 0..50_000u32 {
            c.observe(&i, i, at(0));
            c.observe(&7, i, at(0));
        }
        assert!(c.len() <= 1000);
        assert_eq!(c.count(&7, at(0)), 16, "values per key capped");
        let mut w = EventWindow::new(WINDOW, 1000, 8);
        for i in 0..50_000u32 {
            w.observe(&i, at(0));
        }
        assert!(w.len() <= 1000);
        assert_eq!(w.observe(&1, at(1)).len(), 1);
        for _ in 0..100 {
            w.observe(&2, at(2));
        }
        assert_eq!(w.observe(&2, at(3)).len(), 8, "events per key capped");
    }

    #[test]
    fn idle_keys_are_dropped_after_the_window() {
        let mut c = DistinctCounter::new(WINDOW, 5, 1000, 16);
        c.observe(&[9u8; 32], 1, at(0));
        c.observe(&[8u8; 32], 1, at(100));
        c.prune(at(650));
        assert_eq!(c.len(), 1);
        c.observe(&[7u8; 32], 1, at(800));
        assert_eq!(c.len(), 1, "expired on the next observe, too");
    }

    #[test]
    fn event_window_counts_recent_events_and_fires_once() {
        let mut w = EventWindow::new(WINDOW, 10, 100);
        for s in [0, 100, 200] {
            w.observe(&"ip", at(s));
        }
        // The window is inclusive, like the store's `at >= since`: 100 is in at 700.
        assert_eq!(w.observe(&"ip", at(700)).len(), 3);
        assert_eq!(
            w.observe(&"ip", at(701)).len(),
            3,
            "0 and 100 left, 700 and 701 came"
        );
        assert!(w.fire(&"ip", at(701)));
        assert!(!w.fire(&"ip", at(1300)));
        assert!(w.fire(&"ip", at(1301)));
        assert!(!w.fire(&"unknown", at(0)));
    }

    proptest! {
        #[test]
        fn memory_bound_holds_for_any_traffic(
            events in proptest::collection::vec((0u16..500, 0u16..500, 0i64..5000), 0..400),
            max_keys in 1usize..20,
            max_values in 1usize..20,
        ) {
            let mut c = DistinctCounter::new(WINDOW, 3, max_keys, max_values);
            let mut sorted = events;
            sorted.sort_by_key(|e| e.2);
            for (k, v, t) in sorted {
                c.observe(&k, v, at(t));
                prop_assert!(c.len() <= max_keys);
                prop_assert!(c.count(&k, at(t)) <= max_values as u64);
            }
        }
    }
}
