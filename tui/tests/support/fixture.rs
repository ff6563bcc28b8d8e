//! A shop in a known state, for the state and view tests: the clock is fixed, so ages and
//! snapshots do not move.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone as _, Utc};
use shopctl_tui::app::App;
use shopctl_tui::event::{Event, Source, Update};
use shopctl_tui::model::{
    Alert, Autoscaler, Breaker, Business, Deployment, Kube, LogLine, LowStock, Pod, Probe, Process,
    Red, RouteRed, ServiceMetrics, SourceState, Warning,
};

pub const SERVICES: [&str; 8] = shopctl_tui::SERVICES;

/// The fixed "now" of every fixture.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 6, 10, 0, 0)
        .single()
        .expect("a valid time")
}

pub fn names() -> Vec<String> {
    SERVICES.iter().map(|s| (*s).to_owned()).collect()
}

/// A state that knows nothing yet.
pub fn empty() -> App {
    let mut app = App::new(&names(), false);
    app.now = now();
    app
}

pub fn send(app: &mut App, update: Update) -> bool {
    app.update(Event::from(update))
}

pub fn red(rate: f64, errors: f64, p50: f64, p99: f64) -> Red {
    Red {
        rate,
        client_errors: rate * 0.01,
        errors,
        p50: Some(p50),
        p95: Some(f64::midpoint(p50, p99)),
        p99: Some(p99),
    }
}

/// Every service ready with light traffic, pids and restarts.
pub fn healthy() -> App {
    let mut app = empty();
    send(&mut app, Update::Source(Source::Metrics, SourceState::Ok));
    send(&mut app, Update::MetricsVia("scrape"));
    send(
        &mut app,
        Update::Probes(
            SERVICES
                .iter()
                .map(|s| ((*s).to_owned(), Probe::Ready))
                .collect(),
        ),
    );
    send(
        &mut app,
        Update::Processes(
            SERVICES
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let pid = 4100 + u32::try_from(i).expect("few services");
                    ((*s).to_owned(), Process { pid, restarts: 0 })
                })
                .collect(),
        ),
    );
    for round in 0..30 {
        let metrics: BTreeMap<String, ServiceMetrics> = SERVICES
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let base = f64::from(u32::try_from(i).expect("few")) + 1.0;
                let wave = f64::from(round % 7);
                let mut m = ServiceMetrics {
                    red: red(base * 2.0 + wave, 0.0, 0.004 * base, 0.020 * base),
                    cpu: Some(0.01 * base),
                    rss: Some(20.0 * 1_048_576.0 + base * 1_048_576.0),
                    routes: vec![
                        RouteRed {
                            method: "GET".to_owned(),
                            route: format!("/api/{s}"),
                            red: red(base * 1.5, 0.0, 0.003, 0.015),
                        },
                        RouteRed {
                            method: "POST".to_owned(),
                            route: format!("/api/{s}/{{id}}"),
                            red: red(base * 0.5, 0.0, 0.006, 0.030),
                        },
                    ],
                    ..ServiceMetrics::default()
                };
                if *s == "gateway" {
                    m.breakers = vec![
                        ("order".to_owned(), Breaker::Closed),
                        ("payment".to_owned(), Breaker::Closed),
                    ];
                }
                if *s == "order" {
                    m.pool = Some((3.0, 10.0));
                    m.outbox = Some(2.0);
                    m.dead_letters = Some(0.0);
                }
                ((*s).to_owned(), m)
            })
            .collect();
        send(&mut app, Update::Metrics(metrics));
    }
    send(
        &mut app,
        Update::Business(Business {
            checkouts: [("confirmed".to_owned(), 12.0), ("declined".to_owned(), 1.0)].into(),
            payments: [
                ("authorized".to_owned(), 13.0),
                ("declined".to_owned(), 1.0),
            ]
            .into(),
            sagas: [("reserved".to_owned(), 2.0)].into(),
            dead_letters: [("order".to_owned(), 0.0)].into(),
        }),
    );
    send(
        &mut app,
        Update::LowStock(vec![LowStock {
            sku: "MUG-CLASSIC-BLUE".to_owned(),
            on_hand: 3,
            reserved: 1,
            available: 2,
        }]),
    );
    send(&mut app, Update::Source(Source::Alerts, SourceState::Ok));
    send(&mut app, Update::Alerts(Vec::new()));
    app
}

