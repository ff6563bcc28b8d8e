//! The `:` command line.

use super::{App, Effect, Modal};
use crate::keys::View;
use crate::platform::Fault;

impl App {
    /// Runs a `:` command.
    pub fn command(&mut self, line: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let service = |i: usize| -> Result<Option<String>, String> {
            match words.get(i) {
                None => Ok(None),
                Some(name) if self.row(name).is_some() => Ok(Some((*name).to_owned())),
                Some(name) => Err(format!(
                    "no service `{name}`; the services are {}",
                    self.rows
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        };
        let changes = matches!(words.first(), Some(&("restart" | "fault")));
        if changes && self.read_only {
            self.message = Some((
                "read-only: actions are off (started with --read-only)".to_owned(),
                true,
            ));
            return;
        }
        let result = match words.first().copied() {
            None => Ok(()),
            Some("q" | "quit") => {
                self.quit = true;
                Ok(())
            }
            Some("help") => {
                self.modal = Some(Modal::Help);
                Ok(())
            }
            Some("overview" | "o") => {
                self.view = View::Overview;
                Ok(())
            }
            Some("business" | "b") => {
                self.view = View::Business;
                Ok(())
            }
            Some("alerts" | "a") => {
                self.view = View::Alerts;
                Ok(())
            }
            Some("kube" | "k8s" | "k") => {
                self.view = View::Kube;
                Ok(())
            }
            Some(view @ ("svc" | "service" | "logs")) => service(1).map(|named| {
                if let Some(name) = named {
                    self.service = Some(name);
                }
                self.show(if view == "logs" {
                    View::Logs
                } else {
                    View::Service
                });
            }),
            Some("restart") => service(1).and_then(|s| {
                s.ok_or_else(|| "say which: :restart <service>".to_owned())
                    .map(|s| self.confirm_restart(Some(s)))
            }),
            Some("fault") => service(1).and_then(|s| {
                let s =
                    s.ok_or_else(|| "say which: :fault <service> errors|latency|clear".to_owned())?;
                let fault = parse_fault(&words[2..])?;
                self.confirm_fault(Some(s), fault);
                Ok(())
            }),
            Some("runbook") => match words.get(1) {
                Some(id) => {
                    self.effects.push(Effect::Runbook((*id).to_owned()));
                    self.effects
                        .push(Effect::Record("runbook_open", (*id).to_owned()));
                    Ok(())
                }
                None => Err("say which: :runbook <id>".to_owned()),
            },
            Some(other) => Err(format!(
                "unknown command `{other}`; try :svc, :logs, :alerts, :business, :kube, :overview, :restart, :fault, :runbook, :q"
            )),
        };
        if let Err(e) = result {
            self.message = Some((e, true));
        }
    }
}

/// `errors [rate]`, `latency [ms]` or `clear`.
fn parse_fault(words: &[&str]) -> Result<Fault, String> {
    let amount = words.get(1).copied();
    match words.first().copied() {
        Some("errors") => Ok(Fault::Errors(
            amount
                .and_then(|r| r.parse().ok())
                .filter(|r| (0.0..=1.0).contains(r))
                .unwrap_or(0.5),
        )),
        Some("latency") => Ok(Fault::Latency(
            amount
                .and_then(|ms| ms.trim_end_matches("ms").parse().ok())
                .unwrap_or(2000),
        )),
        Some("clear") => Ok(Fault::Clear),
        _ => Err("say what: :fault <service> errors [rate]|latency [ms]|clear".to_owned()),
    }
}
