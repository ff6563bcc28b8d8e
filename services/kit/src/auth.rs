//! Who is calling, and may they.
//!
//! Handlers declare the role a route needs in their signature: `Authorized<AdminOnly>` as the
//! first extractor. The [`Authenticator`] behind it is chosen at start-up: today the bootstrap
//! admin token from configuration ([`BootstrapToken`]); the identity service's JWT verifier plugs
//! in behind the same trait, so no route changes when it lands.

use std::{fmt, future::Future, marker::PhantomData, pin::Pin, sync::Arc};

use axum::{
    extract::{FromRef, FromRequestParts},
    http::{header, request::Parts},
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::{error::ApiError, settings::secret_eq};

/// A role a caller can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A shopper.
    Customer,
    /// Customer support staff.
    Support,
    /// Administrator: every human role's permissions.
    Admin,
    /// Another shopctl service.
    Service,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Stable subject id (user id, service name).
    pub subject: String,
    /// Granted roles.
    pub roles: Vec<Role>,
    /// Who vouched for the caller: the `iss` of its token, [`BOOTSTRAP_ISSUER`] for the
    /// bootstrap admin token. Subjects are only unique per issuer.
    pub issuer: String,
}

/// The issuer of the bootstrap admin token's principal.
pub const BOOTSTRAP_ISSUER: &str = "shopctl-bootstrap";

impl Principal {
    /// Whether this caller may act in `role` (admins may act in every human role).
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role) || (role != Role::Service && self.roles.contains(&Role::Admin))
    }
}

/// Boxed future returned by [`Authenticator::authenticate`].
pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Option<Principal>> + Send + 'a>>;

/// Turns a bearer token into a caller.
pub trait Authenticator: Send + Sync + 'static {
    /// The caller the token proves, or `None` when it proves nothing.
    fn authenticate<'a>(&'a self, bearer: &'a str) -> AuthFuture<'a>;
}

/// Accepts the bootstrap admin token from configuration, and nothing else.
pub struct BootstrapToken(pub Option<SecretString>);

impl Authenticator for BootstrapToken {
    fn authenticate<'a>(&'a self, bearer: &'a str) -> AuthFuture<'a> {
        let principal = self
            .0
            .as_ref()
            .filter(|token| secret_eq(token, bearer))
            .map(|_| Principal {
                subject: "bootstrap-admin".to_owned(),
                roles: vec![Role::Admin],
                issuer: BOOTSTRAP_ISSUER.to_owned(),
            });
        Box::pin(std::future::ready(principal))
    }
}

/// The authenticator a service's state carries.
#[derive(Clone)]
pub struct Auth(Arc<dyn Authenticator>);

impl Auth {
    /// Wraps an authenticator.
    pub fn new(authenticator: impl Authenticator) -> Self {
        Self(Arc::new(authenticator))
    }

    /// The caller `bearer` proves, if any.
    pub async fn authenticate(&self, bearer: &str) -> Option<Principal> {
        self.0.authenticate(bearer).await
    }

    /// The authenticator every service uses: the bootstrap admin token, plus JWTs from the
    /// platform's issuer (its JWKS at `jwks_url`) and from an external OIDC issuer when
    /// configured, plus `extra` issuers (the user service trusts its own keys directly).
    ///
    /// `service` is this service's name: service tokens minted for it (`aud` = the name, signed
    /// with the platform `service_key`) are accepted too.
    pub fn from_settings(
        settings: &crate::settings::CommonSettings,
        service: &str,
        extra: Vec<crate::jwt::TrustedIssuer>,
    ) -> Self {
        use crate::jwt::{JwtAuthenticator, RemoteJwks, ServiceTokens, TrustedIssuer};
        let refetch = std::time::Duration::from_secs(30);
        let mut issuers = extra;
        if let Some(tokens) = ServiceTokens::from_settings(service, settings) {
            issuers.push(tokens.trusted_by(service));
        }
        if let Some(url) = &settings.jwks_url {
            issuers.push(TrustedIssuer::platform(
                &settings.jwt_issuer,
                &settings.jwt_audience,
                Arc::new(RemoteJwks::new(url, refetch)),
            ));
        }
        if let (Some(issuer), Some(url)) = (&settings.oidc_issuer, &settings.oidc_jwks_url) {
            issuers.push(TrustedIssuer::external(
                issuer,
                settings
                    .oidc_audience
                    .as_deref()
                    .unwrap_or(&settings.jwt_audience),
                Arc::new(RemoteJwks::new(url, refetch)),
            ));
        }
        let bootstrap: Arc<dyn Authenticator> =
            Arc::new(BootstrapToken(settings.admin_token.clone()));
        let jwt: Arc<dyn Authenticator> = Arc::new(JwtAuthenticator::new(issuers));
        Self::new(AnyOf(vec![jwt, bootstrap]))
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Auth(..)")
    }
}

/// A set of roles a route accepts.
pub trait RoleRequirement: Send + Sync + 'static {
    /// Accepted roles (any one suffices).
    const ROLES: &'static [Role];
}

/// Routes only administrators may call.
#[derive(Debug)]
pub struct AdminOnly;

impl RoleRequirement for AdminOnly {
    const ROLES: &'static [Role] = &[Role::Admin];
}

/// Routes for support staff and administrators.
#[derive(Debug)]
pub struct SupportOrAdmin;

impl RoleRequirement for SupportOrAdmin {
    const ROLES: &'static [Role] = &[Role::Support, Role::Admin];
}

