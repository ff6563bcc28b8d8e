//! The monitoring stack as code (`templates/monitoring/`) and the local one `shopctl up --monitor`
//! runs: Prometheus and Alertmanager from `PATH`, configured from the same templates, on the two
//! ports after the shop's. The templates are embedded, so the binary renders them anywhere.

use std::{
    collections::BTreeMap,
    ffi::OsString,
    path::{Path, PathBuf},
};

use super::{SERVICES, port, render, write_private};

/// Prometheus scrape configuration for one machine (placeholders for the ports).
pub const PROMETHEUS_LOCAL: &str = include_str!("../../../templates/monitoring/prometheus.yml");
/// Prometheus scrape configuration for a Kubernetes cluster (pod discovery).
pub const PROMETHEUS_KUBERNETES: &str =
    include_str!("../../../templates/monitoring/prometheus-kubernetes.yml");
/// Recording rules: RED per service and route, the business ratios.
pub const RECORDING_RULES: &str = include_str!("../../../templates/monitoring/rules/recording.yml");
/// Alert rules, each with `severity`, `summary` and `runbook`.
pub const ALERT_RULES: &str = include_str!("../../../templates/monitoring/rules/alerts.yml");
/// `promtool test rules` fixtures for every alert.
pub const ALERT_TESTS: &str = include_str!("../../../templates/monitoring/tests/alerts.yml");
/// Alertmanager routing, grouping and inhibitions.
pub const ALERTMANAGER: &str = include_str!("../../../templates/monitoring/alertmanager.yml");
/// The Grafana dashboard.
pub const GRAFANA_DASHBOARD: &str =
    include_str!("../../../templates/monitoring/grafana/shopctl.json");

/// Prometheus's port offset from the base port (8088 by default).
pub const PROMETHEUS_OFFSET: u16 = 8;
/// Alertmanager's port offset from the base port (8089 by default).
pub const ALERTMANAGER_OFFSET: u16 = 9;

/// How quickly the local stack notices and alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// The rules as written: scrape every 15 s, alerts after their `for:`.
    Standard,
    /// A fire drill: scrape and evaluate every 2 s, every alert's `for:` cut to 10 s, so an
    /// injected fault reaches Alertmanager within a minute.
    Drill,
}

impl Profile {
    fn scrape_interval(self) -> &'static str {
        match self {
            Self::Standard => "15s",
            Self::Drill => "2s",
        }
    }
}

