//! One service's log, followed.

use std::fmt::Write as _;

use ratatui::{
    Frame,
    layout::Rect,
    style::{Color, Style},
    text::Line,
    widgets::Paragraph,
};

use super::{block, missing, notes, selected_style};
use crate::app::App;
use crate::event::Source;
use crate::model::level_rank;

/// One service's log, followed.
pub(crate) fn logs(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let logs = &app.logs;
    let Some(service) = &logs.service else {
        frame.render_widget(
            notes(vec![
                "no log followed: select a service and press L, or :logs NAME".to_owned(),
            ]),
            area,
        );
        return;
    };
    let shown = logs.shown();
    let room = usize::from(area.height.saturating_sub(2));
    let selected = logs.selected.unwrap_or(shown.len().saturating_sub(1));
    let start = (selected + 1).saturating_sub(room);
    let lines: Vec<Line<'_>> = shown
        .iter()
        .enumerate()
        .skip(start)
        .take(room)
        .map(|(i, l)| {
            let style = match level_rank(l.level.as_deref()) {
                4 => Style::default().fg(Color::Red),
                3 => Style::default().fg(Color::Yellow),
                0 | 1 => Style::default().fg(Color::DarkGray),
                _ => Style::default(),
            };
            let style = if logs.selected == Some(i) {
                selected_style()
            } else {
                style
            };
            Line::styled(l.text.clone(), style)
        })
        .collect();
    let mut title = format!(
        "Logs {service} — {} of {} lines, level ≥ {}",
        shown.len(),
        logs.lines.len(),
        logs.level_name()
    );
    if !logs.filter.is_empty() {
        let _ = write!(title, ", /{}", logs.filter);
    }
    if logs.dropped > 0 {
        let _ = write!(title, ", {} older dropped", logs.dropped);
    }
    title.push_str(if logs.selected.is_some() {
        " — paused (↓ past the end follows)"
    } else {
        " — following"
    });
    let body = if lines.is_empty() {
        let why = missing(app, Source::Logs, "logs", "").unwrap_or_else(|| {
            "no line yet (new lines appear as the service writes them)".to_owned()
        });
        Paragraph::new(why)
    } else {
        Paragraph::new(lines)
    };
    frame.render_widget(body.block(block(title)), area);
}
