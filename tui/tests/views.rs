//! Every view drawn on ratatui's `TestBackend` at 80×24 and 200×50, compared with the
//! snapshots in `tests/snapshots` (insta): a change to what the on-call engineer sees shows up
//! in review as a diff of the screen.

#[path = "support/fixture.rs"]
mod fixture;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::{Terminal, backend::TestBackend};
use shopctl_tui::app::App;
use shopctl_tui::event::{Event, Source, Update};
use shopctl_tui::keys::View;
use shopctl_tui::model::SourceState;

fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal
        .draw(|frame| shopctl_tui::ui::render(app, frame))
        .expect("draws");
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..height {
        let line: String = (0..width)
            .map(|x| buffer[(x, y)].symbol().to_owned())
            .collect();
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// A shop in trouble, with every source answering and something in every view.
fn rich() -> App {
    let mut app = fixture::failing();
    app.context = Some("prod/shop".to_owned());
    fixture::send(&mut app, Update::Source(Source::Kube, SourceState::Ok));
    fixture::send(&mut app, Update::Kube(fixture::kube()));
    app.service = Some("payment".to_owned());
    app.logs.service = Some("payment".to_owned());
    fixture::send(&mut app, Update::Source(Source::Logs, SourceState::Ok));
    fixture::send(&mut app, Update::Logs(fixture::log_lines("payment", 40)));
    fixture::send(&mut app, Update::Source(Source::Inventory, SourceState::Ok));
    app
}

fn local() -> App {
    let mut app = fixture::failing();
    app.service = Some("gateway".to_owned());
    app
}

#[test]
fn every_view_at_both_sizes() {
    for (name, app) in [("kube", rich()), ("local", local())] {
        for view in View::ALL {
            let mut app = app.clone();
            app.view = view;
            for (w, h) in [(80, 24), (200, 50)] {
                insta::assert_snapshot!(
                    format!("{name}_{}_{w}x{h}", view.title().to_lowercase()),
                    screen(&app, w, h)
                );
            }
        }
    }
}

#[test]
fn missing_sources_are_named_not_blank() {
    let mut app = fixture::empty();
    fixture::send(
        &mut app,
        Update::Source(
            Source::Metrics,
            SourceState::Failing("Prometheus at http://127.0.0.1:9 : not answering".to_owned()),
        ),
    );
    fixture::send(
        &mut app,
        Update::Source(
            Source::Alerts,
            SourceState::Failing("Alertmanager at http://127.0.0.1:9: not answering".to_owned()),
        ),
    );
    for view in View::ALL {
        app.view = view;
        insta::assert_snapshot!(
            format!("missing_{}", view.title().to_lowercase()),
            screen(&app, 80, 24)
        );
    }
}

#[test]
fn help_confirm_and_a_small_terminal() {
    let mut app = local();
    app.update(Event::Key(KeyEvent::from(KeyCode::Char('?'))));
    insta::assert_snapshot!("help", screen(&app, 200, 50));
    let mut read_only = App::new(&fixture::names(), true);
    read_only.now = fixture::now();
    read_only.update(Event::Key(KeyEvent::from(KeyCode::Char('?'))));
    insta::assert_snapshot!("help_read_only", screen(&read_only, 120, 30));
    let mut app = local();
    app.update(Event::Key(KeyEvent::from(KeyCode::Char('r'))));
    insta::assert_snapshot!("confirm_restart", screen(&app, 80, 24));
    insta::assert_snapshot!("too_small", screen(&local(), 40, 10));
}
