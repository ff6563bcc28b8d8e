//! Search results with the shopper's words marked: the text is HTML-escaped first, then the
//! matches wrapped in `<mark>`, so nothing from the catalog or the query reaches the page raw.

pub use shopctl_kit::html::escape;

/// `text` as safe HTML with every word that starts with one of `query`'s words marked
/// (case-insensitive prefix match, as the catalog's search matches).
pub fn highlight(text: &str, query: &str) -> String {
    let terms: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect();
    if terms.is_empty() {
        return escape(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.is_empty() {
            return;
        }
        let lower = word.to_lowercase();
        match terms.iter().find(|t| lower.starts_with(t.as_str())) {
            Some(term) => {
                // Mark the matched prefix only: "shoe" in "Shoes" marks "Shoe".
                let cut = word
                    .char_indices()
                    .nth(term.chars().count())
                    .map_or(word.len(), |(i, _)| i);
                out.push_str("<mark>");
                out.push_str(&escape(&word[..cut]));
                out.push_str("</mark>");
                out.push_str(&escape(&word[cut..]));
            }
            None => out.push_str(&escape(word)),
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push_str(&escape(&c.to_string()));
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_word_prefixes_are_marked_case_insensitively() {
        assert_eq!(
            highlight("Organic Running Shoes", "shoe run"),
            "Organic <mark>Run</mark>ning <mark>Shoe</mark>s"
        );
    }

    #[test]
    fn markup_in_text_or_query_is_escaped_never_interpreted() {
        assert_eq!(
            highlight("<i>italic</i> & \"quoted\"", "<quo"),
            "&lt;i&gt;italic&lt;/i&gt; &amp; &quot;<mark>quo</mark>ted&quot;"
        );
        assert_eq!(highlight("a<script>", ""), "a&lt;script&gt;");
    }
}
