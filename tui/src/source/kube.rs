//! The Kubernetes source: the shop's deployments, pods and autoscalers (label
//! `app.kubernetes.io/part-of=shopctl`) and the namespace's warning events, watched through the
//! API server rather than polled.
//!
//! Each kind has a watcher feeding a reflector store; whenever a store changes, the
//! [`model::Kube`] built from all four goes to the main loop, at most once per [`COALESCE`] and
//! only when it differs from what was sent last, so that a rollout's burst of pod events costs
//! one redraw; the first waits (up to [`FIRST_LISTS`]) until every kind is listed, so that no
//! half picture (deployments without their pods) is shown. Watchers that fail say so as
//! [`SourceState::Failing`] and retry with backoff, so that an API server coming back is picked
//! up without restarting the dashboard.

pub mod rows;

use std::{fmt::Debug, time::Duration};

use futures_util::{
    StreamExt as _,
    stream::{self, BoxStream},
};
use k8s_openapi::api::{
    apps::v1::Deployment,
    autoscaling::v2::HorizontalPodAutoscaler,
    core::v1::{Event, Pod},
};
use kube::{
    Api, Client, Resource,
    runtime::{
        WatchStreamExt as _,
        reflector::{self, Store},
        watcher,
    },
};
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::{
    event::{Sender, Source, Update},
    model::{self, SourceState},
};

/// The label selector of the shop's objects.
pub const PART_OF: &str = "app.kubernetes.io/part-of=shopctl";

/// The field selector of the events worth showing.
pub const WARNING_EVENTS: &str = "type=Warning";

/// The shortest time between two [`Update::Kube`]s.
pub const COALESCE: Duration = Duration::from_millis(250);

/// How long the first [`Update::Kube`] waits for every watcher's first list, so that the
/// dashboard does not show deployments without their pods while the lists come in (nor waits
/// for ever on a list that hangs).
pub const FIRST_LISTS: Duration = Duration::from_secs(2);

/// Watches the shop in `namespace` and sends what it finds to `tx`: [`Update::Kube`] when the
/// shop changes, [`Update::Source`] when the API server stops or starts answering. Runs until
/// the receiver is gone.
pub async fn watch(client: Client, namespace: String, tx: Sender) {
    let (stores, mut signals) = watchers(&client, &namespace);
    let mut health = Health::default();
    let mut coalescer = Coalescer::new(Instant::now());
    loop {
        let due = coalescer.due();
        tokio::select! {
            () = tx.closed() => return,
            signal = signals.next() => {
                let Some(signal) = signal else { return };
                if signal.changed() {
                    coalescer.changed();
                }
                let state = health.note(&signal, &namespace);
                if health.all_listed() {
                    coalescer.listed();
                }
                if let Some(state) = state
                    && !send(&tx, Update::Source(Source::Kube, state))
                {
                    return;
                }
            }
            () = sleep_until(due), if due.is_some() => {
                if let Some(kube) = coalescer.flush(stores.kube(), Instant::now())
                    && !send(&tx, Update::Kube(kube))
                {
                    return;
                }
            }
        }
    }
}

/// Sends `update`; false when nobody listens any more.
fn send(tx: &Sender, update: Update) -> bool {
    tx.send(update.into()).is_ok()
}

/// Sleeps until `due` (forever without one; `select!` does not poll it then).
async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

/// A kind of object watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Deployments,
    Pods,
    Autoscalers,
    Events,
}

impl Kind {
    /// Every kind, in the order their failures are reported.
    const ALL: [Self; 4] = [
        Self::Deployments,
        Self::Pods,
        Self::Autoscalers,
        Self::Events,
    ];

    /// What the operator reads in "cannot watch … in shop".
    fn noun(self) -> &'static str {
        match self {
            Self::Deployments => "deployments",
            Self::Pods => "pods",
            Self::Autoscalers => "horizontal pod autoscalers",
            Self::Events => "warning events",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Deployments => 0,
            Self::Pods => 1,
            Self::Autoscalers => 2,
            Self::Events => 3,
        }
    }
}

/// What one watcher just said.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Signal {
    kind: Kind,
    heard: Heard,
}

