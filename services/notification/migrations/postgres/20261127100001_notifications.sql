-- Notification schema (PostgreSQL). kit's event tables (outbox, inbox, dead letters) are
-- created by `shopctl_kit::events::install`, not here. Ids are text (UUIDv7, time-ordered), as
-- in kit's event tables.

-- Who mail goes to: the address and name from each user's `user.registered` event, forgotten on
-- `user.erased`.
CREATE TABLE contacts (
    user_id    TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    name       TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- The dev mail catcher: mails kept instead of sent while no SMTP server is configured. One per
-- event.
CREATE TABLE caught_mail (
    id         TEXT PRIMARY KEY,
    event_id   TEXT NOT NULL CONSTRAINT caught_mail_event_id_key UNIQUE,
    to_address TEXT NOT NULL,
    subject    TEXT NOT NULL,
    text_body  TEXT NOT NULL,
    html_body  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- The delivery log: every mail that left (sent, or caught). One per event.
CREATE TABLE deliveries (
    id         TEXT PRIMARY KEY,
    event_id   TEXT NOT NULL CONSTRAINT deliveries_event_id_key UNIQUE,
    kind       TEXT NOT NULL,
    to_address TEXT NOT NULL,
    subject    TEXT NOT NULL,
    status     TEXT NOT NULL CONSTRAINT deliveries_status_check CHECK (status IN ('sent')),
    attempts   BIGINT NOT NULL CONSTRAINT deliveries_attempts_check CHECK (attempts >= 1),
    created_at TIMESTAMPTZ NOT NULL
);
