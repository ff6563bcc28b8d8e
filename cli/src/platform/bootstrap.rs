//! Setting an environment up, idempotently (what `shopctl bootstrap` runs). Checks the prerequisites (a writable
//! data directory, the database server, `kubectl` and `velero` when asked for, and with
//! `--kubernetes` whether the cluster can take the shop: `deploy::cluster`), writes
//! `shopctl.toml` and `.env` from `templates/`, creates the databases, runs the migrations,
//! makes the first signing key and seeds the demo catalog (dev only). What exists is kept.
//! `--check` reports the same steps without changing anything.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
};

use clap::ValueEnum;
use serde::Serialize;

use super::{Layout, Secrets, parse_env, write_private};
use crate::printer::Printer;

mod databases;

use databases::{Sources, service_databases};

/// The environment being set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Environment {
    /// A developer's or a test machine: the demo catalog is seeded.
    Dev,
    /// Production: nothing is seeded.
    Production,
}

/// An environment to set up: what `shopctl bootstrap`'s flags ask for, resolved.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)]
pub struct Bootstrap {
    /// Report only, changing nothing.
    pub check: bool,
    /// Directory for SQLite files, audit logs and keys.
    pub data_dir: PathBuf,
    /// A PostgreSQL server for a database per service, instead of SQLite files.
    pub postgres: Option<String>,
    /// Which environment.
    pub environment: Environment,
    /// Port of the gateway written to `shopctl.toml`.
    pub base_port: u16,
    /// Where the secrets go.
    pub env_file: PathBuf,
    /// Also require `kubectl`, and check the cluster.
    pub kubernetes: bool,
    /// The Kubernetes context to check (the current one when `None`).
    pub context: Option<String>,
    /// The namespace the shop goes into.
    pub namespace: String,
    /// Also require `velero`.
    pub backups: bool,
    /// The configuration file to write or check.
    pub config: PathBuf,
}

/// What a step found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Already in place.
    Ok,
    /// Made now.
    Created,
    /// Not there (`--check`), or an optional tool that is absent.
    Missing,
    /// Not wanted here (production seeding, optional tools).
    Skipped,
    /// Broken or unreachable: the detail says how to fix it.
    Failed,
}

/// One step of the set-up and what it found or did.
#[derive(Debug, Serialize)]
pub struct Step {
    /// Its name (`config file`, `database product`, …).
    #[serde(rename = "step")]
    pub name: String,
    /// What it found or did.
    pub state: State,
    /// What, or how to fix it.
    pub detail: String,
}

/// The outcome of a set-up, `--output json`'s document.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Whether it only checked.
    pub check: bool,
    /// Everything in place (or made).
    pub ok: bool,
    /// The configuration file.
    pub config: String,
    /// The secrets file.
    pub env_file: String,
    /// Every step, in order.
    pub steps: Vec<Step>,
}

