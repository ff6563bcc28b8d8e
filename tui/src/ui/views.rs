//! The six views.

use std::fmt::Write as _;

use ratatui::{
    Frame,
    layout::{Constraint, Layout, Rect},
    style::{Color, Modifier, Style},
    text::Line,
    widgets::{Block, Borders, Paragraph, Row as TableRow, Table, Wrap},
};

use super::{age, health_style, latency, mebibytes, percent, rate, spark};
use crate::app::{App, Row};
use crate::event::Source;
use crate::model::{Health, SourceState, level_rank};

fn block(title: impl Into<String>) -> Block<'static> {
    Block::default().borders(Borders::ALL).title(title.into())
}

fn selected_style() -> Style {
    Style::default().add_modifier(Modifier::REVERSED)
}

fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

/// Why a source has nothing to show, in a sentence; `None` when it answers.
fn missing(app: &App, source: Source, what: &str, fix: &str) -> Option<String> {
    match app.source(source) {
        SourceState::Ok => None,
        SourceState::Waiting => Some(format!("{what}: waiting for the first answer…")),
        SourceState::Off => Some(format!("{what}: not configured; {fix}")),
        SourceState::Failing(reason) => Some(format!(
            "{what}: {reason} (retrying; shown again as soon as it answers)"
        )),
    }
}

fn notes(lines: Vec<String>) -> Paragraph<'static> {
    Paragraph::new(lines.into_iter().map(Line::from).collect::<Vec<_>>()).wrap(Wrap { trim: true })
}

/// One row per service, what is broken on top.
pub(super) fn overview(app: &App, frame: &mut Frame<'_>, area: Rect) {
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

/// One service: per-route RED, breakers, pool, outbox and dead letters, recent errors.
pub(super) fn service(app: &App, frame: &mut Frame<'_>, area: Rect) {
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

/// Checkouts, payments, sagas, low stock, dead letters.
pub(super) fn business(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let b = &app.business;
    let per_minute =
        |map: &std::collections::BTreeMap<String, f64>, empty: &str| -> Vec<Line<'static>> {
            if map.is_empty() {
                return vec![Line::from(empty.to_owned())];
            }
            map.iter()
                .map(|(k, v)| Line::from(format!("{k:<12} {v:>8.1}")))
                .collect()
        };
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let [checkouts, payments, sagas] = Layout::vertical([
        Constraint::Percentage(34),
        Constraint::Percentage(33),
        Constraint::Percentage(33),
    ])
    .areas(left);
    let no_metrics = missing(app, Source::Metrics, "metrics", "pass --prometheus URL")
        .unwrap_or_else(|| "none in the last minutes".to_owned());
    frame.render_widget(
        Paragraph::new(per_minute(&b.checkouts, &no_metrics))
            .block(block("Checkouts per minute by result")),
        checkouts,
    );
    let declines = b.payments.get("declined").copied().unwrap_or(0.0);
    frame.render_widget(
        Paragraph::new(per_minute(&b.payments, &no_metrics)).block(block(format!(
            "Payments per minute (declines {declines:.1}/min)"
        ))),
        payments,
    );
    frame.render_widget(
        Paragraph::new(per_minute(&b.sagas, "no saga in flight"))
            .block(block("Sagas in flight by state")),
        sagas,
    );
    let [stock, dead] =
        Layout::vertical([Constraint::Percentage(70), Constraint::Percentage(30)]).areas(right);
    if app.low_stock.is_empty() {
        let text = missing(
            app,
            Source::Inventory,
            "low-stock list",
            "needs the inventory service and an admin token",
        )
        .unwrap_or_else(|| "no SKU at or below the threshold".to_owned());
        frame.render_widget(notes(vec![text]).block(block("Low stock")), stock);
    } else {
        let rows = app.low_stock.iter().map(|s| {
            TableRow::new(vec![
                s.sku.clone(),
                s.on_hand.to_string(),
                s.reserved.to_string(),
                s.available.to_string(),
            ])
        });
        frame.render_widget(
            Table::new(
                rows,
                [
                    Constraint::Min(12),
                    Constraint::Length(7),
                    Constraint::Length(5),
                    Constraint::Length(6),
                ],
            )
            .header(TableRow::new(["SKU", "ON HAND", "RSVD", "AVAIL"]).style(bold()))
            .block(block(format!("Low stock ({} SKUs)", app.low_stock.len()))),
            stock,
        );
    }
    let total: f64 = b.dead_letters.values().sum();
    let lines = if b.dead_letters.is_empty() {
        vec![Line::from(no_metrics)]
    } else {
        b.dead_letters
            .iter()
            .map(|(s, n)| Line::from(format!("{s:<12} {n:>6.0}")))
            .collect()
    };
    frame.render_widget(
        Paragraph::new(lines).block(block(format!(
            "Dead letters ({total:.0}) — shopctl events dlq"
        ))),
        dead,
    );
}

/// Firing alerts; enter opens the runbook.
pub(super) fn alerts(app: &App, frame: &mut Frame<'_>, area: Rect) {
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

/// One service's log, followed.
pub(super) fn logs(app: &App, frame: &mut Frame<'_>, area: Rect) {
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

fn deployments_table(
    k: &crate::model::Kube,
    context: &str,
    problem: Option<&str>,
    frame: &mut Frame<'_>,
    deployments: Rect,
) {
    let title = match problem {
        Some(p) => format!("Deployments in {context} — {p}"),
        None => format!("Deployments in {context}"),
    };
    let rows = k.deployments.iter().map(|d| {
        let ok = d.rollout == "complete" && d.ready >= d.desired;
        let style = if ok {
            Style::default().fg(Color::Green)
        } else {
            Style::default().fg(Color::Yellow)
        };
        TableRow::new(vec![
            format!("{} {}", if ok { "●" } else { "▲" }, d.name),
            format!("{}/{}", d.ready, d.desired),
            d.updated.to_string(),
            d.rollout.clone(),
        ])
        .style(style)
    });
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Min(16),
                Constraint::Length(7),
                Constraint::Length(8),
                Constraint::Min(12),
            ],
        )
        .header(TableRow::new(["DEPLOYMENT", "READY", "UPDATED", "ROLLOUT"]).style(bold()))
        .block(block(title)),
        deployments,
    );
}

