//! The upstream connection pool against a real HTTP/1.1 server that counts the connections it
//! accepts: reuse, what is never reused, and what is replaced.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::body::Bytes;
use http::{Request, Response, Version};
use http_body_util::{BodyExt, Empty, Full};
use hyper::{body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use shopctl_gateway::routes::pool::{OutgoingBody, Pool, SendError};

/// An upstream serving `/small` (2 bytes), `/big` (256 KiB, many frames), `/empty` (204),
/// `/close` (answers, then closes its connection), `/slow` (100 ms) and `/echo` (the `Host`
/// and version it received); the count is of connections accepted.
async fn upstream() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::clone(&connections);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            accepted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let service = service_fn(|req: Request<Incoming>| async move {
                    let response = match req.uri().path() {
                        "/big" => Response::new(Full::new(Bytes::from(vec![b'x'; 256 * 1024]))),
                        "/empty" => Response::builder()
                            .status(204)
                            .body(Full::new(Bytes::new()))
                            .unwrap(),
                        "/close" => Response::builder()
                            .header("connection", "close")
                            .body(Full::new(Bytes::from_static(b"bye")))
                            .unwrap(),
                        "/slow" => {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            Response::new(Full::new(Bytes::from_static(b"ok")))
                        }
                        "/echo" => Response::new(Full::new(Bytes::from(format!(
                            "{} {:?}",
                            req.headers()["host"].to_str().unwrap(),
                            req.version()
                        )))),
                        _ => Response::new(Full::new(Bytes::from_static(b"ok"))),
                    };
                    Ok::<_, Infallible>(response)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, connections)
}

fn pool_for(addr: SocketAddr, max_idle: usize) -> Arc<Pool> {
    Pool::new(
        &addr.to_string().parse().unwrap(),
        max_idle,
        Duration::from_secs(30),
    )
}

/// A fresh upstream, a pool to it keeping `max_idle` connections, and the upstream's count of
/// connections accepted.
async fn pooled(max_idle: usize) -> (Arc<Pool>, Arc<AtomicUsize>) {
    let (addr, connections) = upstream().await;
    (pool_for(addr, max_idle), connections)
}

fn get(path: &str) -> Request<OutgoingBody> {
    Request::get(path)
        .body(
            Empty::<Bytes>::new()
                .map_err(|never| match never {})
                .boxed_unsync(),
        )
        .unwrap()
}

async fn body_of(pool: &Arc<Pool>, path: &str) -> Bytes {
    let response = pool.send(get(path)).await.unwrap();
    response.into_body().collect().await.unwrap().to_bytes()
}

fn opened(connections: &AtomicUsize) -> usize {
    connections.load(Ordering::SeqCst)
}

/// Waits (briefly) for the pool to hold `count` idle connections.
async fn idle_becomes(pool: &Pool, count: usize) {
    for _ in 0..100 {
        if pool.idle_count() == count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(pool.idle_count(), count, "idle connections");
}

#[tokio::test]
async fn a_connection_goes_back_once_its_answer_is_read_and_is_used_again() {
    let (pool, connections) = pooled(8).await;
    for path in ["/small", "/big", "/empty", "/small", "/big"] {
        let body = body_of(&pool, path).await;
        let expected = match path {
            "/big" => 256 * 1024,
            "/empty" => 0,
            _ => 2,
        };
        assert_eq!(body.len(), expected, "{path}");
        idle_becomes(&pool, 1).await;
    }
    assert_eq!(opened(&connections), 1, "one connection for all");
}

#[tokio::test]
async fn an_answer_dropped_half_read_takes_its_connection_with_it() {
    let (pool, connections) = pooled(8).await;
    let mut body = pool.send(get("/big")).await.unwrap().into_body();
    let first = body.frame().await.unwrap().unwrap();
    assert!(
        first.data_ref().unwrap().len() < 256 * 1024,
        "only part read"
    );
    drop(body);
    assert_eq!(
        pool.idle_count(),
        0,
        "the half-read connection is not pooled"
    );
    assert_eq!(body_of(&pool, "/small").await, "ok");
    assert_eq!(opened(&connections), 2);
}

#[tokio::test]
async fn a_connection_the_upstream_closes_is_replaced() {
    let (pool, connections) = pooled(8).await;
    assert_eq!(body_of(&pool, "/close").await, "bye");
    // Whether or not the closed connection was seen closed before the next checkout, the next
    // request goes out on a new one.
    assert_eq!(body_of(&pool, "/small").await, "ok");
    assert_eq!(opened(&connections), 2);
    idle_becomes(&pool, 1).await;
}

#[tokio::test]
async fn concurrent_requests_get_their_own_connections_and_at_most_max_idle_stay() {
    let (pool, connections) = pooled(2).await;
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move { body_of(&pool, "/slow").await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), "ok");
    }
    assert_eq!(opened(&connections), 5);
    idle_becomes(&pool, 2).await;
    // The kept ones are used again.
    assert_eq!(body_of(&pool, "/small").await, "ok");
    assert_eq!(opened(&connections), 5);
}

#[tokio::test]
async fn requests_go_out_as_http_1_1_with_the_upstreams_host() {
    let (addr, _) = upstream().await;
    let pool = pool_for(addr, 8);
    let mut req = get("/echo");
    *req.version_mut() = Version::HTTP_2;
    req.headers_mut()
        .insert("host", "shop.example.com".parse().unwrap());
    let response = pool.send(req).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, format!("{addr} HTTP/1.1"));
}

#[tokio::test]
async fn an_upstream_that_is_down_is_a_connect_error_naming_it_that_hands_the_request_back() {
    let port = shopctl_kit::testing::free_port();
    let pool = pool_for(SocketAddr::from(([127, 0, 0, 1], port)), 8);
    let err = pool.send(get("/small")).await.unwrap_err();
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    let SendError::Connect { request, .. } = err else {
        panic!("not a connect error: {err:?}");
    };
    assert_eq!(
        request.into_inner().uri(),
        "/small",
        "the unsent request comes back"
    );
}
