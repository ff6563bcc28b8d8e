//! A shopper's cart before they sign in, kept in a signed cookie (no server state for
//! anonymous visitors) and added to their account's cart when they sign in or register.

/// Most distinct lines a guest cart holds (the cookie stays well under 4 KB).
pub const MAX_LINES: usize = 30;
/// Most units of one SKU, as the order service allows.
pub const MAX_QUANTITY: u32 = 99;

/// Lines of a guest cart, in the order they were first added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestCart {
    lines: Vec<(String, u32)>,
}

/// Whether `sku` could be a SKU: what the cookie format can carry safely.
fn plausible_sku(sku: &str) -> bool {
    !sku.is_empty()
        && sku.len() <= 64
        && sku
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

impl GuestCart {
    /// The cart in a cookie value (`SKU*QTY~SKU*QTY`); malformed lines are dropped.
    pub fn decode(text: &str) -> Self {
        let lines = text
            .split('~')
            .filter_map(|line| {
                let (sku, quantity) = line.split_once('*')?;
                let quantity: u32 = quantity.parse().ok()?;
                (plausible_sku(sku) && (1..=MAX_QUANTITY).contains(&quantity))
                    .then(|| (sku.to_owned(), quantity))
            })
            .take(MAX_LINES)
            .collect();
        Self { lines }
    }

    /// The cookie value.
    pub fn encode(&self) -> String {
        self.lines
            .iter()
            .map(|(sku, quantity)| format!("{sku}*{quantity}"))
            .collect::<Vec<_>>()
            .join("~")
    }

    /// The lines.
    pub fn lines(&self) -> &[(String, u32)] {
        &self.lines
    }

    /// Whether the cart is empty.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Units in the cart.
    pub fn count(&self) -> u32 {
        self.lines.iter().map(|(_, quantity)| quantity).sum()
    }

    /// Adds `quantity` of `sku` (capped at [`MAX_QUANTITY`]); `false` when the SKU is not
    /// plausible or the cart is full.
    pub fn add(&mut self, sku: &str, quantity: u32) -> bool {
        if !plausible_sku(sku) || quantity == 0 {
            return false;
        }
        if let Some(line) = self.lines.iter_mut().find(|(s, _)| s == sku) {
            line.1 = (line.1 + quantity).min(MAX_QUANTITY);
            return true;
        }
        if self.lines.len() >= MAX_LINES {
            return false;
        }
        self.lines
            .push((sku.to_owned(), quantity.min(MAX_QUANTITY)));
        true
    }

    /// Sets the quantity of `sku`; 0 removes the line.
    pub fn set(&mut self, sku: &str, quantity: u32) {
        if quantity == 0 {
            self.lines.retain(|(s, _)| s != sku);
        } else if let Some(line) = self.lines.iter_mut().find(|(s, _)| s == sku) {
            line.1 = quantity.min(MAX_QUANTITY);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cart_round_trips_through_its_cookie_value() {
        let mut cart = GuestCart::default();
        assert!(cart.add("SHO-1", 2));
        assert!(cart.add("BAG-7", 1));
        assert!(cart.add("SHO-1", 3));
        assert_eq!(GuestCart::decode(&cart.encode()), cart);
        assert_eq!(cart.count(), 6);
        cart.set("SHO-1", 0);
        assert_eq!(cart.lines(), &[("BAG-7".to_owned(), 1)]);
    }

    #[test]
    fn malformed_or_hostile_lines_are_dropped() {
        let cart = GuestCart::decode("SHO-1*2~<script>*1~BAG-7*0~HAT-2*100~CAP-1*x~CAP-2*4");
        assert_eq!(
            cart.lines(),
            &[("SHO-1".to_owned(), 2), ("CAP-2".to_owned(), 4)]
        );
    }

    #[test]
    fn quantities_are_capped_and_lines_bounded() {
        let mut cart = GuestCart::default();
        cart.add("SHO-1", 98);
        cart.add("SHO-1", 5);
        assert_eq!(cart.count(), MAX_QUANTITY);
        for i in 0..MAX_LINES + 5 {
            cart.add(&format!("SKU-{i}"), 1);
        }
        assert_eq!(cart.lines().len(), MAX_LINES);
        assert!(!cart.add("ANOTHER", 1));
        assert!(!cart.add("bad sku", 1));
    }
}
