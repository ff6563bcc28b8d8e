//! Keys: what each does in each view, the dialogs, and the text typed at the bottom line.

use crossterm::event::{KeyCode, KeyEvent};

use super::logs::LEVELS;
use super::{App, Effect, Input, Logs, Modal};
use crate::keys::{self, Action, View};
use crate::model::LogLine;
use crate::platform::Fault;

impl App {
    pub(super) fn key(&mut self, key: KeyEvent) {
        if let Some(input) = self.input.take() {
            self.typing(input, key);
            return;
        }
        if let Some(modal) = self.modal.take() {
            self.in_modal(modal, key);
            return;
        }
        let Some(action) = keys::lookup(key, self.read_only) else {
            return;
        };
        self.message = None;
        match action {
            Action::Help => self.modal = Some(Modal::Help),
            Action::Command => self.input = Some(Input::Command(String::new())),
            Action::Filter => {
                let current = if self.view == View::Logs {
                    self.logs.filter.clone()
                } else {
                    self.filter.clone()
                };
                self.input = Some(Input::Filter(current));
            }
            Action::NextView | Action::PreviousView => {
                let at = View::ALL.iter().position(|v| *v == self.view).unwrap_or(0);
                let step = if action == Action::NextView {
                    1
                } else {
                    View::ALL.len() - 1
                };
                let next = View::ALL[(at + step) % View::ALL.len()];
                self.show(next);
            }
            Action::Up => self.step(-1),
            Action::Down => self.step(1),
            Action::Open => self.open(),
            Action::Back => {
                if self.view == View::Logs && !self.logs.filter.is_empty() {
                    self.logs.filter.clear();
                } else if !self.filter.is_empty() {
                    self.filter.clear();
                } else {
                    self.view = View::Overview;
                }
            }
            Action::Logs => {
                if let Some(service) = self.target() {
                    self.follow(&service);
                    self.view = View::Logs;
                }
            }
            Action::Level => {
                self.logs.level = (self.logs.level + 1) % LEVELS.len();
                self.logs.selected = None;
            }
            Action::CopyTrace => self.copy_trace(),
            Action::Restart => self.confirm_restart(None),
            Action::InjectErrors => self.confirm_fault(None, Fault::Errors(0.5)),
            Action::InjectLatency => self.confirm_fault(None, Fault::Latency(2000)),
            Action::ClearFaults => self.confirm_fault(None, Fault::Clear),
            Action::Quit => self.quit = true,
        }
    }

    /// Shows `view`; the service and logs views start on the selected service.
    pub(super) fn show(&mut self, view: View) {
        if matches!(view, View::Service | View::Logs) {
            let service = self
                .service
                .clone()
                .or_else(|| self.ordered().first().map(|r| r.name.clone()));
            if let Some(service) = service {
                self.service = Some(service.clone());
                if self.logs.service.as_deref() != Some(service.as_str()) {
                    self.follow(&service);
                }
            }
        }
        self.view = view;
    }

    pub(super) fn follow(&mut self, service: &str) {
        if self.logs.service.as_deref() == Some(service) {
            return;
        }
        self.logs = Logs {
            service: Some(service.to_owned()),
            level: self.logs.level,
            ..Logs::default()
        };
        self.effects.push(Effect::FollowLogs(service.to_owned()));
    }

    pub(super) fn step(&mut self, by: isize) {
        let (at, len) = match self.view {
            View::Alerts => (&mut self.alert_selected, self.alerts.len()),
            View::Logs => {
                let len = self.logs.shown().len();
                let current = self.logs.selected.unwrap_or(len.saturating_sub(1));
                let next = current.saturating_add_signed(by);
                // Moving past the end follows the log again.
                self.logs.selected = (next < len.saturating_sub(1)).then_some(next);
                return;
            }
            _ => {
                let len = self.ordered().len();
                (&mut self.selected, len)
            }
        };
        *at = at.saturating_add_signed(by).min(len.saturating_sub(1));
    }

