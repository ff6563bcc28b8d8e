//! Writes paused across the running shop for a backup's consistency point, through every
//! database service's `/admin/maintenance`: the order service first (no checkout starts, and its
//! sagas under way finish their step), then the services its sagas call, and the rest. Each
//! pause ends by itself after [`PAUSE_FOR`], so a backup that dies mid-way leaves a shop that
//! takes writes again a minute later without anyone's help.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::platform::target::Shop;

/// How long each service keeps writes paused unless resumed first.
pub const PAUSE_FOR: Duration = Duration::from_secs(60);

/// The services paused, in order: the order service's sagas call the others.
pub const ORDER: [&str; 6] = [
    "order",
    "inventory",
    "payment",
    "user",
    "product",
    "notification",
];

/// Writes paused on the services of a shop; [`Paused::resume`] ends it.
#[derive(Debug)]
pub struct Paused {
    client: reqwest::Client,
    token: String,
    /// The services paused so far, in the order they were.
    services: Vec<(&'static str, String)>,
    started: Instant,
}

/// Pauses writes on every database service of `shop`, each drained of the work it had in hand.
/// A service that cannot be paused or does not drain resumes every one paused before it.
pub(crate) async fn pause(shop: &Shop) -> anyhow::Result<Paused> {
    let token = shop.admin_token.clone().ok_or_else(|| {
        anyhow::anyhow!(
            "no admin token to pause the shop's writes with; pass --admin-token or the --data-dir of `shopctl up`"
        )
    })?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()?;
    let mut paused = Paused {
        client,
        token,
        services: Vec::new(),
        started: Instant::now(),
    };
    for service in ORDER {
        let Some(url) = shop.url(service) else {
            continue;
        };
        match paused.pause_one(service, url).await {
            Ok(()) => paused.services.push((service, url.to_owned())),
            Err(e) => {
                let _ = paused.resume().await;
                return Err(e);
            }
        }
    }
    Ok(paused)
}

impl Paused {
    async fn pause_one(&self, service: &str, url: &str) -> anyhow::Result<()> {
        let answer = self
            .client
            .put(format!("{url}/admin/maintenance"))
            .bearer_auth(&self.token)
            .json(&json!({"pause_secs": PAUSE_FOR.as_secs()}))
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!("cannot pause writes of the {service} service at {url}: {e}")
            })?;
        let status = answer.status();
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            anyhow::bail!(
                "the {service} service refused to pause its writes ({status}): {}",
                body["detail"].as_str().unwrap_or("no detail")
            );
        }
        if body["drained"] != true {
            anyhow::bail!(
                "the {service} service still had {} piece(s) of work under way after 10 s; writes are resumed, try again",
                body["in_flight"]
            );
        }
        Ok(())
    }

    /// Takes writes again everywhere, in the reverse order; returns how long they were paused
    /// and the services that could not be told (their pause ends by itself).
    pub async fn resume(self) -> (Duration, Vec<&'static str>) {
        let paused_for = self.started.elapsed();
        let mut untold = Vec::new();
        for (service, url) in self.services.iter().rev() {
            let resumed = self
                .client
                .delete(format!("{url}/admin/maintenance"))
                .bearer_auth(&self.token)
                .send()
                .await;
            if !resumed.is_ok_and(|answer| answer.status().is_success()) {
                untold.push(*service);
            }
        }
        (paused_for, untold)
    }
}
