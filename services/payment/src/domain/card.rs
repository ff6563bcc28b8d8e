//! Card-handling domain of the payment simulator: card numbers, brands, expiry dates,
//! security codes, and the simulated processor's test cards.
//!
//! Every value is parsed once at the edge and valid afterwards. Sensitive values
//! ([`CardNumber`], [`Cvc`]) never appear in `Debug` output and have no `Display`, and no
//! [`CardError`] message ever contains what the customer typed.

use std::fmt;
use std::time::Duration;

/// Shortest accepted card number, in digits.
const MIN_DIGITS: usize = 12;
/// Longest accepted card number, in digits.
const MAX_DIGITS: usize = 19;
/// How far ahead an expiry year may be, in years.
const MAX_YEARS_AHEAD: u16 = 20;

/// A card number: 12 to 19 ASCII digits that pass the Luhn check.
///
/// `Debug` shows only the last four digits and there is no `Display`, so the number cannot
/// leak into logs by accident. Use [`CardNumber::digits`] only to hand it to the processor.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber(String);

impl CardNumber {
    /// Parses a card number as typed: spaces and dashes are stripped, then the rest must be
    /// 12 to 19 ASCII digits and pass the Luhn check.
    ///
    /// # Errors
    ///
    /// [`CardError::Number`] for a wrong length or a character other than a digit, space or
    /// dash; [`CardError::Luhn`] when the check digit is wrong.
    pub fn parse(input: &str) -> Result<Self, CardError> {
        let digits: String = input.chars().filter(|c| *c != ' ' && *c != '-').collect();
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits.len())
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(CardError::Number);
        }
        if !luhn_valid(&digits) {
            return Err(CardError::Luhn);
        }
        Ok(Self(digits))
    }

    /// The last four digits, safe to show and to store.
    #[must_use]
    pub fn last4(&self) -> &str {
        let start = self.0.len().saturating_sub(4);
        self.0.get(start..).unwrap_or_default()
    }

    /// The card brand, from the number's prefix.
    #[must_use]
    pub fn brand(&self) -> Brand {
        Brand::detect(&self.0)
    }

    /// The full number, only for handing to the processor; never store or log it.
    #[must_use]
    pub fn digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber(**** {})", self.last4())
    }
}

/// Whether `digits` (ASCII digits only) passes the Luhn check.
fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b.wrapping_sub(b'0'));
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The value of the first `n` digits of `digits` (ASCII digits only).
fn prefix(digits: &str, n: usize) -> u32 {
    digits
        .bytes()
        .take(n)
        .fold(0, |acc, b| acc * 10 + u32::from(b.wrapping_sub(b'0')))
}

/// A card brand (scheme), detected from the number's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Brand {
    /// Visa: starts with 4.
    Visa,
    /// Mastercard: 51–55 or 2221–2720.
    Mastercard,
    /// American Express: 34 or 37.
    Amex,
    /// Discover: 6011, 65 or 644–649.
    Discover,
    /// Any other prefix.
    Unknown,
}

impl Brand {
    /// The brand's lowercase name: `visa`, `mastercard`, `amex`, `discover` or `unknown`.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Visa => "visa",
            Self::Mastercard => "mastercard",
            Self::Amex => "amex",
            Self::Discover => "discover",
            Self::Unknown => "unknown",
        }
    }

    /// The brand of a number made of ASCII digits.
    fn detect(digits: &str) -> Self {
        let (p1, p2, p3, p4) = (
            prefix(digits, 1),
            prefix(digits, 2),
            prefix(digits, 3),
            prefix(digits, 4),
        );
        if p1 == 4 {
            Self::Visa
        } else if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) {
            Self::Mastercard
        } else if p2 == 34 || p2 == 37 {
            Self::Amex
        } else if p4 == 6011 || p2 == 65 || (644..=649).contains(&p3) {
            Self::Discover
        } else {
            Self::Unknown
        }
    }
}

/// A card's expiry date. The card is valid through the end of its expiry month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Expiry {
    /// Month, 1 to 12.
    pub month: u8,
    /// Four-digit year.
    pub year: u16,
}

