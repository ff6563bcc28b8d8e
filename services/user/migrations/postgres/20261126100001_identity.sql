-- Identity schema (PostgreSQL). Passwords are argon2id PHC strings; refresh tokens are stored
-- only as SHA-256 hashes; roles are a JSON array kept as text (same shape as on SQLite).
CREATE TABLE users (
    id                  UUID PRIMARY KEY,
    email               TEXT NOT NULL CONSTRAINT users_email_key UNIQUE,
    name                TEXT NOT NULL DEFAULT '',
    password_hash       TEXT NOT NULL,
    roles               TEXT NOT NULL,
    failed_logins       INTEGER NOT NULL DEFAULT 0,
    failed_window_start TIMESTAMPTZ,
    locked_until        TIMESTAMPTZ,
    erased_at           TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id),
    family_id  UUID NOT NULL,
    issued_at  TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    seed       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    retired_at TIMESTAMPTZ
);
