//! One source of names: every metric the recording rules, the alert rules and the Grafana
//! dashboard of `templates/monitoring/` read is one the running services export (as their
//! `/metrics` describes it), so a metric renamed in code and not in the rules fails here. And
//! the names ARCHITECTURE.md lists are the names the services export.

use std::collections::BTreeSet;

use shopctl_tests::{shop::Shop, workspace_root};

/// Metrics the rules read that the test shop cannot export, and why.
const ONLY_WHEN: &[(&str, &str)] = &[
    (
        "tls_certificate_not_after_seconds",
        "exported only by a service serving HTTPS (kit's transport tests)",
    ),
    (
        "process_cpu_seconds_total",
        "exported once per process, and this test process runs many shops (kit's metrics::process tests)",
    ),
    (
        "process_resident_memory_bytes",
        "exported once per process, and this test process runs many shops (kit's metrics::process tests)",
    ),
];

/// The metric families a service's `/metrics` describes (`# TYPE name kind`), with the sample
/// names each stands for (`_total` of counters; `_bucket`, `_sum`, `_count` of histograms).
fn families(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let mut parts = rest.split_whitespace();
        let (Some(name), Some(kind)) = (parts.next(), parts.next()) else {
            continue;
        };
        names.insert(name.to_owned());
        match kind {
            "counter" => {
                names.insert(format!("{name}_total"));
            }
            "histogram" => {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.insert(format!("{name}{suffix}"));
                }
            }
            _ => {}
        }
    }
    names
}

/// The metric names a PromQL expression reads: identifiers with an underscore that are not
/// functions, not recording rules (`level:metric:op`) and not label names.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    let mut in_braces = 0_i32;
    let mut in_string = false;
    while i < bytes.len() {
        let c = bytes[i];
        if in_string {
            in_string = c != b'"';
            i += 1;
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'{' => in_braces += 1,
            b'}' => in_braces -= 1,
            _ => {}
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b':')
            {
                i += 1;
            }
            let word = &expr[start..i];
            let rest = expr[i..].trim_start();
            let grouping = expr[..start].trim_end().ends_with('(')
                && expr[..start]
                    .trim_end()
                    .trim_end_matches('(')
                    .trim_end()
                    .ends_with("by");
            if in_braces == 0
                && word.contains('_')
                && !word.contains(':')
                && !rest.starts_with('(')
                && !grouping
            {
                names.insert(word.to_owned());
            }
            continue;
        }
        i += 1;
    }
    names
}

fn exprs_in_rules(text: &str) -> Vec<String> {
    // `expr:` lines, with the folded (`>-`) continuation lines that follow them.
    let mut exprs = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(expr) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        let mut expr = expr.trim().to_owned();
        if expr == ">-" {
            expr.clear();
            while let Some(next) = lines.peek() {
                if next.trim_start().starts_with("- ") || next.trim_start().contains(": ") {
                    break;
                }
                expr.push(' ');
                expr.push_str(next.trim());
                lines.next();
            }
        }
        exprs.push(expr);
    }
    exprs
}

#[test]
fn metric_names_are_found_in_expressions() {
    let names = metric_names(
        r#"sum by (service, le) (rate(http_request_duration_seconds_bucket{status=~"5..", route="/a_b"}[5m])) / service:x:rate1m"#,
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["http_request_duration_seconds_bucket"]
    );
}

#[tokio::test]
async fn every_metric_the_rules_and_dashboard_read_is_exported() {
    let shop = Shop::start().await;
    let mut exported = BTreeSet::new();
    for server in [
        &shop.gateway,
        &shop.frontend,
        &shop.user,
        &shop.product,
        &shop.order,
        &shop.inventory,
        &shop.payment,
        &shop.notification,
    ] {
        // A request first, so the request metrics have a series to describe.
        reqwest::get(format!("{}/livez", server.url)).await.unwrap();
        let text = reqwest::get(format!("{}/metrics", server.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        exported.extend(families(&text));
    }
    // Prometheus's own series.
    exported.extend(["up".to_owned(), "ALERTS".to_owned()]);

    let root = workspace_root().join("templates/monitoring");
    let mut exprs = Vec::new();
    for file in ["rules/recording.yml", "rules/alerts.yml"] {
        exprs.extend(exprs_in_rules(
            &std::fs::read_to_string(root.join(file)).unwrap(),
        ));
    }
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("grafana/shopctl.json")).unwrap())
            .unwrap();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            exprs.push(target["expr"].as_str().unwrap().to_owned());
        }
    }
    assert!(exprs.len() > 40, "{}", exprs.len());
    let mut read = BTreeSet::new();
    for expr in &exprs {
        read.extend(metric_names(expr));
    }
    let missing: Vec<&String> = read
        .iter()
        .filter(|name| !exported.contains(*name))
        .filter(|name| !ONLY_WHEN.iter().any(|(only, _)| only == name))
        .collect();
    assert!(
        missing.is_empty(),
        "read by the monitoring templates but exported by no service: {missing:?}"
    );
    for name in [
        "db_pool_connections",
        "db_pool_acquire_seconds_bucket",
        "db_query_errors_total",
        "gateway_rate_limited_total",
        "gateway_upstream_duration_seconds_bucket",
        "orders_saga_in_flight",
        "orders_saga_step_duration_seconds_bucket",
        "payments_total",
        "payments_processor_duration_seconds_bucket",
    ] {
        assert!(exported.contains(name), "{name} is not exported");
    }

    // ARCHITECTURE.md's list of metric names is the list the services export.
    let architecture = std::fs::read_to_string(workspace_root().join("ARCHITECTURE.md")).unwrap();
    for name in &read {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(name);
        assert!(
            architecture.contains(&format!("`{family}`")),
            "ARCHITECTURE.md does not list {family}"
        );
    }
}
