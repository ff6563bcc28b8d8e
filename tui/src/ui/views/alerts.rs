//! The firing alerts, and the runbook behind each.

use ratatui::{
    Frame,
    layout::{Constraint, Layout, Rect},
    style::{Color, Modifier, Style},
    text::Line,
    widgets::{Paragraph, Row as TableRow, Table, Wrap},
};

use super::{block, bold, missing, notes};
use crate::app::App;
use crate::event::Source;
use crate::ui::age;

/// Firing alerts; enter opens the runbook.
pub(crate) fn alerts(app: &App, frame: &mut Frame<'_>, area: Rect) {
    if let Some(text) = missing(
        app,
        Source::Alerts,
        "Alertmanager",
        "pass --alertmanager URL (shopctl up --monitor starts one)",
    ) {
        let mut lines = vec![text];
        if app.alerts.is_empty() {
            lines.push(
                "Meanwhile the overview's error % and health show what is failing.".to_owned(),
            );
        }
        let [note, rest] =
            Layout::vertical([Constraint::Length(4), Constraint::Min(0)]).areas(area);
        frame.render_widget(notes(lines).block(block("Alerts")), note);
        if app.alerts.is_empty() {
            return;
        }
        return alert_table(app, frame, rest);
    }
    alert_table(app, frame, area);
}

fn alert_table(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let [table_area, detail] =
        Layout::vertical([Constraint::Min(4), Constraint::Length(6)]).areas(area);
    let rows = app.alerts.iter().enumerate().map(|(i, a)| {
        let symbol = if a.severity == "critical" {
            "✖"
        } else {
            "▲"
        };
        let style = if a.severity == "critical" {
            Style::default().fg(Color::Red)
        } else {
            Style::default().fg(Color::Yellow)
        };
        let style = if i == app.alert_selected {
            style.add_modifier(Modifier::REVERSED)
        } else {
            style
        };
        TableRow::new(vec![
            format!("{symbol} {}", a.severity),
            a.name.clone(),
            a.service.clone().unwrap_or_else(|| "-".to_owned()),
            a.since
                .map_or_else(|| "-".to_owned(), |t| age((app.now - t).num_seconds())),
            a.runbook.clone().unwrap_or_else(|| "-".to_owned()),
            a.summary.clone(),
        ])
        .style(style)
    });
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(11),
                Constraint::Length(22),
                Constraint::Length(12),
                Constraint::Length(5),
                Constraint::Length(18),
                Constraint::Min(10),
            ],
        )
        .header(
            TableRow::new(["SEVERITY", "ALERT", "SERVICE", "AGE", "RUNBOOK", "SUMMARY"])
                .style(bold()),
        )
        .block(block(if app.alerts.is_empty() {
            "Alerts (none firing)".to_owned()
        } else {
            format!("Alerts ({} firing) — enter: runbook", app.alerts.len())
        })),
        table_area,
    );
    let labels = app
        .alerts
        .get(app.alert_selected)
        .map_or_else(Vec::new, |a| {
            vec![Line::from(
                a.labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("  "),
            )]
        });
    frame.render_widget(
        Paragraph::new(labels)
            .wrap(Wrap { trim: true })
            .block(block("Labels")),
        detail,
    );
}
