//! The values a Kubernetes rendering takes (`--values FILE`, TOML): the image, replicas,
//! resources, the ingress host and the names of the Secrets the pods read. Every key is
//! optional but the image's tag must be there; an unknown key or a wrong type is an error that
//! names it.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Everything a rendering is made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Values {
    /// The namespace of the shop.
    pub namespace: String,
    /// `production` or `dev` (what the services' `environment` is).
    pub environment: String,
    /// The image every pod runs, with its tag (`registry.example.com/shopctl:0.1.0`) or digest.
    pub image: String,
    /// `IfNotPresent`, `Always` or `Never`.
    pub pull_policy: String,
    /// Replicas of each service.
    pub replicas: Replicas,
    /// Requests and limits of each container.
    pub resources: Resources,
    /// The public entrance.
    pub ingress: Ingress,
    /// The Secrets the pods read.
    pub secrets: Secrets,
    /// The PostgreSQL image of `--with-postgres` (development clusters).
    pub postgres_image: String,
}

/// How many replicas, and when the autoscaler adds more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Replicas {
    /// At least this many (also the Deployment's initial count).
    pub min: u32,
    /// At most this many.
    pub max: u32,
    /// Average CPU utilisation, in percent of the request, the autoscaler aims for.
    pub cpu_target: u32,
}

/// One container's requests and limits, as Kubernetes quantities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Resources {
    /// CPU request (`100m`).
    pub cpu_request: String,
    /// Memory request (`128Mi`).
    pub memory_request: String,
    /// CPU limit.
    pub cpu_limit: String,
    /// Memory limit.
    pub memory_limit: String,
}

/// The Ingress in front of the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ingress {
    /// The shop's host name.
    pub host: String,
    /// The Secret with its TLS certificate and key.
    pub tls_secret: String,
    /// The ingress class.
    pub class: String,
    /// The namespace of the ingress controller (allowed to reach the gateway).
    pub controller_namespace: String,
    /// The namespace of Prometheus (allowed to scrape every pod).
    pub prometheus_namespace: String,
}

/// Secret references: names and keys only, never a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Secrets {
    /// The Secret with keys `service_key` and `admin_token`.
    pub platform: String,
    /// The Secret with one key per service with a database, its database URL.
    pub databases: String,
    /// The Secret with the password of `--with-postgres`'s PostgreSQL (key `password`).
    pub postgres: String,
}

impl Default for Values {
    fn default() -> Self {
        Self {
            namespace: "shopctl".to_owned(),
            environment: "production".to_owned(),
            image: format!("shopctl:{}", env!("CARGO_PKG_VERSION")),
            pull_policy: "IfNotPresent".to_owned(),
            replicas: Replicas::default(),
            resources: Resources::default(),
            ingress: Ingress::default(),
            secrets: Secrets::default(),
            postgres_image: "postgres:17".to_owned(),
        }
    }
}

impl Default for Replicas {
    fn default() -> Self {
        Self {
            min: 2,
            max: 10,
            cpu_target: 70,
        }
    }
}

impl Default for Resources {
    fn default() -> Self {
        Self {
            cpu_request: "100m".to_owned(),
            memory_request: "128Mi".to_owned(),
            cpu_limit: "1".to_owned(),
            memory_limit: "256Mi".to_owned(),
        }
    }
}

impl Default for Ingress {
    fn default() -> Self {
        Self {
            host: "shop.example.com".to_owned(),
            tls_secret: "shopctl-tls".to_owned(),
            class: "nginx".to_owned(),
            controller_namespace: "ingress-nginx".to_owned(),
            prometheus_namespace: "monitoring".to_owned(),
        }
    }
}

impl Default for Secrets {
    fn default() -> Self {
        Self {
            platform: "shopctl-secrets".to_owned(),
            databases: "shopctl-databases".to_owned(),
            postgres: "shopctl-postgres".to_owned(),
        }
    }
}

impl Values {
    /// Reads `path`; the error names the file, the key and what is wrong, on one line.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let values: Self = toml::from_str(&text).map_err(|e| {
            let what = e.message().replace('\n', " ");
            let at = e
                .span()
                .map(|span| {
                    let line = text[..span.start].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            anyhow::anyhow!("{}{at}: {what}", path.display())
        })?;
        values.check()?;
        Ok(values)
    }

    /// Refuses what would render into objects Kubernetes refuses, or into a shop that cannot
    /// run: an image without a tag, a replica range upside down, an unknown environment.
    pub fn check(&self) -> anyhow::Result<()> {
        if !has_tag(&self.postgres_image) {
            anyhow::bail!(
                "postgres_image `{}` has no tag: name the release, e.g. `postgres:17`",
                self.postgres_image
            );
        }
        if !has_tag(&self.image) {
            anyhow::bail!(
                "image `{}` has no tag: name the release, e.g. `image = \"{}:{}\"`, so that a deploy is repeatable",
                self.image,
                self.image,
                env!("CARGO_PKG_VERSION")
            );
        }
        if !matches!(
            self.pull_policy.as_str(),
            "IfNotPresent" | "Always" | "Never"
        ) {
            anyhow::bail!(
                "pull_policy `{}` is not IfNotPresent, Always or Never",
                self.pull_policy
            );
        }
        if !matches!(self.environment.as_str(), "production" | "dev") {
            anyhow::bail!(
                "environment `{}` is neither production nor dev",
                self.environment
            );
        }
        if self.replicas.min == 0 || self.replicas.min > self.replicas.max {
            anyhow::bail!(
                "replicas: min {} and max {} must satisfy 1 <= min <= max",
                self.replicas.min,
                self.replicas.max
            );
        }
        if !(1..=100).contains(&self.replicas.cpu_target) {
            anyhow::bail!(
                "replicas.cpu_target {} is not a percentage between 1 and 100",
                self.replicas.cpu_target
            );
        }
        if !is_dns_label(&self.namespace) {
            anyhow::bail!(
                "namespace `{}` is not a DNS label (lower-case letters, digits and '-', at most 63)",
                self.namespace
            );
        }
        Ok(())
    }
}

/// Whether `image` names a tag (`repo:tag`, the last path segment's) or a digest.
fn has_tag(image: &str) -> bool {
    if image.contains("@sha256:") {
        return true;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split_once(':')
        .is_some_and(|(name, tag)| !name.is_empty() && !tag.is_empty() && tag != "latest")
}

fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_needs_a_tag_that_is_not_latest() {
        assert!(has_tag("registry.example.com:5000/shopctl:0.1.0"));
        assert!(has_tag("shopctl@sha256:abc"));
        assert!(!has_tag("registry.example.com:5000/shopctl"));
        assert!(!has_tag("shopctl:latest"));
        assert!(!has_tag("shopctl:"));
    }

    #[test]
    fn an_unknown_key_or_a_wrong_type_is_named_with_its_line() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("values.toml");
        std::fs::write(&path, "image = \"shop:1\"\n[replicas]\nminimum = 3\n").expect("writes");
        let err = Values::load(&path).expect_err("unknown key").to_string();
        assert!(err.contains("minimum") && err.contains("line 3"), "{err}");
        std::fs::write(&path, "[replicas]\nmin = \"two\"\n").expect("writes");
        let err = Values::load(&path).expect_err("wrong type").to_string();
        assert!(err.contains("line 2") && !err.contains('\n'), "{err}");
        std::fs::write(&path, "image = \"shop\"\n").expect("writes");
        let err = Values::load(&path).expect_err("no tag").to_string();
        assert!(err.contains("has no tag"), "{err}");
    }
}
