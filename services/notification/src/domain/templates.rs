//! Transactional e-mail templates: turns a platform event ([`Mail`]) into a subject, a plain-text
//! part and an HTML part ([`Rendered`]).
//!
//! The text part is sent as `text/plain`, so values are interpolated as they are. In the HTML part
//! every interpolated value goes through [`escape_html`]; the document uses inline styles only and
//! loads no external assets. Apart from the recipient's name no personal data is rendered.

use std::fmt::Write as _;

pub use shopctl_kit::vocabulary::Money;

use super::Draft;

/// One line of an order: a product, how many were bought and the price of one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Line {
    /// The product's stock-keeping unit.
    pub sku: String,
    /// The product's display name.
    pub name: String,
    /// How many units were ordered.
    pub quantity: u32,
    /// The price of a single unit.
    pub unit_price: Money,
}

/// A transactional e-mail to send, built from a platform event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Mail {
    /// A user registered.
    Welcome {
        /// The recipient's name; may be empty.
        name: String,
    },
    /// Something happened to one of the recipient's orders: confirmed, cancelled, or its payment
    /// failed.
    Order {
        /// The recipient's name; may be empty.
        name: String,
        /// The order's id.
        order_id: String,
        /// What the mail tells about the order.
        draft: Draft,
    },
}

/// A rendered e-mail, ready for a multipart/alternative message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rendered {
    /// The subject line (single line, no control characters).
    pub subject: String,
    /// The `text/plain` part.
    pub text: String,
    /// The `text/html` part: a complete HTML document.
    pub html: String,
}

/// The brand colour used for headings and the button.
const ACCENT: &str = "#1f4e79";

impl Mail {
    /// A stable, machine-readable name for the kind of mail (for logs, metrics and queues).
    pub fn kind(&self) -> &'static str {
        match self {
            Mail::Welcome { .. } => "welcome",
            Mail::Order { draft, .. } => match draft {
                Draft::Confirmed { .. } => "order_confirmed",
                Draft::Cancelled { .. } => "order_cancelled",
                Draft::PaymentFailed { .. } => "payment_failed",
            },
        }
    }

    /// Renders the subject, text and HTML parts for a shop called `shop_name` whose storefront is
    /// at `shop_url` (such as `https://shop.example.com`; a trailing `/` is ignored).
    pub fn render(&self, shop_name: &str, shop_url: &str) -> Rendered {
        let base = shop_url.trim_end_matches('/');
        let (name, order_id, draft) = match self {
            Mail::Welcome { name } => return render_welcome(name, shop_name, base),
            Mail::Order {
                name,
                order_id,
                draft,
            } => (name, order_id, draft),
        };
        let short = short_id(order_id);
        let page = match draft {
            Draft::Confirmed {
                lines,
                subtotal,
                tax,
                shipping,
                total,
            } => {
                let totals = [
                    ("Subtotal", subtotal),
                    ("Tax", tax),
                    ("Shipping", shipping),
                    ("Total", total),
                ];
                return render_confirmed(name, order_id, lines, &totals, shop_name, base);
            }
            Draft::Cancelled { reason } => OrderPage {
                subject: format!("Your {shop_name} order {short} was cancelled"),
                intro: format!("Your order {short} has been cancelled."),
                reason_label: "Reason",
                reason,
                outro: "If you have already been charged, the money will be refunded to you. \
                        You can see the details of the order here:",
                button: "View order",
            },
            Draft::PaymentFailed { reason } => OrderPage {
                subject: format!("Payment for your {shop_name} order {short} did not go through"),
                intro: format!("We could not take the payment for your order {short}."),
                reason_label: "What happened",
                reason,
                outro: "Your order is on hold until the payment succeeds. \
                        You can try again or choose another payment method here:",
                button: "Retry payment",
            },
        };
        render_order_notice(name, order_id, &page, shop_name, base)
    }
}

/// The parts of a cancellation or payment-failure mail that differ.
struct OrderPage<'a> {
    subject: String,
    intro: String,
    reason_label: &'static str,
    reason: &'a str,
    outro: &'static str,
    button: &'static str,
}

fn render_welcome(name: &str, shop: &str, base: &str) -> Rendered {
    let subject = clean_subject(&format!("Welcome to {shop}"));

    let mut text = greeting_text(name);
    let _ = write!(
        text,
        "\n\nThanks for creating an account at {shop}. We're glad you're here!\n\n\
         Start shopping: {base}\n"
    );
    text.push_str(&sign_off_text(shop, base));

    let mut body = greeting_html(name);
    let _ = write!(
        body,
        "<p style=\"margin:0 0 16px\">Thanks for creating an account at {}. \
         We&#39;re glad you&#39;re here!</p>",
        escape_html(shop)
    );
    body.push_str(&button_html(base, "Start shopping"));
    let html = document(&subject, shop, base, &body);

    Rendered {
        subject,
        text,
        html,
    }
}

