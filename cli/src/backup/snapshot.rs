//! One service database copied as it is at one moment, with its row counts and migration
//! version read from that same moment: SQLite through `VACUUM INTO` (a consistent copy taken
//! under a read transaction, while the service keeps reading), PostgreSQL through `pg_dump -Fc`
//! in a snapshot exported by a repeatable-read transaction that also counts the rows.

use std::{collections::BTreeMap, path::Path, process::Stdio};

use secrecy::{ExposeSecret as _, SecretString};
use shopctl_kit::{
    db::{Db, PoolOptions},
    sql::Tx,
};
use sqlx::Connection as _;

/// Where one service's database is.
#[derive(Debug, Clone)]
pub struct Source {
    /// The owning service.
    pub service: &'static str,
    /// Its URL (`sqlite://…` or `postgres://…`; may hold a password).
    pub url: SecretString,
}

impl Source {
    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        if self.url.expose_secret().starts_with("sqlite:") {
            "sqlite"
        } else {
            "postgres"
        }
    }

    /// The SQLite file, for a SQLite database.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        let url = self.url.expose_secret();
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))?;
        Some(std::path::PathBuf::from(
            path.split('?').next().unwrap_or(path),
        ))
    }

    /// The file name a snapshot of it has in a backup.
    pub fn file_name(&self) -> String {
        match self.backend() {
            "sqlite" => format!("{}.db.zst", self.service),
            _ => format!("{}.dump.zst", self.service),
        }
    }
}

/// A database as it was at one moment.
#[derive(Debug)]
pub struct Snapshot {
    /// The bytes: a SQLite database file, or a `pg_dump -Fc` archive.
    pub raw: Vec<u8>,
    /// The newest migration applied.
    pub migration_version: i64,
    /// Rows per table.
    pub tables: BTreeMap<String, i64>,
}

/// Takes a snapshot of `source`, using `scratch` for the files on the way.
pub async fn take(source: &Source, scratch: &Path) -> anyhow::Result<Snapshot> {
    match source.sqlite_path() {
        Some(path) => sqlite(source.service, &path, scratch).await,
        None => postgres(source, scratch).await,
    }
}

async fn sqlite(service: &str, path: &Path, scratch: &Path) -> anyhow::Result<Snapshot> {
    if !path.is_file() {
        anyhow::bail!(
            "the {service} database {} does not exist; back up a shop that has run (`shopctl up`) or pass its --data-dir",
            path.display()
        );
    }
    let copy = scratch.join(format!("{service}.db"));
    let _ = std::fs::remove_file(&copy);
    let mut conn = read_only(path).await?;
    let copied = sqlx::query("VACUUM INTO ?")
        .bind(copy.display().to_string())
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    copied.map_err(|e| anyhow::anyhow!("copying the {service} database failed: {e}"))?;
    let raw = std::fs::read(&copy)?;
    let (migration_version, tables) = sqlite_contents(&copy).await?;
    std::fs::remove_file(&copy)?;
    Ok(Snapshot {
        raw,
        migration_version,
        tables,
    })
}

/// The SQLite file at `path`, opened read-only and as it is (no journal mode set).
pub async fn read_only(path: &Path) -> anyhow::Result<sqlx::SqliteConnection> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true);
    sqlx::SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))
}

async fn open(url: &SecretString) -> anyhow::Result<Db> {
    let options = PoolOptions {
        max_connections: 1,
        ..PoolOptions::default()
    };
    Db::connect(url, options)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// The newest migration and the rows per table of the SQLite file at `path`.
pub async fn sqlite_contents(path: &Path) -> anyhow::Result<(i64, BTreeMap<String, i64>)> {
    let mut conn = read_only(path).await?;
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await?;
    let mut tables = BTreeMap::new();
    for (name,) in names {
        let (rows,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count_sql(&name)))
            .fetch_one(&mut conn)
            .await?;
        tables.insert(name, rows);
    }
    let (version,): (Option<i64>,) = sqlx::query_as(MIGRATION_SQL).fetch_one(&mut conn).await?;
    conn.close().await?;
    Ok((version.unwrap_or_default(), tables))
}

/// The newest migration applied.
const MIGRATION_SQL: &str = "SELECT max(version) FROM _sqlx_migrations WHERE success";

/// `SELECT count(*)` of the table `name`, quoted.
fn count_sql(name: &str) -> String {
    format!("SELECT count(*) FROM \"{}\"", name.replace('"', "\"\""))
}

/// A PostgreSQL URL without its password, and the password (for `PGPASSWORD`), so that no
/// secret shows in the process list.
pub fn split_password(url: &str) -> (String, Option<String>) {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            let password = parsed.password().map(str::to_owned);
            let _ = parsed.set_password(None);
            (parsed.to_string(), password)
        }
        Err(_) => (url.to_owned(), None),
    }
}

/// Runs the PostgreSQL client `program` with `args`, then the database URL (without its
/// password, which goes in `PGPASSWORD`, out of the process list), then `after`; fails with
/// what it said on stderr.
pub(crate) async fn pg_tool(
    program: &str,
    args: &[&str],
    url: &str,
    after: &[&str],
) -> anyhow::Result<()> {
    let (bare, password) = split_password(url);
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .arg(&bare)
        .args(after)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let output = command.output().await.map_err(|e| {
        anyhow::anyhow!(
            "cannot run {program} ({e}); install the PostgreSQL client (Debian: postgresql-client)"
        )
    })?;
    if !output.status.success() {
        anyhow::bail!(
            "{program} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

async fn postgres(source: &Source, scratch: &Path) -> anyhow::Result<Snapshot> {
    let service = source.service;
    let url = source.url.expose_secret();
    let redacted = shopctl_kit::db::redact_url(url);
    let db = open(&source.url)
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach the {service} database {redacted}: {e}"))?;
    // pg_dump and the counts read one snapshot: what the transaction sees.
    let mut tx = db.begin().await?;
    tx.execute(
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        &[],
    )
    .await?;
    let exported: Vec<(String,)> = tx.fetch_all("SELECT pg_export_snapshot()", &[]).await?;
    let snapshot = exported.first().map(|(s,)| s.clone()).unwrap_or_default();
    let file = scratch.join(format!("{service}.dump"));
    let snapshot_arg = format!("--snapshot={snapshot}");
    let file_arg = file.display().to_string();
    pg_tool(
        "pg_dump",
        &[
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            &snapshot_arg,
            "--file",
            &file_arg,
            "--dbname",
        ],
        url,
        &[],
    )
    .await
    .map_err(|e| anyhow::anyhow!("pg_dump of the {service} database {redacted}: {e}"))?;
    let tables = postgres_counts(&mut tx).await?;
    let version: Vec<(Option<i64>,)> = tx.fetch_all(MIGRATION_SQL, &[]).await?;
    tx.commit().await?;
    db.close().await;
    let raw = std::fs::read(&file)?;
    std::fs::remove_file(&file)?;
    Ok(Snapshot {
        raw,
        migration_version: version.first().and_then(|(v,)| *v).unwrap_or_default(),
        tables,
    })
}

/// Rows per table of the PostgreSQL database `tx` reads.
pub async fn postgres_counts(tx: &mut Tx) -> anyhow::Result<BTreeMap<String, i64>> {
    let names: Vec<(String,)> = tx
        .fetch_all(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename",
            &[],
        )
        .await?;
    let mut tables = BTreeMap::new();
    for (name,) in names {
        let rows: Vec<(i64,)> = tx.fetch_all(&count_sql(&name), &[]).await?;
        tables.insert(name, rows.first().map_or(0, |(n,)| *n));
    }
    Ok(tables)
}
