//! Test support: a fresh database per test (SQLite file or a new PostgreSQL database) and a
//! service spawned on a random port. Enabled with the `testing` feature.
//!
//! `SHOPCTL_TEST_DATABASE=postgres` makes [`TestBackend::from_env`] pick PostgreSQL at
//! `SHOPCTL_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`); an
//! unreachable server fails the test rather than skipping it.

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use axum::Router;
use secrecy::SecretString;
// Database names here are generated (`shopctl_test_<uuid>`), never caller input.
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use tokio::{sync::oneshot, task::JoinHandle};

use crate::service::{ServeError, Server};

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A new database on the local PostgreSQL server.
    Postgres,
}

impl TestBackend {
    /// `SHOPCTL_TEST_DATABASE` (`sqlite`, the default, or `postgres`).
    pub fn from_env() -> Self {
        match std::env::var("SHOPCTL_TEST_DATABASE").as_deref() {
            Ok("postgres") => Self::Postgres,
            Ok("sqlite" | "") | Err(_) => Self::Sqlite,
            Ok(other) => panic!("SHOPCTL_TEST_DATABASE={other}: use `sqlite` or `postgres`"),
        }
    }
}

/// URL of the PostgreSQL maintenance database used to create test databases.
pub fn postgres_admin_url() -> String {
    std::env::var("SHOPCTL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database that exists for one test and is removed afterwards.
#[derive(Debug)]
pub struct TestDatabase {
    /// Connection URL for the service under test.
    pub url: SecretString,
    /// The backend.
    pub backend: TestBackend,
    dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDatabase {
    /// Creates a fresh, empty database.
    pub async fn new(backend: TestBackend) -> Self {
        match backend {
            TestBackend::Sqlite => {
                let dir = tempfile::tempdir().expect("create a temporary directory");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Self {
                    url: SecretString::from(url),
                    backend,
                    dir: Some(dir),
                    pg_name: None,
                }
            }
            TestBackend::Postgres => {
                let admin = postgres_admin_url();
                let name = format!("shopctl_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|err| {
                    panic!(
                        "PostgreSQL at {admin} is required for this test and is unreachable: {err}"
                    )
                });
                conn.execute(AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
                    .await
                    .expect("create the test database");
                let base = admin
                    .rsplit_once('/')
                    .map_or(admin.as_str(), |(base, _)| base);
                Self {
                    url: SecretString::from(format!("{base}/{name}")),
                    backend,
                    dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }

    /// The temporary directory of a SQLite test database.
    pub fn dir(&self) -> Option<&std::path::Path> {
        self.dir.as_ref().map(tempfile::TempDir::path)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs outside async context; a short-lived runtime on its own thread does the
        // clean-up so a test's runtime is never blocked from inside.
        let admin = postgres_admin_url();
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect(&admin).await {
                    let _ = conn
                        .execute(AssertSqlSafe(format!(
                            r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
                        )))
                        .await;
                }
            });
        })
        .join();
    }
}

/// A service serving on a random local port until stopped or dropped.
#[derive(Debug)]
pub struct TestServer {
    /// Bound address.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<Result<(), ServeError>>>,
    /// The app's background loops when it was spawned with them; dropping asks them to stop.
    loops: Option<crate::service::Loops>,
}

impl TestServer {
    /// Binds port 0 on loopback and serves `router` in the background.
    pub async fn spawn(name: &'static str, router: Router) -> Self {
        Self::spawn_with(name, router, crate::service::Transport::default()).await
    }

    /// Serves `app`'s router and starts its loops (relays, resumers, sweepers), as `serve`
    /// does; [`TestServer::stop`] stops them after the server has drained.
    pub async fn spawn_app(name: &'static str, app: crate::service::App) -> Self {
        let (router, loops) = app.start();
        let mut server = Self::spawn(name, router).await;
        server.loops = Some(loops);
        server
    }

    /// As [`TestServer::spawn`], serving with `transport` (TLS, limits). `url` stays `http://`;
    /// TLS clients connect to `addr`.
    pub async fn spawn_with(
        name: &'static str,
        router: Router,
        transport: crate::service::Transport,
    ) -> Self {
        let server = Server::bind(name, SocketAddr::from(([127, 0, 0, 1], 0)), router)
            .await
            .expect("bind a test port")
            .with_transport(transport);
        let addr = server.local_addr();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(server.run(async move {
            let _ = rx.await;
        }));
        Self {
            addr,
            url: format!("http://{addr}"),
            shutdown: Some(tx),
            handle: Some(handle),
            loops: None,
        }
    }

    /// The server's `/metrics` page, as text.
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.url))
            .await
            .expect("the metrics page answers")
            .text()
            .await
            .expect("the metrics page is text")
    }

    /// Asks the server to shut down gracefully and waits until it has drained.
    pub async fn stop(mut self) -> Result<(), ServeError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let served = match self.handle.take() {
            Some(handle) => handle.await.expect("server task panicked"),
            None => Ok(()),
        };
        if let Some(loops) = self.loops.take() {
            loops.stop().await;
        }
        served
    }

    /// Sends the shutdown signal without waiting.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Waits for the server task to finish.
    pub async fn join(mut self) -> Result<(), ServeError> {
        match self.handle.take() {
            Some(handle) => handle.await.expect("server task panicked"),
            None => Ok(()),
        }
    }
}

