//! Monitoring as code (`templates/monitoring/`), checked by the tools that read it: `promtool`
//! and `amtool` from Debian's `prometheus` and `prometheus-alertmanager`, a real Prometheus for
//! every expression of the dashboard, and `shopctl up --monitor` driven until Alertmanager
//! shows the alerts an injected fault causes.

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use serde_json::Value;
use shopctl::platform::monitor::{
    self, ALERT_RULES, ALERT_TESTS, ALERTMANAGER, GRAFANA_DASHBOARD, PROMETHEUS_KUBERNETES, Profile,
};

use crate::helpers::{RunningShop, free_base, stderr, stdout};

fn tool(program: &str, args: &[&str], dir: &Path) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} not runnable ({e}); .ci/run installs it"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{program} {args:?}:\n{text}");
    text
}

/// The alert names in the alert rules, in order.
fn alert_names() -> Vec<&'static str> {
    ALERT_RULES
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("- alert: "))
        .collect()
}

#[test]
fn the_local_configuration_rules_and_alertmanager_pass_promtool_and_amtool() {
    let dir = tempfile::tempdir().unwrap();
    let rendered = monitor::render_local(dir.path(), free_base(), 1, Profile::Standard).unwrap();
    let checked = tool(
        "promtool",
        &["check", "config", "prometheus.yml"],
        &rendered.dir,
    );
    assert!(checked.contains("SUCCESS: 2 rule files found"), "{checked}");
    tool(
        "promtool",
        &["check", "rules", "rules/recording.yml", "rules/alerts.yml"],
        &rendered.dir,
    );
    let am = tool(
        "amtool",
        &["check-config", "alertmanager.yml"],
        &rendered.dir,
    );
    assert!(am.contains("3 inhibit rules"), "{am}");
    assert_eq!(
        std::fs::read_to_string(&rendered.alertmanager).unwrap(),
        ALERTMANAGER
    );
}

