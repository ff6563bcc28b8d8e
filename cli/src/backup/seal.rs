//! How a snapshot is stored: zstd-compressed, then, with a key, sealed with XChaCha20-Poly1305
//! (a random 24-byte nonce first, the file's name as associated data, so a sealed file renamed
//! to another database's name does not open). The key never goes into the backup.

use std::{fmt::Write as _, path::Path};

use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit, Payload},
};
use rand::RngCore as _;
use sha2::{Digest, Sha256};

/// The cipher's name in the manifest.
pub const CIPHER: &str = "xchacha20poly1305";

/// The zstd level: fast, and within a few per cent of the best ratio on database pages.
const LEVEL: i32 = 3;

const NONCE: usize = 24;

/// A backup key: 32 bytes.
#[derive(Clone)]
pub struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key([redacted])")
    }
}

impl Key {
    /// The key in `path`: 64 hex digits (surrounding whitespace ignored) or 32 raw bytes.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| {
            anyhow::anyhow!(
                "cannot read the key file {}: {e}; make one with `openssl rand -hex 32 > {}`",
                path.display(),
                path.display()
            )
        })?;
        Self::parse(&bytes).ok_or_else(|| {
            anyhow::anyhow!(
                "{} holds no backup key: it must be 64 hex digits or 32 bytes (make one with `openssl rand -hex 32`)",
                path.display()
            )
        })
    }

    /// The key in `text`: 64 hex digits or 32 raw bytes.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        if let Ok(raw) = <[u8; 32]>::try_from(bytes) {
            return Some(Self(raw));
        }
        let text = std::str::from_utf8(bytes).ok()?.trim();
        if text.len() != 64 {
            return None;
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(key))
    }
}

/// `raw` as stored under `name`: compressed, and sealed with `key` when there is one.
pub fn pack(raw: &[u8], name: &str, key: Option<&Key>) -> anyhow::Result<Vec<u8>> {
    let compressed = zstd::bulk::compress(raw, LEVEL)?;
    let Some(key) = key else {
        return Ok(compressed);
    };
    let mut nonce = [0u8; NONCE];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = XChaCha20Poly1305::new((&key.0).into())
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &compressed,
                aad: name.as_bytes(),
            },
        )
        .map_err(|_| anyhow::anyhow!("sealing {name} failed"))?;
    let mut out = Vec::with_capacity(NONCE + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// The snapshot stored as `stored` under `name`, of at most `raw_bytes` bytes.
pub fn unpack(
    stored: &[u8],
    name: &str,
    key: Option<&Key>,
    raw_bytes: u64,
) -> anyhow::Result<Vec<u8>> {
    let compressed = match key {
        None => std::borrow::Cow::Borrowed(stored),
        Some(key) => {
            if stored.len() < NONCE {
                anyhow::bail!("{name} is truncated: too short to be a sealed file");
            }
            let (nonce, sealed) = stored.split_at(NONCE);
            let nonce: [u8; NONCE] = nonce.try_into()?;
            std::borrow::Cow::Owned(
                XChaCha20Poly1305::new((&key.0).into())
                    .decrypt(
                        &XNonce::from(nonce),
                        Payload {
                            msg: sealed,
                            aad: name.as_bytes(),
                        },
                    )
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "{name} does not open with this key: the key is wrong or the file was altered"
                        )
                    })?,
            )
        }
    };
    let capacity = usize::try_from(raw_bytes).unwrap_or(usize::MAX);
    let raw = zstd::bulk::decompress(&compressed, capacity.max(1)).map_err(|e| {
        anyhow::anyhow!("{name} does not decompress ({e}): it is truncated or damaged")
    })?;
    if raw.len() as u64 != raw_bytes {
        anyhow::bail!(
            "{name} decompresses to {} bytes where the manifest says {raw_bytes}: it is damaged",
            raw.len()
        );
    }
    Ok(raw)
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Key {
        Key([byte; 32])
    }

    #[test]
    fn a_sealed_file_opens_only_with_its_key_and_under_its_name() {
        let raw = b"SQLite format 3\0 and some pages".repeat(100);
        let stored = pack(&raw, "user.db.zst", Some(&key(7))).unwrap();
        assert!(!stored.windows(6).any(|w| w == b"SQLite"), "sealed");
        let opened = unpack(&stored, "user.db.zst", Some(&key(7)), raw.len() as u64).unwrap();
        assert_eq!(opened, raw);
        let wrong = unpack(&stored, "user.db.zst", Some(&key(8)), raw.len() as u64).unwrap_err();
        assert!(wrong.to_string().contains("key is wrong"), "{wrong}");
        let renamed = unpack(&stored, "order.db.zst", Some(&key(7)), raw.len() as u64).unwrap_err();
        assert!(renamed.to_string().contains("order.db.zst"), "{renamed}");
        let missing = unpack(&stored, "user.db.zst", None, raw.len() as u64).unwrap_err();
        assert!(
            missing.to_string().contains("does not decompress"),
            "{missing}"
        );
    }

    #[test]
    fn a_truncated_or_flipped_file_is_named() {
        let raw = b"page ".repeat(1000);
        let mut stored = pack(&raw, "product.db.zst", None).unwrap();
        let cut = unpack(
            &stored[..stored.len() / 2],
            "product.db.zst",
            None,
            raw.len() as u64,
        )
        .unwrap_err();
        assert!(cut.to_string().contains("product.db.zst"), "{cut}");
        let last = stored.len() - 1;
        stored[last] ^= 0xff;
        assert!(unpack(&stored, "product.db.zst", None, raw.len() as u64).is_err());
    }

    #[test]
    fn keys_are_hex_or_raw() {
        assert!(Key::parse(&[1u8; 32]).is_some());
        assert!(Key::parse(format!("{}\n", "ab".repeat(32)).as_bytes()).is_some());
        assert!(Key::parse(b"short").is_none());
        assert!(Key::parse("zz".repeat(32).as_bytes()).is_none());
    }
}