/// Deployments, pods, autoscalers, warning events.
pub(super) fn kube(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let Some(context) = &app.context else {
        frame.render_widget(
            notes(vec![
                "Kubernetes: no context configured.".to_owned(),
                "Pass --context NAME (and --namespace) to watch a deployment of the shop: deployments and rollouts, pods with restarts and last termination, autoscalers and warning events.".to_owned(),
            ])
            .block(block("Kubernetes")),
            area,
        );
        return;
    };
    let k = &app.kube;
    let problem = missing(app, Source::Kube, "kube API", "");
    let [deployments, pods, lower] = Layout::vertical([
        Constraint::Length(u16::try_from(k.deployments.len() + 3).unwrap_or(12).min(12)),
        Constraint::Percentage(45),
        Constraint::Min(4),
    ])
    .areas(area);
    deployments_table(k, context, problem.as_deref(), frame, deployments);
    let rows = k.pods.iter().map(|p| {
        let style = if p.ready {
            Style::default()
        } else {
            Style::default().fg(Color::Red)
        };
        TableRow::new(vec![
            format!("{} {}", if p.ready { "●" } else { "✖" }, p.name),
            p.phase.clone(),
            p.restarts.to_string(),
            p.last_termination.clone().unwrap_or_default(),
        ])
        .style(style)
    });
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Min(20),
                Constraint::Length(18),
                Constraint::Length(8),
                Constraint::Min(12),
            ],
        )
        .header(TableRow::new(["POD", "PHASE", "RESTARTS", "LAST TERMINATION"]).style(bold()))
        .block(block(format!("Pods ({})", k.pods.len()))),
        pods,
    );
    let [hpa, events] =
        Layout::horizontal([Constraint::Percentage(35), Constraint::Percentage(65)]).areas(lower);
    let rows = k.autoscalers.iter().map(|h| {
        TableRow::new(vec![
            h.name.clone(),
            format!("{}→{}", h.current, h.desired),
            format!("{}-{}", h.min, h.max),
        ])
    });
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Min(10),
                Constraint::Length(7),
                Constraint::Length(7),
            ],
        )
        .header(TableRow::new(["HPA", "REPLICAS", "RANGE"]).style(bold()))
        .block(block("Autoscalers")),
        hpa,
    );
    let lines: Vec<Line<'_>> = k
        .events
        .iter()
        .map(|e| {
            let when =
                e.at.map_or_else(|| "-".to_owned(), |t| age((app.now - t).num_seconds()));
            Line::from(format!(
                "{when:>4} {} {} ×{}: {}",
                e.object, e.reason, e.count, e.message
            ))
        })
        .collect();
    frame.render_widget(
        Paragraph::new(if lines.is_empty() {
            vec![Line::from("no warning events")]
        } else {
            lines
        })
        .block(block("Warning events")),
        events,
    );
}
