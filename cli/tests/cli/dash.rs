//! `shopctl dash` against a running `shopctl up`: in a real terminal (tmux, keys sent with
//! `send-keys`, the screen read with `capture-pane`), and as `--once` for scripts.

use crate::helpers::{
    RunningShop, Tmux, alive, assert_one_line_error, overview_rows as rows, signal, stderr, stdout,
};

fn audit_actions(shop: &RunningShop) -> Vec<serde_json::Value> {
    std::fs::read_to_string(shop.data().join("audit/shopctl.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The on-call path in a real terminal: all eight services listed; a failing payment moves to
/// the top with its error rate; a killed service shows down, then up with a restart; clear
/// and restart ask first and land in the audit trail; `q` gives the terminal back.
#[tokio::test]
async fn the_dashboard_in_a_real_terminal_shows_what_breaks_and_acts_on_it() {
    let shop = RunningShop::start(&[]).await;
    let command = format!(
        "{} dash --refresh 1s --base-port {} --data-dir {}; echo DASH-EXIT=$?; sleep 60",
        env!("CARGO_BIN_EXE_shopctl"),
        shop.base,
        shop.data().display()
    );
    let tmux = Tmux::new(&command);
    let screen = tmux
        .wait("eight services up", |s| {
            rows(s).iter().filter(|r| r.0 == "up").count() == 8
        })
        .await;
    for service in shopctl_tui::SERVICES {
        assert!(
            rows(&screen).iter().any(|r| r.1 == service),
            "{service}:\n{screen}"
        );
    }
    assert!(tmux.alternate_screen());

    // Payment fails every request: it moves to the top with its error rate.
    let injected = shop.ops(&["fault", "inject", "payment", "--error-rate", "1"]);
    assert!(injected.status.success(), "{}", stderr(&injected));
    let client = reqwest::Client::new();
    let payment = format!("http://127.0.0.1:{}", shop.base + 6);
    for _ in 0..20 {
        let answer = client
            .get(format!(
                "{payment}/api/payments/00000000-0000-0000-0000-000000000000"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 503);
    }
    tmux.wait("payment on top with its errors", |s| {
        rows(s)
            .first()
            .is_some_and(|r| r.1 == "payment" && r.0 == "degraded" && r.4 == "100.0%")
    })
    .await;

    // A killed service shows down (on top), then up again with a restart.
    let pid_of = |service: &str| {
        shopctl::platform::processes::read(&shop.data())
            .unwrap()
            .services[service]
            .pid
    };
    let killed = pid_of("inventory");
    signal(killed, "-STOP");
    tmux.wait("inventory down on top", |s| {
        rows(s)
            .first()
            .is_some_and(|r| r.1 == "inventory" && r.0 == "down")
    })
    .await;
    signal(killed, "-KILL");
    let screen = tmux
        .wait("inventory up again with a restart", |s| {
            rows(s).iter().any(|r| {
                r.1 == "inventory" && r.0 == "up" && r.2 != killed.to_string() && r.3 == "1"
            })
        })
        .await;
    assert!(!alive(killed), "{screen}");

    // Clear payment's fault: asks first, then says what is in force, and is audited.
    let screen = tmux.screen();
    assert_eq!(
        rows(&screen).first().map(|r| r.1.clone()).as_deref(),
        Some("payment"),
        "{screen}"
    );
    tmux.keys(&["c"]);
    tmux.wait("the confirmation", |s| {
        s.contains("Clear the faults of payment?")
    })
    .await;
    tmux.keys(&["y"]);
    tmux.wait("the fault cleared", |s| {
        s.contains("✓ payment: latency 0 ms, error rate 0")
    })
    .await;
    // Restart payment the same way.
    let before = pid_of("payment");
    tmux.keys(&["r"]);
    tmux.wait("the confirmation", |s| s.contains("Restart payment?"))
        .await;
    tmux.keys(&["y"]);
    let screen = tmux
        .wait("payment restarted", |s| {
            s.contains(&format!("restarted payment: pid {before} →"))
        })
        .await;
    assert_ne!(pid_of("payment"), before, "{screen}");
    let audit = audit_actions(&shop);
    for action in ["fault_clear", "service_restart"] {
        assert!(
            audit.iter().any(|r| r["action"] == action
                && r["target"] == "payment"
                && r["outcome"] == "success"
                && r["details"]["via"] == "dash"),
            "{action} not in the audit trail: {audit:?}"
        );
    }

    // `q` ends it and gives the terminal back.
    tmux.keys(&["q"]);
    tmux.wait("the exit code", |s| s.contains("DASH-EXIT=0"))
        .await;
    assert!(!tmux.alternate_screen(), "the alternate screen is still on");
    assert!(shop.stop().await.success());
}

/// `--once` is the overview for scripts: exit 0 when healthy, 1 with the problem named when
/// a service stops answering.
#[tokio::test]
async fn once_prints_the_overview_and_its_verdict_as_the_exit_code() {
    let shop = RunningShop::start(&[]).await;
    let healthy = shop.ops(&["dash", "--once", "--output", "json", "--window", "500ms"]);
    assert_eq!(
        healthy.status.code(),
        Some(0),
        "{}{}",
        stdout(&healthy),
        stderr(&healthy)
    );
    let snapshot: serde_json::Value = serde_json::from_slice(&healthy.stdout).unwrap();
    assert_eq!(snapshot["version"], 1);
    assert_eq!(snapshot["healthy"], true);
    assert_eq!(snapshot["sources"]["metrics"], "scrape", "{snapshot}");
    assert_eq!(snapshot["sources"]["alerts"], "off", "{snapshot}");
    let services = snapshot["services"].as_array().unwrap();
    assert_eq!(services.len(), 8);
    assert!(
        services
            .iter()
            .all(|s| s["health"] == "up" && s["pid"].as_u64().is_some()),
        "{snapshot}"
    );

    let order = shopctl::platform::processes::read(&shop.data())
        .unwrap()
        .services["order"]
        .pid;
    signal(order, "-STOP");
    let broken = shop.ops(&["dash", "--once", "--window", "500ms"]);
    signal(order, "-CONT");
    assert_eq!(broken.status.code(), Some(1), "{}", stdout(&broken));
    let text = stdout(&broken);
    assert!(text.contains("unhealthy: order is down"), "{text}");
    assert!(
        text.lines().nth(1).is_some_and(|l| l.contains("order")),
        "down first:\n{text}"
    );
    assert!(shop.stop().await.success());
}

/// Without a terminal the dashboard says to use `--once`; a refresh out of range is refused.
#[test]
fn without_a_terminal_it_points_to_once_and_bad_flags_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = crate::helpers::run_in(dir.path(), &["dash", "--base-port", "29990"]);
    assert_one_line_error(&output, &["not a terminal", "shopctl dash --once"]);
    let output = crate::helpers::run_in(dir.path(), &["dash", "--refresh", "100ms"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("outside 500ms to 1m"),
        "{}",
        stderr(&output)
    );
}
