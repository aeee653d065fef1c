//! Silences (Alertmanager semantics): which state a silence is in at an instant, what makes
//! one acceptable, and which active silence mutes a given alert.
//!
//! A silence is active on `[starts_at, ends_at)`: expiring one "now" (`ends_at = now`)
//! takes effect at once. (Alertmanager counts `ends_at` itself as active; the half-open
//! interval avoids a silence that is expired in the API but still mutes for an instant.)

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::matchers::{CompiledMatchers, compile};
use crate::alerting::Silence;
use crate::error::{Error, Result};
use crate::metrics::Labels;

/// The most matchers a silence may have.
pub const MAX_SILENCE_MATCHERS: usize = 64;
/// The longest `created_by` accepted (bytes).
pub const MAX_CREATED_BY: usize = 256;
/// The longest `comment` accepted (bytes).
pub const MAX_COMMENT: usize = 4096;

/// Where a silence is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SilenceState {
    /// Before `starts_at`: not muting yet.
    Pending,
    /// Between `starts_at` (included) and `ends_at` (excluded): muting.
    Active,
    /// From `ends_at` on: kept for the record, muting nothing.
    Expired,
}

/// The state of `s` at `now`.
pub fn silence_state(s: &Silence, now: OffsetDateTime) -> SilenceState {
    if now < s.starts_at {
        SilenceState::Pending
    } else if now < s.ends_at {
        SilenceState::Active
    } else {
        SilenceState::Expired
    }
}

/// Checks a silence before it is stored: at least one matcher and at most
/// [`MAX_SILENCE_MATCHERS`], every matcher valid (label name, regex), at least one matcher
/// that does not match the empty string (otherwise it would mute every alert — the rule
/// Alertmanager enforces), `ends_at` after `starts_at`, and `created_by` and `comment`
/// non-blank and bounded. The error names the field.
pub fn validate_silence(s: &Silence) -> Result<()> {
    if s.matchers.is_empty() {
        return Err(Error::invalid_input(
            "matchers",
            "at least one matcher is required",
        ));
    }
    if s.matchers.len() > MAX_SILENCE_MATCHERS {
        return Err(Error::invalid_input(
            "matchers",
            format!("at most {MAX_SILENCE_MATCHERS} matchers"),
        ));
    }
    let compiled = compile(&s.matchers)?;
    if !compiled.rejects_empty() {
        return Err(Error::invalid_input(
            "matchers",
            "at least one matcher must not match the empty string (this silence would mute every alert)",
        ));
    }
    if s.ends_at <= s.starts_at {
        return Err(Error::invalid_input("ends_at", "must be after starts_at"));
    }
    bounded_text("created_by", &s.created_by, MAX_CREATED_BY)?;
    bounded_text("comment", &s.comment, MAX_COMMENT)?;
    Ok(())
}

fn bounded_text(field: &str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid_input(field, "must not be empty"));
    }
    if value.len() > max {
        return Err(Error::invalid_input(
            field,
            format!("must be at most {max} bytes"),
        ));
    }
    Ok(())
}

/// The first silence in `silences` that is active at `now` and whose matchers all match
/// `labels`. A silence whose matchers do not compile (it could not have been stored through
/// [`validate_silence`]) mutes nothing.
pub fn silenced_by<'a>(
    labels: &Labels,
    silences: &'a [Silence],
    now: OffsetDateTime,
) -> Option<&'a Silence> {
    silences.iter().find(|s| {
        silence_state(s, now) == SilenceState::Active
            && compile(&s.matchers).is_ok_and(|c| c.matches(labels))
    })
}

/// Active silences with their matchers compiled once, for routing many alerts.
pub(super) struct ActiveSilences<'a> {
    silences: Vec<(&'a Silence, CompiledMatchers)>,
}

impl<'a> ActiveSilences<'a> {
    pub(super) fn new(silences: &'a [Silence], now: OffsetDateTime) -> Self {
        let silences = silences
            .iter()
            .filter(|s| silence_state(s, now) == SilenceState::Active)
            .filter_map(|s| compile(&s.matchers).ok().map(|c| (s, c)))
            .collect();
        Self { silences }
    }

