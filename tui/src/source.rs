//! The tasks that read the sources and send what they find into the main loop's channel. Each
//! round (every `refresh`) probes every service, reads the metrics (from Prometheus, else by
//! scraping every `/metrics`), the local processes and, less often, the low-stock list;
//! Alertmanager has a task of its own, and Kubernetes a set of watchers ([`kube`]). A source
//! that stops answering is reported, retried every round, and picked up again when it answers.

pub mod alertmanager;
pub mod kube;
pub mod prometheus;

use std::{
    collections::{BTreeMap, VecDeque},
    time::{Duration, Instant},
};

use futures_util::future::join_all;

use crate::Options;
use crate::event::{Event, Sender, Source, Update};
use crate::expo::{self, Counters};
use crate::model::{Business, Probe, ServiceMetrics, SourceState};
use crate::platform::Platform;

/// How long a probe or a scrape may take before the service counts as not answering.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The window rates are computed over when scraping (as `rate(...[1m])`).
pub const WINDOW: Duration = Duration::from_secs(60);

/// How many rounds pass between two reads of the low-stock list.
const LOW_STOCK_EVERY: u64 = 5;

/// An HTTP client for the sources: short timeouts, no proxies.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT * 3)
        .connect_timeout(PROBE_TIMEOUT)
        .no_proxy()
        .build()
        .unwrap_or_default()
}

/// Starts every source; they end when the channel's receiver is gone.
pub fn spawn(options: &Options, tx: &Sender) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = vec![tokio::spawn(rounds(options.clone(), tx.clone()))];
    if let Some(url) = options.alertmanager.clone() {
        tasks.push(tokio::spawn(alertmanager::watch(
            client(),
            url,
            options.refresh,
            tx.clone(),
        )));
    }
    if let Some(kube) = options.kube.clone() {
        tasks.push(tokio::spawn(kube::watch(
            kube.client,
            kube.namespace,
            tx.clone(),
        )));
    }
    tasks
}

fn send(tx: &Sender, update: Update) -> bool {
    tx.send(Event::from(update)).is_ok()
}

async fn rounds(options: Options, tx: Sender) {
    let client = client();
    let mut scraper = Scraper::default();
    let mut ticker = tokio::time::interval(options.refresh);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for round in 0u64.. {
        ticker.tick().await;
        let alive = round_once(&options, &client, &mut scraper, round, &tx).await;
        if !alive {
            return;
        }
    }
}

/// One round of reading; false when the receiver is gone.
pub async fn round_once(
    options: &Options,
    client: &reqwest::Client,
    scraper: &mut Scraper,
    round: u64,
    tx: &Sender,
) -> bool {
    let local: Vec<&(String, String)> = options
        .services
        .iter()
        .filter(|(_, url)| !url.is_empty())
        .collect();
    if !local.is_empty() {
        let probes = join_all(
            local
                .iter()
                .map(|(name, url)| async move { (name.clone(), probe(client, url).await) }),
        )
        .await;
        if !send(tx, Update::Probes(probes.into_iter().collect())) {
            return false;
        }
    }
    let mut scrape = options.prometheus.is_none();
    if let Some(url) = &options.prometheus {
        match prometheus::read(client, url, &names(options)).await {
            Ok((metrics, business)) => {
                send(tx, Update::MetricsVia("prometheus"));
                send(tx, Update::Metrics(metrics));
                send(tx, Update::Business(business));
                send(tx, Update::Source(Source::Metrics, SourceState::Ok));
            }
            Err(e) => {
                scrape = !local.is_empty();
                let fallback = if scrape {
                    "; scraping each service's /metrics instead"
                } else {
                    ""
                };
                send(
                    tx,
                    Update::Source(
                        Source::Metrics,
                        SourceState::Failing(format!("Prometheus at {url}: {e}{fallback}")),
                    ),
                );
            }
        }
    }
    if scrape && !local.is_empty() {
        let (metrics, business, answered) = scraper.round(client, &local).await;
        send(tx, Update::MetricsVia("scrape"));
        send(tx, Update::Metrics(metrics));
        send(tx, Update::Business(business));
        if options.prometheus.is_none() {
            let state = if answered {
                SourceState::Ok
            } else {
                SourceState::Failing("no service answers /metrics".to_owned())
            };
            send(tx, Update::Source(Source::Metrics, state));
        }
    }
    platform_round(options.platform.as_ref(), round, tx).await
}

