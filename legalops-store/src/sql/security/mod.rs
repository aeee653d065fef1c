//! Security state over sqlx (failed logins, blocks, lockouts, security events): the SQL,
//! written once for SQLite and PostgreSQL, the rows, and [`impl_security!`], which stamps
//! out `SecurityStore` for a backend type.
//!
//! Time bounds are exact to the microsecond: stored instants are whole microseconds, and a
//! bound `t` is compared as `col >= ceil(t)` / `col < ceil(t)` (the same truth as against
//! `t` itself) or, for "still in force" (`now < expires_at`), as `expires_at > floor(now)`.

mod rows;

pub(crate) use rows::{BlockRow, EventRow, FailedLoginRow, LockoutRow, count, source_str};

pub(crate) const INSERT_FAILED_LOGIN: &str =
    "INSERT INTO failed_logins (at, ip, account, user_agent) VALUES ($1, $2, $3, $4)";

pub(crate) const FAILED_LOGINS: &str = "SELECT at, ip, account, user_agent FROM failed_logins \
     WHERE at >= $1 ORDER BY at DESC, id DESC LIMIT $2";

pub(crate) const COUNT_FAILED_BY_IP: &str =
    "SELECT COUNT(*) FROM failed_logins WHERE ip = $1 AND at >= $2";

pub(crate) const COUNT_FAILED_BY_ACCOUNT: &str =
    "SELECT COUNT(*) FROM failed_logins WHERE account = $1 AND at >= $2";

pub(crate) const COUNT_FAILED_BY_ACCOUNT_IP: &str =
    "SELECT COUNT(*) FROM failed_logins WHERE account = $1 AND ip = $2 AND at >= $3";

pub(crate) const PRUNE_FAILED_LOGINS: &str = "DELETE FROM failed_logins WHERE at < $1";

pub(crate) const INSERT_BLOCK: &str = "INSERT INTO blocks (id, target, reason, source, \
     created_by, created_at, expires_at, lifted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Lifts only a block in force at the lifting time, and returns it as now stored.
pub(crate) const LIFT_BLOCK: &str = "UPDATE blocks SET lifted_at = $2 \
     WHERE id = $1 AND lifted_at IS NULL AND (expires_at IS NULL OR expires_at > $2) \
     RETURNING id, target, reason, source, created_by, created_at, expires_at, lifted_at";

pub(crate) const ACTIVE_BLOCKS: &str = "SELECT id, target, reason, source, created_by, \
     created_at, expires_at, lifted_at FROM blocks \
     WHERE lifted_at IS NULL AND (expires_at IS NULL OR expires_at > $1) \
     ORDER BY created_at, id";

pub(crate) const COUNT_BLOCKS: &str =
    "SELECT COUNT(*) FROM blocks WHERE target = $1 AND source = $2";

pub(crate) const GET_LOCKOUT: &str =
    "SELECT account, until, level FROM lockouts WHERE account = $1";

pub(crate) const PUT_LOCKOUT: &str = "INSERT INTO lockouts (account, until, level) \
     VALUES ($1, $2, $3) \
     ON CONFLICT (account) DO UPDATE SET until = excluded.until, level = excluded.level";

pub(crate) const CLEAR_LOCKOUT: &str = "DELETE FROM lockouts WHERE account = $1";

pub(crate) const INSERT_EVENT: &str = "INSERT INTO security_events \
     (at, kind, severity, ip, account, message, details) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";

pub(crate) const EVENTS: &str = "SELECT id, at, kind, severity, ip, account, message, \
     details FROM security_events WHERE at >= $1 ORDER BY at DESC, id DESC LIMIT $2";

