//! Gateway tests against real upstreams spawned in-process (an echo service that reports what
//! it received, and a port that is closed or open on demand).
#![allow(clippy::unwrap_used)]

mod helpers;
mod pool;
mod proxy;
mod replicas;