    pub(super) fn open(&mut self) {
        match self.view {
            View::Overview => {
                if let Some(service) = self.target() {
                    self.service = Some(service.clone());
                    self.follow(&service);
                    self.view = View::Service;
                }
            }
            View::Alerts => {
                if let Some(id) = self
                    .alerts
                    .get(self.alert_selected)
                    .and_then(|a| a.runbook.clone())
                {
                    self.effects.push(Effect::Runbook(id.clone()));
                    self.effects.push(Effect::Record("runbook_open", id));
                }
            }
            View::Logs => {
                if let Some(trace) = self.selected_line().and_then(|l| l.trace_id.clone()) {
                    self.effects.push(Effect::Trace(trace));
                } else {
                    self.message = Some(("this line has no trace id".to_owned(), true));
                }
            }
            _ => {}
        }
    }

    /// The log line selected (the newest when following).
    pub fn selected_line(&self) -> Option<&LogLine> {
        let shown = self.logs.shown();
        let at = self.logs.selected.unwrap_or(shown.len().saturating_sub(1));
        shown.get(at).copied()
    }

    pub(super) fn copy_trace(&mut self) {
        match self.selected_line().and_then(|l| l.trace_id.clone()) {
            Some(trace) if self.view == View::Logs => {
                self.effects.push(Effect::Copy(trace.clone()));
                self.effects
                    .push(Effect::Record("trace_id_copy", trace.clone()));
                self.message = Some((format!("copied trace id {trace}"), false));
            }
            _ => self.message = Some(("no trace id to copy here".to_owned(), true)),
        }
    }

    pub(super) fn confirm_restart(&mut self, service: Option<String>) {
        let Some(service) = service.or_else(|| self.target()) else {
            return;
        };
        self.modal = Some(Modal::Confirm {
            prompt: format!("Restart {service}?"),
            effect: Effect::Restart(service),
        });
    }

    pub(super) fn confirm_fault(&mut self, service: Option<String>, fault: Fault) {
        let Some(service) = service.or_else(|| self.target()) else {
            return;
        };
        let what = match fault {
            Fault::Errors(rate) => format!(
                "Inject errors into {service} ({:.0}% of requests fail)?",
                rate * 100.0
            ),
            Fault::Latency(ms) => format!("Inject {ms} ms of latency into {service}?"),
            Fault::Clear => format!("Clear the faults of {service}?"),
        };
        self.modal = Some(Modal::Confirm {
            prompt: what,
            effect: Effect::Fault(service, fault),
        });
    }

    pub(super) fn in_modal(&mut self, modal: Modal, key: KeyEvent) {
        match (modal, key.code) {
            (Modal::Confirm { effect, .. }, KeyCode::Char('y' | 'Y') | KeyCode::Enter) => {
                let what = match &effect {
                    Effect::Restart(s) => format!("restarting {s}…"),
                    Effect::Fault(s, _) => format!("sending the fault to {s}…"),
                    _ => String::new(),
                };
                self.message = Some((what, false));
                self.effects.push(effect);
            }
            (Modal::Confirm { .. }, _) => {
                self.message = Some(("cancelled".to_owned(), false));
            }
            (_, KeyCode::Char('q')) => self.quit = true,
            // Help and text close on esc, enter or `?`; other keys keep them open.
            (_, KeyCode::Esc | KeyCode::Enter | KeyCode::Char('?')) => {}
            (modal, _) => self.modal = Some(modal),
        }
    }

    pub(super) fn typing(&mut self, input: Input, key: KeyEvent) {
        let (mut text, is_command) = match input {
            Input::Command(t) => (t, true),
            Input::Filter(t) => (t, false),
        };
        match key.code {
            KeyCode::Esc => {
                if !is_command {
                    self.set_filter(String::new());
                }
                return;
            }
            KeyCode::Enter => {
                if is_command {
                    self.command(&text);
                }
                return;
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) => text.push(c),
            _ => {}
        }
        if is_command {
            self.input = Some(Input::Command(text));
        } else {
            self.set_filter(text.clone());
            self.input = Some(Input::Filter(text));
        }
    }

    pub(super) fn set_filter(&mut self, text: String) {
        if self.view == View::Logs {
            self.logs.filter = text;
            self.logs.selected = None;
        } else {
            self.filter = text;
            self.selected = 0;
        }
    }
}
