//! Alertmanager's API v2: the alerts firing now (active, neither silenced nor inhibited).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::event::{Event, Sender, Source, Update};
use crate::model::{Alert, SourceState};

/// Reads the firing alerts every `refresh` until the receiver is gone.
pub async fn watch(client: reqwest::Client, base: String, refresh: Duration, tx: Sender) {
    let mut ticker = tokio::time::interval(refresh);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let updates = match read(&client, &base).await {
            Ok(alerts) => [
                Update::Alerts(alerts),
                Update::Source(Source::Alerts, SourceState::Ok),
            ],
            Err(e) => [
                Update::Alerts(Vec::new()),
                Update::Source(
                    Source::Alerts,
                    SourceState::Failing(format!("Alertmanager at {base}: {e}")),
                ),
            ],
        };
        for update in updates {
            if tx.send(Event::from(update)).is_err() {
                return;
            }
        }
    }
}

/// The alerts firing now.
pub async fn read(client: &reqwest::Client, base: &str) -> Result<Vec<Alert>, String> {
    let response = client
        .get(format!("{}/api/v2/alerts", base.trim_end_matches('/')))
        .query(&[
            ("active", "true"),
            ("silenced", "false"),
            ("inhibited", "false"),
        ])
        .send()
        .await
        .map_err(|e| format!("not answering ({e})"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("answered {status}"));
    }
    let body: Value = response
        .json()
        .await
        .map_err(|e| format!("answered without JSON ({e})"))?;
    Ok(body
        .as_array()
        .map(|alerts| alerts.iter().map(alert).collect())
        .unwrap_or_default())
}

fn alert(value: &Value) -> Alert {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let labels: std::collections::BTreeMap<String, String> = value["labels"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), text(v))).collect())
        .unwrap_or_default();
    let annotations = &value["annotations"];
    Alert {
        name: labels.get("alertname").cloned().unwrap_or_default(),
        severity: labels
            .get("severity")
            .cloned()
            .unwrap_or_else(|| "none".to_owned()),
        service: labels.get("service").cloned(),
        since: value["startsAt"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc)),
        runbook: annotations["runbook"].as_str().map(str::to_owned),
        summary: text(&annotations["summary"]),
        description: text(&annotations["description"]),
        labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_reads_its_labels_and_annotations() {
        let a = alert(&serde_json::json!({
            "labels": {"alertname": "HighErrorRatio", "severity": "critical", "service": "payment"},
            "annotations": {"runbook": "high-error-ratio", "summary": "payment fails"},
            "startsAt": "2026-12-06T10:00:00Z"
        }));
        assert_eq!(a.name, "HighErrorRatio");
        assert_eq!(a.service.as_deref(), Some("payment"));
        assert_eq!(a.runbook.as_deref(), Some("high-error-ratio"));
        assert!(a.since.is_some());
    }
}
