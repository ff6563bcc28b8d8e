//! `shopctl logs` over log files as the services write them: filters, text lines kept, the
//! request tree of `--trace`, `--follow` across a rotation, honest exit codes; and, on a shop
//! `up` runs, one checkout followed through every service by its trace id.

use std::{
    io::{BufRead as _, BufReader, Write as _},
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::helpers::{RunningShop, assert_one_line_error, shopctl, stderr, stdout};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn line(service: &str, at_ms: i64, level: &str, message: &str, extra: &Value) -> String {
    let at =
        chrono::Utc::now() - chrono::Duration::seconds(60) + chrono::Duration::milliseconds(at_ms);
    let mut value = json!({"timestamp": at.to_rfc3339(), "level": level, "service": service,
        "message": message, "target": "test"});
    for (k, v) in extra.as_object().unwrap() {
        value[k] = v.clone();
    }
    format!("{value}\n")
}

fn hop(
    service: &str,
    end_ms: i64,
    span: &str,
    parent: Option<&str>,
    route: &str,
    took: f64,
) -> String {
    let mut extra = json!({"trace_id": TRACE, "span_id": span, "method": "POST", "route": route,
        "status": 201, "latency_ms": took, "request_id": "r-1"});
    if let Some(parent) = parent {
        extra["parent_id"] = parent.into();
    }
    line(service, end_ms, "INFO", "request served", &extra)
}

/// A data directory whose logs hold one checkout's trace, other traffic, a warning, a line
/// that is not JSON and an old line.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let write = |service: &str, lines: &[String]| {
        std::fs::write(logs.join(format!("{service}.log")), lines.concat()).unwrap();
    };
    let old = {
        let at = chrono::Utc::now() - chrono::Duration::hours(3);
        format!(
            "{}\n",
            json!({"timestamp": at.to_rfc3339(), "level": "INFO", "service": "order",
                "message": "an old line", "target": "test"})
        )
    };
    write(
        "gateway",
        &[hop(
            "gateway",
            900,
            "a000000000000001",
            None,
            "/api/orders",
            800.0,
        )],
    );
    write(
        "order",
        &[
            old,
            line(
                "order",
                50,
                "INFO",
                "request served",
                &json!({"trace_id": "ffffffffffffffffffffffffffffffff", "span_id": "b000000000000009", "status": 200, "latency_ms": 1.0, "route": "/api/cart", "method": "GET"}),
            ),
            line(
                "order",
                400,
                "WARN",
                "payment slow, retrying",
                &json!({"trace_id": TRACE, "span_id": "a000000000000002"}),
            ),
            "thread 'tokio-runtime-worker' panicked at a test line\n".to_owned(),
            hop(
                "order",
                880,
                "a000000000000002",
                Some("a000000000000001"),
                "/api/orders",
                770.0,
            ),
        ],
    );
    write(
        "product",
        &[hop(
            "product",
            200,
            "a000000000000003",
            Some("a000000000000002"),
            "/api/products/{id}",
            5.0,
        )],
    );
    write(
        "payment",
        &[hop(
            "payment",
            800,
            "a000000000000004",
            Some("a000000000000002"),
            "/internal/payments",
            300.0,
        )],
    );
    dir
}