async fn platform_round(platform: &dyn Platform, round: u64, tx: &Sender) -> bool {
    match platform.processes().await {
        Some(processes) => {
            send(tx, Update::Processes(processes));
            send(tx, Update::Source(Source::Processes, SourceState::Ok));
        }
        None => {
            send(tx, Update::Source(Source::Processes, SourceState::Off));
        }
    }
    if round.is_multiple_of(LOW_STOCK_EVERY) {
        let update = match platform.low_stock().await {
            Ok(skus) => {
                send(tx, Update::Source(Source::Inventory, SourceState::Ok));
                Update::LowStock(skus)
            }
            Err(e) => Update::Source(Source::Inventory, SourceState::Failing(e)),
        };
        return send(tx, update);
    }
    !tx.is_closed()
}

fn names(options: &Options) -> Vec<String> {
    options.services.iter().map(|(n, _)| n.clone()).collect()
}

/// `GET /readyz`: 200 is ready, another answer unready, none down.
pub async fn probe(client: &reqwest::Client, url: &str) -> Probe {
    match client
        .get(format!("{url}/readyz"))
        .timeout(PROBE_TIMEOUT)
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => Probe::Ready,
        Ok(_) => Probe::Unready,
        Err(_) => Probe::Down,
    }
}

/// The scrapes of the last minute, per service, for computing rates without Prometheus.
#[derive(Debug, Default)]
pub struct Scraper {
    scrapes: BTreeMap<String, VecDeque<(Instant, Counters)>>,
}

impl Scraper {
    /// Scrapes every service once; each one's metrics over the window, the business figures,
    /// and whether any service answered.
    pub async fn round(
        &mut self,
        client: &reqwest::Client,
        services: &[&(String, String)],
    ) -> (BTreeMap<String, ServiceMetrics>, Business, bool) {
        let scraped = join_all(services.iter().map(|(name, url)| async move {
            let text = async {
                client
                    .get(format!("{url}/metrics"))
                    .timeout(PROBE_TIMEOUT)
                    .send()
                    .await?
                    .error_for_status()?
                    .text()
                    .await
            }
            .await;
            (name.clone(), text.ok())
        }))
        .await;
        let now = Instant::now();
        let mut answered = false;
        let mut metrics = BTreeMap::new();
        let mut business = Business::default();
        for (name, text) in scraped {
            let history = self.scrapes.entry(name.clone()).or_default();
            let Some(text) = text else {
                // A service that does not answer has no traffic to show, and its old scrapes
                // would make a restarted one look busy.
                history.clear();
                continue;
            };
            answered = true;
            history.push_back((now, Counters::from_samples(expo::parse(&text))));
            while history.len() > 2 && history.front().is_some_and(|(at, _)| now - *at > WINDOW) {
                history.pop_front();
            }
            let (Some((then, older)), Some((_, newer))) = (history.front(), history.back()) else {
                continue;
            };
            let seconds = (now - *then).as_secs_f64();
            let m = if seconds > 0.0 {
                expo::between(older, newer, seconds)
            } else {
                expo::between(newer, newer, 1.0)
            };
            add_business(&mut business, &name, older, newer, seconds.max(1.0), &m);
            metrics.insert(name, m);
        }
        (metrics, business, answered)
    }
}

fn add_business(
    business: &mut Business,
    service: &str,
    older: &Counters,
    newer: &Counters,
    seconds: f64,
    metrics: &ServiceMetrics,
) {
    match service {
        "order" => {
            business.checkouts =
                expo::per_minute(older, newer, "orders_checkouts_total", "result", seconds);
            business.sagas = expo::by_label(newer, "orders_saga_in_flight", "state");
        }
        "payment" => {
            business.payments = expo::per_minute(older, newer, "payments_total", "result", seconds);
        }
        _ => {}
    }
    if let Some(dead) = metrics.dead_letters {
        business.dead_letters.insert(service.to_owned(), dead);
    }
}