/// Payment failing every request with a firing alert, inventory down.
pub fn failing() -> App {
    let mut app = healthy();
    let mut metrics: BTreeMap<String, ServiceMetrics> = app
        .rows
        .iter()
        .map(|r| (r.name.clone(), r.metrics.clone()))
        .collect();
    if let Some(payment) = metrics.get_mut("payment") {
        payment.red = red(8.0, 8.0, 0.002, 0.004);
    }
    send(&mut app, Update::Metrics(metrics));
    let mut probes: BTreeMap<String, Probe> = SERVICES
        .iter()
        .map(|s| ((*s).to_owned(), Probe::Ready))
        .collect();
    probes.insert("inventory".to_owned(), Probe::Down);
    send(&mut app, Update::Probes(probes));
    send(&mut app, Update::Alerts(vec![payment_alert()]));
    app
}

pub fn payment_alert() -> Alert {
    Alert {
        name: "HighErrorRatio".to_owned(),
        severity: "critical".to_owned(),
        service: Some("payment".to_owned()),
        since: Some(now() - chrono::Duration::seconds(90)),
        runbook: Some("high-error-ratio".to_owned()),
        summary: "payment answers 100% of requests with 5xx".to_owned(),
        description: "More than 5% of payment's requests fail.".to_owned(),
        labels: [
            ("alertname".to_owned(), "HighErrorRatio".to_owned()),
            ("service".to_owned(), "payment".to_owned()),
            ("severity".to_owned(), "critical".to_owned()),
        ]
        .into(),
    }
}

pub fn log_lines(service: &str, n: usize) -> Vec<LogLine> {
    (0..n)
        .map(|i| {
            let level = match i % 5 {
                3 => "WARN",
                4 => "ERROR",
                _ => "INFO",
            };
            LogLine {
                service: service.to_owned(),
                level: Some(level.to_owned()),
                text: format!("2026-12-06T09:59:{:02}.000Z {level:<5} {service:<12} request served status=200 n={i}", i % 60),
                trace_id: Some(format!("{i:032x}")),
            }
        })
        .collect()
}

pub fn kube() -> Kube {
    Kube {
        deployments: vec![
            Deployment {
                name: "shopctl-order".to_owned(),
                service: "order".to_owned(),
                desired: 2,
                ready: 1,
                updated: 1,
                rollout: "progressing".to_owned(),
            },
            Deployment {
                name: "shopctl-payment".to_owned(),
                service: "payment".to_owned(),
                desired: 2,
                ready: 2,
                updated: 2,
                rollout: "complete".to_owned(),
            },
        ],
        pods: vec![
            Pod {
                name: "shopctl-order-7d9-abc".to_owned(),
                service: "order".to_owned(),
                phase: "CrashLoopBackOff".to_owned(),
                ready: false,
                restarts: 3,
                last_termination: Some("Error (1)".to_owned()),
            },
            Pod {
                name: "shopctl-payment-5f4-xyz".to_owned(),
                service: "payment".to_owned(),
                phase: "Running".to_owned(),
                ready: true,
                restarts: 0,
                last_termination: None,
            },
        ],
        autoscalers: vec![Autoscaler {
            name: "shopctl-order".to_owned(),
            current: 2,
            desired: 3,
            min: 2,
            max: 6,
        }],
        events: vec![Warning {
            at: Some(now() - chrono::Duration::seconds(30)),
            object: "Pod/shopctl-order-7d9-abc".to_owned(),
            reason: "BackOff".to_owned(),
            message: "Back-off restarting failed container".to_owned(),
            count: 4,
        }],
    }
}