/// Debian's Prometheus is built without Kubernetes service discovery, so `promtool` cannot
/// parse `kubernetes_sd_configs`. Everything else of the Kubernetes configuration (relabelling,
/// regexes, rule files, alerting) is checked by `promtool` with each discovery block swapped
/// for an empty static one; the discovery blocks themselves are checked for the pod role.
#[test]
fn the_kubernetes_configuration_passes_promtool_but_for_its_discovery() {
    let discoveries = [
        "kubernetes_sd_configs:\n        - role: pod",
        "kubernetes_sd_configs:\n      - role: pod",
    ];
    assert_eq!(
        discoveries
            .iter()
            .map(|d| PROMETHEUS_KUBERNETES.matches(d).count())
            .sum::<usize>(),
        2,
        "pod discovery for the alertmanagers and the services"
    );
    for annotation in [
        "prometheus_io_scrape",
        "prometheus_io_port",
        "prometheus_io_path",
    ] {
        assert!(
            PROMETHEUS_KUBERNETES.contains(annotation),
            "{annotation} is not read"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let rendered = monitor::render_local(dir.path(), free_base(), 1, Profile::Standard).unwrap();
    std::fs::write(
        rendered.dir.join("kubernetes.yml"),
        PROMETHEUS_KUBERNETES
            .replace(discoveries[0], "static_configs:\n        - targets: []")
            .replace(discoveries[1], "static_configs:\n      - targets: []"),
    )
    .unwrap();
    tool(
        "promtool",
        &["check", "config", "kubernetes.yml"],
        &rendered.dir,
    );
}

/// `promtool test rules`: every alert fires on the series that should wake someone and stays
/// quiet beside them on series that should not; every alert has both cases.
#[test]
fn every_alert_is_unit_tested_with_promtool() {
    let names = alert_names();
    assert!(names.len() >= 12, "{names:?}");
    for name in &names {
        let firing = format!("alertname: {name}\n        exp_alerts:\n          - exp_labels:");
        let quiet = format!("alertname: {name}\n        exp_alerts: []");
        assert!(
            ALERT_TESTS.contains(&firing),
            "{name} is never shown firing"
        );
        assert!(ALERT_TESTS.contains(&quiet), "{name} is never shown quiet");
    }
    let dir = tempfile::tempdir().unwrap();
    let rendered = monitor::render_local(dir.path(), free_base(), 1, Profile::Standard).unwrap();
    std::fs::create_dir_all(rendered.dir.join("tests")).unwrap();
    std::fs::write(rendered.dir.join("tests/alerts.yml"), ALERT_TESTS).unwrap();
    let out = tool(
        "promtool",
        &["test", "rules", "tests/alerts.yml"],
        &rendered.dir,
    );
    assert!(out.contains("SUCCESS"), "{out}");
}

async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"))
        .json()
        .await
        .unwrap()
}

/// Every PromQL expression of the Grafana dashboard, and every rule, is accepted and evaluated
/// by a real Prometheus; every alert it loaded carries a severity, a summary and a runbook.
#[tokio::test]
async fn a_real_prometheus_evaluates_every_dashboard_expression_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base();
    let rendered = monitor::render_local(dir.path(), base, 1, Profile::Drill).unwrap();
    let tools = monitor::tools(&rendered, base, Profile::Drill)
        .unwrap_or_else(|missing| panic!("{missing:?} not on PATH; .ci/run installs them"));
    let prometheus = &tools[0];
    let mut child = tokio::process::Command::new(&prometheus.program)
        .args(&prometheus.args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let start = Instant::now();
    while !client
        .get(format!("{}/-/ready", prometheus.url))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "prometheus never ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let dashboard: Value = serde_json::from_str(GRAFANA_DASHBOARD).unwrap();
    let mut expressions = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            expressions.push(target["expr"].as_str().unwrap().replace("$service", ".*"));
        }
    }
    assert!(expressions.len() >= 15, "{expressions:?}");
    for expr in &expressions {
        let answer = client
            .get(format!("{}/api/v1/query", prometheus.url))
            .query(&[("query", expr)])
            .send()
            .await
            .unwrap();
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["status"], "success", "{expr}: {body}");
    }

    // Rules are evaluated every 2 s in the drill profile: wait for a round, then every group
    // must have evaluated without error.
    let alerts: Vec<Value> = loop {
        let rules = get_json(&client, &format!("{}/api/v1/rules", prometheus.url)).await;
        let all: Vec<Value> = rules["data"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap().clone())
            .collect();
        if all.iter().all(|r| r["health"] != "unknown") {
            for rule in &all {
                assert_eq!(rule["health"], "ok", "{rule}");
            }
            break all
                .into_iter()
                .filter(|r| r["type"] == "alerting")
                .collect();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "rules never evaluated"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(alerts.len(), alert_names().len());
    for alert in &alerts {
        let severity = alert["labels"]["severity"].as_str().unwrap_or_default();
        assert!(["critical", "warning"].contains(&severity), "{alert}");
        assert!(
            !alert["annotations"]["summary"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
        );
        let runbook = alert["annotations"]["runbook"].as_str().unwrap_or_default();
        assert!(
            !runbook.is_empty()
                && runbook
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit()),
            "{alert}"
        );
        // The drill profile cuts every `for:` to 10 s; an alert without one fires at once.
        let duration = alert["duration"].as_u64();
        assert!(matches!(duration, Some(10 | 0)), "{alert}");
    }
    let _ = child.kill().await;
}

/// Registers a customer, fills a cart with one seeded product and checks out: the checkout
/// fails (the payment service answers 503) or is left pending.
async fn checkout(client: &reqwest::Client, gateway: &str, n: usize) {
    let email = format!("drill{n}@example.com");
    let password = "correct horse battery staple";
    let _ = client
        .post(format!("{gateway}/api/users/register"))
        .json(&serde_json::json!({"email": email, "password": password, "name": "Drill"}))
        .send()
        .await
        .unwrap();
    let tokens = get_json_post(
        client,
        &format!("{gateway}/api/users/login"),
        &serde_json::json!({"email": email, "password": password}),
    )
    .await;
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let products = get_json(client, &format!("{gateway}/api/products?limit=1")).await;
    let sku = products["items"][0]["sku"].as_str().unwrap().to_owned();
    client
        .post(format!("{gateway}/api/cart/items"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"sku": sku, "quantity": 1}))
        .send()
        .await
        .unwrap();
    let answer = client
        .post(format!("{gateway}/api/orders"))
        .bearer_auth(&token)
        .header("Idempotency-Key", format!("drill-{n}"))
        .json(&shopctl_tests::shop::checkout_body("4242424242424242"))
        .send()
        .await
        .unwrap();
    assert_ne!(
        answer.status(),
        201,
        "a checkout went through a broken payment service"
    );
}