/// Where `program` is on `PATH`, if it is.
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Whether files can be created in `dir` (or, when it does not exist yet, in its nearest
/// existing ancestor).
fn writable(dir: &Path) -> Result<(), String> {
    let mut at = dir;
    while !at.exists() {
        at = match at.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        if at == Path::new(".") {
            break;
        }
    }
    if !at.is_dir() {
        return Err(format!("{} is not a directory", at.display()));
    }
    let probe = at.join(format!(".shopctl-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| format!("{} is not writable: {e}", at.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

impl Bootstrap {
    fn prerequisites(&self, steps: &mut Vec<Step>) {
        steps.push(match writable(&self.data_dir) {
            Ok(()) => Step {
                name: "data directory".to_owned(),
                state: State::Ok,
                detail: format!("{} is writable", self.data_dir.display()),
            },
            Err(why) => Step {
                name: "data directory".to_owned(),
                state: State::Failed,
                detail: format!("{why}; pass --data-dir to a writable place"),
            },
        });
        for (tool, wanted, install) in [
            (
                "kubectl",
                self.kubernetes,
                "install it: apt-get install kubectl, or https://kubernetes.io/docs/tasks/tools/",
            ),
            (
                "velero",
                self.backups,
                "install it from https://velero.io/docs/main/basic-install/",
            ),
        ] {
            let (state, detail) = match (on_path(tool), wanted) {
                (Some(path), _) => (State::Ok, path.display().to_string()),
                (None, true) => (State::Failed, format!("not on PATH; {install}")),
                (None, false) => (
                    State::Skipped,
                    format!(
                        "not on PATH (needed only with --{})",
                        if tool == "kubectl" {
                            "kubernetes"
                        } else {
                            "backups"
                        }
                    ),
                ),
            };
            steps.push(Step {
                name: tool.to_owned(),
                state,
                detail,
            });
        }
    }

    fn layout(&self) -> anyhow::Result<Layout> {
        let data_dir = std::path::absolute(&self.data_dir)?;
        Ok(Layout {
            base_port: self.base_port,
            data_dir: data_dir.display().to_string(),
            environment: match self.environment {
                Environment::Dev => "dev",
                Environment::Production => "production",
            },
            local_limits: false,
            replicas: 1,
        })
    }

    /// `shopctl.toml`: kept when it exists and loads, written from the template when missing.
    fn config_file(&self, sources: &Sources, steps: &mut Vec<Step>) -> anyhow::Result<()> {
        let config = &sources.config;
        let step = format!("config {}", config.display());
        if config.exists() {
            let loaded = service_databases(sources).and_then(|_| {
                Ok(shopctl_gateway::load_settings(
                    &sources.for_service("gateway")?,
                )?)
            });
            steps.push(match loaded {
                Ok(_) => Step {
                    name: step,
                    state: State::Ok,
                    detail: "present and valid (kept as it is)".to_owned(),
                },
                Err(e) => Step {
                    name: step,
                    state: State::Failed,
                    detail: format!("{e:#}; correct it, or move it away to have a new one written"),
                },
            });
            return Ok(());
        }
        if self.check {
            steps.push(Step {
                name: step,
                state: State::Missing,
                detail: "run `shopctl bootstrap` to write it from templates/shopctl.toml"
                    .to_owned(),
            });
            return Ok(());
        }
        let text = self.layout()?.config("shopctl bootstrap")?;
        std::fs::write(config, text)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", config.display()))?;
        steps.push(Step {
            name: step,
            state: State::Created,
            detail: "written from templates/shopctl.toml".to_owned(),
        });
        Ok(())
    }

    /// `.env`: kept when it exists and parses, written with fresh secrets when missing.
    fn env_file(&self, steps: &mut Vec<Step>) -> anyhow::Result<()> {
        let step = format!("secrets {}", self.env_file.display());
        if let Ok(text) = std::fs::read_to_string(&self.env_file) {
            steps.push(match parse_env(&text) {
                Ok(vars) if vars.iter().any(|(k, _)| k.ends_with("__SERVICE_KEY")) => Step {
                    name: step,
                    state: State::Ok,
                    detail: format!("present ({} variables, kept as they are)", vars.len()),
                },
                Ok(_) => Step {
                    name: step,
                    state: State::Failed,
                    detail: "holds no SHOPCTL_<SECTION>__SERVICE_KEY; move it away to have a new one written".to_owned(),
                },
                Err(e) => Step {
                    name: step,
                    state: State::Failed,
                    detail: format!("{e}; correct it, or move it away to have a new one written"),
                },
            });
            return Ok(());
        }
        if self.check {
            steps.push(Step {
                name: step,
                state: State::Missing,
                detail: "run `shopctl bootstrap` to generate the secrets".to_owned(),
            });
            return Ok(());
        }
        let mut text = Secrets::generate().env_file()?;
        for (service, url) in self.database_urls()? {
            let _ = writeln!(
                text,
                "SHOPCTL_{}__DATABASE_URL={url}",
                service.to_uppercase()
            );
        }
        write_private(&self.env_file, &text)?;
        steps.push(Step {
            name: step,
            state: State::Created,
            detail: "fresh service key and admin token (mode 0600)".to_owned(),
        });
        Ok(())
    }

    /// Runs every step in order (a step only when those it depends on passed) and reports.
    pub async fn run(&self, printer: Printer) -> anyhow::Result<Report> {
        let config = self.config.clone();
        let sources = Sources {
            config: config.clone(),
            env_file: self.env_file.clone(),
        };
        let mut steps = Vec::new();
        self.prerequisites(&mut steps);
        if self.kubernetes {
            match crate::logs::pods::client(self.context.as_deref()).await {
                Ok(client) => {
                    steps.extend(crate::deploy::cluster::check(&client, &self.namespace).await);
                }
                Err(e) => steps.push(Step {
                    name: "cluster".to_owned(),
                    state: State::Failed,
                    detail: format!("{e:#}"),
                }),
            }
        }
        self.database_server(&mut steps).await?;
        let ready = !steps.iter().any(|s| s.state == State::Failed);
        if ready {
            if !self.check {
                super::private_data_dir(&self.data_dir, printer)?;
            }
            self.config_file(&sources, &mut steps)?;
            // A broken configuration stops here: nothing more is written until it is mended.
            if !steps.iter().any(|s| s.state == State::Failed) {
                self.env_file(&mut steps)?;
            }
        }
        let configured = !steps.iter().any(|s| s.state == State::Failed) && config.exists();
        if configured {
            self.databases(&sources, &mut steps).await?;
            let migrated = !steps
                .iter()
                .any(|s| s.state == State::Missing && s.name.starts_with("database"));
            if migrated {
                self.keys_and_seed(&sources, &mut steps).await?;
            }
        }
        let ok = steps
            .iter()
            .all(|s| matches!(s.state, State::Ok | State::Created | State::Skipped));
        let report = Report {
            check: self.check,
            ok,
            config: config.display().to_string(),
            env_file: self.env_file.display().to_string(),
            steps,
        };
        Ok(report)
    }
}

/// The report as a table with a closing line.
pub fn text(report: &Report) -> String {
    let mut text = format!("{:<28} {:<8} DETAIL", "STEP", "STATE");
    for step in &report.steps {
        let state = match step.state {
            State::Ok => "ok",
            State::Created => "created",
            State::Missing => "MISSING",
            State::Skipped => "skipped",
            State::Failed => "FAILED",
        };
        let _ = write!(text, "\n{:<28} {state:<8} {}", step.name, step.detail);
    }
    let failed = report.steps.iter().any(|s| s.state == State::Failed);
    text.push_str(match (report.ok, report.check, failed) {
        (true, true, _) => "\n\neverything is in place",
        (true, false, _) => {
            "\n\nready: `shopctl serve <service>` reads these files (or run `shopctl up`)"
        }
        (false, _, true) => "\n\nnot ready: fix what FAILED says and run `shopctl bootstrap` again",
        (false, _, false) => "\n\nsomething is missing: run `shopctl bootstrap` to set it up",
    });
    text
}
