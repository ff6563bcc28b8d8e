//! Mail over real SMTP: a local aiosmtpd server (a child process writing a Maildir), started
//! and stopped by the tests to make the server be there, be away for a while, or be away long
//! enough for the mail to be dead-lettered and redriven. No mock: the service speaks SMTP to a
//! real server over loopback.

use uuid::Uuid;

use crate::helpers::{SmtpServer, envelope, free_port, registered, spawn_smtp_app};

/// Asserts that `message` is the welcome mail for event `event_id`: subject, a
/// multipart/alternative body with a text and an HTML part, and the event header.
fn assert_welcome(message: &str, event_id: &str) {
    let lower = message.to_lowercase();
    for needle in [
        "subject: welcome to shopctl".to_owned(),
        "content-type: multipart/alternative".to_owned(),
        "content-type: text/plain".to_owned(),
        "content-type: text/html".to_owned(),
        format!("x-shopctl-event: {event_id}"),
        "from: shopctl <shop@shopctl.local>".to_owned(),
    ] {
        assert!(
            lower.contains(&needle),
            "{needle:?} missing from:\n{message}"
        );
    }
}

#[tokio::test]
async fn a_welcome_mail_reaches_a_real_smtp_server() {
    // Arrange
    let port = free_port();
    let smtp = SmtpServer::start(port).await;
    let app = spawn_smtp_app(port, 8).await;
    let event = envelope(
        "user.registered",
        registered(Uuid::now_v7(), "ana@example.com", "Ana"),
    );

    // Act
    app.accepted(&event).await;
    app.drive_until("a message in the maildir", async || {
        !smtp.messages().is_empty()
    })
    .await;

    // Assert
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    assert_welcome(&messages[0], event["id"].as_str().unwrap());
    assert!(messages[0].contains("ana@example.com"), "{}", messages[0]);
    let deliveries = app.deliveries().await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0]["kind"], "welcome");
    assert_eq!(deliveries[0]["status"], "sent");
    // SMTP mode catches nothing.
    assert!(app.caught_mail().await.is_empty());
    assert_eq!(app.depths().await, (0, 0));
}

#[tokio::test]
async fn a_mail_waits_while_the_smtp_server_is_down_and_goes_out_once_it_is_back() {
    // Arrange: nothing listens on the port yet.
    let port = free_port();
    let app = spawn_smtp_app(port, 50).await;
    let event = envelope(
        "user.registered",
        registered(Uuid::now_v7(), "bo@example.com", "Bo"),
    );
    app.accepted(&event).await;

    // Act 1: the server is down.
    app.drive(5).await;

    // Assert 1: nothing went out, the mail still waits.
    assert_eq!(app.depths().await, (1, 0));
    assert!(app.deliveries().await.is_empty());

    // Act 2: the server comes up.
    let smtp = SmtpServer::start(port).await;
    app.drive_until("a message in the maildir", async || {
        !smtp.messages().is_empty()
    })
    .await;
    app.drive(3).await;

    // Assert 2: exactly one message, one delivery after several attempts.
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    assert_welcome(&messages[0], event["id"].as_str().unwrap());
    let deliveries = app.deliveries().await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert!(
        deliveries[0]["attempts"].as_i64().unwrap() > 1,
        "{deliveries:?}"
    );
    assert_eq!(app.depths().await, (0, 0));
}

#[tokio::test]
async fn a_mail_dead_lettered_while_the_server_was_down_goes_out_once_redriven() {
    // Arrange: two attempts only, nothing listening.
    let port = free_port();
    let app = spawn_smtp_app(port, 2).await;
    let event = envelope(
        "user.registered",
        registered(Uuid::now_v7(), "cy@example.com", "Cy"),
    );
    app.accepted(&event).await;

    // Act 1: both attempts fail.
    app.drive_until("the mail in the dead letters", async || {
        app.depths().await == (0, 1)
    })
    .await;
    let dead = shopctl_kit::events::dead_letters(&app.db, 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event_id, event["id"].as_str().unwrap());
    assert_eq!(dead[0].topic, "mail.welcome");
    assert!(
        !dead[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("cy@example.com"),
        "the error text leaks the address: {:?}",
        dead[0].last_error
    );

    // Act 2: the server comes up and the dead letter is redriven.
    let smtp = SmtpServer::start(port).await;
    assert_eq!(
        shopctl_kit::events::redrive(&app.db, None).await.unwrap(),
        1
    );
    app.drive_until("a message in the maildir", async || {
        !smtp.messages().is_empty()
    })
    .await;
    app.drive(3).await;

    // Assert
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    assert_welcome(&messages[0], event["id"].as_str().unwrap());
    assert_eq!(app.deliveries().await.len(), 1);
    assert_eq!(app.depths().await, (0, 0));
}
