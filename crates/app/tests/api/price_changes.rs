//! Price changes (R25-R27, CONTRACT section 10), through HTTP with the sandbox clock: scheduling and its refusals,
//! the e-mails at each step, withdrawal, the instant itself (bills, refunds, cancellations), and acceptance.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    as13_a_passive_change_is_announced_and_applies_on_its_day,
    refused_changes_say_why_and_tell_no_one,
    as14_customers_who_do_not_accept_an_active_change_are_canceled_at_its_instant,
    a_withdrawn_change_never_applies_and_its_customers_are_told,
    a_mid_month_decrease_is_refunded_at_its_instant,
    a_customer_who_does_not_accept_a_mid_month_change_gets_the_rest_of_the_month_back,
    a_mid_month_increase_is_on_the_next_bill_and_usage_is_split_at_the_instant,
    customers_who_subscribe_while_a_change_is_pending_are_told_or_accept_by_ordering,
    the_console_schedules_shows_and_withdraws_a_change,
);

/// AS-13's new price: 12.00 a month, storage at 0.25 a GB-Month.
fn as13_new_pricing() -> Value {
    let mut pricing = as2_pricing();
    pricing["monthly_fee"] = json!("12.00");
    pricing["usage"][0]["tiers"][0]["unit_price"] = json!("0.25");
    pricing
}

fn change(effective_at: &str, authorization: &str, pricing: Value) -> Value {
    json!({"effective_at": effective_at, "authorization": authorization, "pricing": pricing})
}

async fn schedule(app: &TestApp, seller: &str, product: &Value, body: Value) -> (StatusCode, Value) {
    let path = format!(
        "/api/v1/products/{}/price-changes",
        product["product_code"].as_str().unwrap()
    );
    app.seller_call(seller, Method::POST, &path, Some(body)).await
}

async fn withdraw(app: &TestApp, seller: &str, product: &Value) -> (StatusCode, Value) {
    let path = format!(
        "/api/v1/products/{}/price-changes/pending",
        product["product_code"].as_str().unwrap()
    );
    app.seller_call(seller, Method::DELETE, &path, None).await
}

async fn product_now(app: &TestApp, seller: &str, product: &Value) -> Value {
    let path = format!("/api/v1/products/{}", product["product_code"].as_str().unwrap());
    let (status, body) = app.seller_call(seller, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn email_with<'e>(emails: &'e [Value], subject: &str) -> &'e str {
    emails
        .iter()
        .find(|e| e["subject"] == subject)
        .unwrap_or_else(|| panic!("no {subject:?} in {:?}", subjects(emails)))["text"]
        .as_str()
        .unwrap()
}

fn count_of(emails: &[Value], subject: &str) -> usize {
    emails.iter().filter(|e| e["subject"] == subject).count()
}

