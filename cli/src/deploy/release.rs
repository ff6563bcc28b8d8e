//! Releases in the cluster: each deploy is a revision kept in a Secret of the namespace
//! (`shopctl-release-v<N>`: what was applied, by whom, when, the values' hash, how it ended), so
//! `history` and `rollback` need nothing but the cluster; and a Lease (`shopctl-deploy`) that
//! keeps two deploys from running at once, which a later deploy may break only when its holder
//! has been silent longer than the lease and only when told to.

use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::{
    ByteString,
    api::{coordination::v1::Lease, core::v1::Secret},
    apimachinery::pkg::apis::meta::v1::MicroTime,
};
use kube::{
    Api, Client,
    api::{DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams},
};
use serde::{Deserialize, Serialize};

use super::render::Manifest;
use super::secrets::FIELD_MANAGER;

/// The label every release Secret carries.
pub const RELEASE_LABEL: &str = "shopctl.dev/release";

/// The Lease that serialises deploys.
pub const LOCK: &str = "shopctl-deploy";

/// How a revision stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Being deployed (or the deploy died: the lock says whether one runs).
    Pending,
    /// Deployed and current.
    Deployed,
    /// Deployed, then replaced by a later deployed revision.
    Superseded,
    /// Did not roll out.
    Failed,
}

impl Status {
    /// Its word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Deployed => "deployed",
            Self::Superseded => "superseded",
            Self::Failed => "failed",
        }
    }
}

/// One revision of the shop in a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    /// Its number, from 1.
    pub revision: u32,
    /// How it stands.
    pub status: Status,
    /// When it started.
    pub at: DateTime<Utc>,
    /// Who deployed it.
    pub actor: String,
    /// The hash of the values it was rendered from.
    pub values_hash: String,
    /// How many objects it applies.
    pub objects: usize,
    /// What happened (why it failed, what it rolled back to).
    pub note: String,
}

/// The history as a table.
pub fn table(revisions: &[Revision]) -> String {
    use std::fmt::Write as _;
    let mut text = format!(
        "{:>8}  {:<10}  {:<20}  {:<18}  {:>7}  NOTE",
        "REVISION", "STATUS", "AT", "ACTOR", "OBJECTS"
    );
    for r in revisions {
        let _ = write!(
            text,
            "\n{:>8}  {:<10}  {:<20}  {:<18}  {:>7}  {}",
            r.revision,
            r.status.as_str(),
            r.at.format("%Y-%m-%dT%H:%M:%SZ"),
            r.actor,
            r.objects,
            r.note
        );
    }
    text
}

fn secret_name(revision: u32) -> String {
    format!("shopctl-release-v{revision}")
}

/// Every revision, oldest first.
pub async fn history(client: &Client, namespace: &str) -> anyhow::Result<Vec<Revision>> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let found = secrets
        .list(&ListParams::default().labels(&format!("{RELEASE_LABEL}=true")))
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the release history in {namespace}: {e}"))?;
    let mut revisions: Vec<Revision> = found
        .items
        .iter()
        .filter_map(|s| s.data.as_ref()?.get("revision.json"))
        .filter_map(|b| serde_json::from_slice(&b.0).ok())
        .collect();
    revisions.sort_by_key(|r| r.revision);
    Ok(revisions)
}

/// The manifests revision `revision` applied.
pub async fn manifests(
    client: &Client,
    namespace: &str,
    revision: u32,
) -> anyhow::Result<Vec<Manifest>> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = secrets
        .get_opt(&secret_name(revision))
        .await?
        .ok_or_else(|| anyhow::anyhow!("revision {revision} is not in the history of {namespace}; `shopctl history` lists them"))?;
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get("manifests.json"))
        .ok_or_else(|| anyhow::anyhow!("revision {revision} keeps no manifests"))?;
    Ok(serde_json::from_slice(&bytes.0)?)
}

