//! Exactly once across crashes (R20): a charge interrupted between the gateway and the database is finished with
//! its original idempotency key, never made twice.

use chrono::Utc;
use reqwest::{Method, StatusCode};
use tollgate::gateway::{PaymentGateway, SandboxGateway};
use tollgate_domain::Money;
use tollgate_store::payments::PaymentMethod;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(a_charge_interrupted_after_the_gateway_is_finished_once);

async fn a_charge_interrupted_after_the_gateway_is_finished_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.create_seller("seller@example.com").await;
    let product = app.create_product(&key, contract_pricing()).await;
    let customer = app.customer("wes@example.com", Some("4000000000000341")).await;
    let (status, _) = customer.buy(product["offering_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let store = &app.running().state.store;
    let account = store.account_by_email("wes@example.com").await.unwrap().unwrap();
    let bill = store.bills_of_customer(&account.id).await.unwrap().remove(0);
    assert_eq!(bill.status, "failed");

    // A working card lands in the database, then the process opens the next attempt and the gateway charges it,
    // and the process dies before recording the outcome.
    let gateway = SandboxGateway::new(store.clone());
    let card = tollgate_domain::card::CardDetails::parse("4242424242424242", "12", "2030", "123", Utc::now()).unwrap();
    let stored = gateway.add_card(&card, Utc::now()).await.unwrap();
    let method = PaymentMethod {
        customer_id: account.id.clone(),
        brand: stored.brand,
        last4: stored.last4,
        exp_month: 12,
        exp_year: 2030,
        gateway_token: stored.token,
        added_at: 0,
    };
    store.set_payment_method(&method).await.unwrap();
    let started = store
        .begin_attempt(&bill.id, tollgate_store::millis(Utc::now()))
        .await
        .unwrap()
        .expect("opened");
    let idempotency_key = started.idempotency_key();
    let charged = gateway
        .charge(
            &started.gateway_token,
            Money::from_cents(967),
            &idempotency_key,
            Utc::now(),
        )
        .await;
    assert!(charged.unwrap().succeeded);
    assert!(
        store.begin_attempt(&bill.id, 0).await.unwrap().is_none(),
        "one attempt at a time"
    );

    // The next scheduler round (here: a clock move) finishes the open attempt with the same key.
    app.set_clock("2027-06-17T01:00:00Z").await;
    let bills = app.bills_of("wes@example.com").await;
    assert_eq!(
        (bills[0]["status"].as_str(), bills[0]["attempts"].as_i64()),
        (Some("paid"), Some(2))
    );
    let (_, money) = app
        .seller_call(&key, Method::GET, "/api/v1/seller/transactions", None)
        .await;
    assert_eq!(
        (
            money["balance"].as_str(),
            money["transactions"].as_array().unwrap().len()
        ),
        (Some("9.37"), 1)
    );
    let (_, html) = customer.page("/activate").await;
    assert!(html.contains("active"));
    // Another round changes nothing.
    app.set_clock("2027-06-17T02:00:00Z").await;
    assert_eq!(app.bills_of("wes@example.com").await[0]["attempts"], 2);
    app.finish().await;
}
