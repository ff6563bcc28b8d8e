//! Drawing: [`render`] is a pure function of the state. Every view says what it cannot show
//! and why when a source is missing, never a blank; status is a symbol and a word as well as a
//! colour.

mod views;

use ratatui::{
    Frame,
    layout::{Constraint, Layout, Rect},
    style::{Color, Modifier, Style},
    text::{Line, Span},
    widgets::{Block, Borders, Clear, Paragraph, Wrap},
};

use crate::app::{App, Input, MIN_SIZE, Modal};
use crate::event::Source;
use crate::keys::{BINDINGS, View};
use crate::model::{Health, SourceState};

/// Draws the whole screen.
pub fn render(app: &App, frame: &mut Frame<'_>) {
    let area = frame.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let text = format!(
            "The terminal is {}×{}; shopctl dash needs at least {}×{}. Make it larger, or use `shopctl dash --once`.",
            area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
        );
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }
    let [top, main, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(header(app, area.width >= 120), top);
    match app.view {
        View::Overview => views::overview(app, frame, main),
        View::Service => views::service(app, frame, main),
        View::Business => views::business(app, frame, main),
        View::Alerts => views::alerts(app, frame, main),
        View::Logs => views::logs(app, frame, main),
        View::Kube => views::kube(app, frame, main),
    }
    frame.render_widget(footer(app), bottom);
    if let Some(modal) = &app.modal {
        draw_modal(app, modal, frame, main);
    }
}

fn header(app: &App, wide: bool) -> Line<'static> {
    let mut spans = vec![Span::styled(
        " shopctl dash ",
        Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED),
    )];
    // Narrow terminals name only the view shown (tab moves on).
    for view in View::ALL.into_iter().filter(|v| wide || *v == app.view) {
        let style = if view == app.view {
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        } else {
            Style::default().fg(Color::DarkGray)
        };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(view.title(), style));
    }
    spans.push(Span::raw("  │ "));
    let metrics = match (app.source(Source::Metrics), app.metrics_via) {
        (SourceState::Ok, Some(via)) => format!("metrics: {via} ✓"),
        (state, _) => format!("metrics: {}", state_word(state)),
    };
    spans.push(Span::raw(metrics));
    spans.push(Span::raw(format!(
        " alerts: {}",
        state_word(app.source(Source::Alerts))
    )));
    if let Some(context) = &app.context {
        spans.push(Span::raw(format!(
            " kube: {context} {}",
            state_word(app.source(Source::Kube))
        )));
    }
    if app.read_only {
        spans.push(Span::styled(
            "  READ-ONLY",
            Style::default().fg(Color::Yellow),
        ));
    }
    Line::from(spans)
}

/// A source's state in one word and a symbol.
pub(crate) fn state_word(state: &SourceState) -> &'static str {
    match state {
        SourceState::Off => "off",
        SourceState::Waiting => "…",
        SourceState::Ok => "✓",
        SourceState::Failing(_) => "✖ unreachable",
    }
}

fn footer(app: &App) -> Line<'static> {
    match (&app.input, &app.message) {
        (Some(Input::Command(text)), _) => Line::from(format!(":{text}█")),
        (Some(Input::Filter(text)), _) => Line::from(format!("/{text}█")),
        (None, Some((text, true))) => {
            Line::styled(format!("✖ {text}"), Style::default().fg(Color::Red))
        }
        (None, Some((text, false))) => Line::from(format!("✓ {text}")),
        (None, None) => {
            let mut hints = "? help : command / filter tab views enter open L logs".to_owned();
            if !app.read_only {
                hints.push_str(" r restart");
            }
            hints.push_str(" q quit");
            Line::styled(hints, Style::default().fg(Color::DarkGray))
        }
    }
}

fn draw_modal(app: &App, modal: &Modal, frame: &mut Frame<'_>, area: Rect) {
    let (title, lines): (String, Vec<Line<'_>>) = match modal {
        Modal::Help => ("keys (esc closes)".to_owned(), help_lines(app.read_only)),
        Modal::Confirm { prompt, .. } => (
            "confirm".to_owned(),
            vec![
                Line::from(prompt.clone()),
                Line::from(""),
                Line::from("y / enter: do it    any other key: cancel"),
                Line::from("It is recorded in the audit trail."),
            ],
        ),
        Modal::Text { title, lines } => (
            format!("{title} (esc closes)"),
            lines.iter().map(|l| Line::from(l.clone())).collect(),
        ),
    };
    let width = area.width.saturating_sub(4).min(100);
    let height = u16::try_from(lines.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height.saturating_sub(2));
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(title)),
        popup,
    );
}