impl Expiry {
    /// Parses an expiry month and year as typed, given `today` as `(year, month)`.
    ///
    /// The month must be 1 to 12. The year may have two digits (`30` is 2030, in today's
    /// century) or four, and may be at most 20 years after today's year. A card expiring in
    /// the current month is still valid.
    ///
    /// # Errors
    ///
    /// [`CardError::ExpiryMonth`] for a month outside 1–12, [`CardError::ExpiryYear`] for a
    /// year that is neither two nor four digits or too far ahead, and [`CardError::Expired`]
    /// when the expiry month is before today's.
    pub fn parse(month: u32, year: u32, today: (u16, u8)) -> Result<Self, CardError> {
        let month = u8::try_from(month)
            .ok()
            .filter(|m| (1..=12).contains(m))
            .ok_or(CardError::ExpiryMonth)?;
        let (this_year, this_month) = today;
        let year = match year {
            0..=99 => u16::try_from(year)
                .ok()
                .and_then(|yy| (this_year - this_year % 100).checked_add(yy)),
            1000..=9999 => u16::try_from(year).ok(),
            _ => None,
        }
        .ok_or(CardError::ExpiryYear)?;
        if year > this_year.saturating_add(MAX_YEARS_AHEAD) {
            return Err(CardError::ExpiryYear);
        }
        if (year, month) < (this_year, this_month) {
            return Err(CardError::Expired);
        }
        Ok(Self { month, year })
    }
}

/// A card security code (CVC/CVV): 4 digits for American Express, 3 for every other brand.
///
/// `Debug` prints `Cvc(***)` and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Cvc(String);

impl Cvc {
    /// Parses a security code for a card of `brand`; surrounding whitespace is ignored.
    ///
    /// # Errors
    ///
    /// [`CardError::Cvc`] unless the code is exactly 4 ASCII digits for [`Brand::Amex`] or
    /// exactly 3 for any other brand.
    pub fn parse(input: &str, brand: Brand) -> Result<Self, CardError> {
        let code = input.trim();
        let expected = if brand == Brand::Amex { 4 } else { 3 };
        if code.len() != expected || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardError::Cvc);
        }
        Ok(Self(code.to_owned()))
    }

    /// The code, only for handing to the processor; never store or log it.
    #[must_use]
    pub fn digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cvc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cvc(***)")
    }
}

/// Why card details were rejected. Messages never contain what was typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardError {
    /// The card number has the wrong length or a character that is not a digit.
    Number,
    /// The card number fails the Luhn check.
    Luhn,
    /// The expiry month is not 1 to 12.
    ExpiryMonth,
    /// The expiry year is malformed or too far ahead.
    ExpiryYear,
    /// The card expired before the current month.
    Expired,
    /// The security code has the wrong length for the brand or is not all digits.
    Cvc,
}

impl CardError {
    /// The request field at fault: `card_number`, `exp_month`, `exp_year` or `cvc`.
    #[must_use]
    pub fn field(&self) -> &'static str {
        match self {
            Self::Number | Self::Luhn => "card_number",
            Self::ExpiryMonth => "exp_month",
            Self::ExpiryYear | Self::Expired => "exp_year",
            Self::Cvc => "cvc",
        }
    }

    /// A user-facing sentence saying what is wrong; it never contains the card number.
    #[must_use]
    pub fn message(&self) -> &'static str {
        match self {
            Self::Number => "is not a valid card number: it must be 12 to 19 digits",
            Self::Luhn => "is not a valid card number: check the digits",
            Self::ExpiryMonth => "is not a valid expiry month: it must be 1 to 12",
            Self::ExpiryYear => {
                "is not a valid expiry year: use two or four digits, at most 20 years ahead"
            }
            Self::Expired => "the card has expired: use a card that is still valid",
            Self::Cvc => {
                "is not a valid security code: it must be 3 digits (4 for American Express)"
            }
        }
    }
}

impl fmt::Display for CardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field(), self.message())
    }
}

impl std::error::Error for CardError {}

/// How long the simulated processor takes to answer for [`Outcome::Slow`].
pub const SLOW_RESPONSE: Duration = Duration::from_secs(2);