/// A self-signed certificate for `localhost`, written as PEM files in a temporary directory.
pub struct TestCertificate {
    /// Directory holding the files (removed on drop).
    pub dir: tempfile::TempDir,
    /// PEM certificate.
    pub cert_file: std::path::PathBuf,
    /// PEM private key.
    pub key_file: std::path::PathBuf,
    /// The certificate, for a client's root store.
    pub der: rustls_pki_types::CertificateDer<'static>,
}

impl TestCertificate {
    /// Generates one.
    pub fn generate() -> Self {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("generate a certificate");
        let dir = tempfile::tempdir().expect("temporary directory");
        let cert_file = dir.path().join("cert.pem");
        let key_file = dir.path().join("key.pem");
        std::fs::write(&cert_file, generated.cert.pem()).expect("write the certificate");
        std::fs::write(&key_file, generated.signing_key.serialize_pem()).expect("write the key");
        Self {
            dir,
            cert_file,
            key_file,
            der: generated.cert.der().clone(),
        }
    }

    /// Sends the raw HTTP/1.1 `request` to `addr` over TLS, trusting only this certificate, and
    /// returns the raw response (the request should say `connection: close`).
    pub async fn request(&self, addr: SocketAddr, request: &str) -> String {
        use std::sync::Arc;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio_rustls::rustls;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.der.clone()).expect("a valid certificate");
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let name = rustls_pki_types::ServerName::try_from("localhost").expect("a DNS name");
        let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
        tls.write_all(request.as_bytes()).await.expect("send");
        let mut response = String::new();
        tls.read_to_string(&mut response).await.expect("receive");
        response
    }
}

/// An organisation's identity provider, for tests: its own key pair, signing tokens the way
/// Azure AD B2C (RS256) or an ES256 provider would, and publishing them as a JWKS.
pub struct TestIdp {
    alg: jsonwebtoken::Algorithm,
    key: jsonwebtoken::EncodingKey,
    jwk: crate::jwt::Jwk,
}

impl TestIdp {
    /// An RS256 provider. The 2048-bit key is a fixture (generating RSA keys is slow and needs
    /// another crate); it is a test key and protects nothing.
    pub fn rs256() -> Self {
        let pem = include_str!("../fixtures/test-idp-rsa.pem");
        let jwk = serde_json::from_str(include_str!("../fixtures/test-idp-rsa.jwk.json"))
            .expect("the fixture JWK parses");
        Self {
            alg: jsonwebtoken::Algorithm::RS256,
            key: jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes())
                .expect("the fixture key parses"),
            jwk,
        }
    }

    /// An ES256 (P-256) provider with a fresh key.
    pub fn es256() -> Self {
        use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .expect("generate a P-256 key");
        // Uncompressed point: 0x04 || x || y.
        let point = pair.public_key_raw();
        let jwk = crate::jwt::Jwk {
            kty: "EC".to_owned(),
            crv: "P-256".to_owned(),
            x: URL_SAFE_NO_PAD.encode(&point[1..33]),
            y: URL_SAFE_NO_PAD.encode(&point[33..65]),
            n: String::new(),
            e: String::new(),
            kid: uuid::Uuid::new_v4().simple().to_string(),
            alg: Some("ES256".to_owned()),
            use_: Some("sig".to_owned()),
        };
        Self {
            alg: jsonwebtoken::Algorithm::ES256,
            key: jsonwebtoken::EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes())
                .expect("a PKCS#8 P-256 key"),
            jwk,
        }
    }

    /// The public key.
    pub fn jwk(&self) -> crate::jwt::Jwk {
        self.jwk.clone()
    }

    /// Signs any claims (so tests can send what real providers send: audience lists, roles
    /// of their own).
    pub fn sign(&self, claims: &impl serde::Serialize) -> String {
        let mut header = jsonwebtoken::Header::new(self.alg);
        header.kid = Some(self.jwk.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).expect("sign")
    }

    /// Serves the JWKS at `/keys` on a random port.
    pub async fn serve(&self) -> TestServer {
        let set = std::sync::Arc::new(crate::jwt::JwkSet {
            keys: vec![self.jwk()],
        });
        let router = Router::new().route(
            "/keys",
            axum::routing::get(move || {
                let set = set.clone();
                async move { axum::Json(set.as_ref().clone()) }
            }),
        );
        TestServer::spawn("idp", router).await
    }
}