/// The gist of a watcher's event.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Heard {
    /// A (re)list begins: nothing asked of the API server yet, so nothing about its health.
    Nothing,
    /// The API server answered; `changed` when the store changed with it.
    Answer { changed: bool },
    /// The watcher failed (and will retry after a backoff).
    Error(String),
}

impl Signal {
    /// The signal of a watcher's event.
    fn of<K>(kind: Kind, result: Result<watcher::Event<K>, watcher::Error>) -> Self {
        let heard = match result {
            Ok(watcher::Event::Init) => Heard::Nothing,
            // Objects of a list are buffered: the store changes once the list is complete.
            Ok(watcher::Event::InitApply(_)) => Heard::Answer { changed: false },
            Ok(watcher::Event::InitDone | watcher::Event::Apply(_) | watcher::Event::Delete(_)) => {
                Heard::Answer { changed: true }
            }
            Err(error) => Heard::Error(describe(&error)),
        };
        Self { kind, heard }
    }

    /// Whether a store changed.
    fn changed(&self) -> bool {
        matches!(self.heard, Heard::Answer { changed: true })
    }
}

/// A watcher's error on one line: the API server's message and code when it gave them.
fn describe(error: &watcher::Error) -> String {
    match error {
        watcher::Error::InitialListFailed(e) => format!("list failed: {}", describe_client(e)),
        watcher::Error::WatchStartFailed(e) => format!("watch failed: {}", describe_client(e)),
        watcher::Error::WatchFailed(e) => format!("watch broke: {}", describe_client(e)),
        watcher::Error::WatchError(status) => format!("watch broke: {}", describe_status(status)),
        watcher::Error::NoResourceVersion => one_line(&error.to_string()),
    }
}

/// A client error on one line: the API server's Status, or the error and its causes (a
/// transport error says "client error (Connect)" and leaves "connection refused" to its cause).
fn describe_client(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => describe_status(status),
        other => with_causes(other),
    }
}

/// An error and the causes its own text does not already tell, on one line.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        let more = error.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = error.source();
    }
    one_line(&text)
}

/// `message (code reason)`, as the API server's Status says.
fn describe_status(status: &kube::core::Status) -> String {
    let message = one_line(&status.message);
    match (status.code, status.reason.as_str()) {
        (0, "") => message,
        (0, reason) => format!("{message} ({reason})"),
        (code, "") => format!("{message} ({code})"),
        (code, reason) => format!("{message} ({code} {reason})"),
    }
}

/// Text on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What the watchers said last, to tell the source's state.
#[derive(Debug, Default)]
struct Health {
    /// Per kind: nothing yet, answering, or its last error.
    heard: [Option<Result<(), String>>; 4],
    /// Per kind: whether its first list is in its store, or failed.
    listed: [bool; 4],
    /// The state sent last.
    said: Option<SourceState>,
}

impl Health {
    /// Notes `signal`; the source's new state when that changes it.
    fn note(&mut self, signal: &Signal, namespace: &str) -> Option<SourceState> {
        let index = signal.kind.index();
        match &signal.heard {
            Heard::Nothing => return None,
            Heard::Answer { changed } => {
                self.heard[index] = Some(Ok(()));
                self.listed[index] |= changed;
            }
            Heard::Error(error) => {
                self.heard[index] = Some(Err(error.clone()));
                self.listed[index] = true;
            }
        }
        let state = self.state(namespace)?;
        if self.said.as_ref() == Some(&state) {
            return None;
        }
        self.said = Some(state.clone());
        Some(state)
    }

    /// Failing when a watcher fails (the first kind that does), Ok when the rest answer, and
    /// nothing before any did.
    fn state(&self, namespace: &str) -> Option<SourceState> {
        let failing = Kind::ALL
            .into_iter()
            .find_map(|kind| match &self.heard[kind.index()] {
                Some(Err(error)) => Some((kind, error)),
                _ => None,
            });
        if let Some((kind, error)) = failing {
            let noun = kind.noun();
            return Some(SourceState::Failing(format!(
                "cannot watch {noun} in {namespace}: {error}"
            )));
        }
        self.heard
            .iter()
            .any(Option::is_some)
            .then_some(SourceState::Ok)
    }

    /// Whether every watcher's first list is in (or failed): the stores make a whole picture.
    fn all_listed(&self) -> bool {
        self.listed.iter().all(|&listed| listed)
    }
}

