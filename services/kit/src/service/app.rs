//! What every service's entry point builds: its routes, the loops that run beside them (event
//! relays, the saga resumer, the reservation sweeper, signing-key reloads) and the handles that
//! tools and tests may reach for (its database, its relay). Serving an [`App`] starts the loops
//! with the listener and stops them, and waits for them, when the listener has drained; nothing
//! a service starts outlives its shutdown.

use std::{future::Future, pin::Pin};

use axum::Router;
use http::Extensions;
use tokio::{sync::watch, task::JoinHandle};

/// A loop's body, given the signal that tells it to stop.
type LoopBody = Box<dyn FnOnce(Stop) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// A built service, not yet running.
pub struct App {
    /// The routes, with kit's middleware.
    pub router: Router,
    loops: Vec<(&'static str, LoopBody)>,
    handles: Extensions,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field(
                "loops",
                &self.loops.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl App {
    /// A service made of `router` alone.
    pub fn new(router: Router) -> Self {
        Self {
            router,
            loops: Vec::new(),
            handles: Extensions::new(),
        }
    }

    /// Adds a loop, named for logs, that runs beside the routes until its [`Stop`] fires. It
    /// should finish the piece of work in hand and return promptly after that.
    #[must_use]
    pub fn with_loop<F, Fut>(mut self, name: &'static str, body: F) -> Self
    where
        F: FnOnce(Stop) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.loops
            .push((name, Box::new(move |stop| Box::pin(body(stop)))));
        self
    }

    /// Keeps `handle` (a database, a relay, a saga) for tools and tests: [`App::handle`] returns
    /// a clone of it. One handle per type.
    #[must_use]
    pub fn with_handle<T: Clone + Send + Sync + 'static>(mut self, handle: T) -> Self {
        self.handles.insert(handle);
        self
    }

    /// A clone of the handle of type `T`, if the service keeps one.
    pub fn handle<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.handles.get::<T>().cloned()
    }

    /// The names of the loops, in the order they start.
    pub fn loop_names(&self) -> Vec<&'static str> {
        self.loops.iter().map(|(name, _)| *name).collect()
    }

    /// Starts the loops on the current runtime; the router is returned to be served.
    pub fn start(self) -> (Router, Loops) {
        let (stop, signal) = watch::channel(false);
        let tasks = self
            .loops
            .into_iter()
            .map(|(name, body)| {
                tracing::debug!(task = name, "background loop started");
                // In the span of whoever starts the service (`up --in-process` names the
                // service in it), so the loop's lines are the service's.
                let body = tracing::Instrument::in_current_span(body(Stop(signal.clone())));
                (name, tokio::spawn(body))
            })
            .collect();
        (
            self.router,
            Loops {
                stop: Some(stop),
                tasks,
            },
        )
    }
}

/// Tells a loop to stop. Clones share the signal.
#[derive(Debug, Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// Resolves once the service is stopping (at once if it already is).
    pub async fn requested(mut self) {
        // An error means every sender is gone: the service is gone too, so stop.
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    /// Whether the service is stopping.
    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }

    /// A signal that never fires, for running a loop by hand (tests, tools).
    pub fn never() -> Self {
        let (sender, receiver) = watch::channel(false);
        // Leaking one watch sender keeps the channel open for the process's life.
        std::mem::forget(sender);
        Self(receiver)
    }
}

/// The running loops of a started [`App`]. Dropping it asks them to stop without waiting.
#[derive(Debug)]
pub struct Loops {
    stop: Option<watch::Sender<bool>>,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl Loops {
    /// Asks every loop to stop and waits until each has returned.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        for (name, task) in self.tasks.drain(..) {
            if let Err(err) = task.await {
                let panic = err.is_panic();
                tracing::error!(task = name, panic, "background loop ended abnormally");
            }
        }
    }

    /// How many loops are still running.
    pub fn running(&self) -> usize {
        self.tasks
            .iter()
            .filter(|(_, task)| !task.is_finished())
            .count()
    }
}

impl Drop for Loops {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{
            Arc,
            atomic::{AtomicBool, AtomicUsize, Ordering},
        },
        time::Duration,
    };

    use super::*;

    #[tokio::test]
    async fn loops_start_with_the_app_and_stop_when_asked() {
        let ticks = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicBool::new(false));
        let (t, f) = (ticks.clone(), finished.clone());
        let app = App::new(Router::new()).with_handle(7_u32).with_loop(
            "ticker",
            move |stop| async move {
                let mut stopped = std::pin::pin!(stop.requested());
                loop {
                    t.fetch_add(1, Ordering::SeqCst);
                    tokio::select! {
                        () = &mut stopped => break,
                        () = tokio::time::sleep(Duration::from_millis(5)) => {}
                    }
                }
                f.store(true, Ordering::SeqCst);
            },
        );
        assert_eq!(app.handle::<u32>(), Some(7));
        assert_eq!(app.handle::<u64>(), None);
        assert_eq!(app.loop_names(), ["ticker"]);
        // Nothing runs before start.
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(ticks.load(Ordering::SeqCst), 0);

        let (_router, loops) = app.start();
        while ticks.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(loops.running(), 1);
        loops.stop().await;
        assert!(finished.load(Ordering::SeqCst), "stop waits for the loop");
    }

    #[tokio::test]
    async fn dropping_the_loops_asks_them_to_stop() {
        let finished = Arc::new(AtomicBool::new(false));
        let f = finished.clone();
        let app = App::new(Router::new()).with_loop("waiter", move |stop| async move {
            stop.requested().await;
            f.store(true, Ordering::SeqCst);
        });
        let (_router, loops) = app.start();
        drop(loops);
        for _ in 0..200 {
            if finished.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the loop did not stop after its Loops were dropped");
    }

    #[tokio::test]
    async fn a_never_stop_never_fires() {
        let stop = Stop::never();
        assert!(!stop.is_requested());
        let waited = tokio::time::timeout(Duration::from_millis(20), stop.requested()).await;
        assert!(waited.is_err());
    }
}
