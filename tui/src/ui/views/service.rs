//! One service in depth: per-route RED, breakers, pool, outbox and dead letters, recent errors.

use ratatui::{
    Frame,
    layout::{Constraint, Layout, Rect},
    text::Line,
    widgets::{Paragraph, Row as TableRow, Table, Wrap},
};

use super::{block, bold, missing, notes};
use crate::app::{App, Row};
use crate::event::Source;
use crate::model::level_rank;
use crate::ui::{health_style, latency, percent, rate};

/// One service: per-route RED, breakers, pool, outbox and dead letters, recent errors.
pub(crate) fn service(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let Some(row) = app.service.as_deref().and_then(|s| app.row(s)) else {
        frame.render_widget(
            notes(vec![
                "no service selected: pick one in the overview and press enter, or :svc NAME"
                    .to_owned(),
            ]),
            area,
        );
        return;
    };
    let m = &row.metrics;
    let facts = service_facts(app, row);
    let [top, routes_area, errors_area] = Layout::vertical([
        Constraint::Length(u16::try_from(facts.len() + 2).unwrap_or(4)),
        Constraint::Percentage(60),
        Constraint::Min(3),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(facts.into_iter().map(Line::from).collect::<Vec<_>>())
            .wrap(Wrap { trim: true })
            .block(block(format!("Service {}", row.name)).border_style(health_style(row.health))),
        top,
    );
    let routes = m.routes.iter().map(|r| {
        TableRow::new(vec![
            r.method.clone(),
            r.route.clone(),
            rate(r.red.rate),
            rate(r.red.client_errors),
            rate(r.red.errors),
            latency(r.red.p50),
            latency(r.red.p95),
            latency(r.red.p99),
        ])
    });
    frame.render_widget(
        Table::new(
            routes,
            [
                Constraint::Length(7),
                Constraint::Min(20),
                Constraint::Length(7),
                Constraint::Length(7),
                Constraint::Length(7),
                Constraint::Length(6),
                Constraint::Length(6),
                Constraint::Length(6),
            ],
        )
        .header(
            TableRow::new([
                "METHOD", "ROUTE", "REQ/S", "4XX/S", "5XX/S", "P50", "P95", "P99",
            ])
            .style(bold()),
        )
        .block(block(if m.routes.is_empty() {
            "Routes (no traffic in the last minute)".to_owned()
        } else {
            "Routes".to_owned()
        })),
        routes_area,
    );
    let errors: Vec<Line<'_>> = if app.logs.service.as_deref() == Some(row.name.as_str()) {
        let recent: Vec<_> = app
            .logs
            .lines
            .iter()
            .filter(|l| level_rank(l.level.as_deref()) >= 3)
            .collect();
        let room = usize::from(errors_area.height.saturating_sub(2));
        recent
            .iter()
            .skip(recent.len().saturating_sub(room))
            .map(|l| Line::from(l.text.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let title = if errors.is_empty() {
        "Recent warnings and errors (none)"
    } else {
        "Recent warnings and errors"
    };
    frame.render_widget(Paragraph::new(errors).block(block(title)), errors_area);
}

/// The service's headline figures and its plumbing: pool, outbox, dead letters, breakers.
fn service_facts(app: &App, row: &Row) -> Vec<String> {
    let m = &row.metrics;
    let mut facts = vec![format!(
        "{} {}   req/s {}   errors {}   p50 {}   p99 {}",
        row.health.symbol(),
        row.health.as_str(),
        rate(m.red.rate),
        percent(m.red.error_ratio()),
        latency(m.red.p50),
        latency(m.red.p99)
    )];
    let mut extra = Vec::new();
    if let Some((used, max)) = m.pool {
        extra.push(format!("db pool {used:.0}/{max:.0}"));
    }
    if let Some(depth) = m.outbox {
        extra.push(format!("outbox {depth:.0}"));
    }
    if let Some(dead) = m.dead_letters {
        extra.push(format!("dead letters {dead:.0}"));
    }
    if !m.breakers.is_empty() {
        extra.push(format!(
            "breakers: {}",
            m.breakers
                .iter()
                .map(|(upstream, state)| format!("{upstream} {}", state.label()))
                .collect::<Vec<_>>()
                .join("  ")
        ));
    }
    if extra.is_empty() {
        extra.push("no database pool, outbox or breaker metrics from this service".to_owned());
    }
    facts.push(extra.join("   "));
    if let Some(text) = missing(app, Source::Metrics, "metrics", "pass --prometheus URL") {
        facts.push(text);
    }
    facts
}
