//! Crash recovery of the checkout saga: an order service instance dies while a payment
//! authorization is in flight, a second instance starts on the same database, and the saga must
//! end — confirmed or cancelled — with inventory and payment agreeing. In-process, against the
//! stand-ins; `cli/tests/cli/saga.rs` does the same by SIGKILLing the `shopctl serve order`
//! binary among the real services.

use std::time::{Duration, Instant};

use serde_json::Value;
use shopctl_kit::{
    client::ServiceClient,
    jwt::ServiceTokens,
    settings::CommonSettings,
    testing::{SERVICE_KEY, TestServer},
};
use shopctl_order::domain::reconcile::{Services, reconcile};
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::helpers::{
    Customer, Hold, PAYMENTS, SLOW_CARD, Setup, StandIn, Upstreams, WAIT, eventually,
};

const SKU: &str = "CRASH-1";

/// An order service instance on a thread and a tokio runtime of its own: its routes, served by
/// a `TestServer`, its loops (`App::start`), and every task those start.
struct Instance {
    url: String,
    kill: oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Instance {
    async fn start(settings: shopctl_order::Settings) -> Self {
        let (started, url) = oneshot::channel::<String>();
        let (kill, killed) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("order instance".to_owned())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the instance");
                runtime.block_on(async move {
                    let app = shopctl_order::app(&settings)
                        .await
                        .expect("the order service builds");
                    let (router, loops) = app.start();
                    let server = TestServer::spawn("order", router).await;
                    let _ = started.send(server.url.clone());
                    let _ = killed.await;
                    // Neither stopped nor drained: once this returns, no task of the runtime
                    // is polled again.
                    drop((server, loops));
                });
                // Drops every task the instance started wherever it stood.
                runtime.shutdown_timeout(Duration::from_secs(5));
            })
            .expect("a thread for the instance");
        let url = url.await.expect("the instance started");
        Self { url, kill, thread }
    }

    /// Kills the instance and waits until nothing of it is left.
    async fn kill(self) {
        let Self { kill, thread, .. } = self;
        let _ = kill.send(());
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .expect("waiting for the instance")
            .expect("the instance's thread ended without panicking");
    }
}

/// What the order service and the stand-ins say about one order.
struct Outcome {
    order: Value,
    reservation: Option<Hold>,
    payments: Vec<Value>,
}

impl Outcome {
    fn status(&self) -> &str {
        self.order["status"].as_str().unwrap_or_default()
    }

    /// Whether the saga has ended and inventory and payment tell its story: confirmed, with the
    /// stock taken and one captured payment; or cancelled, holding no stock and no money.
    fn settled(&self) -> bool {
        let statuses: Vec<&str> = self
            .payments
            .iter()
            .filter_map(|payment| payment["status"].as_str())
            .collect();
        match self.status() {
            "confirmed" => self.reservation == Some(Hold::Confirmed) && statuses == ["captured"],
            "cancelled" => {
                matches!(self.reservation, None | Some(Hold::Released))
                    && statuses
                        .iter()
                        .all(|status| matches!(*status, "voided" | "declined"))
            }
            _ => false,
        }
    }
}

