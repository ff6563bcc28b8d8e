-- Notification schema (SQLite). kit's event tables (outbox, inbox, dead letters) are created by
-- `shopctl_kit::events::install`, not here.

-- Who mail goes to: the address and name from each user's `user.registered` event, forgotten on
-- `user.erased`.
CREATE TABLE contacts (
    user_id    TEXT PRIMARY KEY NOT NULL,
    email      TEXT NOT NULL,
    name       TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- The dev mail catcher: mails kept instead of sent while no SMTP server is configured. One per
-- event.
CREATE TABLE caught_mail (
    id         TEXT PRIMARY KEY NOT NULL,
    event_id   TEXT NOT NULL UNIQUE,
    to_address TEXT NOT NULL,
    subject    TEXT NOT NULL,
    text_body  TEXT NOT NULL,
    html_body  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- The delivery log: every mail that left (sent, or caught). One per event.
CREATE TABLE deliveries (
    id         TEXT PRIMARY KEY NOT NULL,
    event_id   TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    to_address TEXT NOT NULL,
    subject    TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('sent')),
    attempts   INTEGER NOT NULL CHECK (attempts >= 1),
    created_at TEXT NOT NULL
);
