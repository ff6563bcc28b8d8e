//! `shopctl user create|rotate-keys`: first administrator and signing-key rotation, straight
//! against the identity database (no running service needed).

use std::io::{BufRead, IsTerminal};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use clap::{Args, Subcommand};
use rand::RngCore;
use serde::Serialize;
use shopctl_kit::{
    audit::{AuditEvent, AuditLog, Outcome},
    auth::Role,
};
use shopctl_user::{
    domain::{Email, Password, PasswordHasher, tokens},
    store::{NewUser, SqlUserStore, UserStore},
};

use super::{DataArgs, GlobalArgs};
use crate::ExitStatus;

/// Manage accounts and signing keys.
#[derive(Debug, Subcommand)]
pub(crate) enum User {
    /// Create an account (the password is read from stdin, or generated and printed once).
    Create(Create),
    /// Add a new signing key; the old one keeps verifying until its tokens expire.
    RotateKeys(RotateKeys),
}

#[derive(Debug, Args)]
pub(crate) struct Create {
    /// E-mail address.
    #[arg(long)]
    email: String,
    /// Role: customer, support or admin.
    #[arg(long, default_value = "customer", value_parser = ["customer", "support", "admin"])]
    role: String,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RotateKeys {
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Serialize)]
struct Created {
    id: String,
    email: String,
    role: String,
    /// Present only when the password was generated.
    #[serde(skip_serializing_if = "Option::is_none")]
    generated_password: Option<String>,
}

fn generated_password() -> String {
    let mut bytes = [0u8; 18];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Records a command-line action in the identity service's audit log.
async fn audit(
    settings: &shopctl_user::Settings,
    action: &str,
    target: &str,
) -> anyhow::Result<()> {
    let path = settings.common.data_dir.join("audit").join("user.jsonl");
    let log = AuditLog::open(&path, shopctl_user::NAME).await?;
    log.append(AuditEvent {
        actor: "cli".to_owned(),
        action: action.to_owned(),
        target: Some(target.to_owned()),
        outcome: Outcome::Success,
        details: serde_json::json!({}),
    })
    .await?;
    Ok(())
}

impl User {
    pub(crate) async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        match self {
            Self::Create(args) => args.run(global).await,
            Self::RotateKeys(args) => {
                let settings =
                    shopctl_user::load_settings(&args.data.apply(global.config_source()))?;
                let db = shopctl_user::connect(&settings).await?;
                let kid = tokens::rotate(&SqlUserStore::new(db.clone())).await?;
                db.close().await;
                audit(&settings, "key_rotation", &kid).await?;
                let text = format!(
                    "new signing key `{kid}` is active; running user services sign with it within 30 s"
                );
                global
                    .printer()
                    .result(&text, &serde_json::json!({ "kid": kid }))?;
                Ok(ExitStatus::Success)
            }
        }
    }
}

impl Create {
    async fn run(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let email =
            Email::parse(&self.email).map_err(|e| anyhow::anyhow!("--email {}", e.detail))?;
        let mut line = String::new();
        if !std::io::stdin().is_terminal() {
            std::io::stdin().lock().read_line(&mut line)?;
        }
        let typed = line.trim_end_matches(['\r', '\n']).to_owned();
        let (text, generated) = if typed.is_empty() {
            let password = generated_password();
            (password.clone(), Some(password))
        } else {
            (typed, None)
        };
        let password = Password::parse("password", &text)
            .map_err(|e| anyhow::anyhow!("the password on stdin {}", e.detail))?;
        let settings = shopctl_user::load_settings(&self.data.apply(global.config_source()))?;
        let db = shopctl_user::connect(&settings).await?;
        let store = shopctl_user::store(&settings, db.clone());
        let role: Role = serde_json::from_value(serde_json::Value::String(self.role.clone()))?;
        let hash = PasswordHasher::new().hash(&password)?;
        let created = store
            .create_user(&NewUser {
                email: email.as_ref().to_owned(),
                name: String::new(),
                password_hash: hash,
                roles: vec![role],
            })
            .await
            .map_err(|err| match err {
                shopctl_kit::db::StoreError::UniqueViolation { .. } => anyhow::anyhow!(
                    "an account for {} already exists: change its roles with PUT /api/users/{{id}}/roles",
                    email.as_ref()
                ),
                other => other.into(),
            })?;
        tokens::ensure_key(&store).await?;
        db.close().await;
        audit(&settings, "user_create", &created.id.to_string()).await?;
        let report = Created {
            id: created.id.to_string(),
            email: created.email.clone(),
            role: self.role,
            generated_password: generated.clone(),
        };
        let shown = generated
            .map(|password| format!("\npassword (shown once): {password}"))
            .unwrap_or_default();
        let text = format!(
            "created {} ({}) with id {}{shown}",
            report.email, report.role, report.id
        );
        global.printer().result(&text, &report)?;
        // `-q` hides messages, never the one copy of a generated password.
        if global.quiet
            && let Some(password) = &report.generated_password
        {
            global.printer().raw(format!("{password}\n").as_bytes())?;
        }
        Ok(ExitStatus::Success)
    }
}
