//! `shopctl logs`: search and follow the services' JSON logs across services, from a local
//! shop's files or a Kubernetes deployment's pods; `--trace ID` shows one request's path
//! through the services with each hop's duration. The engine is `crate::logs`.

use std::{io::Write as _, path::PathBuf, time::Duration};

use clap::Args;

use super::{GlobalArgs, ServiceName};
use crate::{
    ExitStatus,
    logs::{Entry, Filter, Level, files, pods, trace},
    platform::{SERVICES, target::parse_duration},
    printer::OutputFormat,
};

/// Search and follow the services' logs.
#[derive(Debug, Args)]
pub(crate) struct Logs {
    /// Only this service's lines (repeat for more).
    #[arg(long = "service", value_enum, value_name = "SERVICE")]
    services: Vec<ServiceName>,
    /// Only lines at or above this level.
    #[arg(long, value_enum)]
    level: Option<Level>,
    /// Only lines of the last DURATION (`30s`, `10m`, `2h`, `7d`).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    since: Option<Duration>,
    /// Only lines containing this text, as written.
    #[arg(long, value_name = "TEXT")]
    grep: Option<String>,
    /// One request's path through the services: every hop of trace ID, in order, with its
    /// duration, and the lines logged while serving it.
    #[arg(long, value_name = "ID", value_parser = trace_id, conflicts_with = "follow")]
    trace: Option<String>,
    /// Keep printing lines as the services write them (Ctrl-C stops).
    #[arg(short, long)]
    follow: bool,
    /// Data directory of `shopctl up`, whose `logs/` are read.
    #[arg(
        long,
        env = "SHOPCTL_DATA_DIR",
        value_name = "DIR",
        default_value = ".shopctl"
    )]
    data_dir: PathBuf,
    /// Read the pods of this Kubernetes namespace instead of local files.
    #[arg(long, value_name = "NAMESPACE")]
    namespace: Option<String>,
    /// The kubeconfig context to use (default: the current one).
    #[arg(long, value_name = "CONTEXT", requires = "namespace")]
    context: Option<String>,
}

fn trace_id(text: &str) -> Result<String, String> {
    let id = text.trim().to_ascii_lowercase();
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(id)
    } else {
        Err(format!(
            "`{text}` is not a trace id: use the 32 hex digits of a line's `trace_id` (or of a `traceparent` header)"
        ))
    }
}

/// Prints one line as it comes; false once stdout is gone (a closed pipe).
fn print(format: OutputFormat, entry: &Entry) -> bool {
    let mut out = std::io::stdout().lock();
    let written = match format {
        OutputFormat::Json => serde_json::to_writer(&mut out, entry)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out)),
        OutputFormat::Text => writeln!(out, "{}", entry.render()),
    };
    written.and_then(|()| out.flush()).is_ok()
}

impl Logs {
    fn filter(&self) -> anyhow::Result<Filter> {
        let since = match self.since {
            Some(window) => Some(
                chrono::Utc::now()
                    - chrono::Duration::from_std(window)
                        .map_err(|_| anyhow::anyhow!("--since is too long; use e.g. 7d"))?,
            ),
            None => None,
        };
        Ok(Filter {
            services: self.services.iter().map(|s| s.name().to_owned()).collect(),
            level: self.level,
            since,
            grep: self.grep.clone(),
            trace: self.trace.clone(),
        })
    }

    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let filter = self.filter()?;
        let format = global.output;
        let names: Vec<&str> = SERVICES.iter().map(|(name, _)| *name).collect();
        let dir = self.data_dir.join("logs");
        let cluster = if let Some(namespace) = &self.namespace {
            Some((pods::client(self.context.as_deref()).await?, namespace))
        } else {
            if !dir.is_dir() {
                anyhow::bail!(
                    "no logs in {}: start the shop there with `shopctl up`, pass the --data-dir it uses, or --namespace for a cluster",
                    dir.display()
                );
            }
            None
        };
        if self.follow {
            let each = |entry: Entry| print(format, &entry);
            let following = async {
                match &cluster {
                    Some((client, namespace)) => {
                        pods::follow(client, namespace, &filter, each).await
                    }
                    None => {
                        Ok(
                            files::follow(&dir, &names, &filter, Duration::from_millis(250), each)
                                .await?,
                        )
                    }
                }
            };
            tokio::select! {
                followed = following => followed?,
                () = shopctl_kit::shutdown_signal() => {}
            }
            return Ok(ExitStatus::Success);
        }
        let entries = match &cluster {
            Some((client, namespace)) => pods::read(client, namespace, &filter).await?,
            None => files::read(&dir, &names, &filter)?,
        };
        if let Some(id) = &self.trace {
            let trace = trace::build(id, entries);
            global.printer().result(&trace.render(), &trace)?;
            return Ok(if trace.hops.is_empty() {
                ExitStatus::Failure
            } else {
                ExitStatus::Success
            });
        }
        for entry in &entries {
            if !print(format, entry) {
                break;
            }
        }
        Ok(if entries.is_empty() {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        })
    }
}
