//! The database handle every service uses: SQLite (embedded default, WAL mode) or PostgreSQL
//! (production), chosen by the URL scheme, with that backend's migrations run at start.
//!
//! Stores hold a [`Db`] and match on it where the dialects differ; everything else (pool sizing,
//! pragmas, readiness pings, error normalisation) lives here once.

use std::{str::FromStr, time::Duration};

use prometheus_client::metrics::{counter::Counter, histogram::Histogram};
use secrecy::{ExposeSecret, SecretString};
use sqlx::{
    ConnectOptions, Connection, PgPool, SqlitePool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        })
    }
}

/// A service's two migration sets, one per backend.
#[derive(Debug)]
pub struct Migrations {
    /// Migrations for SQLite.
    pub sqlite: Migrator,
    /// Migrations for PostgreSQL.
    pub postgres: Migrator,
}

/// A connection pool to the service's own database, and what it counts: how long getting a
/// connection took, and the driver errors met (see [`DbStats`]).
#[derive(Debug, Clone)]
pub struct Db {
    pool: Pool,
    stats: DbStats,
}

/// The pool of either backend.
#[derive(Debug, Clone)]
pub enum Pool {
    /// SQLite pool.
    Sqlite(SqlitePool),
    /// PostgreSQL pool.
    Postgres(PgPool),
}

/// What every query through a [`Db`] counts: the time to get a connection (or to begin a
/// transaction, which is getting one and sending `BEGIN`) and the driver errors (a failed
/// connection, a timed-out acquisition, a broken statement; not the outcomes a store expects,
/// such as a missing row or a unique key taken). Registered as `db_pool_acquire_seconds` and
/// `db_query_errors_total` by [`crate::metrics::PoolMetrics`].
#[derive(Debug, Clone)]
pub struct DbStats {
    /// Acquisition time.
    pub acquire: Histogram,
    /// Driver errors.
    pub errors: Counter,
}

/// Buckets of `db_pool_acquire_seconds`: a free connection comes in microseconds, a saturated
/// pool makes callers wait up to its acquire timeout (5 s).
const ACQUIRE_BUCKETS: [f64; 12] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.05, 0.25, 1.0, 5.0,
];

impl Default for DbStats {
    fn default() -> Self {
        Self {
            acquire: Histogram::new(ACQUIRE_BUCKETS),
            errors: Counter::default(),
        }
    }
}

impl DbStats {
    /// Times `acquiring` (a connection, a transaction) and counts its failure.
    pub async fn acquire<T>(
        &self,
        acquiring: impl std::future::Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        let started = std::time::Instant::now();
        let acquired = acquiring.await;
        self.acquire.observe(started.elapsed().as_secs_f64());
        acquired.map_err(|e| self.failed(e))
    }

    /// `err` as a store error, counted when it is a driver error.
    pub fn failed(&self, err: sqlx::Error) -> StoreError {
        let err = StoreError::from(err);
        if matches!(err, StoreError::Db(_)) {
            self.errors.inc();
        }
        err
    }
}