/// Looks at the order every 50 ms until it has settled or 20 s have passed; the last look.
async fn settle(buyer: &Customer, upstreams: &Upstreams, order_id: Uuid) -> Outcome {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response = buyer.order(&order_id.to_string()).await;
        assert_eq!(response.status(), 200, "the owner sees the order");
        let outcome = Outcome {
            order: response.json().await.unwrap(),
            reservation: upstreams.reservation(order_id),
            payments: upstreams.payments(order_id),
        };
        if outcome.settled() || Instant::now() >= deadline {
            return outcome;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the order's end must mean at inventory and payment.
fn assert_agree(outcome: &Outcome, upstreams: &Upstreams) {
    let Outcome {
        order,
        reservation,
        payments,
    } = outcome;
    match outcome.status() {
        "confirmed" => {
            assert_eq!(
                *reservation,
                Some(Hold::Confirmed),
                "the order took its stock"
            );
            assert_eq!(upstreams.stock(SKU), (1, 0));
            assert_eq!(payments.len(), 1, "one payment: {payments:#?}");
            assert_eq!(payments[0]["status"], "captured", "{payments:#?}");
            assert_eq!(
                payments[0]["captured_amount"]["amount"], order["total"]["amount"],
                "the total was captured"
            );
        }
        "cancelled" => {
            assert!(
                matches!(reservation, None | Some(Hold::Released)),
                "a cancelled order holds no stock: {reservation:?}"
            );
            assert_eq!(upstreams.stock(SKU), (3, 0));
            let released =
                |payment: &Value| matches!(payment["status"].as_str(), Some("voided" | "declined"));
            assert!(
                payments.iter().all(released),
                "a cancelled order holds no money: {payments:#?}"
            );
        }
        other => panic!(
            "the saga did not end within 20 s: the order is {other}, its reservation {reservation:?}, its payments {payments:#?}\n{order:#}"
        ),
    }
}

/// Orders, reservations and payments tell one story: the check the ops commands run.
async fn assert_reconciled(order_url: &str, upstreams: &Upstreams) {
    let mut common = CommonSettings::defaults(0);
    common.service_key = Some(SERVICE_KEY.into());
    let tokens = ServiceTokens::from_settings("ops", &common);
    let client = |url: &str, name: &str| {
        ServiceClient::new(url, name, tokens.clone(), Duration::from_secs(10))
    };
    let report = reconcile(&Services {
        order: client(order_url, "order"),
        inventory: client(upstreams.url(StandIn::Inventory), "inventory"),
        payment: client(upstreams.url(StandIn::Payment), "payment"),
    })
    .await
    .expect("reconciliation reaches every service");
    assert!(report.ok(true), "{report:?}");
    assert_eq!(report.orders, 1);
}

/// A checkout whose instance is killed while the card is being authorized is finished or
/// compensated by the next instance on the same database.
///
/// The crash is an in-process abort that leaves only persisted state behind. The first instance
/// runs on a thread and a tokio runtime of its own ([`Instance`]) and is killed by dropping that
/// runtime, stopping and draining nothing: every task it started — the request handler, the saga
/// task the checkout spawned, the event relay and the saga resumer, the server's connections, the
/// database pool — is dropped at whatever `.await` it stood, as SIGKILL ends a process at
/// whatever instruction, and none runs again. Aborting the client's request and stopping the
/// server would not do: `routes/orders.rs` runs the saga on a task of its own (so that a request
/// deadline cannot cut it short), which would go on to the end on the test's runtime; and
/// `TestServer` has no abort (`stop` and `begin_shutdown` drain). What survives is what survives
/// a real crash: what the instance had committed to its database, and what the other services —
/// the stand-ins, on the test's runtime — had done for it. The payment stand-in finishes an
/// authorization whose caller died, so the second instance finds the money held and must capture
/// or void it; as in the CLI test, either ending passes when inventory and payment agree with it.
#[tokio::test]
async fn a_checkout_killed_while_the_card_is_authorized_is_finished_or_compensated_after_restart() {
    let setup = Setup::new().await;
    let upstreams = &setup.upstreams;
    upstreams.add_product(SKU, 2_000, 3);

    let first = Instance::start(setup.settings.clone()).await;
    let buyer = setup.customers.customer(&first.url, "crash-buyer");
    assert_eq!(buyer.add_to_cart(SKU, 2).await.status(), 201);
    let checkout = tokio::spawn(buyer.checkout_request("crash-1", SLOW_CARD).send());

    // Once the authorization reaches the payment stand-in (which holds the slow card), the stock
    // is held and the saga has recorded `stock_reserved`.
    let reached = eventually(WAIT, || !upstreams.authorization_requests().is_empty()).await;
    assert!(reached, "the checkout reached the payment service");
    let order_id = upstreams.authorization_requests()[0];
    assert_eq!(upstreams.reservation(order_id), Some(Hold::Held));

    first.kill().await;
    let lost = tokio::time::timeout(WAIT, checkout)
        .await
        .expect("the checkout request ended with the instance")
        .expect("the checkout task did not panic");
    assert!(lost.is_err(), "the client lost its connection: {lost:?}");
    assert_eq!(
        upstreams.stock(SKU),
        (3, 2),
        "the hold outlived the instance"
    );

    // The processor finishes what it began: the authorization lands after its caller died, and
    // before the next instance looks (a real resumer waits `resume_after_ms` for that).
    upstreams.release_slow_card();
    let recorded = eventually(WAIT, || !upstreams.payments(order_id).is_empty()).await;
    assert!(recorded, "the authorization was recorded");
    let lookups = upstreams.calls("get", PAYMENTS);

    let app = shopctl_order::app(&setup.settings)
        .await
        .expect("the order service builds again on the same database");
    let second = TestServer::spawn_app("order", app).await;
    let buyer = setup.customers.customer(&second.url, "crash-buyer");
    let outcome = settle(&buyer, upstreams, order_id).await;
    assert_agree(&outcome, upstreams);
    assert!(
        upstreams.calls("get", PAYMENTS) > lookups,
        "the second instance asked the payment service what the first had left"
    );
    eprintln!("after the restart the order is {}", outcome.status());

    assert_reconciled(&second.url, upstreams).await;
    second.stop().await.expect("the second instance stops");
    upstreams.assert_contract_kept();
}