async fn get_json_post(client: &reqwest::Client, url: &str, body: &Value) -> Value {
    client
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The fire drill of the issue: `up --monitor --monitor-profile drill`, then `fault inject
/// payment --error-rate 1` and a few checkouts → within 2 minutes Alertmanager shows the
/// payment service's error alert and the failing-checkout alert, each with its runbook id.
#[tokio::test]
async fn an_injected_payment_fault_reaches_alertmanager_with_runbooks() {
    let shop = RunningShop::start(&["--monitor", "--monitor-profile", "drill"]).await;
    let monitoring = &shop.report["monitoring"];
    let alertmanager = monitoring["alertmanager"].as_str().unwrap().to_owned();
    let prometheus = monitoring["prometheus"].as_str().unwrap().to_owned();
    assert_eq!(prometheus, format!("http://127.0.0.1:{}", shop.base + 8));
    // The tools are in `up`'s process list beside the eight services.
    let listed = shopctl::platform::processes::read(&shop.data()).expect("run/processes.json");
    assert_eq!(listed.services.len(), 10, "{listed:?}");
    for tool in ["prometheus", "alertmanager"] {
        let process = listed.services[tool];
        assert!(crate::helpers::alive(process.pid), "{tool}: {process:?}");
        assert_eq!(process.restarts, 0, "{tool}: {process:?}");
    }

    let injected = shop.ops(&["fault", "inject", "payment", "--error-rate", "1"]);
    assert!(injected.status.success(), "{}", stdout(&injected));
    let status = shop.ops(&["status", "--window", "200ms"]);
    assert!(stdout(&status).contains(&prometheus), "{}", stdout(&status));

    let client = reqwest::Client::new();
    let gateway = shop.gateway();
    let started = Instant::now();
    let mut n = 0;
    let wanted = [
        ("HighErrorRatio", "payment", "high-error-ratio"),
        ("CheckoutFailureRatio", "order", "checkout-failures"),
    ];
    loop {
        n += 1;
        checkout(&client, &gateway, n).await;
        let alerts = get_json(&client, &format!("{alertmanager}/api/v2/alerts")).await;
        let shown = |(name, service, runbook): &(&str, &str, &str)| {
            alerts.as_array().unwrap().iter().any(|a| {
                a["labels"]["alertname"] == *name
                    && a["labels"]["service"] == *service
                    && a["annotations"]["runbook"] == *runbook
            })
        };
        if wanted.iter().all(shown) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "not in Alertmanager within 2 minutes: {alerts}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    // The dashboard finds `up --monitor`'s Prometheus and Alertmanager by itself, and its
    // snapshot shows the failing service, its error rate, the alert and its runbook.
    let dash = shop.ops(&["dash", "--once", "--output", "json"]);
    assert_eq!(dash.status.code(), Some(1), "{}", stderr(&dash));
    let snapshot: serde_json::Value = serde_json::from_slice(&dash.stdout).unwrap();
    assert_eq!(snapshot["sources"]["metrics"], "prometheus", "{snapshot}");
    assert_eq!(snapshot["sources"]["alerts"], "ok", "{snapshot}");
    let payment = snapshot["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == "payment")
        .unwrap();
    assert_eq!(payment["health"], "degraded", "{snapshot}");
    assert!(
        payment["error_ratio"].as_f64().unwrap() > 0.05,
        "{snapshot}"
    );
    assert!(
        payment["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "HighErrorRatio"),
        "{snapshot}"
    );
    assert!(
        snapshot["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "HighErrorRatio" && a["runbook"] == "high-error-ratio"),
        "{snapshot}"
    );
    // In the terminal: the failing service on top with its error rate, and the firing alert
    // with the runbook to follow, on one screen.
    let tmux = crate::helpers::Tmux::new(&format!(
        "{} dash --base-port {} --data-dir {}; sleep 60",
        env!("CARGO_BIN_EXE_shopctl"),
        shop.base,
        shop.data().display()
    ));
    let screen = tmux
        .wait("payment, its alert and its runbook", |s| {
            s.contains("metrics: prometheus ✓")
                && s.contains("HighErrorRatio firing on payment")
                && s.contains("runbook high-error-ratio")
        })
        .await;
    let top = crate::helpers::overview_rows(&screen);
    assert!(
        top.iter()
            .take(2)
            .any(|r| r.1 == "payment" && r.0 == "degraded"),
        "{screen}"
    );
    tmux.keys(&["q"]);
    assert!(shop.stop().await.success());
}

/// Without Prometheus on `PATH`, `up --monitor` says in one line how to install it, and the
/// shop runs all the same.
#[tokio::test]
async fn up_monitor_without_prometheus_says_how_to_install_it_and_runs_the_shop() {
    let empty = tempfile::tempdir().unwrap();
    let mut shop =
        RunningShop::start_with_env(&["--monitor"], &[("PATH", empty.path().to_str().unwrap())])
            .await;
    assert_eq!(shop.report["ready"], true, "{}", shop.report);
    assert_eq!(shop.report["monitoring"], serde_json::json!({}));
    let stderr = shop.child.stderr.take().unwrap();
    assert!(shop.stop().await.success());
    let text = std::io::read_to_string(stderr).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("monitoring not started"))
        .unwrap_or_else(|| panic!("no line about monitoring: {text}"));
    assert!(
        line.contains("prometheus and alertmanager not found on PATH"),
        "{line}"
    );
    assert!(
        line.contains("apt-get install prometheus prometheus-alertmanager"),
        "{line}"
    );
}