/// Writes `revision` (and what it applies) to its Secret.
pub async fn record(
    client: &Client,
    namespace: &str,
    revision: &Revision,
    applied: &[Manifest],
) -> anyhow::Result<()> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let name = secret_name(revision.revision);
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(namespace.to_owned()),
            labels: Some(
                [
                    (RELEASE_LABEL.to_owned(), "true".to_owned()),
                    (
                        "app.kubernetes.io/managed-by".to_owned(),
                        "shopctl".to_owned(),
                    ),
                ]
                .into(),
            ),
            ..ObjectMeta::default()
        },
        type_: Some("shopctl.dev/release".to_owned()),
        data: Some(
            [
                (
                    "revision.json".to_owned(),
                    ByteString(serde_json::to_vec(revision)?),
                ),
                (
                    "manifests.json".to_owned(),
                    ByteString(serde_json::to_vec(applied)?),
                ),
            ]
            .into(),
        ),
        ..Secret::default()
    };
    let mut body = serde_json::to_value(&secret)?;
    body["apiVersion"] = serde_json::json!("v1");
    body["kind"] = serde_json::json!("Secret");
    secrets
        .patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&body),
        )
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot record revision {} in {namespace}: {e}",
                revision.revision
            )
        })?;
    Ok(())
}

/// Takes the deploy lock of `namespace` for `holder`, for `hold` (renewed by nobody: a deploy
/// takes at most its timeout). A lock held by another deploy is refused, naming it; a stale
/// one (silent longer than its duration) only with `break_stale`.
pub async fn lock(
    client: &Client,
    namespace: &str,
    holder: &str,
    hold: Duration,
    break_stale: bool,
) -> anyhow::Result<()> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), namespace);
    let now = k8s_openapi::jiff::Timestamp::now();
    let seconds = i32::try_from(hold.as_secs().max(1)).unwrap_or(i32::MAX);
    let mut lease = Lease {
        metadata: ObjectMeta {
            name: Some(LOCK.to_owned()),
            namespace: Some(namespace.to_owned()),
            labels: Some(
                [(
                    "app.kubernetes.io/managed-by".to_owned(),
                    "shopctl".to_owned(),
                )]
                .into(),
            ),
            ..ObjectMeta::default()
        },
        spec: Some(k8s_openapi::api::coordination::v1::LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            acquire_time: Some(MicroTime(now)),
            renew_time: Some(MicroTime(now)),
            lease_duration_seconds: Some(seconds),
            ..Default::default()
        }),
    };
    match leases.create(&PostParams::default(), &lease).await {
        Ok(_) => return Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(e) => anyhow::bail!("cannot take the deploy lock in {namespace}: {e}"),
    }
    let current = leases.get(LOCK).await?;
    let spec = current.spec.clone().unwrap_or_default();
    let other = spec
        .holder_identity
        .clone()
        .unwrap_or_else(|| "someone".to_owned());
    let since = spec
        .renew_time
        .as_ref()
        .or(spec.acquire_time.as_ref())
        .map(|t| t.0);
    let lasts = i64::from(spec.lease_duration_seconds.unwrap_or(0));
    let stale = since.is_none_or(|t| now.as_second() - t.as_second() > lasts);
    let when = since.map_or_else(|| "an unknown time".to_owned(), |t| t.to_string());
    if !stale {
        anyhow::bail!(
            "a deploy by {other} holds the lock of {namespace} since {when}; wait for it to end (`shopctl history` shows it)"
        );
    }
    if !break_stale {
        anyhow::bail!(
            "the deploy lock of {namespace} is held by {other} since {when}, longer than its {lasts} s: if that deploy is gone, run again with --break-lock"
        );
    }
    lease.metadata.resource_version = current.metadata.resource_version;
    leases
        .replace(LOCK, &PostParams::default(), &lease)
        .await
        .map_err(|e| anyhow::anyhow!("cannot break the stale deploy lock of {namespace}: {e}"))?;
    Ok(())
}

/// Gives the lock back.
pub async fn unlock(client: &Client, namespace: &str) -> anyhow::Result<()> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), namespace);
    match leases.delete(LOCK, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(anyhow::anyhow!(
            "cannot release the deploy lock of {namespace}: {e}"
        )),
    }
}
