//! Product pictures without image files: an inline SVG drawn from the product itself (its
//! SKU picks the colours and the motif, its name gives the monogram), so the shop needs no
//! external assets and every product looks different.

use sha2::{Digest as _, Sha256};

use super::highlight::escape;

/// Colour pairs (background, foreground) with enough contrast for the monogram.
const PALETTE: [(&str, &str); 8] = [
    ("#e8f0fe", "#1a4fa0"),
    ("#fdecea", "#a3231a"),
    ("#e6f4ea", "#1e6b34"),
    ("#fef7e0", "#8a5a00"),
    ("#f3e8fd", "#6a1fa3"),
    ("#e0f7fa", "#00626e"),
    ("#fce8f3", "#9c1a62"),
    ("#eceff1", "#37474f"),
];

/// An SVG picture of the product `sku` named `name`, `size` pixels square, labelled for
/// screen readers with the product's name.
pub fn svg(sku: &str, name: &str, size: u32) -> String {
    let digest = Sha256::digest(sku.as_bytes());
    let (background, foreground) = PALETTE[usize::from(digest[0]) % PALETTE.len()];
    let monogram: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .collect::<String>()
        .to_uppercase();
    let motif = match digest[1] % 3 {
        0 => format!(
            r#"<circle cx="{}" cy="{}" r="{}" fill="{foreground}" opacity=".12"/>"#,
            20 + u32::from(digest[2] % 60),
            20 + u32::from(digest[3] % 60),
            25 + u32::from(digest[4] % 20)
        ),
        1 => format!(
            r#"<rect x="{}" y="{}" width="46" height="46" rx="8" fill="{foreground}" opacity=".12" transform="rotate({} 50 50)"/>"#,
            10 + u32::from(digest[2] % 40),
            10 + u32::from(digest[3] % 40),
            digest[4] % 90
        ),
        _ => format!(
            r#"<path d="M0 {} Q50 {} 100 {} V100 H0Z" fill="{foreground}" opacity=".12"/>"#,
            55 + u32::from(digest[2] % 25),
            30 + u32::from(digest[3] % 40),
            55 + u32::from(digest[4] % 25)
        ),
    };
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="{size}" height="{size}" role="img" aria-label="{label}"><rect width="100" height="100" fill="{background}"/>{motif}<text x="50" y="58" text-anchor="middle" font-family="system-ui,sans-serif" font-size="26" font-weight="600" fill="{foreground}">{monogram}</text></svg>"#,
        label = escape(name),
        monogram = escape(&monogram),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_picture_is_labelled_and_escapes_the_name() {
        let picture = svg("SHO-1", "<Trail> Runner", 120);
        assert!(picture.starts_with("<svg"));
        assert!(picture.contains(r#"aria-label="&lt;Trail&gt; Runner""#));
        assert!(picture.contains(">TR</text>"));
        assert!(!picture.contains("<Trail>"));
    }

    #[test]
    fn the_same_product_always_gets_the_same_picture() {
        assert_eq!(svg("SHO-1", "Shoe", 80), svg("SHO-1", "Shoe", 80));
        assert_ne!(svg("SHO-1", "Shoe", 80), svg("BAG-2", "Shoe", 80));
    }
}