fn render_confirmed(
    name: &str,
    order_id: &str,
    lines: &[Line],
    totals: &[(&str, &Money)],
    shop: &str,
    base: &str,
) -> Rendered {
    let short = short_id(order_id);
    let subject = clean_subject(&format!("Your {shop} order {short} is confirmed"));
    let link = order_link(base, order_id);

    // Text part.
    let mut text = greeting_text(name);
    let _ = write!(
        text,
        "\n\nThank you for your order! Order {short} is confirmed and we're getting it ready.\n\n"
    );
    for line in lines {
        let _ = writeln!(
            text,
            "- {} × {} @ {} = {}",
            line.name,
            line.quantity,
            line.unit_price.format(),
            line.unit_price.times(i64::from(line.quantity)).format()
        );
    }
    text.push('\n');
    for (label, money) in totals {
        let _ = writeln!(text, "{:<10}{}", format!("{label}:"), money.format());
    }
    let _ = write!(text, "\nView your order: {link}\n");
    text.push_str(&sign_off_text(shop, base));

    // HTML part.
    let cell = "padding:8px;border-bottom:1px solid #e5e5e5";
    let mut body = greeting_html(name);
    let _ = write!(
        body,
        "<p style=\"margin:0 0 16px\">Thank you for your order! Order <strong>{}</strong> is \
         confirmed and we&#39;re getting it ready.</p>\
         <table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" \
         style=\"width:100%;border-collapse:collapse;margin:0 0 16px;font-size:14px\">\
         <thead><tr style=\"background:#f4f4f4\">\
         <th style=\"{cell};text-align:left\">Item</th>\
         <th style=\"{cell};text-align:right\">Qty</th>\
         <th style=\"{cell};text-align:right\">Unit price</th>\
         <th style=\"{cell};text-align:right\">Amount</th>\
         </tr></thead><tbody>",
        escape_html(&short)
    );
    for line in lines {
        let _ = write!(
            body,
            "<tr><td style=\"{cell};text-align:left\">{}</td>\
             <td style=\"{cell};text-align:right\">{}</td>\
             <td style=\"{cell};text-align:right\">{}</td>\
             <td style=\"{cell};text-align:right\">{}</td></tr>",
            escape_html(&line.name),
            line.quantity,
            escape_html(&line.unit_price.format()),
            escape_html(&line.unit_price.times(i64::from(line.quantity)).format())
        );
    }
    body.push_str("</tbody><tfoot>");
    for (label, money) in totals {
        let weight = if *label == "Total" {
            "font-weight:bold;"
        } else {
            ""
        };
        let _ = write!(
            body,
            "<tr><td colspan=\"3\" style=\"padding:4px 8px;text-align:right;{weight}\">{}</td>\
             <td style=\"padding:4px 8px;text-align:right;{weight}\">{}</td></tr>",
            escape_html(label),
            escape_html(&money.format())
        );
    }
    body.push_str("</tfoot></table>");
    body.push_str(&button_html(&link, "View your order"));
    let html = document(&subject, shop, base, &body);

    Rendered {
        subject,
        text,
        html,
    }
}

fn render_order_notice(
    name: &str,
    order_id: &str,
    page: &OrderPage<'_>,
    shop: &str,
    base: &str,
) -> Rendered {
    let subject = clean_subject(&page.subject);
    let link = order_link(base, order_id);
    let reason = if page.reason.trim().is_empty() {
        "No reason was given."
    } else {
        page.reason.trim()
    };

    let mut text = greeting_text(name);
    let _ = write!(
        text,
        "\n\n{}\n\n{}: {reason}\n\n{}\n{link}\n",
        page.intro, page.reason_label, page.outro
    );
    text.push_str(&sign_off_text(shop, base));

    let mut body = greeting_html(name);
    let _ = write!(
        body,
        "<p style=\"margin:0 0 16px\">{}</p>\
         <p style=\"margin:0 0 16px;padding:12px;background:#f4f4f4;border-radius:4px\">\
         <strong>{}:</strong> {}</p>\
         <p style=\"margin:0 0 16px\">{}</p>",
        escape_html(&page.intro),
        escape_html(page.reason_label),
        escape_html(reason),
        escape_html(page.outro)
    );
    body.push_str(&button_html(&link, page.button));
    let html = document(&subject, shop, base, &body);

    Rendered {
        subject,
        text,
        html,
    }
}

pub use shopctl_kit::html::escape as escape_html;

/// The first 8 characters of an order id, as shown to customers.
fn short_id(order_id: &str) -> String {
    order_id.chars().take(8).collect()
}

