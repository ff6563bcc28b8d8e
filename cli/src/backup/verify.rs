//! `backup verify`: proof that a backup restores. Every file's checksum; every database restored
//! into scratch (SQLite files in a temporary directory, checked with `PRAGMA integrity_check`;
//! PostgreSQL databases made on a server with `pg_restore`) and its rows counted against the
//! manifest; the invariants that span services checked on the restored data; then the shop
//! started on it and served a search, a sign-in and an order ([`super::restore::smoke`]), which
//! measures the time to a serving shop (the RTO). The result is kept beside the backup
//! (`verified.json`) for the dashboard and the compliance reports.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    time::Instant,
};

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use shopctl_kit::db::{Db, PoolOptions};

use super::{Store, manifest::Manifest, seal, seal::Key};

/// The result file beside a backup's manifest.
pub const RESULT: &str = "verified.json";

/// What a verification found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verification {
    /// The backup.
    pub name: String,
    /// When it was verified.
    pub verified_at: DateTime<Utc>,
    /// Whether everything held.
    pub ok: bool,
    /// Each problem, naming the file, table or invariant.
    pub problems: Vec<String>,
    /// Rows checked, all databases.
    pub rows: i64,
    /// Time from the start of the restore to a shop serving the restored data, in ms (the
    /// measured RTO); `None` when it did not get that far.
    pub rto_ms: Option<u64>,
    /// The backup's age when verified, in seconds: the data a restore now would lose (RPO).
    pub rpo_secs: i64,
}

/// Where verified data is restored to: scratch SQLite files, or scratch databases on a server.
#[derive(Debug, Clone)]
pub enum Scratch {
    /// A temporary directory.
    Sqlite,
    /// This PostgreSQL server (`postgres://USER@HOST:PORT/postgres`).
    Postgres(String),
}

/// Restores every database of `manifest` into scratch and checks it; returns the scratch data
/// (to start the shop on) with the problems found so far.
pub(crate) async fn restore_scratch(
    store: &Store,
    manifest: &Manifest,
    key: Option<&Key>,
    scratch: &Scratch,
    dir: &Path,
    prefix: &str,
) -> (Vec<(String, SecretString)>, Vec<String>, i64) {
    let mut problems = Vec::new();
    let mut restored = Vec::new();
    let mut rows = 0;
    for database in &manifest.databases {
        let outcome = async {
            let stored = store.read(&manifest.name, &database.file)?;
            let sum = seal::sha256_hex(&stored);
            if sum != database.sha256 {
                anyhow::bail!(
                    "{}: checksum {sum} is not the manifest's {}: the file was altered or damaged",
                    database.file,
                    database.sha256
                );
            }
            let raw = seal::unpack(&stored, &database.file, key, database.raw_bytes)?;
            super::restore::load(database, &raw, scratch, dir, prefix).await
        }
        .await;
        match outcome {
            Ok((url, tables)) => {
                for (table, expected) in &database.tables {
                    match tables.get(table) {
                        Some(found) if found == expected => rows += found,
                        found => problems.push(format!(
                            "{}: table {table} has {} rows where the manifest says {expected}",
                            database.file,
                            found.map_or_else(|| "no".to_owned(), i64::to_string)
                        )),
                    }
                }
                restored.push((database.service.clone(), url));
            }
            Err(e) => problems.push(format!("{e:#}")),
        }
    }
    (restored, problems, rows)
}

