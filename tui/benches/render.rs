//! How long one frame takes to render, per view, at 80×24 and 200×50, against drawing an empty
//! frame of the same size (the baseline measured in the same run).

#[path = "../tests/support/fixture.rs"]
mod fixture;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::{Terminal, backend::TestBackend};
use shopctl_tui::keys::View;

fn frames(c: &mut Criterion) {
    let mut app = fixture::failing();
    app.logs.service = Some("payment".to_owned());
    fixture::send(
        &mut app,
        shopctl_tui::event::Update::Logs(fixture::log_lines("payment", 2000)),
    );
    app.context = Some("prod/shop".to_owned());
    fixture::send(&mut app, shopctl_tui::event::Update::Kube(fixture::kube()));
    app.service = Some("payment".to_owned());
    for (width, height) in [(80, 24), (200, 50)] {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
        let mut group = c.benchmark_group(format!("frame {width}x{height}"));
        group.bench_function("baseline: empty frame", |b| {
            b.iter(|| terminal.draw(|_| {}).map(|_| ()).expect("draws"));
        });
        for view in View::ALL {
            app.view = view;
            group.bench_function(view.title(), |b| {
                b.iter(|| {
                    terminal
                        .draw(|frame| shopctl_tui::ui::render(&app, frame))
                        .map(|_| ())
                        .expect("draws");
                });
            });
        }
        group.finish();
    }
}

criterion_group!(benches, frames);
criterion_main!(benches);
