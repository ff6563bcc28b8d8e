//! The dashboard's state, event by event: what sorts on top, what keys do, what actions ask
//! and queue, what the logs keep, and what `--once` concludes.

#[path = "support/fixture.rs"]
mod fixture;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fixture::{empty, failing, healthy, log_lines, payment_alert, send};
use shopctl_tui::app::{App, Effect, LOG_LINES, Modal};
use shopctl_tui::event::{Event, Source, Update};
use shopctl_tui::keys::View;
use shopctl_tui::model::{Health, Probe, SourceState};
use shopctl_tui::platform::Fault;

fn press(app: &mut App, keys: &str) {
    for c in keys.chars() {
        app.update(Event::Key(KeyEvent::from(KeyCode::Char(c))));
    }
}

fn key(app: &mut App, code: KeyCode) {
    app.update(Event::Key(KeyEvent::from(code)));
}

fn command(app: &mut App, line: &str) {
    press(app, ":");
    press(app, line);
    key(app, KeyCode::Enter);
}

fn order(app: &App) -> Vec<String> {
    app.ordered().iter().map(|r| r.name.clone()).collect()
}

#[test]
fn what_is_broken_sorts_on_top_worst_first() {
    let app = failing();
    let order = order(&app);
    assert_eq!(order[0], "inventory", "{order:?}");
    assert_eq!(order[1], "payment", "{order:?}");
    assert_eq!(app.row("inventory").map(|r| r.health), Some(Health::Down));
    assert_eq!(app.row("payment").map(|r| r.health), Some(Health::Degraded));
    assert_eq!(
        app.row("payment").map(|r| r.alerts.clone()),
        Some(vec!["HighErrorRatio".to_owned()])
    );
    // The rest keep the shop's order.
    assert_eq!(&order[2..4], ["gateway", "frontend"]);
}

#[test]
fn a_service_that_comes_back_is_up_and_its_since_moves() {
    let mut app = failing();
    let down_since = app.row("inventory").and_then(|r| r.since);
    app.now += chrono::Duration::seconds(20);
    send(
        &mut app,
        Update::Probes(
            fixture::SERVICES
                .iter()
                .map(|s| ((*s).to_owned(), Probe::Ready))
                .collect(),
        ),
    );
    let row = app.row("inventory").expect("inventory");
    assert_eq!(row.health, Health::Up);
    assert_ne!(row.since, down_since);
}

#[test]
fn only_changes_redraw() {
    let mut app = healthy();
    assert!(!send(
        &mut app,
        Update::Source(Source::Metrics, SourceState::Ok)
    ));
    assert!(send(
        &mut app,
        Update::Source(Source::Metrics, SourceState::Failing("x".to_owned()))
    ));
    // A tick redraws only where an age on screen moves (something is wrong).
    assert!(!app.update(Event::Tick));
    let mut broken = failing();
    assert!(broken.update(Event::Tick));
}

#[test]
fn arrows_and_enter_open_the_selected_service_and_follow_its_log() {
    let mut app = failing();
    press(&mut app, "j");
    assert_eq!(app.target().as_deref(), Some("payment"));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Service);
    assert_eq!(app.service.as_deref(), Some("payment"));
    assert_eq!(app.effects, vec![Effect::FollowLogs("payment".to_owned())]);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.view, View::Overview);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.view, View::Service);
    key(&mut app, KeyCode::BackTab);
    assert_eq!(app.view, View::Overview);
}

#[test]
fn restart_and_faults_ask_first_and_a_no_does_nothing() {
    let mut app = failing();
    press(&mut app, "jr");
    assert!(
        matches!(&app.modal, Some(Modal::Confirm { prompt, .. }) if prompt == "Restart payment?")
    );
    press(&mut app, "n");
    assert!(app.modal.is_none());
    assert!(app.effects.is_empty());
    press(&mut app, "ry");
    assert_eq!(app.effects, vec![Effect::Restart("payment".to_owned())]);
    app.effects.clear();
    press(&mut app, "e");
    key(&mut app, KeyCode::Enter);
    assert_eq!(
        app.effects,
        vec![Effect::Fault("payment".to_owned(), Fault::Errors(0.5))]
    );
    app.effects.clear();
    command(&mut app, "fault order latency 300");
    press(&mut app, "y");
    assert_eq!(
        app.effects,
        vec![Effect::Fault("order".to_owned(), Fault::Latency(300))]
    );
}

#[test]
fn read_only_has_no_actions_and_says_so() {
    let mut app = App::new(&fixture::names(), true);
    press(&mut app, "rec");
    assert!(app.modal.is_none());
    command(&mut app, "restart payment");
    assert!(app.effects.is_empty());
    let (message, error) = app.message.clone().expect("a message");
    assert!(error && message.contains("read-only"), "{message}");
    let help: Vec<String> = shopctl_tui::ui::help_lines(true)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        help.iter().all(|l| !l.contains("restart the selected")),
        "{help:?}"
    );
    assert!(help.iter().any(|l| l.contains("read-only")), "{help:?}");
}

