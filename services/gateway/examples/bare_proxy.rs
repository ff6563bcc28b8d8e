//! The floor under the gateway's benchmark (`tests/bench/gateway.sh`): hyper's HTTP/1.1 server
//! handing every request to the gateway's upstream connection pool ([`shopctl_gateway::routes::pool`]),
//! with nothing in between — no routing, authentication, rate limiting, breaker, metrics or
//! header rewriting. What this costs per request is what the gateway pays for HTTP alone, so
//! the benchmark shows how much of the gateway's cost is its own work and how much the
//! HTTP stack's.
//!
//! Usage: `bare_proxy LISTEN_ADDR UPSTREAM_HOST:PORT`.

use std::net::SocketAddr;

use anyhow::Context as _;
use http_body_util::BodyExt;
use hyper::{Request, body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use shopctl_gateway::routes::pool::{self, Pool};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: bare_proxy LISTEN_ADDR UPSTREAM_HOST:PORT";
    let listen: SocketAddr = args.next().context(usage)?.parse()?;
    let upstream: http::uri::Authority = args.next().context(usage)?.parse()?;
    // The same pool settings as the gateway's.
    let pool = Pool::new(&upstream, pool::MAX_IDLE, pool::IDLE_TIMEOUT);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let pool = pool.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let pool = pool.clone();
                async move {
                    let req = req.map(|body| body.map_err(axum::Error::new).boxed_unsync());
                    pool.send(req).await
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
