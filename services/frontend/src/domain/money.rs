//! Money as shoppers read and admins type it: integer minor units on the wire, decimals on
//! the page.

/// `amount` minor units of `currency` for display: `$146.99`, `€9.50`, `£1,204.00`, or
/// `12.00 CHF` for currencies without a symbol here.
pub fn display(amount: i64, currency: &str) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let number = format!("{grouped}.{:02}", abs % 100);
    match currency {
        "USD" => format!("{sign}${number}"),
        "EUR" => format!("{sign}€{number}"),
        "GBP" => format!("{sign}£{number}"),
        other => format!("{sign}{number} {other}"),
    }
}

/// A price typed by an admin (`146.99`, `146`, `146.9`) in minor units; `None` when it is not
/// a non-negative amount with at most two decimals.
pub fn parse(text: &str) -> Option<i64> {
    let text = text.trim().trim_start_matches('$').replace(',', "");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !fraction.chars().all(|c| c.is_ascii_digit())
        || fraction.len() > 2
        || whole.len() > 12
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let cents: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        _ => fraction.parse().ok()?,
    };
    whole.checked_mul(100)?.checked_add(cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_display_with_symbol_grouping_and_two_decimals() {
        assert_eq!(display(14_699, "USD"), "$146.99");
        assert_eq!(display(120_400, "GBP"), "£1,204.00");
        assert_eq!(display(950, "EUR"), "€9.50");
        assert_eq!(display(5, "USD"), "$0.05");
        assert_eq!(display(123_456_789, "CHF"), "1,234,567.89 CHF");
        assert_eq!(display(-499, "USD"), "-$4.99");
    }

    #[test]
    fn typed_prices_parse_to_minor_units() {
        assert_eq!(parse("146.99"), Some(14_699));
        assert_eq!(parse("146"), Some(14_600));
        assert_eq!(parse("146.9"), Some(14_690));
        assert_eq!(parse(" $1,204.00 "), Some(120_400));
        assert_eq!(parse(".5"), Some(50));
        for bad in ["", "abc", "1.234", "-3", "1e3", "1.2.3", "."] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
