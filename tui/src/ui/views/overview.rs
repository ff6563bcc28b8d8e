//! One row per service, what is broken on top.

use ratatui::{
    Frame,
    layout::{Constraint, Layout, Rect},
    style::Modifier,
    widgets::{Row as TableRow, Table},
};

use super::{block, bold, missing, notes};
use crate::app::{App, Row};
use crate::event::Source;
use crate::model::Health;
use crate::ui::{age, health_style, latency, mebibytes, percent, rate, spark};

/// One row per service, what is broken on top.
pub(crate) fn overview(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let wide = area.width >= 120;
    let rows = app.ordered();
    let mut problems = Vec::new();
    if let Some(text) = missing(
        app,
        Source::Metrics,
        "metrics",
        "pass --prometheus URL, or let the dashboard scrape /metrics",
    ) {
        problems.push(text);
    }
    if let Some(text) = missing(app, Source::Alerts, "alerts", "pass --alertmanager URL") {
        problems.push(text);
    }
    let kube = app.context.is_some();
    let spark_width = usize::from(area.width.saturating_sub(150) / 2).clamp(10, 30);
    let (header, widths) = overview_columns(wide, kube, spark_width);
    let table_rows = rows.iter().enumerate().map(|(i, row)| {
        let mut cells = overview_cells(app, row, kube);
        if wide {
            let points: Vec<(f64, f64)> = row.history.points().collect();
            let rates: Vec<f64> = points.iter().map(|p| p.0).collect();
            let errors: Vec<f64> = points.iter().map(|p| p.1).collect();
            cells.splice(
                8..8,
                [
                    row.metrics
                        .cpu
                        .map_or_else(|| "-".to_owned(), |c| format!("{:.1}%", c * 100.0)),
                    mebibytes(row.metrics.rss),
                    spark(&rates, spark_width),
                    spark(&errors, spark_width),
                ],
            );
        }
        let style = if i == app.selected {
            health_style(row.health).add_modifier(Modifier::REVERSED)
        } else {
            health_style(row.health)
        };
        TableRow::new(cells).style(style)
    });
    let title = format!(
        "Services ({} of {} need attention)",
        app.rows.iter().filter(|r| r.is_unhealthy()).count(),
        app.rows.len()
    );
    let height = u16::try_from(rows.len() + 3).unwrap_or(u16::MAX);
    let [table_area, notes_area] =
        Layout::vertical([Constraint::Length(height), Constraint::Min(0)]).areas(area);
    frame.render_widget(
        Table::new(table_rows, widths)
            .header(TableRow::new(header).style(bold()))
            .block(block(if app.filter.is_empty() {
                title
            } else {
                format!("{title} /{}", app.filter)
            })),
        table_area,
    );
    if rows.is_empty() {
        problems.push(format!(
            "no service matches the filter `{}` (esc clears it)",
            app.filter
        ));
    }
    // Each firing alert with the runbook to follow, on the same screen as the rows.
    for alert in &app.alerts {
        let on = alert
            .service
            .as_deref()
            .map(|s| format!(" on {s}"))
            .unwrap_or_default();
        let runbook = alert.runbook.as_deref().map_or_else(
            || "no runbook named".to_owned(),
            |id| format!("runbook {id} (Alerts view, enter: its steps)"),
        );
        let symbol = if alert.severity == "critical" {
            "✖"
        } else {
            "▲"
        };
        problems.push(format!(
            "{symbol} {} firing{on}: {} — {runbook}",
            alert.name, alert.summary
        ));
    }
    frame.render_widget(notes(problems), notes_area);
}

/// The overview's column titles and widths: the figures every terminal gets, then CPU, memory
/// and the sparklines where there is room.
fn overview_columns(
    wide: bool,
    kube: bool,
    spark_width: usize,
) -> (Vec<&'static str>, Vec<Constraint>) {
    let mut header = vec![
        "HEALTH",
        "SERVICE",
        if kube { "PODS" } else { "PID" },
        "RST",
        "REQ/S",
        "ERR%",
        "P50",
        "P99",
    ];
    let mut widths = vec![
        Constraint::Length(10),
        Constraint::Length(12),
        Constraint::Length(7),
        Constraint::Length(3),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(5),
        Constraint::Length(6),
    ];
    if wide {
        header.extend(["CPU", "RSS", "REQ/S 15m", "ERRORS 15m"]);
        widths.extend([
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(u16::try_from(spark_width).unwrap_or(10)),
            Constraint::Length(u16::try_from(spark_width).unwrap_or(10)),
        ]);
    }
    header.extend(["SINCE", "ALERTS"]);
    widths.extend([Constraint::Length(5), Constraint::Min(8)]);
    (header, widths)
}

fn overview_cells(app: &App, row: &Row, kube: bool) -> Vec<String> {
    let (pid, restarts) = if kube {
        (
            row.replicas
                .map_or_else(|| "-".to_owned(), |(ready, want)| format!("{ready}/{want}")),
            app.kube
                .pods
                .iter()
                .filter(|p| p.service == row.name)
                .map(|p| p.restarts)
                .sum::<i32>()
                .to_string(),
        )
    } else {
        (
            row.process
                .map_or_else(|| "-".to_owned(), |p| p.pid.to_string()),
            row.process
                .map_or_else(|| "-".to_owned(), |p| p.restarts.to_string()),
        )
    };
    let red = row.metrics.red;
    let since = match (row.health, row.since) {
        (Health::Down | Health::Unready | Health::Degraded, Some(at)) => {
            age((app.now - at).num_seconds())
        }
        _ => String::new(),
    };
    vec![
        format!("{} {}", row.health.symbol(), row.health.as_str()),
        row.name.clone(),
        pid,
        restarts,
        rate(red.rate),
        percent(red.error_ratio()),
        latency(red.p50),
        latency(red.p99),
        since,
        row.alerts.join(","),
    ]
}