#[test]
fn the_command_line_switches_views_and_refuses_nonsense() {
    let mut app = healthy();
    command(&mut app, "svc order");
    assert_eq!(
        (app.view, app.service.as_deref()),
        (View::Service, Some("order"))
    );
    command(&mut app, "logs payment");
    assert_eq!(app.view, View::Logs);
    assert_eq!(app.logs.service.as_deref(), Some("payment"));
    assert!(
        app.effects
            .contains(&Effect::FollowLogs("payment".to_owned()))
    );
    command(&mut app, "alerts");
    assert_eq!(app.view, View::Alerts);
    command(&mut app, "svc nosuch");
    let (message, error) = app.message.clone().expect("an error");
    assert!(
        error && message.contains("no service `nosuch`") && message.contains("payment"),
        "{message}"
    );
    command(&mut app, "launch");
    assert!(
        app.message
            .as_ref()
            .is_some_and(|(m, e)| *e && m.contains("unknown command"))
    );
    command(&mut app, "q");
    assert!(app.quit);
}

#[test]
fn the_filter_narrows_the_overview_and_esc_clears_it() {
    let mut app = healthy();
    press(&mut app, "/pay");
    assert_eq!(order(&app), ["payment"]);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Esc);
    assert_eq!(order(&app).len(), 8);
}

#[test]
fn the_log_keeps_a_bounded_ring_and_filters_by_level_and_text() {
    let mut app = healthy();
    command(&mut app, "logs order");
    send(&mut app, Update::Logs(log_lines("order", LOG_LINES + 500)));
    assert_eq!(app.logs.lines.len(), LOG_LINES);
    assert_eq!(app.logs.dropped, 500);
    let all = app.logs.shown().len();
    press(&mut app, "v");
    press(&mut app, "v");
    assert_eq!(app.logs.level_name(), "warn");
    assert_eq!(app.logs.shown().len(), all * 2 / 5);
    press(&mut app, "/n=2499");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.logs.shown().len(), 1);
}

#[test]
fn a_log_line_opens_its_trace_and_copies_its_id() {
    let mut app = healthy();
    command(&mut app, "logs order");
    send(&mut app, Update::Logs(log_lines("order", 3)));
    app.effects.clear();
    key(&mut app, KeyCode::Up);
    key(&mut app, KeyCode::Enter);
    let id = format!("{:032x}", 1);
    assert_eq!(app.effects, vec![Effect::Trace(id.clone())]);
    app.effects.clear();
    press(&mut app, "y");
    assert_eq!(
        app.effects,
        vec![
            Effect::Copy(id.clone()),
            Effect::Record("trace_id_copy", id.clone())
        ]
    );
    send(
        &mut app,
        Update::Trace {
            trace_id: id.clone(),
            lines: Ok(vec!["gateway POST /api/orders 201".to_owned()]),
        },
    );
    assert!(matches!(&app.modal, Some(Modal::Text { title, .. }) if title.contains(&id)));
}

#[test]
fn an_alert_opens_its_runbook_or_its_annotations_before_runbooks_exist() {
    let mut app = failing();
    command(&mut app, "alerts");
    key(&mut app, KeyCode::Enter);
    assert_eq!(
        app.effects,
        vec![
            Effect::Runbook("high-error-ratio".to_owned()),
            Effect::Record("runbook_open", "high-error-ratio".to_owned())
        ]
    );
    send(
        &mut app,
        Update::Runbook {
            id: "high-error-ratio".to_owned(),
            runbook: None,
        },
    );
    let Some(Modal::Text { lines, .. }) = &app.modal else {
        panic!("no runbook shown")
    };
    assert!(
        lines.iter().any(|l| l == &payment_alert().summary),
        "{lines:?}"
    );
}

#[test]
fn kubernetes_replicas_decide_health_without_probes() {
    let mut app = empty();
    app.context = Some("prod/shop".to_owned());
    send(&mut app, Update::Kube(fixture::kube()));
    assert_eq!(app.row("order").map(|r| r.health), Some(Health::Unready));
    assert_eq!(app.row("payment").map(|r| r.health), Some(Health::Up));
    let mut kube = fixture::kube();
    kube.deployments[1].ready = 0;
    send(&mut app, Update::Kube(kube));
    assert_eq!(app.row("payment").map(|r| r.health), Some(Health::Down));
}

#[test]
fn ctrl_c_and_q_quit_even_from_a_dialog() {
    let mut app = healthy();
    press(&mut app, "?");
    press(&mut app, "q");
    assert!(app.quit);
    let mut app = healthy();
    app.update(Event::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert!(app.quit);
}

#[test]
fn the_snapshot_names_every_problem_and_its_verdict() {
    let snapshot = shopctl_tui::once::judge(&failing());
    assert!(!snapshot.healthy);
    assert!(
        snapshot.problems.iter().any(|p| p == "inventory is down"),
        "{:?}",
        snapshot.problems
    );
    assert!(
        snapshot
            .problems
            .iter()
            .any(|p| p == "payment is degraded (100.0% errors)"),
        "{:?}",
        snapshot.problems
    );
    assert!(
        snapshot
            .problems
            .iter()
            .any(|p| p.contains("HighErrorRatio"))
    );
    assert_eq!(snapshot.services[0].service, "inventory");
    let json = serde_json::to_value(&snapshot).expect("serialises");
    assert_eq!(json["version"], 1);
    assert_eq!(json["services"][1]["error_ratio"], 1.0);
    assert_eq!(json["alerts"][0]["runbook"], "high-error-ratio");
    let healthy = shopctl_tui::once::judge(&healthy());
    assert!(healthy.healthy, "{:?}", healthy.problems);
    assert!(
        healthy
            .text()
            .ends_with("healthy: every service is up and no alert is firing")
    );
}
