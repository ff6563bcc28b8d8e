//! The storefront in a real browser: headless Chromium driven over WebDriver (chromedriver,
//! both from Debian's packages), against the whole shop in this process and through the
//! gateway, as a shopper and as an admin. Screenshots of every page visited are saved under
//! `target/screenshots/` for people to look at.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`apt-get install chromium
//! chromium-driver`; `.ci/run` installs them).

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use shopctl_kit::testing::free_port;
use shopctl_tests::{
    ADMIN_TOKEN,
    shop::{PASSWORD, Shop},
    workspace_root,
};

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn driver() -> Driver {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is not installed: apt-get install chromium chromium-driver");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if reqwest::get(format!("{}/status", driver.url)).await.is_ok() {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start on port {port}");
}

async fn browser(driver: &Driver) -> Client {
    let profile = tempfile::tempdir().expect("a profile directory").keep();
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                "--window-size=1280,1000", format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

fn screenshots() -> PathBuf {
    let dir = workspace_root().join("target").join("screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshot directory");
    dir
}

async fn shot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    std::fs::write(screenshots().join(format!("{name}.png")), png).expect("screenshot written");
}

/// How long a page may take to arrive after a click (form posts navigate asynchronously).
const PATIENCE: Duration = Duration::from_secs(10);