/// Checks that a service's committed `openapi.json` (in `manifest_dir`) matches the document its
/// code generates, rewriting it first when `SHOPCTL_BLESS` is set; returns the document.
pub fn check_openapi(
    doc: &utoipa::openapi::OpenApi,
    manifest_dir: &str,
    package: &str,
) -> serde_json::Value {
    let generated = serde_json::to_string_pretty(doc).expect("the document serializes") + "\n";
    let path = std::path::Path::new(manifest_dir).join("openapi.json");
    if std::env::var_os("SHOPCTL_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date: run `SHOPCTL_BLESS=1 cargo test -p {package} --test api openapi` and commit it",
        path.display()
    );
    let value: serde_json::Value = serde_json::from_str(&generated).expect("valid JSON");
    assert!(
        value["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "OpenAPI 3.1"
    );
    value
}

/// The platform service key services share in tests (32 bytes, base64url).
pub const SERVICE_KEY: &str = "c2hvcGN0bC10ZXN0LXNlcnZpY2Uta2V5LTMyYnl0ZXM";

/// A service token from `caller` for `audience`, signed with [`SERVICE_KEY`].
pub fn service_token(caller: &str, audience: &str) -> String {
    let mut settings = crate::settings::CommonSettings::defaults(0);
    settings.service_key = Some(SecretString::from(SERVICE_KEY));
    crate::jwt::ServiceTokens::from_settings(caller, &settings)
        .expect("the test service key is valid")
        .mint(audience)
        .expect("sign a service token")
}

/// A loopback port nothing listens on (at the moment of asking).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("test set-up");
    listener.local_addr().expect("test set-up").port()
}

static AIOSMTPD: std::sync::Once = std::sync::Once::new();

/// Makes sure the Python SMTP server `aiosmtpd` is importable, installing it with
/// `python3 -m pip install --quiet aiosmtpd` when it is not (once per test run). The SMTP tests
/// need `python3` with pip and access to PyPI the first time.
fn ensure_aiosmtpd() {
    AIOSMTPD.call_once(|| {
        let importable = |python: &str| {
            Command::new(python)
                .args(["-c", "import aiosmtpd"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        };
        if importable("python3") {
            return;
        }
        let installed = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "aiosmtpd"])
            .stdout(Stdio::null())
            .status()
            .expect("run python3 -m pip");
        assert!(
            installed.success() && importable("python3"),
            "the SMTP tests need aiosmtpd: `python3 -m pip install aiosmtpd` failed"
        );
    });
}

/// A real SMTP server (aiosmtpd) on loopback that stores every message it accepts in a Maildir.
/// The child process is killed when this is dropped.
pub struct SmtpServer {
    child: Child,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    /// Starts the server on `port` and waits until it accepts connections.
    pub async fn start(port: u16) -> Self {
        ensure_aiosmtpd();
        let dir = tempfile::tempdir().expect("test set-up");
        let maildir = dir.path().join("maildir");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).expect("test set-up");
        }
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python3 -m aiosmtpd");
        let mut server = Self {
            child,
            maildir,
            _dir: dir,
        };
        server.wait_until_listening(port).await;
        server
    }

    async fn wait_until_listening(&mut self, port: u16) {
        for _ in 0..200 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("aiosmtpd exited early with {status}");
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("aiosmtpd did not listen on port {port} within 10 s");
    }

    /// The messages delivered so far (the files in `maildir/new`), as text.
    pub fn messages(&self) -> Vec<String> {
        messages_in(&self.maildir.join("new"))
    }
}

fn messages_in(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .collect()
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Installs JSON logging for tests when `TEST_LOG` is set; silent otherwise.
pub fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        crate::telemetry::init("test", "debug", crate::telemetry::LogTarget::Stdout);
    }
}
