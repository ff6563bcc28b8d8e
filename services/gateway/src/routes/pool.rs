//! Kept-alive HTTP/1.1 connections to one upstream, on hyper's connection API.
//!
//! A general-purpose client (hyper-util's) finds its pool by scheme and authority on every
//! request, races the checkout against a lazy connect, formats a `Host` header and spawns a
//! task to put a connection back whose answer is still streaming. The gateway knows its
//! upstreams when it starts, so each gets one [`Pool`]: a request leases an idle connection (or
//! opens one), and the connection goes back when the answer's body has been read to its end.
//! An answer dropped half-read takes its connection with it, since the rest of that body would
//! still be on the wire.

use std::{
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    task::{Context, Poll, ready},
    time::{Duration, Instant},
};

use axum::body::Bytes;
use http::{HeaderValue, Request, Response, Version, header, uri::Authority};
use http_body_util::combinators::UnsyncBoxBody;
use hyper::{
    body::{Body, Frame, Incoming, SizeHint},
    client::conn::http1,
};
use hyper_util::rt::TokioIo;

/// Idle connections the gateway keeps per upstream.
pub const MAX_IDLE: usize = 64;
/// How long the gateway keeps an idle upstream connection.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The body of a request on its way to an upstream.
pub type OutgoingBody = UnsyncBoxBody<Bytes, axum::Error>;

/// Why an upstream call failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No connection could be opened, so the request never went out: it is handed back, and
    /// another replica may have it whatever its method.
    #[error("connecting to {addr}: {source}")]
    Connect {
        /// The upstream's `host:port`.
        addr: String,
        /// What the operating system (or the handshake) said.
        source: Box<dyn std::error::Error + Send + Sync>,
        /// The request, unsent.
        request: Unsent,
    },
    /// The exchange failed: the connection broke, the answer was not HTTP, or the request's
    /// body failed (see [`hyper::Error`]'s source).
    #[error(transparent)]
    Http(#[from] hyper::Error),
}

/// A request handed back unsent. (In a mutex only so that [`SendError`] may cross threads, as
/// error types are expected to: a body stream is `Send` but not `Sync`.)
pub struct Unsent(Box<Mutex<Request<OutgoingBody>>>);

impl Unsent {
    /// The request.
    pub fn into_inner(self) -> Request<OutgoingBody> {
        self.0.into_inner().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for Unsent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Unsent")
    }
}

/// Idle connections to one upstream.
pub struct Pool {
    /// Where connections go: `host:port`.
    addr: String,
    /// The `Host` header every request carries.
    host: HeaderValue,
    /// Most recently returned last, so the warmest connection is used first.
    idle: Mutex<Vec<Idle>>,
    max_idle: usize,
    idle_timeout: Duration,
}

struct Idle {
    sender: http1::SendRequest<OutgoingBody>,
    since: Instant,
}

impl Pool {
    /// A pool for `authority` (port 80 when it names none) keeping at most `max_idle` idle
    /// connections, each for at most `idle_timeout`.
    pub fn new(authority: &Authority, max_idle: usize, idle_timeout: Duration) -> Arc<Self> {
        let addr = format!(
            "{}:{}",
            authority.host(),
            authority.port_u16().unwrap_or(80)
        );
        let host = HeaderValue::from_str(authority.as_str())
            .expect("an authority is a valid header value");
        Arc::new(Self {
            addr,
            host,
            idle: Mutex::new(Vec::new()),
            max_idle,
            idle_timeout,
        })
    }

