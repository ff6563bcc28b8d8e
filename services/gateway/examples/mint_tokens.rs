//! Customer tokens in bulk for the gateway's many-token benchmark (`tests/bench/gateway.sh`):
//! COUNT access tokens, each for a customer of its own, signed with one fresh Ed25519 key the
//! way the user service signs them (same issuer, audience, role and lifetime shape), and that
//! key's JWKS. The benchmark serves the JWKS to the gateway and sends a random token with every
//! request, so the gateway pays real signature checks and cache misses instead of one check a
//! minute for a single token. Registering and signing in 100,000 customers through the user
//! service would cost an argon2id hash each (minutes) and measure nothing more.
//!
//! Usage: `mint_tokens DIR COUNT...` writes `DIR/jwks.json` and, for each COUNT,
//! `DIR/tokens-COUNT.txt` (one token a line, all signed by that one key), valid for a day (longer than any benchmark run).

use std::{fmt::Write as _, path::PathBuf, time::Duration};

use anyhow::Context as _;
use shopctl_kit::{
    auth::Role,
    jwt::{Claims, JwkSet, SigningKey},
    settings::CommonSettings,
};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: mint_tokens DIR COUNT...";
    let dir = PathBuf::from(args.next().context(usage)?);
    // The issuer and audience every service expects of the platform's tokens by default.
    let defaults = CommonSettings::defaults(0);
    let key = SigningKey::generate();
    for count in args {
        let count: usize = count.parse().context(usage)?;
        let mut tokens = String::with_capacity(count * 400);
        for n in 0..count {
            let claims = Claims::new(
                &format!("bench-customer-{n}"),
                vec![Role::Customer],
                &defaults.jwt_issuer,
                &defaults.jwt_audience,
                Duration::from_secs(24 * 3600),
            );
            writeln!(tokens, "{}", key.sign(&claims)?)?;
        }
        std::fs::write(dir.join(format!("tokens-{count}.txt")), tokens)?;
    }
    let jwks = JwkSet {
        keys: vec![key.public_jwk()],
    };
    std::fs::write(dir.join("jwks.json"), serde_json::to_vec(&jwks)?)?;
    Ok(())
}
