//! Search terms: the user's `q` reduced to plain words, so no search-engine operator or SQL
//! metacharacter ever reaches FTS5 or `to_tsquery`.

use super::FieldError;

/// Words of a search, lower-cased, letters and digits only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms {
    raw: String,
    words: Vec<String>,
}

impl SearchTerms {
    /// Longest accepted `q`.
    pub const MAX_LEN: usize = 200;
    /// Words beyond this are ignored.
    pub const MAX_WORDS: usize = 8;

    /// Splits `q` into words on anything that is not a letter or digit.
    pub fn parse(q: &str) -> Result<Self, FieldError> {
        if q.chars().count() > Self::MAX_LEN {
            return Err(FieldError::new(
                "q",
                format!("must be at most {} characters", Self::MAX_LEN),
            ));
        }
        let words = q
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .take(Self::MAX_WORDS)
            .collect();
        Ok(Self {
            raw: q.trim().to_lowercase(),
            words,
        })
    }

    /// The query as typed, trimmed and lower-cased (for the exact-name boost).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The words.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Whether nothing searchable is left.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// FTS5 expression requiring every word as a prefix, optionally within `columns`
    /// (`{name brand}`).
    pub fn fts5(&self, columns: Option<&str>) -> String {
        self.words
            .iter()
            .map(|w| match columns {
                Some(cols) => format!("{cols} : \"{w}\"*"),
                None => format!("\"{w}\"*"),
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// PostgreSQL `to_tsquery` text requiring every word as a prefix.
    pub fn tsquery(&self) -> String {
        self.words
            .iter()
            .map(|w| format!("{w}:*"))
            .collect::<Vec<_>>()
            .join(" & ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_and_sql_become_plain_words() {
        let terms =
            SearchTerms::parse(r#"shoe" OR name:* '; DROP TABLE products; -- NEAR(a b)"#).unwrap();
        assert_eq!(
            terms.words(),
            [
                "shoe", "or", "name", "drop", "table", "products", "near", "a"
            ]
        );
        assert_eq!(terms.fts5(None).matches('"').count(), 16);
        assert!(!terms.tsquery().contains('\''));
    }

    #[test]
    fn keeps_unicode_letters() {
        let terms = SearchTerms::parse("Crème brûlée").unwrap();
        assert_eq!(terms.words(), ["crème", "brûlée"]);
    }

    #[test]
    fn too_long_is_rejected() {
        assert!(SearchTerms::parse(&"a".repeat(201)).is_err());
    }
}
