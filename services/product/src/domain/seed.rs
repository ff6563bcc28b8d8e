//! The demo catalog in the catalog's own types: kit's generator (`shopctl_kit::demo`, the same
//! `(count, seed)` always yields the same products), each field parsed into its domain newtype.

use shopctl_kit::demo;
use uuid::Uuid;

use crate::{
    domain::{
        Attributes, Brand, CategorySlug, Description, ImageUrl, Money, NewCategory, NewProduct,
        ProductName, Sku,
    },
    store::{ProductStore, SeedRow},
};

/// The categories of the demo catalog.
pub fn categories() -> Vec<NewCategory> {
    demo::categories()
        .map(|(slug, name)| NewCategory::parse(slug, name).expect("built-in categories are valid"))
        .collect()
}

/// Generates `count` products from `seed`, lazily (a million products need not fit in memory
/// at once). SKUs carry the seed (`SHO-2A-000001` for seed 42), so catalogs from different seeds
/// can share one database.
pub fn products(count: usize, seed: u64) -> impl Iterator<Item = SeedRow> {
    demo::products(count, seed).map(|row| SeedRow {
        id: row.id,
        created_at: row.created_at,
        product: NewProduct {
            sku: Sku::parse(&row.sku).expect("generated SKU is valid"),
            name: ProductName::parse(&row.name).expect("generated name is valid"),
            description: Description::parse(&row.description)
                .expect("generated description is valid"),
            price: Money {
                amount: row.price,
                currency: row.currency.to_owned(),
            },
            category: CategorySlug::parse("category", row.category)
                .expect("built-in slug is valid"),
            brand: Brand::parse("brand", row.brand).expect("built-in brand is valid"),
            attributes: Attributes::parse(row.attributes).expect("generated attributes are valid"),
            image_url: Some(ImageUrl::parse(&row.image_url).expect("valid path")),
            active: true,
        },
    })
}

/// Loads the demo categories and `count` generated products; returns how many were inserted.
pub async fn load(
    store: &dyn ProductStore,
    count: usize,
    seed: u64,
) -> Result<u64, shopctl_kit::db::StoreError> {
    for category in categories() {
        store.ensure_category(&category).await?;
    }
    let inserted = store
        .insert_products(&products(count, seed).collect::<Vec<_>>())
        .await?;
    store.analyze().await?;
    Ok(inserted)
}

/// The id of a demo product, for tests that want a stable one.
pub fn first_id(seed: u64) -> Option<Uuid> {
    products(1, seed).next().map(|row| row.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_product_parses_into_the_catalog_unchanged() {
        for (row, plain) in products(2_000, 42).zip(demo::products(2_000, 42)) {
            assert_eq!(row.id, plain.id);
            assert_eq!(row.product.sku.as_ref(), plain.sku);
            assert_eq!(row.product.price.amount, plain.price);
            assert_eq!(row.product.category.as_ref(), plain.category);
        }
        assert_eq!(categories().len(), demo::categories().count());
    }
}
