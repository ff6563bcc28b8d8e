//! The Kubernetes side: deployments, pods, autoscalers, warning events.

use ratatui::{
    Frame,
    layout::{Constraint, Layout, Rect},
    style::{Color, Style},
    text::Line,
    widgets::{Paragraph, Row as TableRow, Table},
};

use super::{block, bold, missing, notes};
use crate::app::App;
use crate::event::Source;
use crate::ui::age;

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
pub(crate) fn kube(app: &App, frame: &mut Frame<'_>, area: Rect) {
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