/// `{base}/orders/{order_id}`, with the id percent-encoded as a path segment.
fn order_link(base: &str, order_id: &str) -> String {
    let mut link = format!("{base}/orders/");
    for byte in order_id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            link.push(char::from(byte));
        } else {
            let _ = write!(link, "%{byte:02X}");
        }
    }
    link
}

/// Replaces control characters (such as CR/LF, which could inject headers) with spaces.
fn clean_subject(subject: &str) -> String {
    subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn greeting_text(name: &str) -> String {
    let name = name.trim();
    if name.is_empty() {
        "Hello,".to_owned()
    } else {
        format!("Hello {name},")
    }
}

fn greeting_html(name: &str) -> String {
    format!(
        "<p style=\"margin:0 0 16px\">{}</p>",
        escape_html(&greeting_text(name))
    )
}

fn sign_off_text(shop: &str, base: &str) -> String {
    format!("\nThanks,\nThe {shop} team\n{base}\n")
}

fn button_html(href: &str, label: &str) -> String {
    format!(
        "<p style=\"margin:24px 0\"><a href=\"{}\" style=\"display:inline-block;padding:12px 24px;\
         background:{ACCENT};color:#ffffff;text-decoration:none;border-radius:4px;\
         font-weight:bold\">{}</a></p>",
        escape_html(href),
        escape_html(label)
    )
}

/// Wraps `body` (already escaped HTML) in a complete document with header and sign-off.
fn document(subject: &str, shop: &str, base: &str, body: &str) -> String {
    let shop = escape_html(shop);
    format!(
        "<!doctype html>\n\
         <html lang=\"en\">\n\
         <head>\n\
         <meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n\
         </head>\n\
         <body style=\"margin:0;padding:0;background:#f6f6f6;\
         font-family:Helvetica,Arial,sans-serif;color:#222222;line-height:1.5\">\n\
         <div style=\"max-width:600px;margin:0 auto;padding:24px;background:#ffffff\">\n\
         <h1 style=\"margin:0 0 24px;font-size:22px;color:{ACCENT}\">{shop}</h1>\n\
         {body}\n\
         <p style=\"margin:24px 0 0\">Thanks,<br>The {shop} team<br>\
         <a href=\"{href}\" style=\"color:{ACCENT}\">{href}</a></p>\n\
         </div>\n\
         </body>\n\
         </html>\n",
        title = escape_html(subject),
        href = escape_html(base),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = "Acme";
    const URL: &str = "https://shop.example.com";
    const ORDER: &str = "0123456789abcdef";

    fn money(amount: i64, currency: &str) -> Money {
        Money {
            amount,
            currency: currency.to_owned(),
        }
    }

    fn order(name: &str, order_id: &str, draft: Draft) -> Mail {
        Mail::Order {
            name: name.to_owned(),
            order_id: order_id.to_owned(),
            draft,
        }
    }

    fn confirmed(name: &str) -> Mail {
        let draft = Draft::Confirmed {
            lines: vec![
                Line {
                    sku: "TEE-BLK-M".to_owned(),
                    name: "Black T-shirt".to_owned(),
                    quantity: 2,
                    unit_price: money(2500, "USD"),
                },
                Line {
                    sku: "MUG-01".to_owned(),
                    name: "Coffee mug".to_owned(),
                    quantity: 1,
                    unit_price: money(1299, "USD"),
                },
            ],
            subtotal: money(6299, "USD"),
            tax: money(504, "USD"),
            shipping: money(499, "USD"),
            total: money(7302, "USD"),
        };
        order(name, ORDER, draft)
    }

    fn cancelled(name: &str) -> Mail {
        let reason = "Out of stock".to_owned();
        order(name, ORDER, Draft::Cancelled { reason })
    }

    fn failed(name: &str) -> Mail {
        let reason = "The card was declined".to_owned();
        order(name, ORDER, Draft::PaymentFailed { reason })
    }

    #[test]
    fn kinds() {
        assert_eq!(Mail::Welcome { name: "A".into() }.kind(), "welcome");
        assert_eq!(confirmed("A").kind(), "order_confirmed");
        assert_eq!(cancelled("A").kind(), "order_cancelled");
        assert_eq!(failed("A").kind(), "payment_failed");
    }

    #[test]
    fn subjects() {
        let welcome = Mail::Welcome { name: "Ana".into() }.render(SHOP, URL);
        assert_eq!(welcome.subject, "Welcome to Acme");
        assert_eq!(
            confirmed("Ana").render(SHOP, URL).subject,
            "Your Acme order 01234567 is confirmed"
        );
        assert_eq!(
            cancelled("Ana").render(SHOP, URL).subject,
            "Your Acme order 01234567 was cancelled"
        );
        assert_eq!(
            failed("Ana").render(SHOP, URL).subject,
            "Payment for your Acme order 01234567 did not go through"
        );
    }

    #[test]
    fn subject_has_no_line_breaks() {
        let reason = String::new();
        let mail = order("Ana", "ab\r\nBcc: x", Draft::Cancelled { reason });
        let subject = mail.render(SHOP, URL).subject;
        assert!(!subject.contains('\r') && !subject.contains('\n'));
    }

    #[test]
    fn confirmation_text_has_lines_totals_and_link() {
        let r = confirmed("Ana").render(SHOP, URL);
        assert!(r.text.starts_with("Hello Ana,"));
        assert!(r.text.contains("Black T-shirt × 2 @ $25.00"));
        assert!(r.text.contains("Coffee mug × 1 @ $12.99"));
        assert!(r.text.contains("$62.99"));
        assert!(r.text.contains("$5.04"));
        assert!(r.text.contains("$4.99"));
        assert!(r.text.contains("Total:"));
        assert!(r.text.contains("$73.02"));
        assert!(
            r.text
                .contains("https://shop.example.com/orders/0123456789abcdef")
        );
        assert!(r.text.contains("The Acme team"));
    }

    #[test]
    fn confirmation_html_has_table_totals_and_button() {
        let r = confirmed("Ana").render(SHOP, URL);
        assert!(r.html.contains("<th"));
        assert!(r.html.contains(">Black T-shirt</td>"));
        assert!(r.html.contains("$73.02"));
        assert!(
            r.html
                .contains("href=\"https://shop.example.com/orders/0123456789abcdef\"")
        );
    }

    #[test]
    fn trailing_slash_in_shop_url_is_ignored() {
        let r = confirmed("Ana").render(SHOP, "https://shop.example.com/");
        assert!(
            r.text
                .contains("https://shop.example.com/orders/0123456789abcdef")
        );
    }

    #[test]
    fn cancel_and_failure_mention_reason_and_link() {
        for (mail, reason) in [
            (cancelled("Ana"), "Out of stock"),
            (failed("Ana"), "The card was declined"),
        ] {
            let r = mail.render(SHOP, URL);
            assert!(r.text.contains(reason));
            assert!(r.html.contains(reason));
            assert!(
                r.text
                    .contains("https://shop.example.com/orders/0123456789abcdef")
            );
            assert!(
                r.html
                    .contains("https://shop.example.com/orders/0123456789abcdef")
            );
        }
    }

    #[test]
    fn html_escapes_interpolated_values() {
        let name = r#"<script>alert("x")</script> & Co"#;
        let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co";
        for mail in [
            Mail::Welcome { name: name.into() },
            confirmed(name),
            cancelled(name),
            failed(name),
        ] {
            let r = mail.render(SHOP, URL);
            assert!(!r.html.contains("<script>"), "{}", mail.kind());
            assert!(r.html.contains(escaped), "{}", mail.kind());
            assert!(r.text.contains(name), "{}", mail.kind());
        }
    }

    #[test]
    fn html_escapes_shop_reason_and_lines() {
        let reason = "<b>bad</b>".to_owned();
        let mail = order("Ana", ORDER, Draft::Cancelled { reason });
        let r = mail.render("A<B>'s", URL);
        assert!(!r.html.contains("<b>bad"));
        assert!(r.html.contains("&lt;b&gt;bad&lt;/b&gt;"));
        assert!(r.html.contains("A&lt;B&gt;&#39;s"));
        assert!(!r.html.contains("A<B>"));
    }

    #[test]
    fn escape_html_covers_all_five() {
        assert_eq!(escape_html(r#"&<>"'"#), "&amp;&lt;&gt;&quot;&#39;");
        assert_eq!(escape_html("plain é"), "plain é");
    }

    #[test]
    fn empty_name_greets_with_hello() {
        for mail in [
            Mail::Welcome {
                name: String::new(),
            },
            confirmed(""),
            cancelled(""),
            failed(""),
        ] {
            let r = mail.render(SHOP, URL);
            assert!(r.text.starts_with("Hello,\n"), "{}", mail.kind());
            assert!(r.html.contains(">Hello,</p>"), "{}", mail.kind());
        }
    }

    #[test]
    fn html_is_a_complete_document() {
        for mail in [
            Mail::Welcome { name: "Ana".into() },
            confirmed("Ana"),
            cancelled("Ana"),
            failed("Ana"),
        ] {
            let r = mail.render(SHOP, URL);
            assert!(r.html.starts_with("<!doctype html>"));
            assert!(r.html.contains("<html lang=\"en\">"));
            assert!(r.html.trim_end().ends_with("</html>"));
            assert!(!r.html.contains("<img"));
            assert!(!r.html.contains("<link"));
            assert!(!r.html.contains("<script"));
        }
    }
}