    pub(super) fn find(&self, labels: &Labels) -> Option<&'a Silence> {
        self.silences
            .iter()
            .find(|(_, c)| c.matches(labels))
            .map(|(s, _)| *s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::{MatchOp, Matcher};
    use proptest::prelude::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

    fn m(name: &str, op: MatchOp, value: &str) -> Matcher {
        Matcher {
            name: name.to_owned(),
            op,
            value: value.to_owned(),
        }
    }

    fn silence(id: &str, matchers: Vec<Matcher>, start_min: i64, end_min: i64) -> Silence {
        Silence {
            id: id.to_owned(),
            matchers,
            starts_at: T0 + time::Duration::minutes(start_min),
            ends_at: T0 + time::Duration::minutes(end_min),
            created_by: "alice".to_owned(),
            comment: "deploying the database".to_owned(),
            created_at: T0,
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn silence_is_pending_then_active_then_expired() {
        let s = silence("s", vec![m("alertname", MatchOp::Equal, "X")], 10, 70);
        let cases = [
            (-60, SilenceState::Pending),
            (9, SilenceState::Pending),
            (10, SilenceState::Active),
            (69, SilenceState::Active),
            (70, SilenceState::Expired),
            (600, SilenceState::Expired),
        ];
        for (minute, want) in cases {
            let now = T0 + time::Duration::minutes(minute);
            assert_eq!(silence_state(&s, now), want, "at +{minute} min");
        }
    }

    #[test]
    fn validation_refuses_each_broken_rule_naming_the_field() {
        let ok = silence("s", vec![m("alertname", MatchOp::Equal, "X")], 0, 60);
        validate_silence(&ok).expect("a plain silence is valid");

        let cases: Vec<(&str, Silence)> = vec![
            (
                "matchers",
                Silence {
                    matchers: vec![],
                    ..ok.clone()
                },
            ),
            (
                "matchers",
                Silence {
                    matchers: vec![m("a", MatchOp::Regex, ".*"), m("b", MatchOp::NotEqual, "x")],
                    ..ok.clone()
                },
            ),
            (
                "matchers",
                Silence {
                    matchers: (0..=MAX_SILENCE_MATCHERS)
                        .map(|i| m(&format!("l{i}"), MatchOp::Equal, "x"))
                        .collect(),
                    ..ok.clone()
                },
            ),
            (
                "matchers[1].value",
                Silence {
                    matchers: vec![m("a", MatchOp::Equal, "x"), m("b", MatchOp::Regex, "(")],
                    ..ok.clone()
                },
            ),
            (
                "ends_at",
                Silence {
                    ends_at: ok.starts_at,
                    ..ok.clone()
                },
            ),
            (
                "ends_at",
                Silence {
                    ends_at: ok.starts_at - time::Duration::seconds(1),
                    ..ok.clone()
                },
            ),
            (
                "created_by",
                Silence {
                    created_by: " ".into(),
                    ..ok.clone()
                },
            ),
            (
                "created_by",
                Silence {
                    created_by: "a".repeat(MAX_CREATED_BY + 1),
                    ..ok.clone()
                },
            ),
            (
                "comment",
                Silence {
                    comment: String::new(),
                    ..ok.clone()
                },
            ),
            (
                "comment",
                Silence {
                    comment: "c".repeat(MAX_COMMENT + 1),
                    ..ok.clone()
                },
            ),
        ];
        for (want_field, s) in cases {
            match validate_silence(&s) {
                Err(Error::InvalidInput { field, .. }) => assert_eq!(field, want_field),
                other => panic!("{want_field}: expected InvalidInput, got {other:?}"),
            }
        }
    }

    #[test]
    fn one_matcher_refusing_empty_is_enough() {
        let s = silence(
            "s",
            vec![
                m("instance", MatchOp::Regex, ".*"),
                m("alertname", MatchOp::Equal, "X"),
            ],
            0,
            60,
        );
        validate_silence(&s).expect("alertname=X refuses the empty string");
    }

    #[test]
    fn silenced_by_returns_the_first_active_matching_silence() {
        let alert = labels(&[("alertname", "DiskFull"), ("instance", "db-1")]);
        let silences = vec![
            silence(
                "future",
                vec![m("alertname", MatchOp::Equal, "DiskFull")],
                30,
                90,
            ),
            silence(
                "other",
                vec![m("alertname", MatchOp::Equal, "Cpu")],
                -10,
                60,
            ),
            silence(
                "past",
                vec![m("alertname", MatchOp::Equal, "DiskFull")],
                -90,
                -30,
            ),
            silence("db", vec![m("instance", MatchOp::Regex, "db-.*")], -10, 60),
            silence(
                "also",
                vec![m("alertname", MatchOp::Equal, "DiskFull")],
                -10,
                60,
            ),
        ];
        let hit = silenced_by(&alert, &silences, T0).map(|s| s.id.as_str());
        assert_eq!(hit, Some("db"));
        assert_eq!(
            ActiveSilences::new(&silences, T0)
                .find(&alert)
                .map(|s| s.id.as_str()),
            Some("db")
        );
        // Before any is active, and after all ended, nothing mutes.
        let early = T0 - time::Duration::minutes(20);
        assert!(silenced_by(&alert, &silences[3..], early).is_none());
        let late = T0 + time::Duration::hours(2);
        assert!(silenced_by(&alert, &silences, late).is_none());
        let unrelated = labels(&[("alertname", "Latency")]);
        assert!(silenced_by(&unrelated, &silences, T0).is_none());
    }

    proptest! {
        #[test]
        fn silence_ending_at_or_before_its_start_is_always_refused(start in -10_000i64..10_000, back in 0i64..10_000) {
            let mut s = silence("s", vec![m("alertname", MatchOp::Equal, "X")], 0, 1);
            s.starts_at = T0 + time::Duration::seconds(start);
            s.ends_at = s.starts_at - time::Duration::seconds(back);
            let refused_on_ends_at = matches!(
                validate_silence(&s),
                Err(Error::InvalidInput { ref field, .. }) if field == "ends_at"
            );
            prop_assert!(refused_on_ends_at);
        }

        #[test]
        fn an_expired_or_pending_silence_never_mutes(offset in -100_000i64..100_000) {
            let s = silence("s", vec![m("alertname", MatchOp::Equal, "X")], 0, 60);
            let now = T0 + time::Duration::seconds(offset);
            let muted = silenced_by(&labels(&[("alertname", "X")]), std::slice::from_ref(&s), now).is_some();
            prop_assert_eq!(muted, silence_state(&s, now) == SilenceState::Active);
        }
    }
}
