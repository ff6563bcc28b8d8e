//! The logs view's state: a bounded ring of the followed service's lines, and the filters.

use std::collections::VecDeque;

use super::LOG_LINES;
use crate::model::{LogLine, level_rank};

/// Minimum levels the logs view cycles through.
pub(super) const LEVELS: [(u8, &str); 4] = [(0, "all"), (2, "info"), (3, "warn"), (4, "error")];

/// The logs view's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Logs {
    /// The service followed.
    pub service: Option<String>,
    /// The newest lines, at most [`LOG_LINES`].
    pub lines: VecDeque<LogLine>,
    /// Lines dropped from the front.
    pub dropped: u64,
    /// Index into the minimum levels the logs view cycles through.
    pub level: usize,
    /// Text the lines must contain.
    pub filter: String,
    /// The selected line among the shown ones; `None` follows the end.
    pub selected: Option<usize>,
}

impl Logs {
    /// The minimum level's name.
    pub fn level_name(&self) -> &'static str {
        LEVELS[self.level].1
    }

    /// The lines the filters let through.
    pub fn shown(&self) -> Vec<&LogLine> {
        let min = LEVELS[self.level].0;
        let needle = self.filter.to_lowercase();
        self.lines
            .iter()
            .filter(|l| min == 0 || level_rank(l.level.as_deref()) >= min)
            .filter(|l| needle.is_empty() || l.text.to_lowercase().contains(&needle))
            .collect()
    }

    pub(super) fn push(&mut self, lines: Vec<LogLine>) {
        for line in lines {
            if self.lines.len() == LOG_LINES {
                self.lines.pop_front();
                self.dropped += 1;
            }
            self.lines.push_back(line);
        }
    }
}