fn logs(dir: &Path, args: &[&str]) -> std::process::Output {
    shopctl()
        .arg("logs")
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn filters_by_service_level_time_and_text_and_keep_text_lines() {
    let dir = fixture();
    let all = logs(dir.path(), &[]);
    assert_eq!(all.status.code(), Some(0), "{}", stderr(&all));
    let text = stdout(&all);
    assert_eq!(text.lines().count(), 8, "{text}");
    assert!(
        text.lines().next().unwrap().contains("an old line"),
        "ordered by time: {text}"
    );
    assert!(
        text.contains("order        thread 'tokio-runtime-worker' panicked"),
        "{text}"
    );

    let warn = stdout(&logs(
        dir.path(),
        &["--level", "warn", "--service", "order"],
    ));
    assert!(warn.contains("payment slow, retrying"), "{warn}");
    assert!(!warn.contains("request served"), "{warn}");
    assert!(
        warn.contains("panicked"),
        "a text line has no level to judge: {warn}"
    );

    let recent = stdout(&logs(dir.path(), &["--since", "10m", "--service", "order"]));
    assert!(!recent.contains("an old line"), "{recent}");
    assert!(recent.contains("/api/cart"), "{recent}");

    let grep = logs(
        dir.path(),
        &["--grep", "/internal/payments", "--output", "json"],
    );
    let lines: Vec<Value> = stdout(&grep)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{}", stdout(&grep));
    assert_eq!(lines[0]["service"], "payment");
    assert_eq!(lines[0]["fields"]["span_id"], "a000000000000004");

    let none = logs(dir.path(), &["--grep", "no such text anywhere"]);
    assert_eq!(none.status.code(), Some(1), "nothing found is exit 1");
}

#[test]
fn a_trace_shows_every_hop_in_order_with_durations() {
    let dir = fixture();
    let output = logs(dir.path(), &["--trace", TRACE]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("4 hops across 4 services (gateway, order, product, payment)"),
        "{text}"
    );
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle} in {text}"))
    };
    assert!(at("gateway POST /api/orders") < at("  order POST /api/orders"));
    assert!(at("  order POST /api/orders") < at("    product POST /api/products/{id}"));
    assert!(at("    product") < at("    payment POST /internal/payments"));
    assert!(at("  order POST") < at("WARN payment slow, retrying"));
    assert!(
        text.contains("800.0"),
        "the gateway hop took 800 ms: {text}"
    );

    let json: Value =
        serde_json::from_slice(&logs(dir.path(), &["--trace", TRACE, "--output", "json"]).stdout)
            .unwrap();
    let hops = json["hops"].as_array().unwrap();
    assert_eq!(hops.len(), 4);
    assert_eq!(hops[1]["depth"], 1);
    assert_eq!(hops[3]["duration_ms"], 300.0);

    let unknown = logs(dir.path(), &["--trace", "0123456789abcdef0123456789abcdef"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stdout(&unknown).contains("no served request of this trace"));
}

