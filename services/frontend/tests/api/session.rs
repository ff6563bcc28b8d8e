use crate::helpers::spawn_app;

#[tokio::test]
async fn assets_are_served_from_the_binary_with_their_types() {
    let app = spawn_app().await;
    for (path, content_type) in [
        ("/static/app.css", "text/css"),
        ("/static/app.js", "text/javascript"),
        ("/favicon.svg", "image/svg+xml"),
        ("/images/products/SHO-1.svg", "image/svg+xml"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let got = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(got.starts_with(content_type), "{path}: {got}");
    }
    assert_eq!(
        app.get("/images/products/..%2Fsecret.svg").await.status(),
        404
    );
}

#[tokio::test]
async fn an_unknown_page_is_a_friendly_html_404() {
    let app = spawn_app().await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), 404);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("find that page"));
    assert!(html.contains(r#"href="/""#), "a way back to the shop");
}

#[tokio::test]
async fn a_page_whose_service_is_down_says_so_without_internals() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 503);
    let html = response.text().await.unwrap();
    assert!(html.contains("Part of the shop is taking a break"));
    assert!(!html.contains("127.0.0.1"), "no addresses on the page");
    assert!(
        !html.contains("did not answer"),
        "no error chains on the page"
    );
}

#[tokio::test]
async fn session_cookies_are_http_only_and_same_site_lax() {
    let app = spawn_app().await;
    let response = app.get("/login").await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("sid="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    // Behind TLS at the gateway the cookies are Secure.
    let fresh = reqwest::Client::new()
        .get(format!("{}/login", app.server.url))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let cookie = fresh.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn form_posts_without_this_sessions_csrf_token_are_refused() {
    let app = spawn_app().await;
    let token = app.csrf("/login").await;
    // No token, a made-up one, and one from another browser's session: all refused.
    let other = spawn_app().await;
    let foreign = other.csrf("/login").await;
    for (case, form) in [
        ("none", vec![("sku", "SHO-1"), ("quantity", "1")]),
        ("forged", vec![("sku", "SHO-1"), ("csrf", "AAAA")]),
        (
            "foreign",
            vec![("sku", "SHO-1"), ("csrf", foreign.as_str())],
        ),
    ] {
        let response = app.post("/cart/add", &form).await;
        assert_eq!(response.status(), 403, "{case}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("This form has expired")
        );
    }
    assert!(app.get("/cart").await.headers().get("set-cookie").is_none());
    // With the page's own token the post goes through.
    let response = app
        .post(
            "/cart/add",
            &[("sku", "SHO-1"), ("quantity", "2"), ("csrf", &token)],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/cart?done=added");
}

#[tokio::test]
async fn the_guest_cart_is_a_signed_cookie_that_resists_tampering() {
    let app = spawn_app().await;
    let token = app.csrf("/login").await;
    let response = app
        .post(
            "/cart/add",
            &[("sku", "SHO-1"), ("quantity", "3"), ("csrf", &token)],
        )
        .await;
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("cart="))
        .expect("a cart cookie");
    let value = cookie["cart=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(value.starts_with("SHO-1*3."), "{value}");
    // The header counts what the cookie holds.
    let html = app.get("/login").await.text().await.unwrap();
    assert!(html.contains(r#"<span class="badge" aria-label="3 items">3</span>"#));
    // A cookie edited by hand (99 units) is ignored.
    let forged = value.replace("SHO-1*3", "SHO-1*99");
    let html = reqwest::Client::new()
        .get(format!("{}/login", app.server.url))
        .header("cookie", format!("cart={forged}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(r#"aria-label="0 items""#),
        "forged cart ignored"
    );
}

#[tokio::test]
async fn pages_that_need_an_account_send_visitors_to_sign_in_and_back() {
    let app = spawn_app().await;
    for path in ["/checkout", "/orders", "/account", "/admin", "/admin/dlq"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 303, "{path}");
        let location = response.headers()["location"].to_str().unwrap();
        assert_eq!(
            location,
            format!("/login?next={}", path.replace('/', "%2F")),
            "{path}"
        );
    }
    // The sign-in form only ever sends people back into the shop.
    let html = app
        .get("/login?next=https://evil.example/")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"name="next" value="/""#));
}

#[tokio::test]
async fn the_storefront_has_the_probes_and_metrics_of_every_service() {
    let app = spawn_app().await;
    assert_eq!(app.get("/livez").await.status(), 200);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("http_requests_total"));
}