/// Holds changes back so that at most one [`Update::Kube`] goes out per [`COALESCE`], and only
/// one that differs from the last; the first waits for every first list (up to
/// [`FIRST_LISTS`]).
#[derive(Debug)]
struct Coalescer {
    /// What was sent last.
    sent: Option<model::Kube>,
    /// Whether a store changed since the last flush.
    dirty: bool,
    /// The earliest time of the next flush.
    next: Instant,
    /// Until when the first flush waits for lists still out.
    hold: Option<Instant>,
}

impl Coalescer {
    /// A coalescer whose watchers started at `start`.
    fn new(start: Instant) -> Self {
        Self {
            sent: None,
            dirty: false,
            next: start,
            hold: Some(start + FIRST_LISTS),
        }
    }

    /// Notes that a store changed.
    fn changed(&mut self) {
        self.dirty = true;
    }

    /// Notes that every first list is in: nothing to wait for any more.
    fn listed(&mut self) {
        self.hold = None;
    }

    /// When to flush, if there is anything to flush.
    fn due(&self) -> Option<Instant> {
        let at = self.hold.map_or(self.next, |hold| hold.max(self.next));
        self.dirty.then_some(at)
    }

    /// The state to send now, if it differs from the last sent; starts the next period.
    fn flush(&mut self, kube: model::Kube, now: Instant) -> Option<model::Kube> {
        self.dirty = false;
        self.hold = None;
        self.next = now + COALESCE;
        if self.sent.as_ref() == Some(&kube) {
            return None;
        }
        self.sent = Some(kube.clone());
        Some(kube)
    }
}

/// The reflector stores the watchers fill.
struct Stores {
    deployments: Store<Deployment>,
    pods: Store<Pod>,
    autoscalers: Store<HorizontalPodAutoscaler>,
    events: Store<Event>,
}

impl Stores {
    /// The Kubernetes side as the stores hold it now.
    fn kube(&self) -> model::Kube {
        let deployments = self.deployments.state();
        let pods = self.pods.state();
        let autoscalers = self.autoscalers.state();
        let events = self.events.state();
        rows::kube(
            deployments.iter().map(AsRef::as_ref),
            pods.iter().map(AsRef::as_ref),
            autoscalers.iter().map(AsRef::as_ref),
            events.iter().map(AsRef::as_ref),
        )
    }
}

/// The four watchers of `namespace`: their stores, and one stream of what they say. Nothing
/// runs until the stream is polled.
fn watchers(client: &Client, namespace: &str) -> (Stores, BoxStream<'static, Signal>) {
    let shop = watcher::Config::default().labels(PART_OF);
    let warnings = watcher::Config::default().fields(WARNING_EVENTS);
    let (deployments, deployment_signals) = watch_kind(
        Api::namespaced(client.clone(), namespace),
        shop.clone(),
        Kind::Deployments,
    );
    let (pods, pod_signals) = watch_kind(
        Api::namespaced(client.clone(), namespace),
        shop.clone(),
        Kind::Pods,
    );
    let (autoscalers, autoscaler_signals) = watch_kind(
        Api::namespaced(client.clone(), namespace),
        shop,
        Kind::Autoscalers,
    );
    let (events, event_signals) = watch_kind(
        Api::namespaced(client.clone(), namespace),
        warnings,
        Kind::Events,
    );
    let signals = stream::select_all([
        deployment_signals,
        pod_signals,
        autoscaler_signals,
        event_signals,
    ]);
    (
        Stores {
            deployments,
            pods,
            autoscalers,
            events,
        },
        signals.boxed(),
    )
}