#[test]
fn bad_input_is_one_clear_error() {
    let dir = fixture();
    let missing = logs(&dir.path().join("nowhere"), &[]);
    assert_one_line_error(&missing, &["no logs in", "nowhere", "--data-dir"]);
    for (args, needle) in [
        (&["--since", "ten minutes"][..], "is not a duration"),
        (&["--service", "shipping"][..], "invalid value 'shipping'"),
        (&["--trace", "xyz"][..], "is not a trace id"),
        (&["--level", "loud"][..], "invalid value 'loud'"),
    ] {
        let output = logs(dir.path(), args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&output).contains(needle),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

/// `--follow` prints lines as they are appended, and keeps following when the file rotates.
#[test]
fn follow_prints_new_lines_across_a_rotation() {
    let dir = fixture();
    let mut child = shopctl()
        .args(["logs", "--follow", "--service", "payment", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let path = dir.path().join("logs/payment.log");
    let append = |message: &str| {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(line("payment", 0, "INFO", message, &json!({})).as_bytes())
            .unwrap();
    };
    std::thread::sleep(Duration::from_millis(600));
    append("first new line");
    std::fs::rename(&path, dir.path().join("logs/payment.log.1")).unwrap();
    std::fs::write(&path, "").unwrap();
    append("after the rotation");
    let mut seen = String::new();
    let start = Instant::now();
    while !seen.contains("after the rotation") && start.elapsed() < Duration::from_secs(10) {
        let mut next = String::new();
        if out.read_line(&mut next).unwrap() == 0 {
            break;
        }
        seen.push_str(&next);
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.contains("first new line"), "{seen}");
    assert!(seen.contains("after the rotation"), "{seen}");
    assert!(
        !seen.contains("/internal/payments"),
        "old lines are not repeated: {seen}"
    );
}

/// A shopper's browser, as far as the storefront can tell: cookies kept and sent back, forms
/// posted with the page's CSRF token. (The storefront's own tests drive a real Chromium; here
/// the pages are walked over HTTP so the test can read the shop's logs afterwards.)
struct Shopper {
    http: reqwest::Client,
    base: String,
    cookies: std::collections::BTreeMap<String, String>,
}

impl Shopper {
    fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            cookies: std::collections::BTreeMap::new(),
        }
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn get(&mut self, path: &str) -> String {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(&response);
        response.text().await.unwrap()
    }

    /// Posts `form` (the page's CSRF token added) and returns where it redirects.
    async fn post(&mut self, path: &str, page: &str, form: &[(&str, &str)]) -> String {
        let csrf = input_value(page, "csrf");
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("csrf", &csrf));
        let body = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        self.keep(&response);
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        match location {
            Some(location) => location,
            None => panic!(
                "{path} answered {status}: {}",
                response.text().await.unwrap()
            ),
        }
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `value` of the first input named `name` in `page`.
fn input_value(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no input {name}"));
    let tag_start = page[..at].rfind('<').unwrap();
    let tag = &page[tag_start..at + page[at..].find('>').unwrap()];
    let value = tag
        .split("value=\"")
        .nth(1)
        .unwrap_or_else(|| panic!("{tag}"));
    value[..value.find('"').unwrap()]
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}

/// The acceptance run: a checkout on the storefront of a shop `up` runs, then `shopctl
/// logs --trace` shows one trace through gateway, frontend, order, product, inventory and
/// payment, and the notification that the order's event caused, each hop with its duration.
#[tokio::test]
async fn one_storefront_checkout_is_one_trace_across_every_service() {
    // Every request's line is at level info (the tests' default is warn).
    let shop = RunningShop::start_with_env(&[], &[("RUST_LOG", "info")]).await;
    let mut shopper = Shopper::new(&shop.gateway());
    let register = shopper.get("/register").await;
    let email = "trace@example.com";
    shopper
        .post(
            "/register",
            &register,
            &[
                ("name", "Trace Shopper"),
                ("email", email),
                ("password", "correct horse battery staple"),
                ("next", "/"),
            ],
        )
        .await;
    let products: Value = reqwest::get(format!("{}/api/products?limit=1", shop.gateway()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sku = products["items"][0]["sku"].as_str().unwrap().to_owned();
    let page = shopper.get(&format!("/p/{sku}")).await;
    shopper
        .post("/cart/add", &page, &[("sku", &sku), ("quantity", "1")])
        .await;
    let form = shopper.get("/checkout").await;
    let key = input_value(&form, "key");
    let landed = shopper
        .post(
            "/checkout",
            &form,
            &[
                ("key", &key),
                ("name", "Ana Example"),
                ("line1", "1 Main Street"),
                ("city", "Springfield"),
                ("postal_code", "12345"),
                ("country", "US"),
                ("card_number", "4242 4242 4242 4242"),
                ("expiry", "12/34"),
                ("cvc", "123"),
            ],
        )
        .await;
    assert!(landed.starts_with("/orders/"), "{landed}");

    // The operator's way in: the gateway's line for the checkout names its trace.
    let data = shop.data();
    let found = logs(
        &data,
        &[
            "--service",
            "gateway",
            "--grep",
            "\"path\":\"/checkout\"",
            "--output",
            "json",
        ],
    );
    let trace_id = stdout(&found)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|l| l["fields"]["method"] == "POST" && l["message"] == "request served")
        .and_then(|l| l["fields"]["trace_id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no POST /checkout in the gateway's log: {}", stdout(&found)));

    // The notification arrives through the outbox a moment later.
    let start = Instant::now();
    let trace = loop {
        let output = logs(&data, &["--trace", &trace_id, "--output", "json"]);
        let trace: Value = serde_json::from_slice(&output.stdout).unwrap();
        let services: Vec<&str> = trace["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        if services.contains(&"notification") || start.elapsed() > Duration::from_secs(20) {
            break trace;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let services: Vec<&str> = trace["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for service in [
        "gateway",
        "frontend",
        "order",
        "product",
        "inventory",
        "payment",
        "notification",
    ] {
        assert!(
            services.contains(&service),
            "{service} missing from {trace:#}"
        );
    }
    let hops = trace["hops"].as_array().unwrap();
    assert_eq!(hops[0]["service"], "gateway", "{trace:#}");
    assert_eq!(hops[0]["depth"], 0);
    assert_eq!(hops[1]["service"], "frontend", "{trace:#}");
    let checkout = hops
        .iter()
        .find(|h| h["service"] == "order" && h["route"] == "/api/orders")
        .unwrap_or_else(|| panic!("no order checkout hop: {trace:#}"));
    assert_eq!(checkout["depth"], 2, "{trace:#}");
    for hop in hops {
        assert!(hop["duration_ms"].as_f64().unwrap() > 0.0, "{hop}");
    }
    let text = stdout(&logs(&data, &["--trace", &trace_id]));
    assert!(
        text.contains("    payment POST /internal/payments"),
        "{text}"
    );
    drop(shop);
}

/// The benchmark behind BENCHMARKS.md's `logs --trace` numbers finds its trace (seven hops, the
/// same seven lines grep finds) and prints its table; run small here.
#[test]
fn the_logs_benchmark_script_finds_its_trace_and_reports() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let output = std::process::Command::new("bash")
        .arg(root.join("tests/bench/logs.sh"))
        .args(["16", "1"])
        .env("SHOPCTL_BIN", env!("CARGO_BIN_EXE_shopctl"))
        .output()
        .unwrap();
    let text = stdout(&output);
    assert!(output.status.success(), "{text}{}", stderr(&output));
    assert!(text.contains("| `grep -F ID` |"), "{text}");
    assert!(
        text.contains("| `shopctl logs --trace ID` (7 hops found and drawn) |"),
        "{text}"
    );
}
