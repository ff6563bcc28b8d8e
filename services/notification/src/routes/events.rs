//! `POST /internal/events`: where the user, order and payment services' relays deliver their
//! events (service tokens only).
//!
//! The answer tells the producer's relay what to do with its outbox row: 204 (accepted, seen
//! before, or a topic this service does not handle) deletes it; 422 (the event can never be
//! applied: malformed `data`) dead-letters it at once, where `shopctl events dlq` shows it and can
//! redrive it once the cause is fixed; 503 (mail for a user without a contact yet: events of two
//! producers race) is retried with backoff, and dead-lettered when the retries run out.

use axum::{extract::State, http::StatusCode};
use shopctl_kit::{
    ApiError, AppJson,
    auth::{Authorized, ServiceOnly},
    events::Envelope,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::AppState;
use crate::{
    domain::{Notice, Topic},
    error,
    store::Applied,
};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(receive_event))
}

/// Receive one event (services only). Handled topics: `user.registered` (remember the contact,
/// send a welcome mail), `user.erased` (forget the contact), `order.confirmed`,
/// `order.cancelled` and `payment.failed` (mail the buyer). Each event id takes effect once,
/// however often it is delivered; other topics are acknowledged and ignored.
#[utoipa::path(post, path = "/internal/events", tag = "internal",
    request_body = Envelope,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Applied, applied before, or a topic this service ignores"),
        (status = 401, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a service token", body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed `data`: do not retry", body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Mail for a user without a contact yet: retry later", body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn receive_event(
    Authorized(caller, ..): Authorized<ServiceOnly>,
    State(state): State<AppState>,
    AppJson(envelope): AppJson<Envelope>,
) -> Result<StatusCode, ApiError> {
    let event_id = envelope.id;
    let Some(topic) = Topic::parse(&envelope.topic) else {
        tracing::debug!(
            %event_id, topic = %envelope.topic, caller = %caller.subject,
            "event topic not handled; ignored"
        );
        state.count(None, "ignored");
        return Ok(StatusCode::NO_CONTENT);
    };
    let notice = match Notice::parse(topic, &envelope.data) {
        Ok(notice) => notice,
        Err(err) => {
            tracing::warn!(
                %event_id, topic = topic.as_str(), caller = %caller.subject, field = %err.field,
                detail = %err.detail, "malformed event refused"
            );
            state.count(Some(topic), "rejected");
            return Err(err.into());
        }
    };
    match state
        .store
        .apply(event_id, &notice, &state.letterhead)
        .await?
    {
        Applied::Duplicate => {
            tracing::debug!(%event_id, topic = topic.as_str(), "event seen before; nothing to do");
            state.count(Some(topic), "duplicate");
        }
        Applied::NoContact => {
            let user_id = notice.user_id();
            tracing::warn!(
                %event_id, topic = topic.as_str(), %user_id,
                "event refused: no contact is known for its user"
            );
            state.count(Some(topic), "rejected");
            return Err(error::no_contact(user_id));
        }
        Applied::Accepted { mail } => {
            tracing::info!(
                %event_id, topic = topic.as_str(), mail = mail.unwrap_or("none"),
                "event applied"
            );
            state.count(Some(topic), "accepted");
            if mail.is_some() {
                // A permit is kept if the relay is busy, so it looks again right after.
                state.mail_waker.notify_one();
            }
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