/// Implements `SecurityStore` for a backend type with `pool` and `inst` fields.
macro_rules! impl_security {
    ($ty:ty) => {
        #[async_trait::async_trait]
        impl legalops_core::security::SecurityStore for $ty {
            async fn record_failed_login(
                &self,
                attempt: &legalops_core::security::FailedLogin,
            ) -> legalops_core::Result<()> {
                let r = $crate::sql::security::FailedLoginRow::encode(attempt);
                let q = sqlx::query($crate::sql::security::INSERT_FAILED_LOGIN)
                    .bind(r.at)
                    .bind(&r.ip)
                    .bind(&r.account)
                    .bind(&r.user_agent)
                    .execute(&self.pool);
                self.inst
                    .run("security.record_failed_login", q)
                    .await
                    .map(drop)
            }

            async fn failed_logins(
                &self,
                since: time::OffsetDateTime,
                limit: u64,
            ) -> legalops_core::Result<Vec<legalops_core::security::FailedLogin>> {
                use $crate::sql::codec::{big, ceil_micros};
                let q = sqlx::query_as::<_, $crate::sql::security::FailedLoginRow>(
                    $crate::sql::security::FAILED_LOGINS,
                )
                .bind(ceil_micros(since))
                .bind(big(limit))
                .fetch_all(&self.pool);
                let rows = self.inst.run("security.failed_logins", q).await?;
                rows.into_iter()
                    .map(|r| r.decode(&self.inst.backend))
                    .collect()
            }

            async fn count_failed_by_ip(
                &self,
                ip: &str,
                since: time::OffsetDateTime,
            ) -> legalops_core::Result<u64> {
                let q = sqlx::query_scalar::<_, i64>($crate::sql::security::COUNT_FAILED_BY_IP)
                    .bind(ip)
                    .bind($crate::sql::codec::ceil_micros(since))
                    .fetch_one(&self.pool);
                let n = self.inst.run("security.count_failed_by_ip", q).await?;
                $crate::sql::security::count(&self.inst.backend, n)
            }

            async fn count_failed_by_account(
                &self,
                account: &str,
                since: time::OffsetDateTime,
            ) -> legalops_core::Result<u64> {
                let q =
                    sqlx::query_scalar::<_, i64>($crate::sql::security::COUNT_FAILED_BY_ACCOUNT)
                        .bind(account)
                        .bind($crate::sql::codec::ceil_micros(since))
                        .fetch_one(&self.pool);
                let n = self.inst.run("security.count_failed_by_account", q).await?;
                $crate::sql::security::count(&self.inst.backend, n)
            }

            async fn count_failed_by_account_ip(
                &self,
                account: &str,
                ip: &str,
                since: time::OffsetDateTime,
            ) -> legalops_core::Result<u64> {
                let q =
                    sqlx::query_scalar::<_, i64>($crate::sql::security::COUNT_FAILED_BY_ACCOUNT_IP)
                        .bind(account)
                        .bind(ip)
                        .bind($crate::sql::codec::ceil_micros(since))
                        .fetch_one(&self.pool);
                let n = self
                    .inst
                    .run("security.count_failed_by_account_ip", q)
                    .await?;
                $crate::sql::security::count(&self.inst.backend, n)
            }

            async fn prune_failed_logins(
                &self,
                before: time::OffsetDateTime,
            ) -> legalops_core::Result<u64> {
                let q = sqlx::query($crate::sql::security::PRUNE_FAILED_LOGINS)
                    .bind($crate::sql::codec::ceil_micros(before))
                    .execute(&self.pool);
                Ok(self
                    .inst
                    .run("security.prune_failed_logins", q)
                    .await?
                    .rows_affected())
            }

            async fn add_block(
                &self,
                block: &legalops_core::security::Block,
            ) -> legalops_core::Result<()> {
                let r = $crate::sql::security::BlockRow::encode(block);
                let q = sqlx::query($crate::sql::security::INSERT_BLOCK)
                    .bind(&r.id)
                    .bind(&r.target)
                    .bind(&r.reason)
                    .bind(&r.source)
                    .bind(&r.created_by)
                    .bind(r.created_at)
                    .bind(r.expires_at)
                    .bind(r.lifted_at)
                    .execute(&self.pool);
                self.inst.run("security.add_block", q).await.map(drop)
            }

            async fn lift_block(
                &self,
                id: &str,
                at: time::OffsetDateTime,
            ) -> legalops_core::Result<legalops_core::security::Block> {
                // The lift time is stored rounded down to the microsecond, which is also
                // the right bound for "still in force at `at`" (`expires_at > floor(at)`).
                let q = sqlx::query_as::<_, $crate::sql::security::BlockRow>(
                    $crate::sql::security::LIFT_BLOCK,
                )
                .bind(id)
                .bind($crate::sql::codec::micros(at))
                .fetch_optional(&self.pool);
                match self.inst.run("security.lift_block", q).await? {
                    Some(row) => row.decode(&self.inst.backend),
                    None => Err(legalops_core::Error::not_found(format!(
                        "active block {id}"
                    ))),
                }
            }

            async fn active_blocks(
                &self,
                now: time::OffsetDateTime,
            ) -> legalops_core::Result<Vec<legalops_core::security::Block>> {
                let q = sqlx::query_as::<_, $crate::sql::security::BlockRow>(
                    $crate::sql::security::ACTIVE_BLOCKS,
                )
                .bind($crate::sql::codec::micros(now))
                .fetch_all(&self.pool);
                let rows = self.inst.run("security.active_blocks", q).await?;
                rows.into_iter()
                    .map(|r| r.decode(&self.inst.backend))
                    .collect()
            }

            async fn count_blocks(
                &self,
                target: &str,
                source: legalops_core::security::BlockSource,
            ) -> legalops_core::Result<u64> {
                let q = sqlx::query_scalar::<_, i64>($crate::sql::security::COUNT_BLOCKS)
                    .bind(target)
                    .bind($crate::sql::security::source_str(source))
                    .fetch_one(&self.pool);
                let n = self.inst.run("security.count_blocks", q).await?;
                $crate::sql::security::count(&self.inst.backend, n)
            }

            async fn get_lockout(
                &self,
                account: &str,
            ) -> legalops_core::Result<Option<legalops_core::security::Lockout>> {
                let q = sqlx::query_as::<_, $crate::sql::security::LockoutRow>(
                    $crate::sql::security::GET_LOCKOUT,
                )
                .bind(account)
                .fetch_optional(&self.pool);
                let row = self.inst.run("security.get_lockout", q).await?;
                row.map(|r| r.decode(&self.inst.backend)).transpose()
            }

            async fn put_lockout(
                &self,
                lockout: &legalops_core::security::Lockout,
            ) -> legalops_core::Result<()> {
                let r = $crate::sql::security::LockoutRow::encode(lockout);
                let q = sqlx::query($crate::sql::security::PUT_LOCKOUT)
                    .bind(&r.account)
                    .bind(r.until)
                    .bind(r.level)
                    .execute(&self.pool);
                self.inst.run("security.put_lockout", q).await.map(drop)
            }

            async fn clear_lockout(&self, account: &str) -> legalops_core::Result<()> {
                let q = sqlx::query($crate::sql::security::CLEAR_LOCKOUT)
                    .bind(account)
                    .execute(&self.pool);
                self.inst.run("security.clear_lockout", q).await.map(drop)
            }

            async fn record_event(
                &self,
                event: &legalops_core::security::SecurityEvent,
            ) -> legalops_core::Result<legalops_core::security::SecurityEvent> {
                let r = $crate::sql::security::EventRow::encode(event);
                let q = sqlx::query_scalar::<_, i64>($crate::sql::security::INSERT_EVENT)
                    .bind(r.at)
                    .bind(&r.kind)
                    .bind(&r.severity)
                    .bind(&r.ip)
                    .bind(&r.account)
                    .bind(&r.message)
                    .bind(&r.details)
                    .fetch_one(&self.pool);
                let id = self.inst.run("security.record_event", q).await?;
                $crate::sql::security::EventRow { id, ..r }.decode(&self.inst.backend)
            }

            async fn events(
                &self,
                since: time::OffsetDateTime,
                limit: u64,
            ) -> legalops_core::Result<Vec<legalops_core::security::SecurityEvent>> {
                use $crate::sql::codec::{big, ceil_micros};
                let q = sqlx::query_as::<_, $crate::sql::security::EventRow>(
                    $crate::sql::security::EVENTS,
                )
                .bind(ceil_micros(since))
                .bind(big(limit))
                .fetch_all(&self.pool);
                let rows = self.inst.run("security.events", q).await?;
                rows.into_iter()
                    .map(|r| r.decode(&self.inst.backend))
                    .collect()
            }
        }
    };
}

pub(crate) use impl_security;