async fn as13_a_passive_change_is_announced_and_applies_on_its_day(backend: Backend) {
    let app = TestApp::starting(backend, "2027-06-01T00:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, as2_pricing()).await;
    let (_, token, _) = subscribed(&app, &seller, &product, "ann@example.com").await;

    app.set_clock("2027-06-10T09:00:00Z").await;
    let mut body = change("2027-07-01T00:00:00Z", "passive", as13_new_pricing());
    body["message"] = json!("Storage costs us more this year.");
    let (status, pending) = schedule(&app, &seller, &product, body).await;
    assert_eq!(status, StatusCode::CREATED, "{pending}");
    assert_eq!(pending["effective_at"], "2027-07-01T00:00:00Z");
    assert_eq!(pending["authorization"], "passive");
    assert_eq!(pending["pricing"]["monthly_fee"], "12.00");
    assert_eq!(pending["accepted_count"], 0);
    let shown = product_now(&app, &seller, &product).await;
    assert_eq!(shown["pending_price_change"], pending);
    assert_eq!(
        shown["pricing"]["monthly_fee"], "10.00",
        "the price in force is unchanged until then"
    );

    let emails = app.emails_to("ann@example.com").await;
    let notice = email_with(&emails, "Price Change for Backup Pro");
    for fact in [
        "July 1, 2027",
        "Monthly fee: $12.00 a month",
        "$0.25 per GB-Month",
        "Storage costs us more this year.",
        "nothing you need to do",
        "/billing/subscriptions/",
    ] {
        assert!(notice.contains(fact), "{fact:?} in {notice}");
    }

    // A second change is refused while this one is pending, even one with enough notice.
    let (status, refused) = schedule(
        &app,
        &seller,
        &product,
        change("2027-09-01T00:00:00Z", "passive", as2_pricing()),
    )
    .await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (StatusCode::CONFLICT, &json!("PendingPriceChangeExists"))
    );

    app.set_clock("2027-06-30T12:00:00Z").await;
    store_usage(&app, &product, &token, "june", "4.2", "2027-06-30T11:00:00Z").await;
    app.set_clock("2027-07-01T00:00:00Z").await;
    let emails = app.emails_to("ann@example.com").await;
    let confirmation = email_with(&emails, "Price Change in Effect for Backup Pro");
    assert!(
        confirmation.contains("July 1, 2027") && confirmation.contains("$12.00 a month"),
        "{confirmation}"
    );
    assert_eq!(count_of(&emails, "Price Change for Backup Pro"), 1);

    // June's storage at June's price, July's fee at the new one.
    let bills = app.bills_of("ann@example.com").await;
    let july = monthly_bills(&bills)[0];
    assert_eq!(july["total"], "12.84");
    assert_eq!(
        lines(july),
        vec![
            (
                "monthly_fee".into(),
                "12.00".into(),
                "Backup Pro: monthly fee for July 2027".into()
            ),
            (
                "usage".into(),
                "0.84".into(),
                "Backup Pro: storage.gb_month in June 2027".into()
            ),
        ]
    );
    let shown = product_now(&app, &seller, &product).await;
    assert_eq!(shown["pending_price_change"], Value::Null);
    assert_eq!(shown["pricing"]["monthly_fee"], "12.00");
    let (status, none) = withdraw(&app, &seller, &product).await;
    assert_eq!(
        (status, &none["error"]["code"]),
        (StatusCode::NOT_FOUND, &json!("NoPendingPriceChange"))
    );
    app.finish().await;
}

