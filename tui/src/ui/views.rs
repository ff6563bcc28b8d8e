//! The six views, one module each, and what they share: blocks, styles, and the sentence
//! that says why a source has nothing to show.

mod alerts;
mod business;
mod kube;
mod logs;
mod overview;
mod service;

pub(super) use alerts::alerts;
pub(super) use business::business;
pub(super) use kube::kube;
pub(super) use logs::logs;
pub(super) use overview::overview;
pub(super) use service::service;

use ratatui::{
    style::{Modifier, Style},
    text::Line,
    widgets::{Block, Borders, Paragraph, Wrap},
};

use crate::app::App;
use crate::event::Source;
use crate::model::SourceState;

pub(super) fn block(title: impl Into<String>) -> Block<'static> {
    Block::default().borders(Borders::ALL).title(title.into())
}

pub(super) fn selected_style() -> Style {
    Style::default().add_modifier(Modifier::REVERSED)
}

pub(super) fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

/// Why a source has nothing to show, in a sentence; `None` when it answers.
pub(super) fn missing(app: &App, source: Source, what: &str, fix: &str) -> Option<String> {
    match app.source(source) {
        SourceState::Ok => None,
        SourceState::Waiting => Some(format!("{what}: waiting for the first answer…")),
        SourceState::Off => Some(format!("{what}: not configured; {fix}")),
        SourceState::Failing(reason) => Some(format!(
            "{what}: {reason} (retrying; shown again as soon as it answers)"
        )),
    }
}

pub(super) fn notes(lines: Vec<String>) -> Paragraph<'static> {
    Paragraph::new(lines.into_iter().map(Line::from).collect::<Vec<_>>()).wrap(Wrap { trim: true })
}
