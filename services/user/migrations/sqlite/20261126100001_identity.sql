-- Identity schema (SQLite). Passwords are argon2id PHC strings; refresh tokens are stored only
-- as SHA-256 hashes; roles are a JSON array.
CREATE TABLE users (
    id                  TEXT PRIMARY KEY NOT NULL,
    email               TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL DEFAULT '',
    password_hash       TEXT NOT NULL,
    roles               TEXT NOT NULL,
    failed_logins       INTEGER NOT NULL DEFAULT 0,
    failed_window_start TEXT,
    locked_until        TEXT,
    erased_at           TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    family_id  TEXT NOT NULL,
    issued_at  TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    revoked_at TEXT
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY NOT NULL,
    seed       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    retired_at TEXT
);
