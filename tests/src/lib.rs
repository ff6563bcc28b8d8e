//! Test support shared by the cross-service suites: every shopctl service, spawnable on a random
//! port with a fresh database. A new service adds one entry to [`services`] and is then held to
//! the conformance suite (`e2e/conformance.rs`) like the others.
#![allow(clippy::missing_panics_doc)]

pub mod shop;

use std::{future::Future, path::PathBuf, pin::Pin};

use secrecy::ExposeSecret;
use shopctl_kit::{
    settings::ConfigSource,
    testing::{TestBackend, TestDatabase, TestServer},
};

/// Taken by the tests that load the machine to its limit (500 concurrent checkouts, a wrk run),
/// so that two of them never share the two cores: each asserts on work that must finish in
/// bounded time (a saga settling), which a neighbour saturating the CPU and the database's
/// connections can starve.
pub static SATURATING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Bearer token with the admin role in every spawned service.
pub const ADMIN_TOKEN: &str = "conformance-admin-token-0123456789";

/// A running service under test, with the database it owns.
#[derive(Debug)]
pub struct Spawned {
    /// The server.
    pub server: TestServer,
    /// Its database (dropped with it).
    pub db: TestDatabase,
    /// Its data directory, when it has one (removed with it).
    pub data: Option<tempfile::TempDir>,
}

/// A service the platform runs.
pub struct Service {
    /// Name (`product`), as in `shopctl serve <name>`.
    pub name: &'static str,
    /// The committed OpenAPI document, relative to the workspace root.
    pub openapi_file: &'static str,
    spawn: fn(TestDatabase) -> Pin<Box<dyn Future<Output = Spawned> + Send>>,
}

impl Service {
    /// Starts the service on a fresh database of the backend chosen by the environment.
    pub async fn spawn(&self) -> Spawned {
        (self.spawn)(TestDatabase::new(TestBackend::from_env()).await).await
    }
}

/// Common settings every service gets in tests.
pub fn test_source(db: &TestDatabase) -> ConfigSource {
    ConfigSource::default()
        .with("port", 0)
        .with("database_url", db.url.expose_secret().to_owned())
        .with("admin_token", ADMIN_TOKEN)
        .with("service_key", shopctl_kit::testing::SERVICE_KEY)
        .with("environment", "test")
        .with("log", "warn")
}

/// `fn spawn_<service>`: the service's own entry point (`app`, loops included) on `db`, with a
/// data directory of its own.
macro_rules! spawner {
    ($name:ident, $service:ident) => {
        fn $name(db: TestDatabase) -> Pin<Box<dyn Future<Output = Spawned> + Send>> {
            Box::pin(async move {
                let data = tempfile::tempdir().expect("a temporary data directory");
                let source = test_source(&db).with("data_dir", data.path().display().to_string());
                let settings = $service::load_settings(&source).expect("settings");
                let app = $service::app(&settings).await.expect("the service builds");
                Spawned {
                    server: TestServer::spawn_app($service::NAME, app).await,
                    db,
                    data: Some(data),
                }
            })
        }
    };
}

spawner!(spawn_product, shopctl_product);
spawner!(spawn_user, shopctl_user);
spawner!(spawn_inventory, shopctl_inventory);
spawner!(spawn_payment, shopctl_payment);
spawner!(spawn_order, shopctl_order);
spawner!(spawn_notification, shopctl_notification);

/// Every service of the platform.
pub fn services() -> Vec<Service> {
    vec![
        Service {
            name: shopctl_product::NAME,
            openapi_file: "services/product/openapi.json",
            spawn: spawn_product,
        },
        Service {
            name: shopctl_user::NAME,
            openapi_file: "services/user/openapi.json",
            spawn: spawn_user,
        },
        Service {
            name: shopctl_inventory::NAME,
            openapi_file: "services/inventory/openapi.json",
            spawn: spawn_inventory,
        },
        Service {
            name: shopctl_payment::NAME,
            openapi_file: "services/payment/openapi.json",
            spawn: spawn_payment,
        },
        Service {
            name: shopctl_order::NAME,
            openapi_file: "services/order/openapi.json",
            spawn: spawn_order,
        },
        Service {
            name: shopctl_notification::NAME,
            openapi_file: "services/notification/openapi.json",
            spawn: spawn_notification,
        },
    ]
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}
