//! The records queries, written once for every sqlx backend.
//!
//! The SQL below is the common subset of SQLite and PostgreSQL (`$n` placeholders,
//! `ON CONFLICT ... DO UPDATE`, whole-second integer instants), so each backend needs no
//! SQL of its own. sqlx's generic bounds for "any database" are long and noisy, so the
//! trait impls are stamped out by [`impl_records!`] for each concrete backend type, which
//! must have `pool: sqlx::Pool<_>` and `inst: Instrument` fields.

pub(crate) const SELECT_ONE: &str = "SELECT 1";

pub(crate) const SCHEMA_VERSION: &str = "SELECT MAX(version) FROM _sqlx_migrations WHERE success";

pub(crate) const GET_SETTING: &str = "SELECT value FROM settings WHERE key = $1";

pub(crate) const PUT_SETTING: &str = "INSERT INTO settings (key, value, updated_at) \
     VALUES ($1, $2, $3) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";

pub(crate) const PUT_SETTING_IF_ABSENT: &str = "INSERT INTO settings (key, value, updated_at) \
     VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING";

pub(crate) const DELETE_SETTING: &str = "DELETE FROM settings WHERE key = $1";

pub(crate) const PUT_ROLLUP: &str = "INSERT INTO metric_rollups \
     (name, labels, minute, count, sum, min, max) VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT (name, labels, minute) DO UPDATE SET count = excluded.count, \
     sum = excluded.sum, min = excluded.min, max = excluded.max";

pub(crate) const GET_ROLLUPS: &str = "SELECT name, labels, minute, count, sum, min, max \
     FROM metric_rollups WHERE name = $1 AND minute >= $2 AND minute < $3 \
     ORDER BY minute, labels";

pub(crate) const PRUNE_ROLLUPS: &str = "DELETE FROM metric_rollups WHERE minute < $1";

/// The columns of [`GET_ROLLUPS`], in order.
pub(crate) type RollupColumns = (String, String, i64, i64, f64, Option<f64>, Option<f64>);

/// Implements `Display`, `Database`, `SettingStore` and `RollupStore` for a backend type,
/// and every later aggregate through `impl_identity!`, `impl_audit!`, `impl_security!`,
/// `impl_alerting!` and `impl_incidents!`.
macro_rules! impl_records {
    ($ty:ty) => {
        $crate::sql::identity::impl_identity!($ty);
        $crate::sql::audit::impl_audit!($ty);
        $crate::sql::security::impl_security!($ty);
        $crate::sql::alerting::impl_alerting!($ty);
        $crate::sql::incidents::impl_incidents!($ty);

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.inst.backend)
            }
        }

        #[async_trait::async_trait]
        impl legalops_core::records::Database for $ty {
            async fn healthcheck(&self) -> legalops_core::Result<()> {
                let q = sqlx::query($crate::sql::queries::SELECT_ONE).execute(&self.pool);
                self.inst.run("db.healthcheck", q).await.map(drop)
            }

            async fn schema_version(&self) -> legalops_core::Result<i64> {
                let q = sqlx::query_scalar::<_, Option<i64>>($crate::sql::queries::SCHEMA_VERSION)
                    .fetch_one(&self.pool);
                Ok(self.inst.run("db.schema_version", q).await?.unwrap_or(0))
            }

            fn pool_stats(&self) -> legalops_core::records::PoolStats {
                let size = self.pool.size();
                let idle = u32::try_from(self.pool.num_idle())
                    .unwrap_or(u32::MAX)
                    .min(size);
                legalops_core::records::PoolStats {
                    size,
                    idle,
                    in_use: size - idle,
                    max: self.pool.options().get_max_connections(),
                    waiting: 0,
                }
            }

            fn query_stats(&self) -> legalops_core::records::QueryStats {
                self.inst.snapshot()
            }
        }

        #[async_trait::async_trait]
        impl legalops_core::records::SettingStore for $ty {
            async fn get_setting(&self, key: &str) -> legalops_core::Result<Option<String>> {
                let q = sqlx::query_scalar::<_, String>($crate::sql::queries::GET_SETTING)
                    .bind(key)
                    .fetch_optional(&self.pool);
                self.inst.run("settings.get", q).await
            }

            async fn put_setting(&self, key: &str, value: &str) -> legalops_core::Result<()> {
                let q = sqlx::query($crate::sql::queries::PUT_SETTING)
                    .bind(key)
                    .bind(value)
                    .bind(self.inst.now())
                    .execute(&self.pool);
                self.inst.run("settings.put", q).await.map(drop)
            }

            async fn put_setting_if_absent(
                &self,
                key: &str,
                value: &str,
            ) -> legalops_core::Result<bool> {
                let q = sqlx::query($crate::sql::queries::PUT_SETTING_IF_ABSENT)
                    .bind(key)
                    .bind(value)
                    .bind(self.inst.now())
                    .execute(&self.pool);
                Ok(self
                    .inst
                    .run("settings.put_if_absent", q)
                    .await?
                    .rows_affected()
                    == 1)
            }

            async fn delete_setting(&self, key: &str) -> legalops_core::Result<()> {
                let q = sqlx::query($crate::sql::queries::DELETE_SETTING)
                    .bind(key)
                    .execute(&self.pool);
                self.inst.run("settings.delete", q).await.map(drop)
            }
        }

        #[async_trait::async_trait]
        impl legalops_core::records::RollupStore for $ty {
            async fn put_rollups(
                &self,
                rollups: &[legalops_core::metrics::Rollup],
            ) -> legalops_core::Result<()> {
                use $crate::sql::exec::RollupRow;
                let rows = rollups
                    .iter()
                    .map(RollupRow::encode)
                    .collect::<Result<Vec<_>, _>>()?;
                if rows.is_empty() {
                    return Ok(());
                }
                // One transaction, so that a batch is stored whole or not at all.
                let q = async {
                    let mut tx = self.pool.begin().await?;
                    for r in &rows {
                        sqlx::query($crate::sql::queries::PUT_ROLLUP)
                            .bind(&r.name)
                            .bind(&r.labels)
                            .bind(r.minute)
                            .bind(r.count)
                            .bind(r.sum)
                            .bind(r.min)
                            .bind(r.max)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await
                };
                self.inst.run("rollups.put", q).await
            }

            async fn rollups(
                &self,
                name: &str,
                from: time::OffsetDateTime,
                to: time::OffsetDateTime,
            ) -> legalops_core::Result<Vec<legalops_core::metrics::Rollup>> {
                use $crate::sql::exec::{RollupRow, ceil_seconds};
                let q = sqlx::query_as::<_, $crate::sql::queries::RollupColumns>(
                    $crate::sql::queries::GET_ROLLUPS,
                )
                .bind(name)
                .bind(ceil_seconds(from))
                .bind(ceil_seconds(to))
                .fetch_all(&self.pool);
                let rows = self.inst.run("rollups.get", q).await?;
                rows.into_iter()
                    .map(|(name, labels, minute, count, sum, min, max)| {
                        RollupRow {
                            name,
                            labels,
                            minute,
                            count,
                            sum,
                            min,
                            max,
                        }
                        .decode(&self.inst.backend)
                    })
                    .collect()
            }

            async fn prune_rollups(
                &self,
                before: time::OffsetDateTime,
            ) -> legalops_core::Result<u64> {
                let q = sqlx::query($crate::sql::queries::PRUNE_ROLLUPS)
                    .bind($crate::sql::exec::ceil_seconds(before))
                    .execute(&self.pool);
                Ok(self.inst.run("rollups.prune", q).await?.rows_affected())
            }
        }
    };
}

pub(crate) use impl_records;