/// Cuts every alert's `for:` to `duration` (the drill profile).
pub fn shorten_for(rules: &str, duration: &str) -> String {
    let mut out = String::with_capacity(rules.len());
    for line in rules.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("for: ") {
            let indent = &line[..line.len() - trimmed.len()];
            out.push_str(indent);
            out.push_str("for: ");
            out.push_str(duration);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// The files of a rendered local stack.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// `<data>/monitoring`.
    pub dir: PathBuf,
    /// Prometheus's configuration.
    pub prometheus: PathBuf,
    /// Alertmanager's configuration.
    pub alertmanager: PathBuf,
}

/// Writes the local stack's configuration for a shop at `base` running `replicas` of every
/// service into `<dir>/monitoring`; each replica is a target of its own.
pub fn render_local(
    dir: &Path,
    base: u16,
    replicas: u16,
    profile: Profile,
) -> anyhow::Result<Rendered> {
    let root = dir.join("monitoring");
    std::fs::create_dir_all(root.join("rules"))?;
    let mut values = BTreeMap::new();
    values.insert(
        "generator".to_owned(),
        "shopctl up --monitor, rewritten on every start".to_owned(),
    );
    values.insert(
        "scrape_interval".to_owned(),
        profile.scrape_interval().to_owned(),
    );
    for (service, _) in SERVICES {
        let targets: Vec<String> = (0..replicas.max(1))
            .map(|replica| format!("\"127.0.0.1:{}\"", port(base, service, replica)))
            .collect();
        values.insert(format!("targets.{service}"), targets.join(", "));
    }
    values.insert(
        "port.prometheus".to_owned(),
        (base + PROMETHEUS_OFFSET).to_string(),
    );
    values.insert(
        "port.alertmanager".to_owned(),
        (base + ALERTMANAGER_OFFSET).to_string(),
    );
    let alerts = match profile {
        Profile::Standard => ALERT_RULES.to_owned(),
        Profile::Drill => shorten_for(ALERT_RULES, "10s"),
    };
    let prometheus = root.join("prometheus.yml");
    let alertmanager = root.join("alertmanager.yml");
    write_private(&prometheus, &render(PROMETHEUS_LOCAL, &values)?)?;
    write_private(&root.join("rules/recording.yml"), RECORDING_RULES)?;
    write_private(&root.join("rules/alerts.yml"), &alerts)?;
    write_private(&alertmanager, ALERTMANAGER)?;
    Ok(Rendered {
        dir: root,
        prometheus,
        alertmanager,
    })
}

/// A monitoring tool to run: its name, program and arguments.
#[derive(Debug, Clone)]
pub struct Tool {
    /// `prometheus` or `alertmanager`.
    pub name: &'static str,
    /// The program found on `PATH`.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Where it answers.
    pub url: String,
}

/// The first of `names` found on `PATH`.
pub fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// How to get a missing tool.
pub const INSTALL_HINT: &str = "install them (Debian: `apt-get install prometheus prometheus-alertmanager`) and run `shopctl up --monitor` again";

/// Prometheus and Alertmanager for the rendered stack, or the names of those not on `PATH`.
pub fn tools(rendered: &Rendered, base: u16, profile: Profile) -> Result<Vec<Tool>, Vec<&str>> {
    let prometheus = find_program(&["prometheus"]);
    let alertmanager = find_program(&["alertmanager", "prometheus-alertmanager"]);
    let (Some(prometheus), Some(alertmanager)) = (prometheus.clone(), alertmanager.clone()) else {
        let mut missing = Vec::new();
        if prometheus.is_none() {
            missing.push("prometheus");
        }
        if alertmanager.is_none() {
            missing.push("alertmanager");
        }
        return Err(missing);
    };
    let prometheus_port = base + PROMETHEUS_OFFSET;
    let alertmanager_port = base + ALERTMANAGER_OFFSET;
    let arg = |flag: &str, value: &Path| {
        let mut text = OsString::from(flag);
        text.push(value.as_os_str());
        text
    };
    let mut prometheus_args = vec![
        arg("--config.file=", &rendered.prometheus),
        arg(
            "--storage.tsdb.path=",
            &rendered.dir.join("prometheus-data"),
        ),
        format!("--web.listen-address=127.0.0.1:{prometheus_port}").into(),
        "--storage.tsdb.retention.time=15d".into(),
    ];
    if profile == Profile::Drill {
        prometheus_args.push("--rules.alert.resend-delay=1s".into());
    }
    Ok(vec![
        Tool {
            name: "prometheus",
            program: prometheus,
            args: prometheus_args,
            url: format!("http://127.0.0.1:{prometheus_port}"),
        },
        Tool {
            name: "alertmanager",
            program: alertmanager,
            args: vec![
                arg("--config.file=", &rendered.alertmanager),
                arg("--storage.path=", &rendered.dir.join("alertmanager-data")),
                format!("--web.listen-address=127.0.0.1:{alertmanager_port}").into(),
                "--cluster.listen-address=".into(),
            ],
            url: format!("http://127.0.0.1:{alertmanager_port}"),
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drill_profile_cuts_every_for_and_nothing_else() {
        let cut = shorten_for(ALERT_RULES, "10s");
        let fors = ALERT_RULES
            .lines()
            .filter(|l| l.trim_start().starts_with("for: "))
            .count();
        assert!(fors >= 10, "the alert rules have {fors} `for:` lines");
        assert_eq!(
            cut.lines().filter(|l| l.trim_start() == "for: 10s").count(),
            fors
        );
        assert_eq!(cut.lines().count(), ALERT_RULES.lines().count());
        assert!(cut.contains("runbook: service-down"));
    }

    #[test]
    fn the_local_configuration_names_every_service_port() {
        let dir = tempfile::tempdir().expect("temp dir");
        let rendered = render_local(dir.path(), 18_000, 1, Profile::Standard).expect("render");
        let text = std::fs::read_to_string(&rendered.prometheus).expect("read");
        for (service, offset) in SERVICES {
            assert!(
                text.contains(&format!(
                    "127.0.0.1:{}\"]\n        labels: {{service: {service}}}",
                    18_000 + offset
                )),
                "{service} missing:\n{text}"
            );
        }
        assert!(
            text.contains("127.0.0.1:18009"),
            "alertmanager target:\n{text}"
        );
        assert!(rendered.dir.join("rules/alerts.yml").is_file());

        let rendered = render_local(dir.path(), 18_000, 2, Profile::Standard).expect("render");
        let text = std::fs::read_to_string(&rendered.prometheus).expect("read");
        assert!(
            text.contains(
                "targets: [\"127.0.0.1:18004\", \"127.0.0.1:18014\"]\n        labels: {service: order}"
            ),
            "every replica is scraped:\n{text}"
        );
    }
}
