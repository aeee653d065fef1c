//! Leases over sqlx: at most one holder of a named lease across replicas.
//!
//! Taking a lease is ONE statement, an upsert whose update only applies when the lease has
//! expired or is already ours; `RETURNING` yields a row exactly when the write happened.
//! Both databases decide a conflicting insert atomically (PostgreSQL locks the existing row
//! and re-checks the condition against its newest version; SQLite has one writer), so two
//! replicas racing for a free lease never both succeed. Works on SQLite >= 3.35
//! (`RETURNING`; sqlx bundles a newer one) and any supported PostgreSQL.

use std::time::Duration;

use legalops_core::{Error, Result};
use time::OffsetDateTime;

/// `$1` name, `$2` holder, `$3` new expiry, `$4` now: expired means `expires_at <= now`.
pub(crate) const ACQUIRE_LEASE: &str = "INSERT INTO leases (name, holder, expires_at) \
     VALUES ($1, $2, $3) \
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
     expires_at = excluded.expires_at \
     WHERE leases.expires_at <= $4 OR leases.holder = excluded.holder \
     RETURNING holder";

pub(crate) const RELEASE_LEASE: &str = "DELETE FROM leases WHERE name = $1 AND holder = $2";

pub(crate) const GET_LEASE: &str = "SELECT holder, expires_at FROM leases WHERE name = $1";

/// `now + ttl`, or `InvalidInput` naming `ttl` when that is past the end of time.
pub(crate) fn lease_expiry(now: OffsetDateTime, ttl: Duration) -> Result<OffsetDateTime> {
    time::Duration::try_from(ttl)
        .ok()
        .and_then(|ttl| now.checked_add(ttl))
        .ok_or_else(|| Error::invalid_input("ttl", format!("{ttl:?} from {now} is out of range")))
}

/// Implements `LeaseStore` for a backend type with `pool` and `inst` fields.
macro_rules! impl_leases {
    ($ty:ty) => {
        #[async_trait::async_trait]
        impl legalops_core::alerting::LeaseStore for $ty {
            async fn try_acquire(
                &self,
                name: &str,
                holder: &str,
                ttl: std::time::Duration,
                now: time::OffsetDateTime,
            ) -> legalops_core::Result<bool> {
                use $crate::sql::codec::micros;
                let expires = $crate::sql::alerting::lease_expiry(now, ttl)?;
                // Stored instants are whole microseconds, so `expires_at <= now` holds
                // exactly when it holds against `now` rounded down.
                let q = sqlx::query_scalar::<_, String>($crate::sql::alerting::ACQUIRE_LEASE)
                    .bind(name)
                    .bind(holder)
                    .bind(micros(expires))
                    .bind(micros(now))
                    .fetch_optional(&self.pool);
                let got = self.inst.run("leases.try_acquire", q).await?;
                Ok(got.is_some_and(|h| h == holder))
            }

            async fn release(&self, name: &str, holder: &str) -> legalops_core::Result<()> {
                let q = sqlx::query($crate::sql::alerting::RELEASE_LEASE)
                    .bind(name)
                    .bind(holder)
                    .execute(&self.pool);
                self.inst.run("leases.release", q).await.map(drop)
            }

            async fn lease(
                &self,
                name: &str,
            ) -> legalops_core::Result<Option<(String, time::OffsetDateTime)>> {
                let q = sqlx::query_as::<_, (String, i64)>($crate::sql::alerting::GET_LEASE)
                    .bind(name)
                    .fetch_optional(&self.pool);
                match self.inst.run("leases.get", q).await? {
                    Some((holder, expires)) => {
                        let at = $crate::sql::codec::from_micros(
                            &self.inst.backend,
                            "leases.expires_at",
                            expires,
                        )?;
                        Ok(Some((holder, at)))
                    }
                    None => Ok(None),
                }
            }
        }
    };
}

pub(crate) use impl_leases;

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_ttl_past_the_end_of_time_is_refused_naming_ttl() {
        let now = datetime!(2026-01-01 0:00 UTC);
        assert_eq!(
            lease_expiry(now, Duration::from_secs(30)).ok(),
            Some(datetime!(2026-01-01 0:00:30 UTC))
        );
        for ttl in [Duration::MAX, Duration::from_secs(400 * 365 * 86_400 * 100)] {
            assert!(matches!(
                lease_expiry(now, ttl),
                Err(Error::InvalidInput { field, .. }) if field == "ttl"
            ));
        }
    }
}
