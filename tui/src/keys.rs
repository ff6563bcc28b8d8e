//! The one keybinding table: what each key does, in which view, and what the help says. The
//! help screen is generated from it, so it cannot drift from what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// One row per service.
    #[default]
    Overview,
    /// One service in depth.
    Service,
    /// Checkouts, payments, sagas, stock.
    Business,
    /// Firing alerts.
    Alerts,
    /// One service's log.
    Logs,
    /// Deployments, pods, autoscalers, events.
    Kube,
}

impl View {
    /// Every view, in `tab` order.
    pub const ALL: [Self; 6] = [
        Self::Overview,
        Self::Service,
        Self::Business,
        Self::Alerts,
        Self::Logs,
        Self::Kube,
    ];

    /// Its title.
    pub fn title(self) -> &'static str {
        match self {
            Self::Overview => "Overview",
            Self::Service => "Service",
            Self::Business => "Business",
            Self::Alerts => "Alerts",
            Self::Logs => "Logs",
            Self::Kube => "Kubernetes",
        }
    }
}

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Show the help.
    Help,
    /// Open the command line.
    Command,
    /// Filter the rows (or the log lines) by text.
    Filter,
    /// Next view.
    NextView,
    /// Previous view.
    PreviousView,
    /// Move the selection up.
    Up,
    /// Move the selection down.
    Down,
    /// Open what is selected (a service, an alert's runbook, a log line's trace).
    Open,
    /// Close the dialog, filter or help; back to the overview.
    Back,
    /// Follow the selected service's log.
    Logs,
    /// Show only log lines at or above the next level.
    Level,
    /// Restart the selected service.
    Restart,
    /// Inject errors (half of the requests fail) into the selected service.
    InjectErrors,
    /// Inject 2 s of latency into the selected service.
    InjectLatency,
    /// Clear the selected service's faults.
    ClearFaults,
    /// Copy the selected log line's trace id.
    CopyTrace,
    /// Quit.
    Quit,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// The keys, as the help shows them.
    pub keys: &'static str,
    /// What they match.
    pub codes: &'static [KeyCode],
    /// What they do.
    pub action: Action,
    /// The help's words.
    pub help: &'static str,
    /// Whether it changes the shop (gone in `--read-only`).
    pub changes: bool,
}

const fn bind(
    keys: &'static str,
    codes: &'static [KeyCode],
    action: Action,
    help: &'static str,
    changes: bool,
) -> Binding {
    Binding {
        keys,
        codes,
        action,
        help,
        changes,
    }
}

/// Every binding.
pub const BINDINGS: &[Binding] = &[
    bind("?", &[KeyCode::Char('?')], Action::Help, "this help", false),
    bind(
        ":",
        &[KeyCode::Char(':')],
        Action::Command,
        "command line (:svc order, :alerts, :logs payment)",
        false,
    ),
    bind(
        "/",
        &[KeyCode::Char('/')],
        Action::Filter,
        "filter rows or log lines by text",
        false,
    ),
    bind("tab", &[KeyCode::Tab], Action::NextView, "next view", false),
    bind(
        "shift-tab",
        &[KeyCode::BackTab],
        Action::PreviousView,
        "previous view",
        false,
    ),
    bind(
        "↑ k",
        &[KeyCode::Up, KeyCode::Char('k')],
        Action::Up,
        "move up",
        false,
    ),
    bind(
        "↓ j",
        &[KeyCode::Down, KeyCode::Char('j')],
        Action::Down,
        "move down",
        false,
    ),
    bind(
        "enter l →",
        &[KeyCode::Enter, KeyCode::Char('l'), KeyCode::Right],
        Action::Open,
        "open: service, alert's runbook, log line's trace",
        false,
    ),
    bind(
        "esc h ←",
        &[KeyCode::Esc, KeyCode::Char('h'), KeyCode::Left],
        Action::Back,
        "back, close, clear the filter",
        false,
    ),
    bind(
        "L",
        &[KeyCode::Char('L')],
        Action::Logs,
        "follow the selected service's log",
        false,
    ),
    bind(
        "v",
        &[KeyCode::Char('v')],
        Action::Level,
        "logs: minimum level (all, info, warn, error)",
        false,
    ),
    bind(
        "y",
        &[KeyCode::Char('y')],
        Action::CopyTrace,
        "logs: copy the line's trace id",
        false,
    ),
    bind(
        "r",
        &[KeyCode::Char('r')],
        Action::Restart,
        "restart the selected service",
        true,
    ),
    bind(
        "e",
        &[KeyCode::Char('e')],
        Action::InjectErrors,
        "inject errors (half the requests fail)",
        true,
    ),
    bind(
        "d",
        &[KeyCode::Char('d')],
        Action::InjectLatency,
        "inject 2 s of latency",
        true,
    ),
    bind(
        "c",
        &[KeyCode::Char('c')],
        Action::ClearFaults,
        "clear the selected service's faults",
        true,
    ),
    bind(
        "q ctrl-c",
        &[KeyCode::Char('q')],
        Action::Quit,
        "quit",
        false,
    ),
];

/// What `key` does, if anything (actions that change the shop only when `read_only` is off).
pub fn lookup(key: KeyEvent, read_only: bool) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    BINDINGS
        .iter()
        .filter(|b| !(read_only && b.changes))
        .find(|b| b.codes.contains(&key.code))
        .map(|b| b.action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_means_one_thing() {
        let mut seen = Vec::new();
        for binding in BINDINGS {
            for code in binding.codes {
                assert!(!seen.contains(code), "{code:?} bound twice");
                seen.push(*code);
            }
        }
    }

    #[test]
    fn read_only_removes_what_changes_the_shop() {
        let r = KeyEvent::from(KeyCode::Char('r'));
        assert_eq!(lookup(r, false), Some(Action::Restart));
        assert_eq!(lookup(r, true), None);
        assert_eq!(
            lookup(KeyEvent::from(KeyCode::Char('j')), true),
            Some(Action::Down)
        );
    }
}
