//! Putting a backup back, into scratch (for `backup verify`) or in place of a shop's data
//! (`shopctl restore`). In place, every database is first restored beside the live one and
//! checked; only then are the live ones moved aside (kept as `pre-restore-<time>`) and the
//! restored ones moved in, and a failure half-way moves the old ones back: a restore never leaves
//! a half-restored shop.

use std::{collections::BTreeMap, path::Path, process::Stdio, time::Duration};

use secrecy::SecretString;
use serde_json::Value;
use shopctl_kit::db::{Db, PoolOptions};

use super::{
    Store,
    manifest::Database,
    seal::{self, Key},
    snapshot,
    verify::Scratch,
};

/// Writes `raw`, the snapshot of `database`, into scratch and checks it; returns where it is and
/// its rows per table.
pub(crate) async fn load(
    database: &Database,
    raw: &[u8],
    scratch: &Scratch,
    dir: &Path,
    prefix: &str,
) -> anyhow::Result<(SecretString, BTreeMap<String, i64>)> {
    let service = &database.service;
    if database.backend == "sqlite" {
        let path = dir.join(format!("{service}.db"));
        shopctl_kit::files::write_private(&path, raw)?;
        check_sqlite(&path, &database.file).await?;
        let (_, tables) = snapshot::sqlite_contents(&path).await?;
        return Ok((
            SecretString::from(shopctl_kit::settings::sqlite_url(&path)),
            tables,
        ));
    }
    let Scratch::Postgres(server) = scratch else {
        anyhow::bail!(
            "{} is a PostgreSQL dump: pass --postgres URL of a server to restore it into",
            database.file
        );
    };
    let url = shopctl_kit::db::ensure_postgres_database(server, &format!("{prefix}_{service}"))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let dump = dir.join(format!("{service}.dump"));
    shopctl_kit::files::write_private(&dump, raw)?;
    pg_restore(&url, &dump, &database.file).await?;
    let db = Db::connect(&SecretString::from(url.clone()), PoolOptions::default())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut tx = db.begin().await?;
    let tables = snapshot::postgres_counts(&mut tx).await?;
    tx.commit().await?;
    db.close().await;
    Ok((SecretString::from(url), tables))
}