/// The text of `css`, waiting for it to appear (and retrying when the element found belonged to
/// the page a click was just replacing).
async fn text(client: &Client, css: &str) -> String {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let error = match client.find(Locator::Css(css)).await {
            Ok(element) => match element.text().await {
                Ok(text) => return text,
                Err(e) => e,
            },
            Err(e) => e,
        };
        if std::time::Instant::now() >= deadline {
            let at = client.current_url().await.map(|u| u.to_string());
            panic!("{css} on {at:?}: {error}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `css` reads `expected` (the page after a click replaces the one before it).
async fn wait_text(client: &Client, css: &str, expected: &str) {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let now = text(client, css).await;
        if now == expected {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{css}: {now:?}, not {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the browser's path satisfies `done`, and returns it.
async fn wait_path(client: &Client, done: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let now = path(client).await;
        if done(&now) {
            return now;
        }
        assert!(std::time::Instant::now() < deadline, "still at {now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the browser is at `expected`.
async fn at(client: &Client, expected: &str) {
    wait_path(client, |now| now == expected).await;
}

async fn fill(client: &Client, id: &str, value: &str) {
    let input = client
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"));
    input.clear().await.expect("cleared");
    input.send_keys(value).await.expect("typed");
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .expect("clicked");
}

/// Opens `path` of the shop at `base`.
async fn visit(client: &Client, base: &str, path: &str) {
    client
        .goto(&format!("{base}{path}"))
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
}

/// Signs in through the sign-in page (`/login?next=…` when `next` is given).
async fn sign_in(client: &Client, base: &str, email: &str, next: Option<&str>) {
    let path = next.map_or_else(|| "/login".to_owned(), |next| format!("/login?next={next}"));
    visit(client, base, &path).await;
    fill(client, "email", email).await;
    fill(client, "password", PASSWORD).await;
    click(client, "form.stack button[type=submit]").await;
    wait_path(client, |now| now != "/login").await;
}

async fn path(client: &Client) -> String {
    client.current_url().await.expect("a URL").path().to_owned()
}

async fn checkout_with(client: &Client, card: &str) {
    fill(client, "name", "Ana Example").await;
    fill(client, "line1", "1 Main Street").await;
    fill(client, "city", "Springfield").await;
    fill(client, "postal_code", "12345").await;
    fill(client, "country", "US").await;
    fill(client, "card_number", card).await;
    fill(client, "expiry", "12/34").await;
    fill(client, "cvc", "123").await;
    shot(client, "checkout").await;
    click(client, "#place-order").await;
}

async fn orders_of(shop: &Shop) -> Vec<Value> {
    let listed: Value = reqwest::Client::new()
        .get(format!(
            "{}/api/orders?customer=all&limit=100",
            shop.order.url
        ))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("orders")
        .json()
        .await
        .expect("json");
    listed["items"].as_array().cloned().unwrap_or_default()
}

/// The whole journey: browse → search → product → add to cart (as a guest) → register at
/// checkout (the guest cart follows) → pay with 4242… → confirmation → the order in the
/// history; then a declined card shows the error and places no order, and a form posted
/// without its CSRF token is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_shopper_buys_a_product_end_to_end_in_a_real_browser() {
    let shop = Shop::start().await;
    let sku = shop.product_with_stock("KET-100", 4_999, 5).await;
    shop.product_with_stock("KET-200", 1_999, 5).await;
    let driver = driver().await;
    let client = browser(&driver).await;
    let base = &shop.gateway.url;

    // Home: categories and the newest products.
    client.goto(base).await.expect("home");
    shot(&client, "home").await;
    assert!(text(&client, ".categories").await.contains("Kitchen"));
    assert!(text(&client, ".grid").await.contains("Kettle KET-100"));

    // Category listing with facets.
    click(&client, ".categories a").await;
    at(&client, "/c/kitchen").await;
    assert!(text(&client, ".facets").await.contains("Acme"));
    shot(&client, "category").await;

    // Search, matches marked.
    fill(&client, "q", "kettle").await;
    click(&client, ".search button").await;
    at(&client, "/search").await;
    let marked = text(&client, ".grid mark").await;
    assert_eq!(marked, "Kettle");
    shot(&client, "search").await;

    // Product page with stock, then into the cart as a guest.
    client
        .find(Locator::Css(&format!("a[href='/p/{sku}']")))
        .await
        .expect("the product in the results")
        .click()
        .await
        .expect("clicked");
    at(&client, &format!("/p/{sku}")).await;
    assert_eq!(text(&client, ".price.big").await, "$49.99");
    assert_eq!(text(&client, ".stock").await, "Only 5 left");
    shot(&client, "product").await;
    fill(&client, "quantity", "2").await;
    click(&client, ".buy button").await;
    at(&client, "/cart").await;
    assert_eq!(text(&client, ".subtotal").await, "$99.98");
    assert_eq!(text(&client, ".badge").await, "2");
    shot(&client, "cart").await;

    // Checkout asks a guest to sign in; they register instead and come back to checkout.
    click(&client, "a.button.primary[href='/checkout']").await;
    at(&client, "/login").await;
    shot(&client, "login").await;
    click(&client, "main a[href^='/register']").await;
    at(&client, "/register").await;
    fill(&client, "name", "Ana").await;
    fill(&client, "email", "ana.browser@example.com").await;
    fill(&client, "password", PASSWORD).await;
    shot(&client, "register").await;
    click(&client, "form.stack button[type=submit]").await;
    // Registration returns to checkout.
    at(&client, "/checkout").await;
    assert!(
        text(&client, ".summary")
            .await
            .contains("2 × Kettle KET-100")
    );

    // Pay with the test card that succeeds.
    checkout_with(&client, "4242 4242 4242 4242").await;
    let order_path = wait_path(&client, |now| now.starts_with("/orders/")).await;
    assert!(order_path.starts_with("/orders/"), "{order_path}");
    assert!(text(&client, ".thanks h1").await.contains("confirmed"));
    // $99.98 + 8 % tax ($8.00) + $4.99 shipping.
    assert_eq!(text(&client, ".order-total").await, "$112.97");
    shot(&client, "order").await;
    assert_eq!(shop.stock(&sku).await["on_hand"], 3);

    // The order is in the history.
    visit(&client, base, "/orders").await;
    let history = text(&client, "table.orders").await;
    let short = &order_path["/orders/".len().."/orders/".len() + 8];
    assert!(history.contains(short), "{history}");
    assert!(history.to_lowercase().contains("confirmed"), "{history}");
    shot(&client, "orders").await;

    // A declined card: the error is shown, no order is placed, the cart keeps its items.
    visit(&client, base, "/p/KET-200").await;
    click(&client, ".buy button").await;
    at(&client, "/cart").await;
    visit(&client, base, "/checkout").await;
    checkout_with(&client, "4000 0000 0000 0002").await;
    at(&client, "/checkout").await;
    assert!(text(&client, "#checkout-error").await.contains("declined"));
    shot(&client, "checkout-declined").await;
    let placed: Vec<_> = orders_of(&shop)
        .await
        .into_iter()
        .filter(|o| o["status"] != "cancelled")
        .collect();
    assert_eq!(placed.len(), 1, "only the first order went through");
    assert_eq!(shop.stock("KET-200").await["on_hand"], 5);
    visit(&client, base, "/orders").await;
    assert_eq!(
        client
            .find_all(Locator::Css("table.orders tbody tr"))
            .await
            .expect("rows")
            .len(),
        1
    );
    visit(&client, base, "/cart").await;
    assert!(text(&client, "table.cart").await.contains("Kettle KET-200"));

    // A form posted without its CSRF token is refused and changes nothing.
    visit(&client, base, "/p/KET-200").await;
    client
        .execute(
            "document.querySelector('.buy input[name=csrf]').remove();",
            Vec::new(),
        )
        .await
        .expect("token removed");
    click(&client, ".buy button").await;
    wait_text(&client, "h1", "This form has expired").await;
    shot(&client, "csrf-refused").await;
    visit(&client, base, "/cart").await;
    let quantity = client
        .find(Locator::Css("table.cart input[name=quantity]"))
        .await
        .expect("quantity")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(
        quantity.as_deref(),
        Some("1"),
        "the refused post added nothing"
    );

    client.close().await.expect("browser closed");
}

/// An admin edits a product in the admin pages and the storefront shows the change; a
/// customer gets 403 there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_edits_a_product_and_the_storefront_shows_it() {
    let shop = Shop::start().await;
    let sku = shop.product_with_stock("LAMP-1", 2_500, 4).await;
    let (admin_id, _) = shop.customer("boss@example.com").await;
    let promoted = reqwest::Client::new()
        .put(format!("{}/api/users/{admin_id}/roles", shop.user.url))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"roles": ["admin"]}))
        .send()
        .await
        .expect("promote");
    assert_eq!(promoted.status(), 200);
    shop.customer("plain@example.com").await;
    let driver = driver().await;
    let client = browser(&driver).await;
    let base = &shop.gateway.url;

    // A customer is refused the admin pages.
    sign_in(&client, base, "plain@example.com", None).await;
    visit(&client, base, "/admin/products").await;
    assert_eq!(text(&client, ".error-page .code").await, "403");
    client.goto(base).await.expect("home");
    click(&client, "form.inline button").await; // sign out
    at(&client, "/login").await;

    // The admin edits the product's name and price.
    sign_in(&client, base, "boss@example.com", Some("/admin")).await;
    at(&client, "/admin").await;
    shot(&client, "admin").await;
    visit(&client, base, "/admin/products").await;
    client
        .find(Locator::Css(&format!("a[href='/admin/products/{sku}']")))
        .await
        .expect("the product in the admin list")
        .click()
        .await
        .expect("clicked");
    assert_eq!(text(&client, ".on-hand").await, "4");
    fill(&client, "name", "Reading Lamp Deluxe").await;
    fill(&client, "price", "31.50").await;
    shot(&client, "admin-product").await;
    click(&client, "#product-form button[type=submit]").await;
    assert!(text(&client, ".notice").await.contains("Saved"));

    // Stock adjusted from the same page.
    fill(&client, "delta", "6").await;
    click(&client, "form[action$='/stock'] button").await;
    wait_text(&client, ".on-hand", "10").await;

    // The storefront shows the change.
    visit(&client, base, &format!("/p/{sku}")).await;
    assert_eq!(text(&client, "h1").await, "Reading Lamp Deluxe");
    assert_eq!(text(&client, ".price.big").await, "$31.50");
    assert_eq!(text(&client, ".stock").await, "In stock");
    visit(&client, base, "/admin/orders").await;
    shot(&client, "admin-orders").await;
    visit(&client, base, "/admin/dlq").await;
    assert!(text(&client, "main").await.contains("order"));
    shot(&client, "admin-dlq").await;

    client.close().await.expect("browser closed");
}

/// Without a browser: an access token that no longer verifies is replaced from the refresh
/// token on the next page (new cookies set, the page shown signed in), and a shopper reading
/// another shopper's order gets the 404 page.
#[tokio::test]
async fn stale_tokens_refresh_transparently_and_others_orders_are_not_found() {
    let shop = Shop::start().await;
    let client = reqwest::Client::new();
    let login = |email: &'static str| {
        let client = client.clone();
        let url = format!("{}/api/users/login", shop.gateway.url);
        async move {
            let tokens: Value = client
                .post(url)
                .json(&json!({"email": email, "password": PASSWORD}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            tokens
        }
    };
    shop.customer("first@example.com").await;
    shop.customer("second@example.com").await;
    let first = login("first@example.com").await;

    // A stale access token and a valid refresh token: the account page, signed in.
    let page = client
        .get(format!("{}/account", shop.gateway.url))
        .header(
            "cookie",
            format!(
                "sid=browser-session-0001; at=not.a.valid-token; rt={}",
                first["refresh_token"].as_str().unwrap()
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let cookies: Vec<String> = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("at=ey")),
        "{cookies:?}"
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("rt=") && !c.contains(first["refresh_token"].as_str().unwrap())),
        "the refresh token rotated: {cookies:?}"
    );
    assert!(page.text().await.unwrap().contains("first@example.com"));

    // The first shopper's order, read with the second shopper's session: 404.
    let sku = shop.product_with_stock("MUG-1", 1_200, 5).await;
    let token = first["access_token"].as_str().unwrap();
    client
        .post(format!("{}/api/cart/items", shop.gateway.url))
        .bearer_auth(token)
        .json(&json!({"sku": sku, "quantity": 1}))
        .send()
        .await
        .unwrap();
    let order: Value = client
        .post(format!("{}/api/orders", shop.gateway.url))
        .bearer_auth(token)
        .header("idempotency-key", "storefront-ownership-1")
        .json(&shopctl_tests::shop::checkout_body("4242424242424242"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(order["status"], "confirmed", "{order}");
    let second = login("second@example.com").await;
    let cookie = |tokens: &Value| {
        format!(
            "sid=browser-session-0002; at={}",
            tokens["access_token"].as_str().unwrap()
        )
    };
    let path = format!(
        "{}/orders/{}",
        shop.gateway.url,
        order["id"].as_str().unwrap()
    );
    let theirs = client
        .get(&path)
        .header("cookie", cookie(&second))
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), 404);
    assert!(theirs.text().await.unwrap().contains("find that page"));
    let mine = client
        .get(&path)
        .header("cookie", cookie(&first))
        .send()
        .await
        .unwrap();
    assert_eq!(mine.status(), 200);
}
