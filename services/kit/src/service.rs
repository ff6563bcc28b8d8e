//! What a running service is made of, and how it is served: bind, serve, drain on shutdown.

use std::{future::Future, net::SocketAddr};

use axum::Router;
use tokio::net::TcpListener;

use crate::{db::Db, metrics::Metrics, settings::CommonSettings};

/// The plumbing every service's state carries: its name, database, metrics and settings.
#[derive(Debug, Clone)]
pub struct ServiceContext {
    /// Service name (`product`, `order`, …).
    pub name: &'static str,
    /// The service's own database (`None` for stateless services such as the gateway).
    pub db: Option<Db>,
    /// The service's metrics registry.
    pub metrics: Metrics,
    /// Effective common settings.
    pub settings: CommonSettings,
}

/// Errors starting to serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The port is taken.
    #[error(
        "cannot listen on {addr} for the {service} service: the port is in use; stop the other process or pass --port"
    )]
    PortInUse {
        /// Service name.
        service: &'static str,
        /// Address.
        addr: SocketAddr,
    },
    /// Any other bind or serve failure.
    #[error("cannot listen on {addr} for the {service} service: {source}")]
    Io {
        /// Service name.
        service: &'static str,
        /// Address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A bound, not yet serving, HTTP server: bind first (so tests learn the port), then run.
#[derive(Debug)]
pub struct Server {
    name: &'static str,
    listener: TcpListener,
    router: Router,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(
        name: &'static str,
        addr: SocketAddr,
        router: Router,
    ) -> Result<Self, ServeError> {
        let listener = TcpListener::bind(addr).await.map_err(|source| {
            if source.kind() == std::io::ErrorKind::AddrInUse {
                ServeError::PortInUse {
                    service: name,
                    addr,
                }
            } else {
                ServeError::Io {
                    service: name,
                    addr,
                    source,
                }
            }
        })?;
        Ok(Self {
            name,
            listener,
            router,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound TCP listener has a local address")
    }

    /// Serves until `shutdown` resolves, then stops accepting and drains in-flight requests.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let addr = self.local_addr();
        tracing::info!(%addr, "listening");
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| ServeError::Io {
            service: self.name,
            addr,
            source,
        })?;
        tracing::info!("stopped: in-flight requests drained");
        Ok(())
    }
}

/// Binds the address `settings` name and serves `router` until `shutdown` resolves, then drains:
/// the one way every service runs.
pub async fn serve(
    name: &'static str,
    settings: &crate::settings::CommonSettings,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr = SocketAddr::new(settings.host, settings.port);
    Server::bind(name, addr, router).await?.run(shutdown).await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        // If the handler cannot be installed, only SIGTERM stops the service.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received: shutting down"),
        () = terminate => tracing::info!("SIGTERM received: shutting down"),
    }
}
