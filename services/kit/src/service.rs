//! What a running service is made of, and how it is served: bind, serve, drain on shutdown.

use std::{fmt, future::Future, net::SocketAddr, path::Path, sync::Arc, time::Duration};

use axum::{Router, extract::ConnectInfo};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
};
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::{
    auth::Auth,
    db::Db,
    metrics::{Metrics, register_pool},
    settings::CommonSettings,
};

mod app;

pub use app::{App, Loops, Stop};

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
    /// Who may call the service (the admin routes use it).
    pub auth: Auth,
    /// Whether writes are paused for a backup (`/admin/maintenance`); the service's own loops
    /// and tasks hold its guards too ([`ServiceContext::with_maintenance`]).
    pub maintenance: crate::maintenance::Maintenance,
}

impl ServiceContext {
    /// The context of service `name`, run with `settings`, on `db` (none for the gateway and the
    /// storefront), counting into `metrics`, its admin routes guarded by `auth`.
    pub fn new(
        name: &'static str,
        settings: &CommonSettings,
        db: Option<Db>,
        metrics: Metrics,
        auth: Auth,
    ) -> Self {
        if let Some(db) = &db {
            register_pool(db, &metrics);
        }
        if let Some(not_after) = settings.tls_cert_file.as_deref().and_then(not_after) {
            let gauge = prometheus_client::metrics::gauge::Gauge::<i64>::default();
            gauge.set(not_after);
            metrics.register(
                "tls_certificate_not_after_seconds",
                "When the certificate the service serves expires, in seconds since the Unix epoch",
                gauge,
            );
        }
        Self {
            name,
            db,
            metrics,
            settings: settings.clone(),
            auth,
            maintenance: crate::maintenance::Maintenance::default(),
        }
    }

    /// The context with `maintenance`, the handle the service's own work already holds.
    #[must_use]
    pub fn with_maintenance(mut self, maintenance: crate::maintenance::Maintenance) -> Self {
        self.maintenance = maintenance;
        self
    }
}

/// When the first certificate of the PEM file at `path` expires, in seconds since the epoch.
fn not_after(path: &Path) -> Option<i64> {
    let pem = std::fs::read(path).ok()?;
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).ok()?;
    let cert = pem.parse_x509().ok()?;
    Some(cert.validity().not_after.timestamp())
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
    /// The certificate or key cannot be used.
    #[error("cannot serve HTTPS for the {service} service: {reason}")]
    Tls {
        /// Service name.
        service: &'static str,
        /// Why.
        reason: String,
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

/// How connections are served: TLS, and the limits that protect against slow or greedy clients.
#[derive(Clone)]
pub struct Transport {
    /// TLS acceptor when the service terminates HTTPS itself.
    tls: Option<tokio_rustls::TlsAcceptor>,
    /// Deadline for a request's head (and for the TLS handshake); also ends idle keep-alives.
    header_read_timeout: Duration,
    /// Largest request head in bytes.
    max_header_bytes: usize,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("tls", &self.tls.is_some())
            .field("header_read_timeout", &self.header_read_timeout)
            .field("max_header_bytes", &self.max_header_bytes)
            .finish()
    }
}

impl Default for Transport {
    fn default() -> Self {
        let defaults = CommonSettings::defaults(0);
        Self {
            tls: None,
            header_read_timeout: Duration::from_millis(defaults.header_read_timeout_ms),
            max_header_bytes: defaults.max_header_bytes,
        }
    }
}

impl Transport {
    /// The transport `settings` describe, loading the certificate and key when TLS is on.
    pub fn from_settings(
        name: &'static str,
        settings: &CommonSettings,
    ) -> Result<Self, ServeError> {
        let tls = match (&settings.tls_cert_file, &settings.tls_key_file) {
            (Some(cert), Some(key)) => {
                Some(tls_acceptor(cert, key).map_err(|reason| ServeError::Tls {
                    service: name,
                    reason,
                })?)
            }
            _ => None,
        };
        Ok(Self {
            tls,
            header_read_timeout: Duration::from_millis(settings.header_read_timeout_ms),
            max_header_bytes: settings
                .max_header_bytes
                .max(crate::settings::MIN_HEADER_BYTES),
        })
    }

    /// Whether connections are TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }
}

