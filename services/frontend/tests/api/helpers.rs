use shopctl_kit::{
    settings::ConfigSource,
    testing::{SERVICE_KEY, TestServer, free_port},
};

/// A storefront whose services are all unreachable.
pub(crate) struct App {
    pub(crate) server: TestServer,
    /// A client that keeps cookies and does not follow redirects.
    pub(crate) client: reqwest::Client,
}

pub(crate) async fn spawn_app() -> App {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let mut source = ConfigSource::default()
        .with("port", 0)
        .with("log", "warn")
        .with("environment", "test")
        .with("service_key", SERVICE_KEY)
        .with("upstream_timeout_ms", 500);
    for name in shopctl_frontend::settings::UPSTREAMS {
        source = source.with(&format!("upstreams.{name}"), closed.clone());
    }
    let settings = shopctl_frontend::load_settings(&source).unwrap();
    let server =
        TestServer::spawn_app("frontend", shopctl_frontend::app(&settings).await.unwrap()).await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    App { server, client }
}

impl App {
    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.server.url))
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.server.url))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// The CSRF token of the page at `path` (this client's session).
    pub(crate) async fn csrf(&self, path: &str) -> String {
        let html = self.get(path).await.text().await.unwrap();
        let at = html
            .find(r#"name="csrf" value=""#)
            .expect("a form with a CSRF token")
            + 19;
        html[at..].split('"').next().unwrap().to_owned()
    }
}
