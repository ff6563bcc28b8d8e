//! The business figures: checkouts, payments, sagas, low stock, dead letters.

use ratatui::{
    Frame,
    layout::{Constraint, Layout, Rect},
    text::Line,
    widgets::{Paragraph, Row as TableRow, Table},
};

use super::{block, bold, missing, notes};
use crate::app::App;
use crate::event::Source;

/// Checkouts, payments, sagas, low stock, dead letters.
pub(crate) fn business(app: &App, frame: &mut Frame<'_>, area: Rect) {
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
