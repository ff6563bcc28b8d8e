//! Search relevance, facets and keyset pagination.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use crate::helpers::{product_body, spawn_app};

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_exact_name_query_ranks_that_product_first() {
    let app = spawn_app().await;
    app.seed(300, 11).await;
    let all = app.all_pages("/api/products?limit=100").await;
    for target in [&all[0], &all[137], &all[299]] {
        let name = target["name"].as_str().unwrap();
        let response = app
            .client
            .get(format!("{}/api/products", app.url))
            .query(&[("q", name)])
            .send()
            .await
            .unwrap();
        let page: Value = response.json().await.unwrap();
        assert_eq!(
            page["items"][0]["id"], target["id"],
            "q={name:?} should rank it first: {page}"
        );
    }
}

#[tokio::test]
async fn prefix_words_match_and_every_word_must_match() {
    let app = spawn_app().await;
    app.create_category("kitchen").await;
    app.create_product(&product_body("K-1", "Espresso Maker Deluxe", "kitchen"))
        .await;
    app.create_product(&product_body("K-2", "Espresso Cup", "kitchen"))
        .await;
    app.create_product(&product_body("K-3", "Tea Kettle", "kitchen"))
        .await;

    let names = |page: Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let espr = names(app.get_json("/api/products?q=espr").await);
    assert_eq!(espr.len(), 2, "{espr:?}");
    assert_eq!(
        names(app.get_json("/api/products?q=espresso%20mak").await),
        ["Espresso Maker Deluxe"]
    );
    assert_eq!(
        names(app.get_json("/api/products?q=ESPRESSO%20cup").await),
        ["Espresso Cup"]
    );
    // Name matches rank above description-only matches.
    let mut body = product_body("K-4", "Grinder", "kitchen");
    body["description"] = Value::from("pairs well with an espresso maker");
    app.create_product(&body).await;
    let ranked = names(app.get_json("/api/products?q=espresso").await);
    assert_eq!(
        ranked.last().map(String::as_str),
        Some("Grinder"),
        "{ranked:?}"
    );
}

fn counts_by(items: &[Value], key: &str) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for item in items {
        *counts
            .entry(item[key].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    counts
}

fn facet_map(page: &Value, facet: &str) -> BTreeMap<String, i64> {
    page["facets"][facet]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["value"].as_str().unwrap().to_owned(),
                f["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn facet_counts_equal_the_filtered_list() {
    let app = spawn_app().await;
    app.seed(400, 5).await;
    for filter in [
        "",
        "category=shoes",
        "brand=Northpeak",
        "min_price=2000&max_price=9000",
        "q=classic",
        "q=classic&category=outdoor&max_price=30000",
        "q=zzzznotaword",
    ] {
        let first = app
            .get_json(&format!("/api/products?limit=100&{filter}"))
            .await;
        let items = app
            .all_pages(&format!("/api/products?limit=100&{filter}"))
            .await;
        assert_eq!(
            first["total"].as_i64().unwrap(),
            items.len() as i64,
            "total for `{filter}`"
        );
        assert_eq!(
            facet_map(&first, "category"),
            counts_by(&items, "category"),
            "categories for `{filter}`"
        );
        assert_eq!(
            facet_map(&first, "brand"),
            counts_by(&items, "brand"),
            "brands for `{filter}`"
        );
    }
}

#[tokio::test]
async fn filters_and_sorts_hold_on_every_page() {
    let app = spawn_app().await;
    app.seed(250, 9).await;
    let items = app
        .all_pages(
            "/api/products?category=kitchen&min_price=1500&max_price=20000&sort=price_asc&limit=9",
        )
        .await;
    assert!(!items.is_empty());
    let prices: Vec<i64> = items
        .iter()
        .map(|i| i["price"]["amount"].as_i64().unwrap())
        .collect();
    assert!(
        prices.windows(2).all(|w| w[0] <= w[1]),
        "ascending: {prices:?}"
    );
    assert!(items.iter().all(|i| i["category"] == "kitchen"));
    assert!(prices.iter().all(|p| (1500..=20000).contains(p)));

    let desc: Vec<i64> = app
        .all_pages("/api/products?sort=price_desc&limit=13")
        .await
        .iter()
        .map(|i| i["price"]["amount"].as_i64().unwrap())
        .collect();
    assert!(desc.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(desc.len(), 250);

    let newest: Vec<String> = app
        .all_pages("/api/products?sort=newest&limit=17")
        .await
        .iter()
        .map(|i| i["created_at"].as_str().unwrap().to_owned())
        .collect();
    assert!(newest.windows(2).all(|w| w[0] >= w[1]));
}

#[tokio::test]
async fn pagination_visits_every_item_exactly_once_while_items_are_inserted() {
    let app = spawn_app().await;
    app.seed(60, 21).await;
    let original: HashSet<String> = ids(&app.all_pages("/api/products?limit=100").await)
        .into_iter()
        .collect();
    assert_eq!(original.len(), 60);

    let mut inserted = 0;
    for sort in ["newest", "price_asc", "price_desc", "name", "relevance"] {
        let q = if sort == "relevance" { "&q=the" } else { "" };
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let cursor_param = cursor
                .as_ref()
                .map(|c| format!("&cursor={c}"))
                .unwrap_or_default();
            let page = app
                .get_json(&format!(
                    "/api/products?sort={sort}&limit=7{q}{cursor_param}"
                ))
                .await;
            seen.extend(ids(page["items"].as_array().unwrap()));
            // Insert while paging: new items land before, between and after the pages.
            inserted += 1;
            let mut body = product_body(
                &format!("NEW-{inserted}"),
                &format!("The New Item {inserted}"),
                "shoes",
            );
            body["price"]["amount"] = Value::from((inserted * 7919) % 30_000);
            app.create_product(&body).await;
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "sort={sort}: an item was served twice"
        );
        let missing: Vec<_> = original.iter().filter(|id| !unique.contains(id)).collect();
        assert!(
            missing.is_empty(),
            "sort={sort}: original items skipped: {missing:?}"
        );
    }
}

#[tokio::test]
async fn a_cursor_only_continues_the_listing_it_came_from() {
    let app = spawn_app().await;
    app.seed(60, 4).await;
    let page = app.get_json("/api/products?category=shoes&limit=2").await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let same = app
        .get(&format!(
            "/api/products?category=shoes&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(same.status(), 200, "a new page size is fine");
    let other = app
        .get(&format!(
            "/api/products?category=home&limit=2&cursor={cursor}"
        ))
        .await;
    crate::helpers::assert_problem(other, 400, "bad-request", Some("cursor")).await;
    let resorted = app
        .get(&format!(
            "/api/products?category=shoes&sort=name&cursor={cursor}"
        ))
        .await;
    crate::helpers::assert_problem(resorted, 400, "bad-request", Some("cursor")).await;
}

#[tokio::test]
async fn exact_names_rank_first_whatever_their_letters() {
    let app = spawn_app().await;
    app.create_category("kitchen").await;
    for (sku, name) in [
        ("U-1", "Crème Brûlée Torch Set"),
        ("U-2", "Crème Brûlée Torch"),
        ("U-3", "Torch"),
    ] {
        app.create_product(&product_body(sku, name, "kitchen"))
            .await;
    }
    let page = app
        .get_json("/api/products?q=CR%C3%88ME%20BR%C3%9BL%C3%89E%20TORCH")
        .await;
    assert_eq!(page["items"][0]["name"], "Crème Brûlée Torch", "{page}");
    assert_eq!(page["total"], 2);
}
