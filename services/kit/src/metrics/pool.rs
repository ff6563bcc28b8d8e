//! Database pool metrics of a service: `db_pool_connections{state="idle|in_use"}` and
//! `db_pool_max_connections`, read from the pool at each scrape; `db_pool_acquire_seconds` (the
//! time each query waited for a connection) and `db_query_errors_total` (driver errors), which
//! every query through the service's [`Db`] counts ([`crate::db::DbStats`]).

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric as _},
    metrics::gauge::ConstGauge,
};

use super::Metrics;
use crate::db::{Db, Pool};

/// The pool gauges, read at each scrape.
#[derive(Debug)]
struct PoolCollector(Db);

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let (size, idle, max) = match self.0.pool() {
            Pool::Sqlite(pool) => (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            ),
            Pool::Postgres(pool) => (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            ),
        };
        let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(size);
        let mut family = encoder.encode_descriptor(
            "db_pool_connections",
            "Open connections of the service's database pool, by state",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for (state, value) in [("idle", idle), ("in_use", size - idle)] {
            ConstGauge::new(i64::from(value)).encode(family.encode_family(&[("state", state)])?)?;
        }
        let max = ConstGauge::new(i64::from(max));
        max.encode(encoder.encode_descriptor(
            "db_pool_max_connections",
            "Most connections the service's database pool opens",
            None,
            max.metric_type(),
        )?)?;
        Ok(())
    }
}

/// Registers the pool metrics of `db` in `metrics`.
pub fn register_pool(db: &Db, metrics: &Metrics) {
    let stats = db.stats();
    metrics.register(
        "db_pool_acquire_seconds",
        "Time a query waited for a connection from the service's database pool",
        stats.acquire.clone(),
    );
    metrics.register(
        "db_query_errors",
        "Database driver errors: failed connections, timed-out acquisitions, broken statements",
        stats.errors.clone(),
    );
    metrics.register_collector(PoolCollector(db.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn queries_count_their_waits_and_errors_and_the_pool_is_read_at_each_scrape() {
        let db = Db::connect(
            &secrecy::SecretString::from("sqlite::memory:"),
            crate::db::PoolOptions::default(),
        )
        .await
        .expect("an in-memory database");
        let metrics = Metrics::new("pooltest");
        register_pool(&db, &metrics);
        db.execute("SELECT 1", &[]).await.expect("a query");
        let broken = db.execute("SELECT * FROM no_such_table", &[]).await;
        assert!(broken.is_err());
        let missing: Result<(i64,), _> = db.fetch_one("SELECT 1 WHERE 0", &[]).await;
        assert!(missing.is_err(), "a missing row is not a driver error");
        let text = metrics.render();
        assert!(text.contains("db_query_errors_total 1\n"), "{text}");
        assert!(text.contains("db_pool_acquire_seconds_count 3\n"), "{text}");
        // A connection goes back to the pool a moment after its query: only the series are sure.
        assert!(
            text.contains(r#"db_pool_connections{state="in_use"} "#),
            "{text}"
        );
        assert!(
            text.contains(r#"db_pool_connections{state="idle"} "#),
            "{text}"
        );
        assert!(text.contains("db_pool_max_connections 10\n"), "{text}");
    }
}
