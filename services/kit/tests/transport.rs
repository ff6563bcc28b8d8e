//! How connections are served: HTTPS from certificate files, and the limits that protect a
//! service from slow or greedy clients. Real sockets, a real TLS handshake with a certificate
//! generated for the test.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use axum::{Extension, Router, routing::get};
use shopctl_kit::{
    service::{ServeError, Tls, Transport},
    settings::CommonSettings,
    testing::{TestCertificate, TestServer},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

fn routes() -> Router {
    Router::new().route(
        "/hello",
        get(|tls: Option<Extension<Tls>>| async move {
            if tls.is_some() {
                "hello over tls"
            } else {
                "hello"
            }
        }),
    )
}

fn tls_settings(cert: &TestCertificate) -> CommonSettings {
    let mut settings = CommonSettings::defaults(0);
    settings.tls_cert_file = Some(cert.cert_file.clone());
    settings.tls_key_file = Some(cert.key_file.clone());
    settings
}

/// Writes `bytes` on a plain connection and reads until the server closes it (or 5 s pass).
async fn raw(server: &TestServer, bytes: &[u8]) -> (String, Duration) {
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(bytes).await.unwrap();
    let started = std::time::Instant::now();
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut response)).await;
    assert!(read.is_ok(), "the server kept the connection open");
    (
        String::from_utf8_lossy(&response).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn https_serves_with_the_configured_certificate() {
    let cert = TestCertificate::generate();
    let transport = Transport::from_settings("kittest", &tls_settings(&cert)).unwrap();
    assert!(transport.is_tls());
    let server = TestServer::spawn_with("kittest", routes(), transport).await;

    let response = cert
        .request(
            server.addr,
            "GET /hello HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n",
        )
        .await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("hello over tls"), "{response}");

    // Plain HTTP on the TLS port gets no HTTP answer.
    let (plain, _) = raw(&server, b"GET /hello HTTP/1.1\r\nhost: x\r\n\r\n").await;
    assert!(!plain.contains("hello"), "{plain}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn unusable_certificates_are_named_in_the_error() {
    let cert = TestCertificate::generate();
    let mut settings = tls_settings(&cert);
    let garbage = cert.dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    settings.tls_cert_file = Some(garbage);
    let err = Transport::from_settings("kittest", &settings).unwrap_err();
    assert!(matches!(err, ServeError::Tls { .. }));
    let message = err.to_string();
    assert!(message.contains("garbage.pem"), "{message}");
    assert!(message.contains("kittest"), "{message}");

    // A certificate with someone else's key.
    let other = rcgen::generate_simple_self_signed(vec!["other".to_owned()]).unwrap();
    let key = cert.dir.path().join("other-key.pem");
    std::fs::write(&key, other.signing_key.serialize_pem()).unwrap();
    let mut settings = tls_settings(&cert);
    settings.tls_key_file = Some(key);
    let message = Transport::from_settings("kittest", &settings)
        .unwrap_err()
        .to_string();
    assert!(message.contains("do not fit together"), "{message}");
}

fn limited(header_read_timeout_ms: u64) -> Transport {
    let mut settings = CommonSettings::defaults(0);
    settings.header_read_timeout_ms = header_read_timeout_ms;
    settings.max_header_bytes = 8 * 1024;
    Transport::from_settings("kittest", &settings).unwrap()
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_disconnected() {
    let server = TestServer::spawn_with("kittest", routes(), limited(300)).await;
    // The head never ends: the server must give up on its own.
    let (response, waited) = raw(&server, b"GET /hello HTTP/1.1\r\nhost: x\r\n").await;
    assert!(!response.contains("hello"), "{response}");
    assert!(waited < Duration::from_secs(4), "closed after {waited:?}");

    // An idle keep-alive connection is closed too, after a complete exchange.
    let (response, _) = raw(&server, b"GET /hello HTTP/1.1\r\nhost: x\r\n\r\n").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_oversized_request_head_gets_431() {
    let server = TestServer::spawn_with("kittest", routes(), limited(5_000)).await;
    let big = format!(
        "GET /hello HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let (response, _) = raw(&server, big.as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 431"), "{response}");

    // A head within the limit is served.
    let fine = format!(
        "GET /hello HTTP/1.1\r\nhost: x\r\nx-big: {}\r\nconnection: close\r\n\r\n",
        "a".repeat(4_000)
    );
    let (response, _) = raw(&server, fine.as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    server.stop().await.unwrap();
}

/// A service serving HTTPS says when its certificate expires, for the CertificateExpiringSoon
/// alert; one serving plain HTTP says nothing of the kind.
#[test]
fn the_served_certificate_s_expiry_is_a_metric() {
    use shopctl_kit::{ServiceContext, auth::Auth, metrics::Metrics};
    let cert = TestCertificate::generate();
    let metrics = Metrics::new("kittest");
    let _ctx = ServiceContext::new(
        "kittest",
        &tls_settings(&cert),
        None,
        metrics.clone(),
        Auth::new(shopctl_kit::auth::BootstrapToken(None)),
    );
    // rcgen's certificates are valid until 4096-01-01T00:00:00Z.
    let text = metrics.render();
    assert!(
        text.contains("tls_certificate_not_after_seconds 67090118400\n"),
        "{text}"
    );
    let plain = Metrics::new("kittest");
    let _ctx = ServiceContext::new(
        "kittest",
        &CommonSettings::defaults(0),
        None,
        plain.clone(),
        Auth::new(shopctl_kit::auth::BootstrapToken(None)),
    );
    assert!(!plain.render().contains("tls_certificate"));
}
