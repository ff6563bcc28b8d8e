//! The edge's route policy: which routes are public and which roles the others need. Services
//! check again (defence in depth); the gateway stops the obviously unauthorised early.

use http::Method;
use shopctl_kit::auth::{Principal, Role};

/// What a route needs from its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Anyone.
    Public,
    /// A signed-in person.
    AnyUser,
    /// Support staff or an administrator.
    SupportOrAdmin,
    /// An administrator.
    Admin,
}

impl Requirement {
    /// Whether `principal` meets the requirement.
    pub fn allows(self, principal: Option<&Principal>) -> bool {
        let has = |role| principal.is_some_and(|p| p.has_role(role));
        match self {
            Self::Public => true,
            Self::AnyUser => has(Role::Customer) || has(Role::Support) || has(Role::Admin),
            Self::SupportOrAdmin => has(Role::Support) || has(Role::Admin),
            Self::Admin => has(Role::Admin),
        }
    }
}

/// The requirement of `method path`.
// Arms are tried in order, specific routes before their prefixes, so equal bodies stay apart.
#[allow(clippy::match_same_arms)]
pub fn requirement(method: &Method, path: &str) -> Requirement {
    let write = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    // The first five segments are all any rule looks at (rules with `..` read a prefix, the
    // others have at most four), so they are kept on the stack.
    let mut buffer = [""; 5];
    let mut count = 0;
    for (slot, segment) in buffer
        .iter_mut()
        .zip(path.trim_end_matches('/').split('/').skip(1))
    {
        *slot = segment;
        count += 1;
    }
    match &buffer[..count] {
        ["api", "products" | "categories", ..] if write => Requirement::Admin,
        ["api", "users", "register" | "login" | "refresh" | "logout"] => Requirement::Public,
        ["api", "users", "me", ..] => Requirement::AnyUser,
        ["api", "users", ..] => Requirement::Admin,
        ["api", "cart" | "orders", ..] => Requirement::AnyUser,
        ["api", "inventory", _, "adjust"] | ["api", "inventory", "low-stock"] => Requirement::Admin,
        ["api", "payments", _, "refund"] => Requirement::SupportOrAdmin,
        ["api", "payments", ..] => Requirement::AnyUser,
        ["api", "notifications", ..] => Requirement::Admin,
        _ => Requirement::Public,
    }
}

/// Rate-limit class of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteClass {
    /// Sign-in routes: strict, to slow credential stuffing.
    Auth,
    /// Other API routes.
    Api,
    /// Storefront pages and assets.
    Web,
}

impl RouteClass {
    /// A dense index (0, 1, 2), for per-class tables.
    pub fn index(self) -> usize {
        match self {
            Self::Auth => 0,
            Self::Api => 1,
            Self::Web => 2,
        }
    }

    /// Label value for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Api => "api",
            Self::Web => "web",
        }
    }
}

/// The class of `path`.
pub fn classify(path: &str) -> RouteClass {
    if matches!(
        path,
        // The storefront's sign-in and registration forms are the same doors as the API's.
        "/api/users/login" | "/api/users/register" | "/api/users/refresh" | "/login" | "/register"
    ) {
        RouteClass::Auth
    } else if path.starts_with("/api/") {
        RouteClass::Api
    } else {
        RouteClass::Web
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks each `(method, path, expected)` of `cases`.
    fn judged(cases: &[(Method, &str, Requirement)]) {
        for (method, path, expected) in cases {
            assert_eq!(requirement(method, path), *expected, "{method} {path}");
        }
    }

    #[test]
    fn long_paths_are_judged_by_their_prefix() {
        judged(&[
            (
                Method::POST,
                "/api/products/a/b/c/d/e/f",
                Requirement::Admin,
            ),
            (Method::GET, "/api/users/me/a/b/c/d", Requirement::AnyUser),
            // Only the exact sign-in paths are public.
            (Method::POST, "/api/users/login/a/b/c", Requirement::Admin),
            // Not the refund route.
            (
                Method::POST,
                "/api/payments/p1/refund/a/b",
                Requirement::AnyUser,
            ),
        ]);
    }

    #[test]
    fn writes_and_private_routes_need_roles() {
        judged(&[
            (Method::GET, "/api/products", Requirement::Public),
            (Method::POST, "/api/products", Requirement::Admin),
            (Method::DELETE, "/api/categories/x", Requirement::Admin),
            (Method::POST, "/api/users/login", Requirement::Public),
            (Method::GET, "/api/users/me/export", Requirement::AnyUser),
            (Method::GET, "/api/users", Requirement::Admin),
            (Method::PUT, "/api/users/1/roles", Requirement::Admin),
            (Method::GET, "/api/inventory/low-stock", Requirement::Admin),
            (
                Method::GET,
                "/api/inventory/MUG-CLASSIC",
                Requirement::Public,
            ),
            (Method::POST, "/api/orders", Requirement::AnyUser),
            (
                Method::POST,
                "/api/payments/1/refund",
                Requirement::SupportOrAdmin,
            ),
            (Method::GET, "/", Requirement::Public),
        ]);
    }

    #[test]
    fn roles_meet_requirements() {
        let customer = Principal {
            subject: "u".into(),
            roles: vec![Role::Customer],
            issuer: "test".into(),
        };
        assert!(Requirement::AnyUser.allows(Some(&customer)));
        assert!(!Requirement::Admin.allows(Some(&customer)));
        assert!(!Requirement::AnyUser.allows(None));
        assert!(Requirement::Public.allows(None));
    }
}