/// Pool sizing.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    /// Upper bound of open connections.
    pub max_connections: u32,
    /// How long to wait for a free connection.
    pub acquire_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Errors opening or migrating a database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL is neither `sqlite:` nor `postgres:`.
    #[error(
        "unsupported database URL scheme in `{0}`: use `sqlite://PATH` or `postgres://USER@HOST/DB`"
    )]
    Scheme(String),
    /// The SQLite file or its directory cannot be created.
    #[error(
        "cannot create the database directory or file `{path}`: {source}; pass a writable --data-dir"
    )]
    Directory {
        /// The directory.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The database cannot be reached or opened.
    #[error("cannot connect to the {backend} database `{target}`: {source}")]
    Connect {
        /// Backend.
        backend: Backend,
        /// The URL without credentials.
        target: String,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("migrating the {backend} database failed: {source}")]
    Migrate {
        /// Backend.
        backend: Backend,
        /// Why.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
}

impl Db {
    /// A handle on `pool`, counting into fresh [`DbStats`].
    pub fn new(pool: Pool) -> Self {
        Self {
            pool,
            stats: DbStats::default(),
        }
    }

    /// The pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// What its queries count.
    pub fn stats(&self) -> &DbStats {
        &self.stats
    }

    /// Opens a pool for `url`; SQLite files (and their directory) are created when missing.
    pub async fn connect(url: &SecretString, options: PoolOptions) -> Result<Self, DbError> {
        let url = url.expose_secret();
        let target = redact_url(url);
        if url.starts_with("sqlite:") {
            let connect =
                SqliteConnectOptions::from_str(url).map_err(|source| DbError::Connect {
                    backend: Backend::Sqlite,
                    target: target.clone(),
                    source,
                })?;
            // The path as SQLite will open it (percent-decoded, query stripped).
            let file = connect.get_filename();
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let read_only = url.contains("mode=ro") || url.contains("immutable=");
            if !in_memory && !read_only {
                // Owner-only at rest (crate::files): the directory, and the file before SQLite
                // opens it, so the WAL and shared-memory files it makes beside it inherit 0600.
                let in_dir = |path: &std::path::Path| {
                    let path = path.display().to_string();
                    move |source| DbError::Directory { path, source }
                };
                if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                    crate::files::create_private_dir(dir).map_err(in_dir(dir))?;
                }
                crate::files::touch_private(file).map_err(in_dir(file))?;
            }
            let connect = connect
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // A 2 MiB default page cache makes every query re-read pages from the kernel;
                // mmap shares one copy of the file between all pooled connections.
                .pragma("cache_size", "-16384")
                .pragma("mmap_size", "268435456")
                .pragma("temp_store", "memory")
                .log_statements(tracing::log::LevelFilter::Trace);
            let pool = SqlitePoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(|source| DbError::Connect {
                    backend: Backend::Sqlite,
                    target,
                    source,
                })?;
            Ok(Self::new(Pool::Sqlite(pool)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let connect = PgConnectOptions::from_str(url)
                .map_err(|source| DbError::Connect {
                    backend: Backend::Postgres,
                    target: target.clone(),
                    source,
                })?
                .log_statements(tracing::log::LevelFilter::Trace);
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(|source| DbError::Connect {
                    backend: Backend::Postgres,
                    target,
                    source,
                })?;
            Ok(Self::new(Pool::Postgres(pool)))
        } else {
            Err(DbError::Scheme(target))
        }
    }

    /// Opens the pool and runs the backend's migrations (idempotent).
    pub async fn connect_and_migrate(
        url: &SecretString,
        options: PoolOptions,
        migrations: &Migrations,
    ) -> Result<Self, DbError> {
        let db = Self::connect(url, options).await?;
        db.migrate(migrations).await?;
        Ok(db)
    }

    /// Opens and migrates the database of `service` as its settings name it, with the pool
    /// sized from them: the one way every service connects.
    pub async fn for_service(
        settings: &crate::settings::CommonSettings,
        service: &str,
        migrations: &Migrations,
    ) -> Result<Self, DbError> {
        let options = PoolOptions {
            max_connections: settings.db_max_connections,
            ..PoolOptions::default()
        };
        Self::connect_and_migrate(&settings.database_url(service), options, migrations).await
    }

    /// Runs the pending migrations of this backend.
    ///
    /// Migrations run on a connection of their own that is closed afterwards: the migrator reads
    /// its bookkeeping with statements it does not step to completion, and on SQLite such a
    /// connection keeps a pinned WAL snapshot (stale reads, `SQLITE_BUSY_SNAPSHOT` on write)
    /// if it went back to the pool.
    pub async fn migrate(&self, migrations: &Migrations) -> Result<(), DbError> {
        let backend = self.backend();
        let fail = |source| DbError::Migrate { backend, source };
        match &self.pool {
            Pool::Sqlite(pool) => {
                let mut conn = pool.acquire().await.map_err(|e| fail(e.into()))?.detach();
                migrations
                    .sqlite
                    .run_direct(None, &mut conn, false)
                    .await
                    .map_err(fail)?;
                conn.close().await.map_err(|e| fail(e.into()))?;
            }
            Pool::Postgres(pool) => {
                let mut conn = pool.acquire().await.map_err(|e| fail(e.into()))?.detach();
                migrations
                    .postgres
                    .run_direct(None, &mut conn, false)
                    .await
                    .map_err(fail)?;
                conn.close().await.map_err(|e| fail(e.into()))?;
            }
        }
        Ok(())
    }

    /// Versions and descriptions of the applied migrations, oldest first.
    pub async fn applied_migrations(&self) -> Result<Vec<(i64, String)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Applied {
            version: i64,
            description: String,
        }
        let rows: Vec<Applied> = self
            .fetch_all(
                "SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version",
                &[],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.version, r.description))
            .collect())
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// A cheap round trip, for readiness.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.execute("SELECT 1", &[]).await.map(drop)
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

/// The URL of database `name` on the PostgreSQL server `server` (a `postgres://` URL; its own
/// database need not exist), creating the database when it does not exist: how one server holds a
/// database per service.
pub async fn ensure_postgres_database(server: &str, name: &str) -> Result<String, DbError> {
    use sqlx::{Connection as _, Executor as _, Row as _};
    let target = redact_url(server);
    let fail = |source| DbError::Connect {
        backend: Backend::Postgres,
        target: target.clone(),
        source,
    };
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(DbError::Scheme(format!(
            "{target} (database name `{name}`: use lower-case letters, digits and _)"
        )));
    }
    let mut url = reqwest::Url::parse(server).map_err(|_| DbError::Scheme(target.clone()))?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return Err(DbError::Scheme(target));
    }
    // Databases are created from the maintenance database, which every server has.
    let options = PgConnectOptions::from_str(server)
        .map_err(fail)?
        .database("postgres");
    let mut conn = sqlx::PgConnection::connect_with(&options)
        .await
        .map_err(fail)?;
    let exists = conn
        .fetch_optional(
            sqlx::query("SELECT 1 AS one FROM pg_database WHERE datname = $1").bind(name),
        )
        .await
        .map_err(fail)?
        .is_some_and(|row| row.try_get::<i32, _>("one").is_ok());
    if !exists {
        // Identifiers cannot be bound; `name` was checked to be [a-z0-9_] above.
        let created = conn
            .execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .await;
        // Another process may have created it meanwhile (42P04 duplicate_database).
        if let Err(err) = created
            && err
                .as_database_error()
                .and_then(sqlx::error::DatabaseError::code)
                .as_deref()
                != Some("42P04")
        {
            return Err(fail(err));
        }
    }
    let _ = conn.close().await;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// A database URL with any password removed, safe for logs and errors.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_owned(),
    }
}

