//! The demo catalog as plain data: a deterministic, realistic generator of products. The same
//! `(count, seed)` always yields the same products (ids, SKUs, names, prices, timestamps), on
//! any machine. The product service loads it into its catalog (parsing each field into its
//! domain types), the inventory service gives its SKUs stock and the CLI seeds it at scale, each
//! from this one generator, so no service needs another's code.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng, seq::IndexedRandom};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

struct CategorySpec {
    slug: &'static str,
    name: &'static str,
    nouns: &'static [&'static str],
    brands: &'static [&'static str],
    price: (i64, i64),
}

const CATEGORIES: &[CategorySpec] = &[
    CategorySpec {
        slug: "shoes",
        name: "Shoes",
        nouns: &[
            "Running Shoe",
            "Trail Runner",
            "Sneaker",
            "Hiking Boot",
            "Loafer",
            "Sandal",
            "Court Shoe",
        ],
        brands: &["Stridewell", "Northpeak", "Velo", "Kestrel"],
        price: (3_900, 24_900),
    },
    CategorySpec {
        slug: "apparel",
        name: "Apparel",
        nouns: &[
            "T-Shirt",
            "Hoodie",
            "Rain Jacket",
            "Fleece",
            "Chino",
            "Polo Shirt",
            "Wool Sweater",
        ],
        brands: &["Ashford", "Tidewater", "Northpeak", "Loomcraft"],
        price: (1_500, 19_900),
    },
    CategorySpec {
        slug: "kitchen",
        name: "Kitchen",
        nouns: &[
            "Chef's Knife",
            "Cast Iron Skillet",
            "Espresso Maker",
            "Cutting Board",
            "Dutch Oven",
            "Kettle",
            "Mixing Bowl Set",
        ],
        brands: &["Copperline", "Hearth & Co", "Brava", "Ostara"],
        price: (1_200, 39_900),
    },
    CategorySpec {
        slug: "electronics",
        name: "Electronics",
        nouns: &[
            "Wireless Headphones",
            "Bluetooth Speaker",
            "USB-C Charger",
            "Smartwatch",
            "E-Reader",
            "Webcam",
            "Mechanical Keyboard",
        ],
        brands: &["Voltic", "Lumen", "Arcwave", "Quillon"],
        price: (1_900, 49_900),
    },
    CategorySpec {
        slug: "home",
        name: "Home",
        nouns: &[
            "Table Lamp",
            "Throw Blanket",
            "Ceramic Vase",
            "Wall Clock",
            "Candle",
            "Linen Cushion",
            "Storage Basket",
        ],
        brands: &["Hearth & Co", "Nordlys", "Ostara", "Willow Lane"],
        price: (900, 14_900),
    },
    CategorySpec {
        slug: "outdoor",
        name: "Outdoor",
        nouns: &[
            "Tent",
            "Sleeping Bag",
            "Headlamp",
            "Water Bottle",
            "Daypack",
            "Camp Stove",
            "Trekking Poles",
        ],
        brands: &["Northpeak", "Ridgeline", "Kestrel", "Summitry"],
        price: (1_200, 59_900),
    },
    CategorySpec {
        slug: "beauty",
        name: "Beauty",
        nouns: &[
            "Face Serum",
            "Hand Cream",
            "Shampoo",
            "Lip Balm",
            "Body Wash",
            "Sunscreen",
            "Beard Oil",
        ],
        brands: &["Fleur", "Aster & Sage", "Pureleaf", "Lumière"],
        price: (500, 8_900),
    },
    CategorySpec {
        slug: "toys",
        name: "Toys & Games",
        nouns: &[
            "Puzzle",
            "Board Game",
            "Building Set",
            "Plush Bear",
            "Kite",
            "Wooden Train",
            "Card Game",
        ],
        brands: &["Playfair", "Tumble", "Brightbox", "Willow Lane"],
        price: (700, 12_900),
    },
];

const ADJECTIVES: &[&str] = &[
    "Classic",
    "Lightweight",
    "Premium",
    "Everyday",
    "Compact",
    "Deluxe",
    "Organic",
    "Vintage",
    "Ultra",
    "Essential",
    "Rugged",
    "Slim",
    "Eco",
    "Pro",
    "Cozy",
    "Modern",
];
const COLORS: &[&str] = &[
    "Black", "White", "Navy", "Olive", "Sand", "Charcoal", "Red", "Teal", "Stone", "Plum",
];
const MATERIALS: &[&str] = &[
    "cotton",
    "recycled polyester",
    "stainless steel",
    "oak",
    "aluminium",
    "wool",
    "ceramic",
    "leather",
];