/// What the simulated processor answers for a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The charge succeeds.
    Approve,
    /// The card is declined (`card_declined`).
    Decline,
    /// The card has insufficient funds (`insufficient_funds`).
    InsufficientFunds,
    /// The processor fails (`processing_error`); the only retryable outcome.
    ProcessingError,
    /// The charge succeeds, but only after [`SLOW_RESPONSE`]; the caller sleeps.
    Slow,
}

impl Outcome {
    /// The decline code reported to the client, or `None` when the charge succeeds.
    #[must_use]
    pub fn decline_code(&self) -> Option<&'static str> {
        match self {
            Self::Approve | Self::Slow => None,
            Self::Decline => Some("card_declined"),
            Self::InsufficientFunds => Some("insufficient_funds"),
            Self::ProcessingError => Some("processing_error"),
        }
    }

    /// Whether retrying the same charge may succeed (only for a processing error).
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::ProcessingError)
    }

    /// How long the caller waits before answering: [`SLOW_RESPONSE`] for
    /// [`Outcome::Slow`], zero otherwise.
    #[must_use]
    pub fn delay(&self) -> Duration {
        if matches!(self, Self::Slow) {
            SLOW_RESPONSE
        } else {
            Duration::ZERO
        }
    }
}

/// The simulated processor's answer for `number`: the documented test cards map to their
/// outcome, and any other valid number is approved.
///
/// | Number             | Outcome                       |
/// |--------------------|-------------------------------|
/// | `4242424242424242` | [`Outcome::Approve`]          |
/// | `4000000000000002` | [`Outcome::Decline`]          |
/// | `4000000000009995` | [`Outcome::InsufficientFunds`]|
/// | `4000000000000119` | [`Outcome::ProcessingError`]  |
/// | `4000000000003220` | [`Outcome::Slow`] (2 s)       |
#[must_use]
pub fn test_card_outcome(number: &CardNumber) -> Outcome {
    match number.digits() {
        "4000000000000002" => Outcome::Decline,
        "4000000000009995" => Outcome::InsufficientFunds,
        "4000000000000119" => Outcome::ProcessingError,
        "4000000000003220" => Outcome::Slow,
        _ => Outcome::Approve,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: (u16, u8) = (2026, 5);

    const ALL_ERRORS: [CardError; 6] = [
        CardError::Number,
        CardError::Luhn,
        CardError::ExpiryMonth,
        CardError::ExpiryYear,
        CardError::Expired,
        CardError::Cvc,
    ];

    #[test]
    fn test_cards_parse_and_map_to_their_outcome() {
        let cases = [
            ("4242424242424242", Outcome::Approve),
            ("4000000000000002", Outcome::Decline),
            ("4000000000009995", Outcome::InsufficientFunds),
            ("4000000000000119", Outcome::ProcessingError),
            ("4000000000003220", Outcome::Slow),
        ];
        for (digits, outcome) in cases {
            let number = CardNumber::parse(digits).unwrap();
            assert_eq!(number.digits(), digits);
            assert_eq!(number.brand(), Brand::Visa);
            assert_eq!(test_card_outcome(&number), outcome, "{digits}");
        }
    }

    #[test]
    fn other_valid_numbers_are_approved() {
        for digits in ["5555555555554444", "378282246310005", "6011111111111117"] {
            let number = CardNumber::parse(digits).unwrap();
            assert_eq!(test_card_outcome(&number), Outcome::Approve, "{digits}");
        }
    }

    #[test]
    fn outcome_codes_retry_and_delay() {
        assert_eq!(Outcome::Approve.decline_code(), None);
        assert_eq!(Outcome::Slow.decline_code(), None);
        assert_eq!(Outcome::Decline.decline_code(), Some("card_declined"));
        assert_eq!(
            Outcome::InsufficientFunds.decline_code(),
            Some("insufficient_funds")
        );
        assert_eq!(
            Outcome::ProcessingError.decline_code(),
            Some("processing_error")
        );

        assert!(Outcome::ProcessingError.is_retryable());
        for outcome in [
            Outcome::Approve,
            Outcome::Decline,
            Outcome::InsufficientFunds,
            Outcome::Slow,
        ] {
            assert!(!outcome.is_retryable(), "{outcome:?}");
            if outcome != Outcome::Slow {
                assert_eq!(outcome.delay(), Duration::ZERO);
            }
        }
        assert_eq!(Outcome::Slow.delay(), Duration::from_secs(2));
        assert_eq!(Outcome::ProcessingError.delay(), Duration::ZERO);
    }

    #[test]
    fn spaces_and_dashes_are_stripped() {
        for input in [
            "4242 4242 4242 4242",
            "4242-4242-4242-4242",
            " 4242 - 4242 4242-4242 ",
        ] {
            let number = CardNumber::parse(input).unwrap();
            assert_eq!(number.digits(), "4242424242424242", "{input:?}");
        }
        assert_eq!(
            CardNumber::parse("3782 822463 10005").unwrap().digits(),
            "378282246310005"
        );
    }

    #[test]
    fn luhn_failure_is_rejected() {
        assert_eq!(CardNumber::parse("4242424242424241"), Err(CardError::Luhn));
        assert_eq!(
            CardNumber::parse("4242 4242 4242 4241"),
            Err(CardError::Luhn)
        );
    }

    #[test]
    fn wrong_lengths_are_rejected() {
        assert_eq!(CardNumber::parse(""), Err(CardError::Number));
        assert_eq!(CardNumber::parse("  - -"), Err(CardError::Number));
        // 11 digits is too short even when the check digit is right; 12 is the minimum.
        let eleven = with_check_digit("4242424242");
        assert_eq!(eleven.len(), 11);
        assert_eq!(CardNumber::parse(&eleven), Err(CardError::Number));
        let twelve = with_check_digit("42424242424");
        assert_eq!(CardNumber::parse(&twelve).unwrap().digits(), twelve);
        let nineteen = with_check_digit("424242424242424242");
        assert_eq!(nineteen.len(), 19);
        assert!(CardNumber::parse(&nineteen).is_ok());
        let twenty = with_check_digit("4242424242424242424");
        assert_eq!(twenty.len(), 20);
        assert_eq!(CardNumber::parse(&twenty), Err(CardError::Number));
    }

    #[test]
    fn letters_and_other_characters_are_rejected() {
        for input in [
            "4242424242424a42",
            "abcdefghijklmnop",
            "4242.4242.4242.4242",
            "4242_4242_4242_4242",
            "+4242424242424242",
            "４２４２４２４２４２４２４２４２",
        ] {
            assert_eq!(
                CardNumber::parse(input),
                Err(CardError::Number),
                "{input:?}"
            );
        }
    }

    #[test]
    fn brands_are_detected() {
        let cases = [
            ("4242424242424242", Brand::Visa),
            ("5555555555554444", Brand::Mastercard),
            ("5105105105105100", Brand::Mastercard),
            ("2223003122003222", Brand::Mastercard),
            ("378282246310005", Brand::Amex),
            ("371449635398431", Brand::Amex),
            ("6011111111111117", Brand::Discover),
            ("6011000990139424", Brand::Discover),
        ];
        for (digits, brand) in cases {
            assert_eq!(
                CardNumber::parse(digits).unwrap().brand(),
                brand,
                "{digits}"
            );
        }
    }

    #[test]
    fn brand_prefix_ranges() {
        let cases = [
            ("4", Brand::Visa),
            ("50", Brand::Unknown),
            ("51", Brand::Mastercard),
            ("55", Brand::Mastercard),
            ("56", Brand::Unknown),
            ("2220", Brand::Unknown),
            ("2221", Brand::Mastercard),
            ("2720", Brand::Mastercard),
            ("2721", Brand::Unknown),
            ("34", Brand::Amex),
            ("35", Brand::Unknown),
            ("37", Brand::Amex),
            ("6011", Brand::Discover),
            ("6012", Brand::Unknown),
            ("643", Brand::Unknown),
            ("644", Brand::Discover),
            ("649", Brand::Discover),
            ("65", Brand::Discover),
            ("1", Brand::Unknown),
        ];
        for (start, brand) in cases {
            let body = format!("{start}{}", "0".repeat(15 - start.len()));
            let number = CardNumber::parse(&with_check_digit(&body)).unwrap();
            assert_eq!(number.brand(), brand, "prefix {start}");
        }
    }

    #[test]
    fn brand_names() {
        assert_eq!(Brand::Visa.as_str(), "visa");
        assert_eq!(Brand::Mastercard.as_str(), "mastercard");
        assert_eq!(Brand::Amex.as_str(), "amex");
        assert_eq!(Brand::Discover.as_str(), "discover");
        assert_eq!(Brand::Unknown.as_str(), "unknown");
    }

    #[test]
    fn last4_and_debug_hide_the_number() {
        let number = CardNumber::parse("4242 4242 4242 4242").unwrap();
        assert_eq!(number.last4(), "4242");
        let debug = format!("{number:?}");
        assert_eq!(debug, "CardNumber(**** 4242)");
        assert!(!debug.contains("4242424242424242"));

        let amex = CardNumber::parse("378282246310005").unwrap();
        assert_eq!(amex.last4(), "0005");
        assert_eq!(format!("{amex:?}"), "CardNumber(**** 0005)");
        assert_eq!(format!("{amex:#?}"), "CardNumber(**** 0005)");
        assert!(!format!("{amex:?}").contains("378282246310005"));

        let wrapped = format!("{:?}", Some(&amex));
        assert!(!wrapped.contains("378282246310005"));
    }

    #[test]
    fn expiry_current_month_is_valid() {
        assert_eq!(
            Expiry::parse(5, 2026, TODAY),
            Ok(Expiry {
                month: 5,
                year: 2026
            })
        );
        assert_eq!(
            Expiry::parse(12, 2026, TODAY),
            Ok(Expiry {
                month: 12,
                year: 2026
            })
        );
        assert_eq!(
            Expiry::parse(1, 2026, (2026, 1)),
            Ok(Expiry {
                month: 1,
                year: 2026
            })
        );
    }

    #[test]
    fn expiry_last_month_is_expired() {
        assert_eq!(Expiry::parse(4, 2026, TODAY), Err(CardError::Expired));
        assert_eq!(Expiry::parse(12, 2025, (2026, 1)), Err(CardError::Expired));
        assert_eq!(Expiry::parse(12, 2020, TODAY), Err(CardError::Expired));
        assert_eq!(Expiry::parse(4, 26, TODAY), Err(CardError::Expired));
        assert_eq!(Expiry::parse(1, 0, TODAY), Err(CardError::Expired));
    }

    #[test]
    fn expiry_month_out_of_range_is_rejected() {
        for month in [0, 13, 99, 256, u32::MAX] {
            assert_eq!(
                Expiry::parse(month, 2030, TODAY),
                Err(CardError::ExpiryMonth),
                "{month}"
            );
        }
        assert!(Expiry::parse(1, 2030, TODAY).is_ok());
        assert!(Expiry::parse(12, 2030, TODAY).is_ok());
    }

    #[test]
    fn expiry_two_digit_year() {
        assert_eq!(
            Expiry::parse(12, 30, TODAY),
            Ok(Expiry {
                month: 12,
                year: 2030
            })
        );
        assert_eq!(
            Expiry::parse(5, 26, TODAY),
            Ok(Expiry {
                month: 5,
                year: 2026
            })
        );
        assert_eq!(Expiry::parse(3, 30, TODAY), Expiry::parse(3, 2030, TODAY));
    }

    #[test]
    fn expiry_year_limits() {
        assert_eq!(
            Expiry::parse(12, 2046, TODAY),
            Ok(Expiry {
                month: 12,
                year: 2046
            })
        );
        assert_eq!(Expiry::parse(1, 2047, TODAY), Err(CardError::ExpiryYear));
        assert_eq!(
            Expiry::parse(1, 46, TODAY),
            Ok(Expiry {
                month: 1,
                year: 2046
            })
        );
        assert_eq!(Expiry::parse(1, 47, TODAY), Err(CardError::ExpiryYear));
        assert_eq!(Expiry::parse(1, 99, TODAY), Err(CardError::ExpiryYear));
        for year in [100, 203, 999, 10_000, 20_300, u32::MAX] {
            assert_eq!(
                Expiry::parse(1, year, TODAY),
                Err(CardError::ExpiryYear),
                "{year}"
            );
        }
    }

    #[test]
    fn cvc_lengths() {
        for brand in [
            Brand::Visa,
            Brand::Mastercard,
            Brand::Discover,
            Brand::Unknown,
        ] {
            assert_eq!(Cvc::parse("123", brand).unwrap().digits(), "123");
            assert_eq!(Cvc::parse(" 123 ", brand).unwrap().digits(), "123");
            assert_eq!(Cvc::parse("1234", brand), Err(CardError::Cvc), "{brand:?}");
            assert_eq!(Cvc::parse("12", brand), Err(CardError::Cvc), "{brand:?}");
            assert_eq!(Cvc::parse("", brand), Err(CardError::Cvc), "{brand:?}");
            assert_eq!(Cvc::parse("12a", brand), Err(CardError::Cvc), "{brand:?}");
        }
        assert_eq!(Cvc::parse("1234", Brand::Amex).unwrap().digits(), "1234");
        assert_eq!(Cvc::parse("123", Brand::Amex), Err(CardError::Cvc));
        assert_eq!(Cvc::parse("12345", Brand::Amex), Err(CardError::Cvc));
        assert_eq!(Cvc::parse("12 34", Brand::Amex), Err(CardError::Cvc));
    }

    #[test]
    fn cvc_debug_is_masked() {
        let cvc = Cvc::parse("987", Brand::Visa).unwrap();
        assert_eq!(format!("{cvc:?}"), "Cvc(***)");
        let amex = Cvc::parse("9876", Brand::Amex).unwrap();
        assert_eq!(format!("{amex:?}"), "Cvc(***)");
    }

    #[test]
    fn error_fields() {
        assert_eq!(CardError::Number.field(), "card_number");
        assert_eq!(CardError::Luhn.field(), "card_number");
        assert_eq!(CardError::ExpiryMonth.field(), "exp_month");
        assert_eq!(CardError::ExpiryYear.field(), "exp_year");
        assert_eq!(CardError::Expired.field(), "exp_year");
        assert_eq!(CardError::Cvc.field(), "cvc");
    }

    #[test]
    fn error_display_is_field_and_message() {
        for err in ALL_ERRORS {
            assert_eq!(
                err.to_string(),
                format!("{}: {}", err.field(), err.message())
            );
            assert!(!err.message().is_empty());
        }
        assert_eq!(
            CardError::Luhn.to_string(),
            "card_number: is not a valid card number: check the digits"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(CardError::Expired);
        assert!(boxed.to_string().starts_with("exp_year: "));
    }

    #[test]
    fn errors_never_contain_the_number() {
        let inputs = [
            "4242424242424241",
            "4242 4242 4242 424x",
            "42424242424242424242",
            "4242424242",
        ];
        for input in inputs {
            let err = CardNumber::parse(input).unwrap_err();
            let digits: String = input.chars().filter(char::is_ascii_digit).collect();
            for text in [
                err.message().to_owned(),
                err.to_string(),
                format!("{err:?}"),
            ] {
                assert!(!text.contains(&digits), "{text:?}");
                assert!(!text.contains(input), "{text:?}");
                assert!(!text.contains("4242"), "{text:?}");
            }
        }
        let numbers = [
            "4242424242424242",
            "4000000000000002",
            "4000000000009995",
            "4000000000000119",
            "4000000000003220",
            "5555555555554444",
            "2223003122003222",
            "378282246310005",
            "6011111111111117",
        ];
        for err in ALL_ERRORS {
            for text in [
                err.message().to_owned(),
                err.to_string(),
                format!("{err:?}"),
            ] {
                for number in numbers {
                    assert!(!text.contains(number), "{err:?}: {text:?}");
                    assert!(
                        !text.contains(&number[number.len() - 4..]),
                        "{err:?}: {text:?}"
                    );
                }
            }
        }
    }

    /// `body` followed by the digit that makes it pass the Luhn check.
    fn with_check_digit(body: &str) -> String {
        (0..=9)
            .map(|d| format!("{body}{d}"))
            .find(|candidate| luhn_valid(candidate))
            .unwrap()
    }

    #[test]
    fn luhn_helper() {
        assert!(luhn_valid("4242424242424242"));
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("79927398710"));
        assert_eq!(with_check_digit("7992739871"), "79927398713");
    }
}