/// A store-level error, the same for both backends.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint rejected the write.
    #[error("unique constraint `{constraint}` violated")]
    UniqueViolation {
        /// Constraint (Postgres) or `table.column` (SQLite).
        constraint: String,
    },
    /// A foreign key rejected the write.
    #[error("foreign key violated")]
    ForeignKeyViolation,
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// Anything else from the driver.
    #[error("database error")]
    Db(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if matches!(err, sqlx::Error::RowNotFound) {
            return Self::NotFound;
        }
        if let Some(db_err) = err.as_database_error() {
            match db_err.kind() {
                sqlx::error::ErrorKind::UniqueViolation => {
                    let constraint = db_err.constraint().map_or_else(
                        // SQLite: "UNIQUE constraint failed: products.sku"
                        || {
                            db_err
                                .message()
                                .rsplit(": ")
                                .next()
                                .unwrap_or_default()
                                .to_owned()
                        },
                        str::to_owned,
                    );
                    return Self::UniqueViolation { constraint };
                }
                sqlx::error::ErrorKind::ForeignKeyViolation => return Self::ForeignKeyViolation,
                _ => {}
            }
        }
        Self::Db(err)
    }
}

impl From<StoreError> for crate::error::ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::not_found("not found"),
            StoreError::UniqueViolation { .. } => Self::conflict("the resource already exists"),
            StoreError::ForeignKeyViolation => {
                Self::conflict("the resource is referenced by or refers to another resource")
            }
            StoreError::Db(source) => Self::Internal(anyhow::Error::new(source)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://app:pw@db:5432/shop"),
            "postgres://app@db:5432/shop"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }

    #[tokio::test]
    async fn unwritable_sqlite_directory_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"").unwrap();
        let url = SecretString::from(format!("sqlite://{}/sub/x.db", blocker.display()));
        let err = Db::connect(&url, PoolOptions::default()).await.unwrap_err();
        assert!(matches!(err, DbError::Directory { .. }), "{err}");
        assert!(err.to_string().contains("--data-dir"), "{err}");
    }

    #[tokio::test]
    async fn unknown_scheme_is_refused() {
        let url = SecretString::from("mysql://root@localhost/x");
        let err = Db::connect(&url, PoolOptions::default()).await.unwrap_err();
        assert!(matches!(err, DbError::Scheme(_)), "{err}");
    }
}