/// The help, from the one keybinding table.
pub fn help_lines(read_only: bool) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = BINDINGS
        .iter()
        .filter(|b| !(read_only && b.changes))
        .map(|b| {
            let confirm = if b.changes { " (asks first)" } else { "" };
            Line::from(format!("{:>12}  {}{confirm}", b.keys, b.help))
        })
        .collect();
    lines.push(Line::from(""));
    if read_only {
        lines.push(Line::from(
            "read-only: restart and fault actions are off (started with --read-only)",
        ));
    } else {
        lines.push(Line::from(
            "Actions ask first and are written to the audit trail.",
        ));
    }
    lines.push(Line::from(
        "Commands: :svc NAME  :logs NAME  :alerts  :business  :kube  :overview  :restart NAME  :fault NAME errors|latency|clear  :runbook ID  :q",
    ));
    lines
}

/// The colour of a health.
pub(crate) fn health_style(health: Health) -> Style {
    match health {
        Health::Down => Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        Health::Unready => Style::default().fg(Color::Red),
        Health::Degraded => Style::default().fg(Color::Yellow),
        Health::Up => Style::default().fg(Color::Green),
        Health::Unknown => Style::default().fg(Color::DarkGray),
    }
}

/// Requests per second, short.
pub fn rate(value: f64) -> String {
    // An empty sum is -0.0; nobody wants to read "-0.0" requests.
    let value = value + 0.0;
    if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// A share as a percentage.
pub fn percent(value: f64) -> String {
    format!("{:.1}%", value * 100.0 + 0.0)
}

/// Seconds as milliseconds (or seconds past 10 s); `-` when unknown.
pub fn latency(seconds: Option<f64>) -> String {
    match seconds {
        None => "-".to_owned(),
        Some(s) if s >= 10.0 => format!("{s:.0}s"),
        Some(s) if s >= 1.0 => format!("{s:.1}s"),
        Some(s) if s >= 0.001 => format!("{:.0}ms", s * 1000.0),
        Some(s) => format!("{:.1}ms", s * 1000.0),
    }
}

/// Bytes in MiB.
pub fn mebibytes(bytes: Option<f64>) -> String {
    bytes.map_or_else(|| "-".to_owned(), |b| format!("{:.0}M", b / 1_048_576.0))
}

/// An age: `42s`, `5m`, `3h`, `2d`.
pub fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// A sparkline of `points` in `width` cells: each cell the highest point of its stretch, scaled
/// to the highest of all; blank where there was nothing.
pub fn spark(points: &[f64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if width == 0 || points.is_empty() {
        return " ".repeat(width);
    }
    let max = points.iter().copied().fold(0.0_f64, f64::max);
    let per = points.len().div_ceil(width).max(1);
    let cells: Vec<f64> = points
        .chunks(per)
        .map(|c| c.iter().copied().fold(0.0_f64, f64::max))
        .collect();
    let mut text = " ".repeat(width.saturating_sub(cells.len()));
    for value in cells.iter().rev().take(width).rev() {
        if *value <= 0.0 || max <= 0.0 {
            text.push(' ');
        } else {
            // The quotient is in [0, 1]: the index is within the bars.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let at = ((value / max) * 7.0).round() as usize;
            text.push(BARS[at.min(7)]);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparks_scale_to_the_highest_point_and_fit_the_width() {
        assert_eq!(spark(&[0.0, 1.0, 2.0], 3), " ▅█");
        assert_eq!(spark(&[1.0; 10], 4).chars().count(), 4);
        assert_eq!(spark(&[], 2), "  ");
    }

    #[test]
    fn figures_read_short() {
        assert_eq!(latency(Some(0.0123)), "12ms");
        assert_eq!(latency(Some(2.5)), "2.5s");
        assert_eq!(percent(1.0), "100.0%");
        assert_eq!(age(125), "2m");
        assert_eq!(latency(Some(0.0004)), "0.4ms");
        assert_eq!(rate(-0.0), "0.0");
        assert_eq!(percent(-0.0), "0.0%");
    }
}