async fn refused_changes_say_why_and_tell_no_one(backend: Backend) {
    let app = TestApp::starting(backend, "2027-06-20T10:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, as2_pricing()).await;
    subscribed(&app, &seller, &product, "ann@example.com").await;
    let refusals = [
        // AS-13: 11 days' notice for a passive change.
        (
            change("2027-07-01T00:00:00Z", "passive", as13_new_pricing()),
            422,
            "NoticeTooShort",
        ),
        (
            change("2027-07-01T00:00:01Z", "active", as13_new_pricing()),
            422,
            "InvalidEffectiveAt",
        ),
        (
            change("2027-06-20T00:00:00Z", "active", as13_new_pricing()),
            422,
            "InvalidEffectiveAt",
        ),
        (
            change("2027-06-01T00:00:00Z", "passive", as13_new_pricing()),
            422,
            "InvalidEffectiveAt",
        ),
        (
            change("July 1", "active", as13_new_pricing()),
            400,
            "InvalidParameterValue",
        ),
        (
            change("2027-08-01T00:00:00Z", "sometimes", as13_new_pricing()),
            400,
            "InvalidParameterValue",
        ),
        (
            change(
                "2027-08-01T00:00:00Z",
                "passive",
                json!({"signup_fee": "5.00", "monthly_fee": "-1.00", "usage": []}),
            ),
            400,
            "InvalidParameterValue",
        ),
        (
            change(
                "2027-08-01T00:00:00Z",
                "passive",
                json!({"signup_fee": "0.00", "monthly_fee": "1.00", "usage": [{"dimension": "gold.bars", "tiers": [{"up_to": null, "unit_price": "1"}]}]}),
            ),
            400,
            "UnknownDimension",
        ),
        (
            json!({"authorization": "active", "pricing": as2_pricing()}),
            400,
            "MissingParameter",
        ),
    ];
    for (body, status, code) in refusals {
        let (got, answer) = schedule(&app, &seller, &product, body.clone()).await;
        assert_eq!(
            (got.as_u16(), &answer["error"]["code"]),
            (status, &json!(code)),
            "{body}"
        );
    }
    // With one pending, the 11-day change meets PendingPriceChangeExists first (R25's order).
    let (status, _) = schedule(
        &app,
        &seller,
        &product,
        change("2027-07-01T00:00:00Z", "active", as13_new_pricing()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, answer) = schedule(
        &app,
        &seller,
        &product,
        change("2027-07-01T00:00:00Z", "passive", as13_new_pricing()),
    )
    .await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (StatusCode::CONFLICT, &json!("PendingPriceChangeExists"))
    );
    // Another seller cannot change it.
    let other = app.create_seller("other@example.com").await;
    let (status, _) = schedule(
        &app,
        &other,
        &product,
        change("2027-08-01T00:00:00Z", "active", as2_pricing()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = withdraw(&app, &other, &product).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let emails = app.emails_to("ann@example.com").await;
    assert_eq!(
        count_of(&emails, "Price Change for Backup Pro"),
        1,
        "only the accepted change was announced"
    );
    app.finish().await;
}

async fn as14_customers_who_do_not_accept_an_active_change_are_canceled_at_its_instant(backend: Backend) {
    let app = TestApp::starting(backend, "2027-06-01T00:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, as2_pricing()).await;
    let code = product["product_code"].as_str().unwrap().to_owned();
    let (ann, _, _) = subscribed(&app, &seller, &product, "ann@example.com").await;
    let (_, bob_token, bob_pid) = subscribed(&app, &seller, &product, "bob@example.com").await;

    app.set_clock("2027-06-01T12:00:00Z").await;
    let (status, pending) = schedule(
        &app,
        &seller,
        &product,
        change("2027-07-01T00:00:00Z", "active", as13_new_pricing()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{pending}");
    let notice = email_with(&app.emails_to("bob@example.com").await, "Price Change for Backup Pro").to_owned();
    assert!(
        notice.contains("you must agree to the new price") && notice.contains("canceled"),
        "{notice}"
    );

    app.set_clock("2027-06-05T10:00:00Z").await;
    let (_, page) = ann.page(&format!("/billing/subscriptions/{code}")).await;
    assert!(page.contains("id=\"accept-price-change\""), "{page}");
    let response = ann.submit(&format!("/billing/price-changes/{code}/accept"), &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("You accepted the new price") && page.contains("price-change-accepted"),
        "{page}"
    );
    assert_eq!(
        product_now(&app, &seller, &product).await["pending_price_change"]["accepted_count"],
        1
    );
    // The focused billing page carries the same notice.
    let (_, page) = ann.page(&format!("/billing?productCode={code}")).await;
    assert!(page.contains("id=\"pending-price-change\""), "{page}");

    app.set_clock("2027-06-30T12:00:00Z").await;
    store_usage(&app, &product, &bob_token, "bob-june", "4.2", "2027-06-30T11:00:00Z").await;
    app.set_clock("2027-07-01T00:00:00Z").await;

    // Bob is canceled at the instant: no July fee, June's usage at June's price, and access gone.
    let bob_bills = app.bills_of("bob@example.com").await;
    let july = monthly_bills(&bob_bills)[0];
    assert_eq!(
        lines(july),
        vec![(
            "usage".into(),
            "0.84".into(),
            "Backup Pro: storage.gb_month in June 2027".into()
        )]
    );
    assert_eq!(verify(&app, &seller, &bob_pid, &product).await, false);
    let bob_emails = app.emails_to("bob@example.com").await;
    let canceled = email_with(&bob_emails, "Your Backup Pro Subscription Has Been Canceled");
    assert!(canceled.contains("did not accept its new price"), "{canceled}");
    assert_eq!(count_of(&bob_emails, "Price Change in Effect for Backup Pro"), 0);

    // Ann continues at the new price.
    let ann_bills = app.bills_of("ann@example.com").await;
    assert_eq!(
        lines(monthly_bills(&ann_bills)[0]),
        vec![(
            "monthly_fee".into(),
            "12.00".into(),
            "Backup Pro: monthly fee for July 2027".into()
        )]
    );
    let ann_emails = app.emails_to("ann@example.com").await;
    assert_eq!(count_of(&ann_emails, "Price Change in Effect for Backup Pro"), 1);
    assert_eq!(
        count_of(&ann_emails, "Your Backup Pro Subscription Has Been Canceled"),
        0
    );
    app.finish().await;
}

async fn a_withdrawn_change_never_applies_and_its_customers_are_told(backend: Backend) {
    let app = TestApp::starting(backend, "2027-06-01T00:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, as2_pricing()).await;
    subscribed(&app, &seller, &product, "ann@example.com").await;
    let (status, _) = withdraw(&app, &seller, &product).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = schedule(
        &app,
        &seller,
        &product,
        change("2027-07-01T00:00:00Z", "active", as13_new_pricing()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    app.set_clock("2027-06-10T00:00:00Z").await;
    let (status, body) = withdraw(&app, &seller, &product).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, answer) = withdraw(&app, &seller, &product).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (StatusCode::NOT_FOUND, &json!("NoPendingPriceChange"))
    );
    let emails = app.emails_to("ann@example.com").await;
    let withdrawn = email_with(&emails, "Price Change Canceled for Backup Pro");
    assert!(
        withdrawn.contains("July 1, 2027") && withdrawn.contains("will not happen"),
        "{withdrawn}"
    );
    assert_eq!(
        product_now(&app, &seller, &product).await["pending_price_change"],
        Value::Null
    );

    // The same instant can be scheduled again, and the withdrawn price never applies.
    let mut cheaper = as2_pricing();
    cheaper["monthly_fee"] = json!("8.00");
    let (status, _) = schedule(
        &app,
        &seller,
        &product,
        change("2027-07-01T00:00:00Z", "passive", cheaper),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    app.set_clock("2027-07-01T00:00:00Z").await;
    let bills = app.bills_of("ann@example.com").await;
    assert_eq!(
        lines(monthly_bills(&bills)[0]),
        vec![(
            "monthly_fee".into(),
            "8.00".into(),
            "Backup Pro: monthly fee for July 2027".into()
        )]
    );
    // Nobody was canceled for not accepting the withdrawn active change.
    assert_eq!(
        count_of(
            &app.emails_to("ann@example.com").await,
            "Your Backup Pro Subscription Has Been Canceled"
        ),
        0
    );
    app.finish().await;
}

fn monthly_only(fee: &str) -> Value {
    json!({"signup_fee": "0.00", "monthly_fee": fee, "usage": [
        {"dimension": "storage.gb_month", "tiers": [{"up_to": null, "unit_price": "0.20"}]}
    ]})
}

async fn a_mid_month_decrease_is_refunded_at_its_instant(backend: Backend) {
    let app = TestApp::starting(backend, "2027-06-20T00:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, monthly_only("31.00")).await;
    let (ann, _, _) = subscribed(&app, &seller, &product, "ann@example.com").await;
    app.set_clock("2027-07-01T00:00:00Z").await;
    let (status, _) = schedule(
        &app,
        &seller,
        &product,
        change("2027-07-21T00:00:00Z", "passive", monthly_only("20.00")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    app.set_clock("2027-07-21T00:00:00Z").await;
    // (20 - 31) × (31 - 21 + 1) / 31 = -3.903…: 3.90 back at once.
    let bills = app.bills_of("ann@example.com").await;
    let refund = bills.iter().find(|b| b["kind"] == "refund").expect("a refund bill");
    assert_eq!((&refund["total"], &refund["status"]), (&json!("-3.90"), &json!("paid")));
    assert_eq!(refund["issued_at"], "2027-07-21T00:00:00Z");
    assert_eq!(
        lines(refund),
        vec![(
            "refund".into(),
            "-3.90".into(),
            "Backup Pro: lower monthly fee for July 2027 from the price change on July 21, 2027".into()
        )]
    );
    let emails = app.emails_to("ann@example.com").await;
    let confirmation = email_with(&emails, "Price Change in Effect for Backup Pro");
    assert!(confirmation.contains("$3.90 has been refunded"), "{confirmation}");
    // July's statement shows the refund with its sign before the dollar sign.
    let (_, statement) = ann.page("/billing/statements/2027-07").await;
    assert!(statement.contains("-$3.90") && !statement.contains("$-"), "{statement}");
    // A repeated midnight refunds nothing twice; August is at the new fee.
    app.set_clock("2027-08-01T00:00:00Z").await;
    let bills = app.bills_of("ann@example.com").await;
    assert_eq!(bills.iter().filter(|b| b["kind"] == "refund").count(), 1);
    assert_eq!(
        lines(monthly_bills(&bills)[1]),
        vec![(
            "monthly_fee".into(),
            "20.00".into(),
            "Backup Pro: monthly fee for August 2027".into()
        )]
    );
    // The seller's balance gives the refund back too.
    let (status, ledger) = app
        .seller_call(&seller, Method::GET, "/api/v1/seller/transactions", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        ledger["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["kind"] == "refund" && t["amount"] == "-3.90"),
        "{ledger}"
    );
    app.finish().await;
}

async fn a_customer_who_does_not_accept_a_mid_month_change_gets_the_rest_of_the_month_back(backend: Backend) {
    let app = TestApp::starting(backend, "2027-06-20T00:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, monthly_only("31.00")).await;
    let (_, token, pid) = subscribed(&app, &seller, &product, "ann@example.com").await;
    app.set_clock("2027-07-01T00:00:00Z").await;
    let (status, _) = schedule(
        &app,
        &seller,
        &product,
        change("2027-07-21T00:00:00Z", "active", monthly_only("40.00")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    app.set_clock("2027-07-20T12:00:00Z").await;
    store_usage(&app, &product, &token, "july", "1", "2027-07-20T11:00:00Z").await;
    app.set_clock("2027-07-21T00:00:00Z").await;
    // Canceled at 00:00 on day 21 of 31: the old fee's days 21 to 31 back, 31.00 × 11/31.
    let bills = app.bills_of("ann@example.com").await;
    let refund = bills.iter().find(|b| b["kind"] == "refund").expect("a refund bill");
    assert_eq!(
        (&refund["total"], &refund["status"]),
        (&json!("-11.00"), &json!("paid"))
    );
    assert_eq!(verify(&app, &seller, &pid, &product).await, false);
    let emails = app.emails_to("ann@example.com").await;
    let canceled = email_with(&emails, "Your Backup Pro Subscription Has Been Canceled");
    assert!(
        canceled.contains("$11.00") && canceled.contains("did not accept its new price"),
        "{canceled}"
    );
    assert_eq!(count_of(&emails, "Price Change in Effect for Backup Pro"), 0);
    // July's usage, before the change, at the old price on August 1; no fee.
    app.set_clock("2027-08-01T00:00:00Z").await;
    let bills = app.bills_of("ann@example.com").await;
    assert_eq!(
        lines(monthly_bills(&bills)[1]),
        vec![(
            "usage".into(),
            "0.20".into(),
            "Backup Pro: storage.gb_month in July 2027 before July 21 (earlier price)".into()
        )]
    );
    app.finish().await;
}

async fn a_mid_month_increase_is_on_the_next_bill_and_usage_is_split_at_the_instant(backend: Backend) {
    let app = TestApp::starting(backend, "2027-06-20T00:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, monthly_only("10.00")).await;
    let (_, token, _) = subscribed(&app, &seller, &product, "ann@example.com").await;
    app.set_clock("2027-07-01T00:00:00Z").await;
    let mut dearer = monthly_only("16.00");
    dearer["usage"][0]["tiers"][0]["unit_price"] = json!("0.25");
    let (status, _) = schedule(
        &app,
        &seller,
        &product,
        change("2027-07-21T00:00:00Z", "active", dearer),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    app.set_clock("2027-07-10T12:00:00Z").await;
    store_usage(&app, &product, &token, "before", "2", "2027-07-10T11:00:00Z").await;
    let ann = app.browser();
    ann.submit("/login", &[("email", "ann@example.com"), ("password", PASSWORD)])
        .await;
    let code = product["product_code"].as_str().unwrap();
    let response = ann.submit(&format!("/billing/price-changes/{code}/accept"), &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    app.set_clock("2027-07-25T12:00:00Z").await;
    store_usage(&app, &product, &token, "after", "2", "2027-07-25T11:00:00Z").await;
    // The billing page rates the month as the bill will: 2 × 0.20 + 2 × 0.25.
    let (_, page) = ann.page("/billing").await;
    let row = &page[page.find("data-dimension=\"storage.gb_month\"").expect("a storage row")..];
    assert!(row[..row.find("</tr>").unwrap()].contains("$0.90"), "{row}");
    let emails = app.emails_to("ann@example.com").await;
    let confirmation = email_with(&emails, "Price Change in Effect for Backup Pro");
    // (16 - 10) × 11 / 31 = 2.129…
    assert!(
        confirmation.contains("$2.13, will be on your bill of August 1, 2027"),
        "{confirmation}"
    );

    app.set_clock("2027-08-01T00:00:00Z").await;
    let bills = app.bills_of("ann@example.com").await;
    assert!(bills.iter().all(|b| b["kind"] != "refund"));
    let august = monthly_bills(&bills)[1];
    assert_eq!(
        lines(august),
        vec![
            (
                "monthly_fee".into(),
                "16.00".into(),
                "Backup Pro: monthly fee for August 2027".into()
            ),
            (
                "monthly_fee".into(),
                "2.13".into(),
                "Backup Pro: higher monthly fee for July 2027 from the price change on July 21, 2027".into()
            ),
            (
                "usage".into(),
                "0.40".into(),
                "Backup Pro: storage.gb_month in July 2027 before July 21 (earlier price)".into()
            ),
            (
                "usage".into(),
                "0.50".into(),
                "Backup Pro: storage.gb_month in July 2027 from July 21 (new price)".into()
            ),
        ]
    );
    assert_eq!(august["total"], "19.03");
    // The increase is carried once: September's bill has only September's fee.
    app.set_clock("2027-09-01T00:00:00Z").await;
    let bills = app.bills_of("ann@example.com").await;
    assert_eq!(
        lines(monthly_bills(&bills)[2]),
        vec![(
            "monthly_fee".into(),
            "16.00".into(),
            "Backup Pro: monthly fee for September 2027".into()
        )]
    );
    app.finish().await;
}

async fn customers_who_subscribe_while_a_change_is_pending_are_told_or_accept_by_ordering(backend: Backend) {
    let app = TestApp::starting(backend, "2027-06-01T00:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    let passive = app.create_product(&seller, as2_pricing()).await;
    let active = app.create_product(&seller, as2_pricing()).await;
    let (status, _) = schedule(
        &app,
        &seller,
        &passive,
        change("2027-07-01T00:00:00Z", "passive", as13_new_pricing()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = schedule(
        &app,
        &seller,
        &active,
        change("2027-07-01T00:00:00Z", "active", as13_new_pricing()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    app.set_clock("2027-06-16T00:00:00Z").await;
    let ann = app.customer("ann@example.com", Some(CARD)).await;
    let (_, page) = ann
        .page(&format!("/purchase/{}", passive["offering_code"].as_str().unwrap()))
        .await;
    assert_eq!(
        element_attr(&page, "upcoming-price", "data-authorization").as_deref(),
        Some("passive")
    );
    assert!(page.contains("$12.00 a month"), "{page}");
    // Today's charge is at today's price: 5.00 + 10.00 × 15/30.
    assert_eq!(element_text(&page, "amount-due").as_deref(), Some("$10.00"));
    let (status, html) = ann.buy(passive["offering_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let signup = email_with(&app.emails_to("ann@example.com").await, "Your Backup Pro Purchase").to_owned();
    assert!(
        signup.contains("changes on July 1, 2027") && signup.contains("Monthly fee: $12.00 a month"),
        "{signup}"
    );

    // An active change is accepted by ordering.
    let (_, page) = ann
        .page(&format!("/purchase/{}", active["offering_code"].as_str().unwrap()))
        .await;
    assert!(page.contains("By ordering you accept the new price"), "{page}");
    let (status, html) = ann.buy(active["offering_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(
        product_now(&app, &seller, &active).await["pending_price_change"]["accepted_count"],
        1
    );

    // An order from a page that did not show the pending change is refused, and nothing is charged.
    let bob = app.customer("bob@example.com", Some(CARD)).await;
    let offering = active["offering_code"].as_str().unwrap();
    let (_, page) = bob.page(&format!("/purchase/{offering}")).await;
    let token = csrf_token(&page).unwrap();
    let response = bob
        .post_with_token(
            &format!("/purchase/{offering}"),
            &[("amount_due", "10.00"), ("price_change", "")],
            &token,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(app.bills_of("bob@example.com").await.is_empty());

    app.set_clock("2027-07-01T00:00:00Z").await;
    let emails = app.emails_to("ann@example.com").await;
    assert_eq!(
        count_of(&emails, "Price Change in Effect for Backup Pro"),
        2,
        "{:?}",
        subjects(&emails)
    );
    assert_eq!(count_of(&emails, "Your Backup Pro Subscription Has Been Canceled"), 0);
    let bills = app.bills_of("ann@example.com").await;
    let july = monthly_bills(&bills)[0];
    assert_eq!(july["total"], "24.00", "both at the new fee");
    app.finish().await;
}

async fn the_console_schedules_shows_and_withdraws_a_change(backend: Backend) {
    let app = TestApp::starting(backend, "2027-06-20T10:00:00Z").await;
    let key = app.create_seller("seller@example.com").await;
    let product = app.create_product(&key, as2_pricing()).await;
    let code = product["product_code"].as_str().unwrap();
    subscribed(&app, &key, &product, "ann@example.com").await;
    let seller = app.browser();
    seller
        .submit("/login", &[("email", "seller@example.com"), ("password", PASSWORD)])
        .await;
    let path = format!("/seller/products/{code}/price-change");
    let (status, page) = seller.page(&path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        hidden_value(&page, "monthly_fee").as_deref(),
        Some("10.00"),
        "the form starts at today's price"
    );
    let usage = serde_json::to_string(&as13_new_pricing()["usage"]).unwrap();
    let mut fields = vec![
        ("effective_on", "2027-07-01"),
        ("authorization", "passive"),
        ("signup_fee", "5.00"),
        ("monthly_fee", "12.00"),
        ("usage", usage.as_str()),
        ("message", ""),
    ];
    let response = seller.submit(&path, &fields).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("14 days"));
    fields[1] = ("authorization", "active");
    let response = seller.submit(&path, &fields).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert_eq!(
        element_attr(&page, "pending-change", "data-authorization").as_deref(),
        Some("active")
    );
    assert_eq!(element_text(&page, "accepted-count").as_deref(), Some("0"));
    assert_eq!(
        product_now(&app, &key, &product).await["pending_price_change"]["pricing"]["monthly_fee"],
        "12.00"
    );
    let (_, console) = seller.page("/seller").await;
    assert!(console.contains("active from July 1, 2027 · 0 accepted"), "{console}");

    let response = seller.submit(&format!("{path}/withdraw"), &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("id=\"price-change-form\""));
    let emails = app.emails_to("ann@example.com").await;
    assert_eq!(count_of(&emails, "Price Change for Backup Pro"), 1);
    assert_eq!(count_of(&emails, "Price Change Canceled for Backup Pro"), 1);
    app.finish().await;
}