/// The categories of the demo catalog: `(slug, name)`.
pub fn categories() -> impl Iterator<Item = (&'static str, &'static str)> {
    CATEGORIES.iter().map(|c| (c.slug, c.name))
}

/// One generated product, every field valid for the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoProduct {
    /// Product id.
    pub id: Uuid,
    /// When it was created (a minute apart, from 2026-01-01).
    pub created_at: DateTime<Utc>,
    /// Stock-keeping unit, carrying the seed (`SHO-2A-000001` for seed 42).
    pub sku: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Price in minor units.
    pub price: i64,
    /// ISO currency of the price.
    pub currency: &'static str,
    /// Category slug, one of [`categories`].
    pub category: &'static str,
    /// Brand.
    pub brand: &'static str,
    /// `color` and `material`.
    pub attributes: BTreeMap<String, String>,
    /// Path of its picture.
    pub image_url: String,
}

/// Generates `count` products from `seed`, lazily (a million products need not fit in memory
/// at once). SKUs carry the seed, so catalogs from different seeds can share one database.
pub fn products(count: usize, seed: u64) -> impl Iterator<Item = DemoProduct> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let epoch: DateTime<Utc> = DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default(); // 2026-01-01
    (0..count).map(move |i| {
        let spec = &CATEGORIES[rng.random_range(0..CATEGORIES.len())];
        let adjective = ADJECTIVES.choose(&mut rng).copied().unwrap_or("Classic");
        let noun = spec.nouns.choose(&mut rng).copied().unwrap_or("Item");
        let brand = spec.brands.choose(&mut rng).copied().unwrap_or("Generic");
        let color = COLORS.choose(&mut rng).copied().unwrap_or("Black");
        let material = MATERIALS.choose(&mut rng).copied().unwrap_or("cotton");
        let name = if count > 200 {
            format!("{brand} {adjective} {noun} {color} {}", i + 1)
        } else {
            format!("{adjective} {noun} {color}")
        };
        // Prices end in 99 or 49 like real shops.
        let base = rng.random_range(spec.price.0..=spec.price.1) / 100 * 100;
        let cents = if rng.random_bool(0.7) { 99 } else { 49 };
        let description = format!(
            "The {adjective} {noun} by {brand} in {color}. Made from {material}, built to last and \
                 easy to care for. Ships within two business days; free returns for 30 days."
        );
        let sku = format!(
            "{}-{seed:X}-{:06}",
            &spec.slug[..3].to_ascii_uppercase(),
            i + 1
        );
        let mut id_bytes = [0u8; 16];
        rng.fill(&mut id_bytes);
        let attributes = [
            ("color".to_owned(), color.to_owned()),
            ("material".to_owned(), material.to_owned()),
        ]
        .into_iter()
        .collect();
        DemoProduct {
            id: uuid::Builder::from_random_bytes(id_bytes).into_uuid(),
            created_at: epoch + Duration::minutes(i64::try_from(i).unwrap_or(i64::MAX)),
            image_url: format!("/images/products/{sku}.svg"),
            sku,
            name,
            description,
            price: base + cents,
            currency: "USD",
            category: spec.slug,
            brand,
            attributes,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_catalog_other_seed_other_catalog() {
        let a: Vec<_> = products(50, 7).collect();
        let b: Vec<_> = products(50, 7).collect();
        let c: Vec<_> = products(50, 8).collect();
        assert_eq!(a, b);
        assert_ne!(a[0].name, c[0].name);
    }

    #[test]
    fn skus_are_unique_and_prices_positive() {
        let rows: Vec<_> = products(5_000, 1).chain(products(5_000, 2)).collect();
        let skus: std::collections::HashSet<_> = rows.iter().map(|r| r.sku.clone()).collect();
        assert_eq!(skus.len(), rows.len());
        assert!(rows.iter().all(|r| r.price > 0));
        assert!(rows[0].sku.contains("-1-"), "{:?}", rows[0].sku);
    }

    #[test]
    fn the_catalog_the_benchmarks_and_docs_name_is_what_seed_42_makes() {
        // `tests/bench/storefront.sh` and the README refer to these.
        let rows: Vec<_> = products(100, 42).collect();
        assert_eq!(rows[99].sku, "KIT-2A-000100");
        assert!(categories().any(|(slug, _)| slug == rows[99].category));
    }
}
