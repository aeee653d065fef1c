//! The notifier's silences API and its view of what is muted and why, for
//! `/api/silences`, `/api/alerts` and `legalops silence`: one place that validates,
//! stamps (id, creation time from the injected clock) and stores silences, and that routes
//! alerts exactly as [`Notifier::process`] does so the API never disagrees with it.

use legalops_core::alerting::Matcher;
use legalops_core::alerting::Silence;
use legalops_core::alerting::routing::{
    MuteReason, SilenceState, route, silence_state, validate_silence,
};
use legalops_core::alerts::Alert;
use legalops_core::{Error, Result};
use serde::Serialize;
use time::OffsetDateTime;

use super::Notifier;

/// A silence with its state now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SilenceView {
    /// The silence as stored.
    #[serde(flatten)]
    pub silence: Silence,
    /// Pending, active or expired at the time of the call.
    pub state: SilenceState,
}

/// An alert the notifier leaves out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MutedAlert {
    /// The alert's fingerprint.
    pub fingerprint: String,
    /// The group it belongs to.
    pub group_key: String,
    /// The first reason found (silence, then maintenance window, then inhibition).
    pub reason: MuteReason,
}

impl Notifier {
    /// Stores a new silence with a fresh id, created now. `InvalidInput` naming the field
    /// for what [`validate_silence`] refuses, and for an `ends_at` already past (a silence
    /// that could never mute anything is a mistake, as in Alertmanager). Nothing is stored
    /// on error.
    pub async fn create_silence(
        &self,
        matchers: Vec<Matcher>,
        starts_at: OffsetDateTime,
        ends_at: OffsetDateTime,
        created_by: &str,
        comment: &str,
    ) -> Result<Silence> {
        let now = self.inner.clock.now();
        let silence = Silence {
            id: uuid::Uuid::new_v4().to_string(),
            matchers,
            starts_at,
            ends_at,
            created_by: created_by.to_owned(),
            comment: comment.to_owned(),
            created_at: now,
        };
        validate_silence(&silence)?;
        if silence.ends_at <= now {
            return Err(Error::invalid_input("ends_at", "must be in the future"));
        }
        self.inner.store.put_silence(&silence).await?;
        Ok(silence)
    }

    /// Ends silence `id` now (it stops muting at once); `NotFound` if there is none. An
    /// already expired silence keeps its end.
    pub async fn expire_silence(&self, id: &str) -> Result<Silence> {
        let now = self.inner.clock.now();
        self.inner.store.expire_silence(id, now).await
    }

    /// Every silence, newest first, with its state now.
    pub async fn silences(&self) -> Result<Vec<SilenceView>> {
        let now = self.inner.clock.now();
        Ok(self
            .inner
            .store
            .silences()
            .await?
            .into_iter()
            .map(|silence| SilenceView {
                state: silence_state(&silence, now),
                silence,
            })
            .collect())
    }

    /// Which of `alerts` are muted now, and why, routed exactly as
    /// [`process`](Notifier::process) routes them (stored silences, the configured windows
    /// and inhibition rules).
    pub async fn muted(&self, alerts: &[Alert]) -> Result<Vec<MutedAlert>> {
        let cfg = &self.inner.cfg;
        let now = self.inner.clock.now();
        let silences = self.inner.store.silences().await?;
        let groups = route(
            alerts,
            &silences,
            &cfg.windows,
            &cfg.inhibit,
            &cfg.route,
            now,
        );
        Ok(groups
            .into_iter()
            .flat_map(|g| {
                let key = g.key;
                g.muted
                    .into_iter()
                    .map(move |(fingerprint, reason)| MutedAlert {
                        fingerprint,
                        group_key: key.clone(),
                        reason,
                    })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::notifier::NotifierConfig;
    use legalops_core::ManualClock;
    use legalops_core::alerting::MatchOp;
    use legalops_core::mem::MemoryRecords;
    use std::sync::Arc;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-04 12:00 UTC);

    fn notifier() -> (Notifier, Arc<MemoryRecords>) {
        let records = Arc::new(MemoryRecords::new());
        let n = Notifier::new(
            records.clone(),
            Vec::new(),
            NotifierConfig::default(),
            Arc::new(ManualClock::new(NOW)),
            None,
        )
        .expect("valid");
        (n, records)
    }

    fn eq(name: &str, value: &str) -> Matcher {
        Matcher {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
        }
    }

    #[tokio::test]
    async fn bad_silences_are_refused_naming_the_field_and_nothing_is_stored() {
        let (n, _) = notifier();
        let hour = time::Duration::hours(1);
        let cases = [
            (vec![], NOW, NOW + hour, "alice", "why", "matchers"),
            (
                vec![eq("a", "")],
                NOW,
                NOW + hour,
                "alice",
                "why",
                "matchers",
            ),
            (vec![eq("a", "b")], NOW, NOW, "alice", "why", "ends_at"),
            (
                vec![eq("a", "b")],
                NOW - 2 * hour,
                NOW - hour,
                "alice",
                "why",
                "ends_at",
            ),
            (
                vec![eq("a", "b")],
                NOW,
                NOW + hour,
                " ",
                "why",
                "created_by",
            ),
        ];
        for (matchers, start, end, by, comment, field) in cases {
            match n.create_silence(matchers, start, end, by, comment).await {
                Err(Error::InvalidInput { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        assert!(n.silences().await.expect("list").is_empty());
    }

    #[tokio::test]
    async fn silences_report_their_state_and_expire_at_once() {
        let (n, _) = notifier();
        let hour = time::Duration::hours(1);
        let later = n
            .create_silence(
                vec![eq("a", "b")],
                NOW + hour,
                NOW + 2 * hour,
                "alice",
                "later",
            )
            .await
            .expect("pending silence");
        let now = n
            .create_silence(vec![eq("a", "b")], NOW, NOW + hour, "bob", "now")
            .await
            .expect("active silence");
        assert_ne!(later.id, now.id);
        let state = |views: &[SilenceView], id: &str| {
            views.iter().find(|v| v.silence.id == id).map(|v| v.state)
        };
        let views = n.silences().await.expect("list");
        assert_eq!(state(&views, &later.id), Some(SilenceState::Pending));
        assert_eq!(state(&views, &now.id), Some(SilenceState::Active));
        n.expire_silence(&now.id).await.expect("expire");
        let views = n.silences().await.expect("list");
        assert_eq!(state(&views, &now.id), Some(SilenceState::Expired));
        assert!(matches!(
            n.expire_silence("no-such-id").await,
            Err(Error::NotFound { .. })
        ));
        let json = serde_json::to_value(&views[0]).expect("json");
        assert!(json.get("state").is_some() && json.get("createdBy").is_some());
    }
}