/// Routes for support staff and administrators, and for another service acting for the platform
/// (an order saga refunding a cancelled order).
#[derive(Debug)]
pub struct SupportAdminOrService;

impl RoleRequirement for SupportAdminOrService {
    const ROLES: &'static [Role] = &[Role::Support, Role::Admin, Role::Service];
}

/// Routes for any signed-in person or a platform service (listings that reconciliation reads);
/// per-user resources must still check ownership.
#[derive(Debug)]
pub struct UserOrService;

impl RoleRequirement for UserOrService {
    const ROLES: &'static [Role] = &[Role::Customer, Role::Support, Role::Admin, Role::Service];
}

/// Routes for any signed-in person (customer, support or admin); per-user resources must still
/// check that the caller owns them.
#[derive(Debug)]
pub struct AnyUser;

impl RoleRequirement for AnyUser {
    const ROLES: &'static [Role] = &[Role::Customer, Role::Support, Role::Admin];
}

/// Routes only other shopctl services may call (with a service token minted for this service).
#[derive(Debug)]
pub struct ServiceOnly;

impl RoleRequirement for ServiceOnly {
    const ROLES: &'static [Role] = &[Role::Service];
}

/// Tries several authenticators in order; the first that recognises the token wins.
pub struct AnyOf(pub Vec<Arc<dyn Authenticator>>);

impl Authenticator for AnyOf {
    fn authenticate<'a>(&'a self, bearer: &'a str) -> AuthFuture<'a> {
        Box::pin(async move {
            for authenticator in &self.0 {
                if let Some(principal) = authenticator.authenticate(bearer).await {
                    return Some(principal);
                }
            }
            None
        })
    }
}

/// Extractor proving the caller holds one of `R::ROLES`; 401 without valid credentials, 403
/// without the role.
#[derive(Debug)]
pub struct Authorized<R: RoleRequirement>(pub Principal, pub PhantomData<R>);

impl<S, R> FromRequestParts<S> for Authorized<R>
where
    R: RoleRequirement,
    Auth: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let auth = Auth::from_ref(state);
        let principal = auth
            .0
            .authenticate(token)
            .await
            .ok_or(ApiError::Unauthorized)?;
        if R::ROLES.iter().any(|role| principal.has_role(*role)) {
            Ok(Self(principal, PhantomData))
        } else {
            let needed: Vec<String> = R::ROLES
                .iter()
                .map(|r| format!("{r:?}").to_lowercase())
                .collect();
            Err(ApiError::Forbidden {
                detail: format!("this action needs the role {}", needed.join(" or ")),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bootstrap_token_accepts_only_the_configured_token() {
        let auth = BootstrapToken(Some(SecretString::from("let-me-in-please")));
        assert!(auth.authenticate("let-me-in-please").await.is_some());
        assert!(auth.authenticate("let-me-in-pleasE").await.is_none());
        assert!(auth.authenticate("").await.is_none());
        assert!(BootstrapToken(None).authenticate("x").await.is_none());
    }

    #[test]
    fn admin_acts_in_human_roles_only() {
        let admin = Principal {
            subject: "a".into(),
            roles: vec![Role::Admin],
            issuer: "test".into(),
        };
        assert!(admin.has_role(Role::Support));
        assert!(!admin.has_role(Role::Service));
    }
}

#[cfg(test)]
mod service_token_tests {
    use secrecy::SecretString;

    use super::*;
    use crate::{jwt::ServiceTokens, settings::CommonSettings};

    fn settings(key: &str) -> CommonSettings {
        let mut settings = CommonSettings::defaults(0);
        settings.service_key = Some(SecretString::from(key));
        settings
    }

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

    #[tokio::test]
    async fn a_service_token_is_accepted_only_by_its_audience() {
        let order = ServiceTokens::from_settings("order", &settings(KEY)).unwrap();
        let token = order.mint("inventory").unwrap();
        let inventory = Auth::from_settings(&settings(KEY), "inventory", Vec::new());
        let principal = inventory
            .authenticate(&token)
            .await
            .expect("accepted by inventory");
        assert_eq!(principal.subject, "service:order");
        assert!(principal.has_role(Role::Service));
        let payment = Auth::from_settings(&settings(KEY), "payment", Vec::new());
        assert!(
            payment.authenticate(&token).await.is_none(),
            "minted for inventory only"
        );
        let other = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8";
        let stranger = Auth::from_settings(&settings(other), "inventory", Vec::new());
        assert!(
            stranger.authenticate(&token).await.is_none(),
            "another platform's key"
        );
    }

    #[test]
    fn people_never_hold_the_service_role() {
        let admin = Principal {
            subject: "a".into(),
            roles: vec![Role::Admin],
            issuer: "test".into(),
        };
        assert!(!ServiceOnly::ROLES.iter().any(|r| admin.has_role(*r)));
    }

    #[test]
    fn a_malformed_service_key_is_a_settings_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shopctl.toml");
        std::fs::write(&path, "[kitkey]\nservice_key = \"too-short\"\n").unwrap();
        let source = crate::settings::ConfigSource {
            file: Some(path),
            overrides: Vec::new(),
        };
        let err = crate::settings::load(
            "kitkey",
            &CommonSettings::defaults(0),
            &serde_json::json!({}),
            &source,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("kitkey.service_key") && err.contains("base64url"),
            "{err}"
        );
    }
}