/// One watcher, retrying with backoff, reflected into a store.
fn watch_kind<K>(
    api: Api<K>,
    config: watcher::Config,
    kind: Kind,
) -> (Store<K>, BoxStream<'static, Signal>)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (store, writer) = reflector::store();
    let signals = watcher::watcher(api, config)
        .default_backoff()
        .reflect(writer)
        .map(move |result| Signal::of(kind, result))
        .boxed();
    (store, signals)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(kind: Kind) -> Signal {
        Signal {
            kind,
            heard: Heard::Answer { changed: true },
        }
    }

    fn error(kind: Kind, text: &str) -> Signal {
        Signal {
            kind,
            heard: Heard::Error(text.to_owned()),
        }
    }

    #[test]
    fn the_state_is_only_sent_when_it_changes() {
        let mut health = Health::default();
        assert_eq!(
            health.note(
                &Signal {
                    kind: Kind::Pods,
                    heard: Heard::Nothing
                },
                "shop"
            ),
            None
        );
        assert_eq!(
            health.note(&answer(Kind::Pods), "shop"),
            Some(SourceState::Ok)
        );
        assert_eq!(health.note(&answer(Kind::Deployments), "shop"), None);
        let failing = health.note(&error(Kind::Events, "list failed: forbidden (403)"), "shop");
        assert_eq!(
            failing,
            Some(SourceState::Failing(
                "cannot watch warning events in shop: list failed: forbidden (403)".into()
            ))
        );
        assert_eq!(
            health.note(&error(Kind::Events, "list failed: forbidden (403)"), "shop"),
            None
        );
        // A retry starting over is no sign of health.
        assert_eq!(
            health.note(
                &Signal {
                    kind: Kind::Events,
                    heard: Heard::Nothing
                },
                "shop"
            ),
            None
        );
        assert_eq!(
            health.note(&answer(Kind::Events), "shop"),
            Some(SourceState::Ok)
        );
    }

    #[test]
    fn the_first_failing_kind_is_named() {
        let mut health = Health::default();
        health.note(&error(Kind::Events, "e"), "shop");
        let state = health.note(&error(Kind::Deployments, "d"), "shop");
        assert_eq!(
            state,
            Some(SourceState::Failing(
                "cannot watch deployments in shop: d".into()
            ))
        );
    }

    #[test]
    fn the_first_update_waits_a_while_for_the_lists() {
        let start = Instant::now();
        let mut coalescer = Coalescer::new(start);
        coalescer.changed();
        assert_eq!(coalescer.due(), Some(start + FIRST_LISTS));
        coalescer.listed();
        assert_eq!(coalescer.due(), Some(start));
    }

    #[test]
    fn only_complete_lists_and_failures_count_as_listed() {
        let mut health = Health::default();
        for kind in [Kind::Deployments, Kind::Pods, Kind::Autoscalers] {
            health.note(&answer(kind), "shop");
        }
        let buffered = Signal {
            kind: Kind::Events,
            heard: Heard::Answer { changed: false },
        };
        health.note(&buffered, "shop");
        assert!(!health.all_listed(), "a list still coming in");
        health.note(&error(Kind::Events, "list failed"), "shop");
        assert!(health.all_listed());
    }

    #[test]
    fn changes_are_held_back_and_repeats_dropped() {
        let start = Instant::now();
        let mut coalescer = Coalescer::new(start);
        coalescer.listed();
        assert_eq!(coalescer.due(), None);
        coalescer.changed();
        assert_eq!(coalescer.due(), Some(start));
        let kube = model::Kube::default();
        let later = start + COALESCE;
        assert_eq!(coalescer.flush(kube.clone(), later), Some(kube.clone()));
        assert_eq!(coalescer.due(), None);
        coalescer.changed();
        assert_eq!(coalescer.due(), Some(later + COALESCE));
        assert_eq!(coalescer.flush(kube, later + COALESCE), None);
    }

    /// A transport error as hyper's client gives it: the cause underneath.
    #[derive(Debug)]
    struct Connect(std::io::Error);

    impl std::fmt::Display for Connect {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("client error (Connect)")
        }
    }

    impl std::error::Error for Connect {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_transport_error_tells_its_cause() {
        let refused =
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let error = kube::Error::Service(Box::new(Connect(refused)));
        assert_eq!(
            describe(&watcher::Error::WatchFailed(error)),
            "watch broke: ServiceError: client error (Connect): connection refused"
        );
    }

    #[test]
    fn a_status_reads_as_message_and_code() {
        let status = kube::core::Status::failure("etcdserver: request\ntimed out", "InternalError")
            .with_code(500);
        let error = watcher::Error::InitialListFailed(kube::Error::Api(status.boxed()));
        assert_eq!(
            describe(&error),
            "list failed: etcdserver: request timed out (500 InternalError)"
        );
    }
}