/// Verifies the backup `name` of `store`: see the module's description.
pub async fn verify(
    store: &Store,
    name: &str,
    key: Option<&Key>,
    scratch: &Scratch,
) -> anyhow::Result<Verification> {
    let manifest = store.manifest(name)?;
    if manifest.encryption.is_some() && key.is_none() {
        anyhow::bail!(
            "backup {name} is encrypted; pass --encrypt-key-file with the key it was made with"
        );
    }
    let started = Instant::now();
    let dir = tempfile::tempdir()?;
    let prefix = format!(
        "shopctl_verify_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let (restored, mut problems, rows) =
        restore_scratch(store, &manifest, key, scratch, dir.path(), &prefix).await;
    let mut rto_ms = None;
    if problems.is_empty() {
        problems.extend(invariants(&restored).await);
        match super::restore::smoke(dir.path(), scratch, &prefix).await {
            Ok(()) => rto_ms = Some(u64::try_from(started.elapsed().as_millis()).unwrap_or(0)),
            Err(e) => problems.push(format!("the shop on the restored data: {e:#}")),
        }
    }
    if let Scratch::Postgres(server) = scratch {
        super::restore::drop_databases(server, &prefix).await;
    }
    let now = Utc::now();
    let verification = Verification {
        name: name.to_owned(),
        verified_at: now,
        ok: problems.is_empty(),
        problems,
        rows,
        rto_ms,
        rpo_secs: manifest.age(now).num_seconds(),
    };
    let path = store.dir(name).join(RESULT);
    shopctl_kit::files::write_private(&path, serde_json::to_vec_pretty(&verification)?)
        .map_err(|e| anyhow::anyhow!("cannot record the result in {}: {e}", path.display()))?;
    Ok(verification)
}

/// The invariants that span services, on the restored data: a confirmed (or later) order has a
/// captured payment and committed stock; no stock is held for an order that has ended; no
/// payment exists without its order.
pub(crate) async fn invariants(restored: &[(String, SecretString)]) -> Vec<String> {
    let url = |service: &str| {
        restored
            .iter()
            .find(|(name, _)| name == service)
            .map(|(_, url)| url.clone())
    };
    let (Some(orders), Some(payments), Some(stock)) =
        (url("order"), url("payment"), url("inventory"))
    else {
        return vec!["the backup lacks the order, payment or inventory database".to_owned()];
    };
    let read = |url: SecretString, sql: &'static str| async move {
        let db = Db::connect(&url, PoolOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        let rows: Vec<(String, String)> =
            db.fetch_all(sql, &[]).await.map_err(|e| e.to_string())?;
        db.close().await;
        Ok::<_, String>(rows)
    };
    let (orders, payments, reservations) = match (
        read(orders, "SELECT CAST(id AS TEXT), status FROM orders").await,
        read(
            payments,
            "SELECT CAST(order_id AS TEXT), status FROM payments",
        )
        .await,
        read(
            stock,
            "SELECT CAST(order_id AS TEXT), status FROM reservations",
        )
        .await,
    ) {
        (Ok(o), Ok(p), Ok(r)) => (o, p, r),
        (o, p, r) => {
            return [o.err(), p.err(), r.err()]
                .into_iter()
                .flatten()
                .map(|e| format!("reading the restored data for the invariants: {e}"))
                .collect();
        }
    };
    check(&orders, &payments, &reservations)
}

fn check(
    orders: &[(String, String)],
    payments: &[(String, String)],
    reservations: &[(String, String)],
) -> Vec<String> {
    let order_status: BTreeMap<&str, &str> = orders
        .iter()
        .map(|(id, status)| (id.as_str(), status.as_str()))
        .collect();
    let captured: BTreeSet<&str> = payments
        .iter()
        .filter(|(_, status)| {
            matches!(
                status.as_str(),
                "captured" | "partially_refunded" | "refunded"
            )
        })
        .map(|(order, _)| order.as_str())
        .collect();
    let reservation: BTreeMap<&str, &str> = reservations
        .iter()
        .map(|(order, status)| (order.as_str(), status.as_str()))
        .collect();
    let mut problems = Vec::new();
    for (id, status) in &order_status {
        let settled = matches!(*status, "confirmed" | "shipped" | "delivered");
        if settled && !captured.contains(id) {
            problems.push(format!(
                "invariant: order {id} is {status} but no payment of it was captured"
            ));
        }
        if settled && reservation.get(id) != Some(&"confirmed") {
            problems.push(format!(
                "invariant: order {id} is {status} but its stock is not committed"
            ));
        }
        if *status != "pending" && reservation.get(id) == Some(&"held") {
            problems.push(format!(
                "invariant: stock is still held for order {id}, which is {status}"
            ));
        }
    }
    for (order, _) in payments {
        if !order_status.contains_key(order.as_str()) {
            problems.push(format!(
                "invariant: a payment for order {order}, which does not exist"
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn each_broken_invariant_is_named() {
        let orders = rows(&[("o1", "confirmed"), ("o2", "cancelled"), ("o3", "pending")]);
        let payments = rows(&[("o2", "voided"), ("o9", "captured")]);
        let reservations = rows(&[("o1", "held"), ("o2", "held"), ("o3", "held")]);
        let problems = check(&orders, &payments, &reservations);
        assert_eq!(problems.len(), 5, "{problems:?}");
        for needle in [
            "o1 is confirmed but no payment",
            "o1 is confirmed but its stock is not committed",
            "still held for order o1",
            "still held for order o2",
            "order o9, which does not exist",
        ] {
            assert!(
                problems.iter().any(|p| p.contains(needle)),
                "{needle}: {problems:?}"
            );
        }
        let fine = check(
            &rows(&[("o1", "confirmed")]),
            &rows(&[("o1", "captured")]),
            &rows(&[("o1", "confirmed")]),
        );
        assert!(fine.is_empty(), "{fine:?}");
    }
}
