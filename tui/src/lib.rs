//! `shopctl dash`: the on-call engineer's live terminal over the shop, Prometheus,
//! Alertmanager and Kubernetes.
//!
//! The shape (as bottom and gitui have it): every source is a task that sends [`event::Update`]s
//! into one channel, together with keys and ticks; one [`app::App`] owned by the main loop
//! takes each event ([`app::App::update`]) and says whether anything changed; [`ui::render`] is
//! a pure function of the state; the loop draws only when something changed. [`once`] is the
//! same data without a terminal, for scripts.

pub mod app;
pub mod event;
pub mod expo;
pub mod keys;
pub mod model;
pub mod once;
pub mod platform;
pub mod run;
pub mod source;
pub mod ui;

use std::{sync::Arc, time::Duration};

/// The services of the shop, in the order the overview lists them when all is well.
pub const SERVICES: [&str; 8] = [
    "gateway",
    "frontend",
    "user",
    "product",
    "order",
    "inventory",
    "payment",
    "notification",
];

/// Where the dashboard looks, and how often.
#[derive(Clone)]
pub struct Options {
    /// Each service with its base URL (empty when only Kubernetes knows it).
    pub services: Vec<(String, String)>,
    /// How often the sources are read.
    pub refresh: Duration,
    /// Prometheus's base URL; without it the services' `/metrics` are scraped directly.
    pub prometheus: Option<String>,
    /// Alertmanager's base URL.
    pub alertmanager: Option<String>,
    /// The Kubernetes API, when a context is configured.
    pub kube: Option<KubeTarget>,
    /// No actions at all.
    pub read_only: bool,
    /// What is not a metric.
    pub platform: Arc<dyn platform::Platform>,
}

/// A Kubernetes client and where the shop is in it.
#[derive(Clone)]
pub struct KubeTarget {
    /// The client.
    pub client: kube::Client,
    /// The context's name, to show.
    pub context: String,
    /// The namespace of the shop.
    pub namespace: String,
}

impl Options {
    /// A fresh state for these options.
    pub fn app(&self) -> app::App {
        let names: Vec<String> = self.services.iter().map(|(name, _)| name.clone()).collect();
        let mut app = app::App::new(&names, self.read_only);
        app.context = self
            .kube
            .as_ref()
            .map(|k| format!("{}/{}", k.context, k.namespace));
        app.set_source(
            event::Source::Alerts,
            if self.alertmanager.is_some() {
                model::SourceState::Waiting
            } else {
                model::SourceState::Off
            },
        );
        app.set_source(
            event::Source::Kube,
            if self.kube.is_some() {
                model::SourceState::Waiting
            } else {
                model::SourceState::Off
            },
        );
        app
    }
}