/// A TLS acceptor offering HTTP/2 and HTTP/1.1 for the PEM files `cert` and `key`.
fn tls_acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    use tokio_rustls::rustls;
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| format!("{}: not a PEM certificate chain: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: holds no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("{}: not a PEM private key: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the certificate and key do not fit together: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Marks requests that arrived over TLS (a request extension), so handlers can tell.
#[derive(Debug, Clone, Copy)]
pub struct Tls;

/// A bound, not yet serving, HTTP server: bind first (so tests learn the port), then run.
#[derive(Debug)]
pub struct Server {
    name: &'static str,
    listener: TcpListener,
    router: Router,
    transport: Transport,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port), to serve plain HTTP with default limits.
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
            transport: Transport::default(),
        })
    }

    /// Serves with `transport` instead (TLS, limits).
    #[must_use]
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound TCP listener has a local address")
    }

    /// Serves until `shutdown` resolves, then stops accepting and drains in-flight requests.
    ///
    /// Each connection gets the head deadline and size limit of the transport: a client that
    /// trickles its headers (or its TLS handshake) is disconnected, an oversized head gets 431.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let addr = self.local_addr();
        let scheme = if self.transport.is_tls() {
            "https"
        } else {
            "http"
        };
        tracing::info!(service = self.name, %addr, scheme, "listening");
        let mut http = auto::Builder::new(TokioExecutor::new());
        http.http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.transport.header_read_timeout)
            .max_buf_size(self.transport.max_header_bytes);
        http.http2().timer(TokioTimer::new()).max_header_list_size(
            u32::try_from(self.transport.max_header_bytes).unwrap_or(u32::MAX),
        );
        let http = Arc::new(http);
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let (stream, remote) = tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let router = self.router.clone();
            let tls = self.transport.tls.clone();
            let handshake_deadline = self.transport.header_read_timeout;
            let http = Arc::clone(&http);
            let watcher = graceful.watcher();
            // In the server's span (`up --in-process` names the service in it), so each
            // request's lines say which service served it.
            tokio::spawn(tracing::Instrument::in_current_span(async move {
                let is_tls = tls.is_some();
                let service = hyper::service::service_fn(
                    move |mut request: http::Request<hyper::body::Incoming>| {
                        request.extensions_mut().insert(ConnectInfo(remote));
                        if is_tls {
                            request.extensions_mut().insert(Tls);
                        }
                        router.clone().oneshot(request)
                    },
                );
                let Some(acceptor) = tls else {
                    drive(&http, TokioIo::new(stream), service, watcher).await;
                    return;
                };
                match tokio::time::timeout(handshake_deadline, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => drive(&http, TokioIo::new(stream), service, watcher).await,
                    Ok(Err(err)) => tracing::debug!(%remote, error = %err, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%remote, "TLS handshake too slow: closed"),
                }
            }));
        }
        drop(self.listener);
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(DRAIN_DEADLINE) => {
                tracing::warn!(deadline = ?DRAIN_DEADLINE, "connections still open after the drain deadline; closing them");
            }
        }
        tracing::info!("stopped: in-flight requests drained");
        Ok(())
    }
}
/// Longest wait for open connections to finish after shutdown begins.
const DRAIN_DEADLINE: Duration = Duration::from_secs(30);

/// Serves one connection until it closes or, on shutdown, has finished its in-flight requests.
async fn drive<I, S>(
    http: &auto::Builder<TokioExecutor>,
    io: TokioIo<I>,
    service: S,
    watcher: hyper_util::server::graceful::Watcher,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<
            http::Request<hyper::body::Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Send
        + 'static,
    S::Future: Send + 'static,
{
    let connection = http.serve_connection_with_upgrades(io, service);
    if let Err(err) = watcher.watch(connection).await {
        // Resets, half-closed sockets and slow heads end here: the client's problem, not ours.
        tracing::debug!(error = %err, "connection ended with an error");
    }
}

/// Binds the address `settings` name and serves `router` until `shutdown` resolves, then drains:
/// the one way every service runs (HTTPS when a certificate is configured).
pub async fn serve(
    name: &'static str,
    settings: &CommonSettings,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr = SocketAddr::new(settings.host, settings.port);
    let transport = Transport::from_settings(name, settings)?;
    Server::bind(name, addr, router)
        .await?
        .with_transport(transport)
        .run(shutdown)
        .await
}

/// Runs `app` as `serve` does, with its loops beside the listener: they start before the first
/// connection is accepted and are stopped, and waited for, once the listener has drained.
pub async fn run(
    name: &'static str,
    settings: &CommonSettings,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (router, loops) = app.start();
    let served = serve(name, settings, router, shutdown).await;
    loops.stop().await;
    served
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
