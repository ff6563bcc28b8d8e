//! The floor under the gateway's benchmark (`tests/bench/gateway.sh`): hyper's HTTP/1.1 server
//! handing every request to hyper-util's pooled client, with nothing in between — no routing,
//! authentication, rate limiting, breaker, metrics or header rewriting. What this costs per
//! request is what any proxy built on hyper pays before it does its work, so the benchmark shows
//! how much of the gateway's cost is its own and how much is the HTTP stack's.
//!
//! Usage: `bare_proxy LISTEN_ADDR UPSTREAM_HOST:PORT`.

use std::net::SocketAddr;

use anyhow::Context as _;
use hyper::{Request, body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::{TokioExecutor, TokioIo},
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: bare_proxy LISTEN_ADDR UPSTREAM_HOST:PORT";
    let listen: SocketAddr = args.next().context(usage)?.parse()?;
    let upstream: http::uri::Authority = args.next().context(usage)?.parse()?;
    // The same connector and pool settings as the gateway's.
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Incoming> = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(std::time::Duration::from_secs(30))
        .pool_max_idle_per_host(64)
        .build(connector);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let client = client.clone();
        let upstream = upstream.clone();
        tokio::spawn(async move {
            let service = service_fn(move |mut req: Request<Incoming>| {
                let client = client.clone();
                let upstream = upstream.clone();
                async move {
                    let mut parts = req.uri().clone().into_parts();
                    parts.scheme = Some(http::uri::Scheme::HTTP);
                    parts.authority = Some(upstream);
                    // A path from a parsed request and a parsed authority always make a URI.
                    *req.uri_mut() = http::Uri::from_parts(parts).expect("a valid URI");
                    client.request(req).await
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