/// `PRAGMA integrity_check` of the SQLite file at `path` (from the backup's `file`).
async fn check_sqlite(path: &Path, file: &str) -> anyhow::Result<()> {
    use sqlx::Connection as _;
    let mut conn = snapshot::read_only(path)
        .await
        .map_err(|e| anyhow::anyhow!("{file}: not a database: {e}"))?;
    let result: Result<Vec<(String,)>, _> = sqlx::query_as("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await;
    let _ = conn.close().await;
    match result {
        Ok(rows) if rows.len() == 1 && rows[0].0 == "ok" => Ok(()),
        Ok(rows) => anyhow::bail!(
            "{file}: the database is damaged: {}",
            rows.into_iter()
                .map(|(r,)| r)
                .take(3)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Err(e) => anyhow::bail!("{file}: the database cannot be read: {e}"),
    }
}

async fn pg_restore(url: &str, dump: &Path, file: &str) -> anyhow::Result<()> {
    let dump = dump.display().to_string();
    snapshot::pg_tool(
        "pg_restore",
        &[
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--dbname",
        ],
        url,
        &[&dump],
    )
    .await
    .map_err(|e| anyhow::anyhow!("{file}: {e}"))
}

/// Drops the scratch databases `<prefix>_*` of `server`.
pub(crate) async fn drop_databases(server: &str, prefix: &str) {
    let Ok(db) = Db::connect(
        &SecretString::from(server.to_owned()),
        PoolOptions::default(),
    )
    .await
    else {
        return;
    };
    let names: Vec<(String,)> = db
        .fetch_all(
            "SELECT datname::text FROM pg_database WHERE datname LIKE $1",
            &[shopctl_kit::sql::Param::Text(format!("{prefix}\\_%"))],
        )
        .await
        .unwrap_or_default();
    for (name,) in names {
        let _ = db
            .execute(
                &format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#),
                &[],
            )
            .await;
    }
    db.close().await;
}

/// Starts the shop on the restored data (`shopctl up --in-process` on a free port, the SQLite
/// files in `dir` or the PostgreSQL databases `<prefix>_*`) and has it serve a search, a
/// sign-up and sign-in, and, as an administrator, an order; stops it again.
pub(crate) async fn smoke(dir: &Path, scratch: &Scratch, prefix: &str) -> anyhow::Result<()> {
    use tokio::io::AsyncBufReadExt as _;
    let base = free_base()?;
    let exe = std::env::current_exe()?;
    let mut command = tokio::process::Command::new(exe);
    command
        .args([
            "up",
            "--in-process",
            "--quiet",
            "--output",
            "json",
            "--data-dir",
        ])
        .arg(dir)
        .args(["--base-port", &base.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Scratch::Postgres(server) = scratch
        && dir.join("order.dump").exists()
    {
        let root = server.rsplit_once('/').map_or(server.as_str(), |(r, _)| r);
        command.args(["--postgres", &format!("{root}/{prefix}")]);
    }
    let mut child = command.spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no output"))?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let mut report = String::new();
    let read = tokio::time::timeout(Duration::from_secs(90), async {
        while let Some(line) = lines.next_line().await? {
            report.push_str(&line);
            if line == "}" {
                break;
            }
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
    let outcome = match (read, serde_json::from_str::<Value>(&report)) {
        (Ok(Ok(())), Ok(report)) if report["ready"] == true => {
            serve(&format!("http://127.0.0.1:{base}"), dir).await
        }
        _ => Err(anyhow::anyhow!(
            "it did not become ready within 90 s: {report}"
        )),
    };
    #[cfg(unix)]
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    let _ = tokio::time::timeout(Duration::from_secs(15), child.wait()).await;
    outcome
}

/// The requests a restored shop must serve.
async fn serve(gateway: &str, dir: &Path) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let search = client
        .get(format!("{gateway}/api/products?limit=1"))
        .send()
        .await?;
    if !search.status().is_success() {
        anyhow::bail!("a search answered {}", search.status());
    }
    let email = format!("verify-{}@example.com", uuid::Uuid::new_v4().simple());
    let body =
        serde_json::json!({"email": email, "password": "restored shop check", "name": "Verify"});
    let registered = client
        .post(format!("{gateway}/api/users/register"))
        .json(&body)
        .send()
        .await?;
    let login = serde_json::json!({"email": email, "password": "restored shop check"});
    let signed_in = client
        .post(format!("{gateway}/api/users/login"))
        .json(&login)
        .send()
        .await?;
    if !registered.status().is_success() || !signed_in.status().is_success() {
        anyhow::bail!(
            "signing up and in answered {} and {}",
            registered.status(),
            signed_in.status()
        );
    }
    let secrets: toml::Table = toml::from_str(&std::fs::read_to_string(dir.join("secrets.toml"))?)?;
    let admin = secrets["admin_token"].as_str().unwrap_or_default();
    let orders: Value = client
        .get(format!("{gateway}/api/orders?customer=all&limit=1"))
        .bearer_auth(admin)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    if let Some(id) = orders["items"][0]["id"].as_str() {
        let order = client
            .get(format!("{gateway}/api/orders/{id}"))
            .bearer_auth(admin)
            .send()
            .await?;
        if !order.status().is_success() {
            anyhow::bail!("reading order {id} answered {}", order.status());
        }
    }
    Ok(())
}

/// Ten free consecutive ports for a shop.
fn free_base() -> anyhow::Result<u16> {
    for _ in 0..100 {
        let base = 20_000 + u16::try_from(rand::random::<u32>() % 30_000)?;
        if (0..10).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return Ok(base);
        }
    }
    anyhow::bail!("no ten free consecutive ports to start the restored shop on")
}

/// What an in-place restore did.
#[derive(Debug, serde::Serialize)]
pub struct Restored {
    /// The services whose databases were put back.
    pub services: Vec<String>,
    /// Where the data they replaced is kept.
    pub previous: String,
}

/// Puts the backup `name` back in place of the SQLite databases of the data directory `data`
/// (only `only`'s, when given). The shop must not be running.
pub async fn in_place(
    store: &Store,
    name: &str,
    key: Option<&Key>,
    data: &Path,
    only: Option<&str>,
) -> anyhow::Result<Restored> {
    let manifest = store.manifest(name)?;
    if manifest.encryption.is_some() && key.is_none() {
        anyhow::bail!(
            "backup {name} is encrypted; pass --encrypt-key-file with the key it was made with"
        );
    }
    let databases: Vec<&Database> = manifest
        .databases
        .iter()
        .filter(|d| only.is_none_or(|s| s == d.service))
        .collect();
    if databases.is_empty() {
        anyhow::bail!(
            "backup {name} holds no database of the {} service",
            only.unwrap_or("?")
        );
    }
    if let Some(d) = databases.iter().find(|d| d.backend != "sqlite") {
        anyhow::bail!(
            "backup {name} holds PostgreSQL dumps ({}); restoring them in place is not supported yet: restore with `pg_restore` into fresh databases",
            d.file
        );
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S").to_string();
    let staging = data.join(format!(".restore-{stamp}"));
    shopctl_kit::files::create_private_dir(&staging)?;
    // Everything restored and checked beside the live data before anything is touched.
    for database in &databases {
        let loaded = async {
            let stored = store.read(name, &database.file)?;
            if seal::sha256_hex(&stored) != database.sha256 {
                anyhow::bail!(
                    "{}: the checksum does not match the manifest's",
                    database.file
                );
            }
            let raw = seal::unpack(&stored, &database.file, key, database.raw_bytes)?;
            load(database, &raw, &Scratch::Sqlite, &staging, "").await
        }
        .await;
        if let Err(e) = loaded {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    }
    let previous = data.join(format!("pre-restore-{stamp}"));
    shopctl_kit::files::create_private_dir(&previous)?;
    let mut moved: Vec<(std::path::PathBuf, std::path::PathBuf)> = Vec::new();
    let mut placed: Vec<std::path::PathBuf> = Vec::new();
    let swapped = (|| -> std::io::Result<()> {
        for database in &databases {
            let file = format!("{}.db", database.service);
            for suffix in ["", "-wal", "-shm"] {
                let live = data.join(format!("{file}{suffix}"));
                if live.exists() {
                    let kept = previous.join(format!("{file}{suffix}"));
                    std::fs::rename(&live, &kept)?;
                    moved.push((kept, live));
                }
            }
            std::fs::rename(staging.join(&file), data.join(&file))?;
            placed.push(data.join(&file));
        }
        Ok(())
    })();
    if let Err(e) = swapped {
        // Back as it was: the restored files out, the live ones in.
        for restored in &placed {
            let _ = std::fs::remove_file(restored);
        }
        for (kept, live) in moved.iter().rev() {
            let _ = std::fs::rename(kept, live);
        }
        let _ = std::fs::remove_dir_all(&staging);
        anyhow::bail!("the restore was undone, the data is as it was: {e}");
    }
    let _ = std::fs::remove_dir_all(&staging);
    Ok(Restored {
        services: databases.iter().map(|d| d.service.clone()).collect(),
        previous: previous.display().to_string(),
    })
}