    /// Sends `req` (origin-form URI) as HTTP/1.1 on a leased connection. A pooled connection
    /// found closed before the request went out is dropped and the next one tried, ending with
    /// a new connection; a request that was sent is never sent again here (that is the
    /// caller's decision to make).
    pub async fn send(
        self: &Arc<Self>,
        mut req: Request<OutgoingBody>,
    ) -> Result<Response<Leased>, SendError> {
        *req.version_mut() = Version::HTTP_11;
        req.headers_mut().insert(header::HOST, self.host.clone());
        loop {
            let (mut sender, pooled) = match self.checkout() {
                Some(sender) => (sender, true),
                None => match self.connect().await {
                    Ok(sender) => (sender, false),
                    Err(source) => {
                        return Err(SendError::Connect {
                            addr: self.addr.clone(),
                            source,
                            request: Unsent(Box::new(Mutex::new(req))),
                        });
                    }
                },
            };
            match sender.try_send_request(req).await {
                Ok(response) => return Ok(self.lease(sender, response)),
                Err(mut failed) => match failed.take_message() {
                    Some(unsent) if pooled => req = unsent,
                    _ => return Err(failed.into_error().into()),
                },
            }
        }
    }

    /// The warmest idle connection that is still open and ready.
    fn checkout(&self) -> Option<http1::SendRequest<OutgoingBody>> {
        let mut idle = self.idle();
        while let Some(Idle { sender, since }) = idle.pop() {
            if sender.is_ready() && since.elapsed() < self.idle_timeout {
                return Some(sender);
            }
        }
        None
    }

    async fn connect(
        &self,
    ) -> Result<http1::SendRequest<OutgoingBody>, Box<dyn std::error::Error + Send + Sync>> {
        let stream = tokio::net::TcpStream::connect(&self.addr).await?;
        // Requests go out in one write each; Nagle's algorithm would only hold them back.
        stream.set_nodelay(true)?;
        let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "upstream connection ended with an error");
            }
        });
        sender.ready().await?;
        Ok(sender)
    }

    /// The answer, holding its connection until its body ends.
    fn lease(
        self: &Arc<Self>,
        sender: http1::SendRequest<OutgoingBody>,
        response: Response<Incoming>,
    ) -> Response<Leased> {
        let (parts, body) = response.into_parts();
        let mut body = Leased {
            body,
            lease: Some((sender, Arc::clone(self))),
        };
        // hyper's server never polls a body that is already at its end.
        if body.body.is_end_stream() {
            body.release();
        }
        Response::from_parts(parts, body)
    }

    /// Takes a connection back once it can carry another request.
    fn put(self: Arc<Self>, mut sender: http1::SendRequest<OutgoingBody>) {
        if sender.is_ready() {
            let mut idle = self.idle();
            if idle.len() < self.max_idle {
                idle.push(Idle {
                    sender,
                    since: Instant::now(),
                });
            }
        } else if !sender.is_closed() {
            // The connection has not yet seen the end of the answer go by: rare, as the body's
            // end reaches the caller after the connection has read it.
            tokio::spawn(async move {
                if sender.ready().await.is_ok() {
                    self.put(sender);
                }
            });
        }
    }

    /// Idle connections now (for tests).
    pub fn idle_count(&self) -> usize {
        self.idle().len()
    }

    /// The idle list; a panic elsewhere while it was held leaves nothing half-done in it.
    fn idle(&self) -> MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An upstream's answer body; its connection goes back to the pool when the body ends.
pub struct Leased {
    body: Incoming,
    lease: Option<(http1::SendRequest<OutgoingBody>, Arc<Pool>)>,
}

impl std::fmt::Debug for Leased {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leased")
            .field("body", &self.body)
            .field("leased", &self.lease.is_some())
            .finish()
    }
}

impl Leased {
    fn release(&mut self) {
        if let Some((sender, pool)) = self.lease.take() {
            pool.put(sender);
        }
    }
}

impl Body for Leased {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let frame = ready!(Pin::new(&mut this.body).poll_frame(cx));
        match &frame {
            // The connection broke: it is not coming back.
            Some(Err(_)) => this.lease = None,
            None => this.release(),
            Some(Ok(_)) if this.body.is_end_stream() => this.release(),
            Some(Ok(_)) => {}
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
