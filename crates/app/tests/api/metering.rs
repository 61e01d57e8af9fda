//! Usage metering, the Application Billing page, cancellation and resubscription (CONTRACT sections 4 and 7, R13-R17,
//! R23, R24), through HTTP with the sandbox clock.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    usage_records_are_checked_one_by_one_and_counted_once,
    racing_retries_of_a_batch_count_each_record_once,
    whole_call_errors_write_nothing,
    as3_cancellation_refunds_the_unused_fee_and_ends_access,
    as20_resubscribing_pays_again_and_keeps_the_identities,
    canceling_a_pending_subscription_voids_its_signup_bill,
    r14_previous_month_usage_is_accepted_and_marked_late_once_its_month_is_over,
    a_restart_after_usage_was_stored_starts,
);

async fn post_usage(app: &TestApp, key: &str, records: Value) -> (StatusCode, Value) {
    app.seller_call(key, Method::POST, "/api/v1/usage", Some(json!({"records": records})))
        .await
}

async fn stored_usage(app: &TestApp, email: &str, product: &Value) -> Vec<(String, String, String, i64)> {
    let store = &app.running().state.store;
    let account = store.account_by_email(email).await.unwrap().unwrap();
    let product = store
        .product_by_code(product["product_code"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    store.usage_records(&account.id, &product.id).await.unwrap()
}

async fn usage_records_are_checked_one_by_one_and_counted_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let seller = app.create_seller("seller@example.com").await;
    let other = app.create_seller("other@example.com").await;
    let product = app.create_product(&seller, as2_pricing()).await;
    let others = app.create_product(&other, as2_pricing()).await;
    let (_, token, pid) = subscribed(&app, &seller, &product, "ann@example.com").await;
    app.set_clock("2027-06-18T12:00:00Z").await;
    let code = product["product_code"].as_str().unwrap();
    let record = |id: &str, dimension: &str, quantity: Value, timestamp: &str| {
        json!({"id": id, "product_code": code, "user_token": token, "dimension": dimension,
               "quantity": quantity, "timestamp": timestamp})
    };
    let at = "2027-06-18T09:00:00Z";
    let mut by_pid = record("evt-pid", "custom.exports", json!("2"), at);
    by_pid.as_object_mut().unwrap().remove("user_token");
    by_pid["persistent_identifier"] = json!(pid);
    let mut both = record("evt-both", "custom.exports", json!("1"), at);
    both["persistent_identifier"] = json!(pid);
    let mut foreign = record("evt-foreign", "custom.exports", json!("1"), at);
    foreign["product_code"] = others["product_code"].clone();
    let mut unknown_product = record("evt-nowhere", "custom.exports", json!("1"), at);
    unknown_product["product_code"] = json!("ZZZZZZZZ");

    let (status, answer) = post_usage(
        &app,
        &seller,
        json!([
            record("evt-1", "custom.exports", json!("3"), at),
            record("evt-1", "custom.exports", json!("7"), at),
            by_pid,
            record("evt-negative", "custom.exports", json!("-1"), at),
            record("evt-number", "custom.exports", json!(3), at),
            record("evt-huge", "custom.exports", json!("10000000000000"), at),
            record("evt-words", "custom.exports", json!("three"), at),
            both,
            record("evt-platform", "storage.gb_month", json!("1"), at),
            record("evt-unpriced", "custom.imports", json!("1"), at),
            foreign,
            unknown_product,
            json!({"id": "evt-bad-token", "product_code": code, "user_token": "{UserToken}nobody",
                   "dimension": "custom.exports", "quantity": "1", "timestamp": at}),
            json!({"id": "evt-bad-pid", "product_code": code, "persistent_identifier": "pid_nobody",
                   "dimension": "custom.exports", "quantity": "1", "timestamp": at}),
            record("evt-april", "custom.exports", json!("1"), "2027-04-30T23:59:59Z"),
            record("evt-ahead", "custom.exports", json!("1"), "2027-06-18T12:10:00Z"),
            record("evt-soon", "custom.exports", json!("1"), "2027-06-18T12:04:00Z"),
            record("evt-before", "custom.exports", json!("1"), "2027-06-16T12:00:00Z"),
            record("evt-not-a-time", "custom.exports", json!("1"), "yesterday"),
            json!({"id": "evt-extra", "product_code": code, "user_token": token, "dimension": "custom.exports",
                   "quantity": "1", "timestamp": at, "colour": "blue"}),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let expected = [
        ("evt-1", "accepted"),
        ("evt-1", "duplicate"),
        ("evt-pid", "accepted"),
        ("evt-negative", "InvalidParameterValue"),
        ("evt-number", "InvalidParameterValue"),
        ("evt-huge", "InvalidParameterValue"),
        ("evt-words", "InvalidParameterValue"),
        ("evt-both", "InvalidParameterValue"),
        ("evt-platform", "AccessDenied"),
        ("evt-unpriced", "UnknownDimension"),
        ("evt-foreign", "AccessDenied"),
        ("evt-nowhere", "NotFound"),
        ("evt-bad-token", "InvalidUserToken"),
        ("evt-bad-pid", "InvalidPersistentIdentifier"),
        ("evt-april", "TimestampOutOfWindow"),
        ("evt-ahead", "TimestampOutOfWindow"),
        ("evt-soon", "accepted"),
        ("evt-before", "UserNotSubscribed"),
        ("evt-not-a-time", "InvalidParameterValue"),
        ("evt-extra", "InvalidParameterValue"),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(statuses(&answer), expected);
    let negative = &answer["results"][3]["error"]["message"];
    assert!(negative.as_str().unwrap().contains("records[3].quantity"), "{negative}");

    // A resend is a duplicate and the first content stays (R15); the rejected may be sent again.
    let (_, again) = post_usage(
        &app,
        &seller,
        json!([
            record("evt-1", "custom.exports", json!("100"), at),
            record("evt-words", "custom.exports", json!("4"), at)
        ]),
    )
    .await;
    assert_eq!(
        statuses(&again),
        vec![
            ("evt-1".into(), "duplicate".into()),
            ("evt-words".into(), "accepted".into())
        ]
    );
    let stored = stored_usage(&app, "ann@example.com", &product).await;
    let quantities: Vec<(&str, &str)> = stored.iter().map(|r| (r.0.as_str(), r.2.as_str())).collect();
    assert_eq!(quantities.len(), 4, "{quantities:?}");
    assert!(quantities.contains(&("evt-1", "3")), "{quantities:?}");

    // The operator reports platform dimensions, priced or not (R17), and never a seller's own.
    let (status, operator) = app
        .operator(
            Method::POST,
            "/api/v1/usage",
            Some(json!({"records": [
                record("s-1", "storage.gb_month", json!("4.2"), at),
                record("s-2", "transfer.out_gb", json!("1.5"), at),
                record("s-3", "custom.exports", json!("1"), at),
                record("s-4", "compute.hours.small", json!("1"), at),
                record("s-5", "storage.nothing", json!("1"), at),
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{operator}");
    assert_eq!(
        statuses(&operator),
        vec![
            ("s-1".into(), "accepted".into()),
            ("s-2".into(), "accepted".into()),
            ("s-3".into(), "AccessDenied".into()),
            ("s-4".into(), "AccessDenied".into()),
            ("s-5".into(), "UnknownDimension".into()),
        ]
    );

    // The billing page rates the month so far: exports 3 + 2 + 1 + 4 = 10 at 0.05, storage 4.2 at 0.20.
    let customer = app.browser();
    customer
        .submit("/login", &[("email", "ann@example.com"), ("password", PASSWORD)])
        .await;
    let (status, html) = customer.page("/billing").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let html = unescape(&html);
    assert!(html.contains(r#"data-dimension="custom.exports"><td>custom.exports</td><td class="amount">10</td><td class="amount">$0.50</td>"#), "{html}");
    assert!(
        html.contains(r#"<td class="amount">4.2</td><td class="amount">$0.84</td>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<td class="amount">0.00</td>"#) || html.contains(r#"<td class="amount">$0.00</td>"#),
        "transfer is unpriced: {html}"
    );
    // Fees charged in June: 5.00 + 4.67; the next bill: usage so far and July's fee.
    assert!(html.contains(r#"data-fees>$9.67<"#), "{html}");
    assert!(html.contains(r#"data-total>$11.01<"#), "{html}");
    assert_eq!(element_text(&html, "next-bill-estimate").as_deref(), Some("$11.34"));
    assert_eq!(element_text(&html, "next-bill-date").as_deref(), Some("July 1, 2027"));
    assert!(
        html.contains("<svg") && html.contains("Day 18: $"),
        "a chart of the month's days: {html}"
    );
    app.finish().await;
}

async fn racing_retries_of_a_batch_count_each_record_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, as2_pricing()).await;
    let (_, token, _) = subscribed(&app, &seller, &product, "ann@example.com").await;
    app.set_clock("2027-06-18T12:00:00Z").await;
    let records: Vec<Value> = (0..300)
        .map(|i| {
            json!({"id": format!("evt-{i}"), "product_code": product["product_code"], "user_token": token,
                   "dimension": "custom.exports", "quantity": "1", "timestamp": "2027-06-18T09:00:00Z"})
        })
        .collect();
    let records = json!(records);
    let (a, b, c, d) = tokio::join!(
        post_usage(&app, &seller, records.clone()),
        post_usage(&app, &seller, records.clone()),
        post_usage(&app, &seller, records.clone()),
        post_usage(&app, &seller, records.clone()),
    );
    let answers = [a, b, c, d];
    let mut accepted = 0;
    for (status, answer) in &answers {
        assert_eq!(*status, StatusCode::OK, "{answer}");
        for (_, outcome) in statuses(answer) {
            match outcome.as_str() {
                "accepted" => accepted += 1,
                "duplicate" => {}
                other => panic!("unexpected {other}"),
            }
        }
    }
    assert_eq!(
        accepted, 300,
        "each record accepted by exactly one of the racing retries"
    );
    assert_eq!(stored_usage(&app, "ann@example.com", &product).await.len(), 300);
    app.finish().await;
}

async fn whole_call_errors_write_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, as2_pricing()).await;
    let (_, token, _) = subscribed(&app, &seller, &product, "ann@example.com").await;
    let record = |i: usize| {
        json!({"id": format!("evt-{i}"), "product_code": product["product_code"], "user_token": token,
               "dimension": "custom.exports", "quantity": "1", "timestamp": "2027-06-17T00:00:00Z"})
    };
    let (status, answer) = post_usage(&app, &seller, json!((0..1001).map(record).collect::<Vec<_>>())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["code"], "TooManyRecords");
    let (status, answer) = app
        .seller_call(
            &seller,
            Method::POST,
            "/api/v1/usage",
            Some(json!({"records": [record(1)], "extra": true})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["code"], "InvalidParameterValue");
    let (status, answer) = app
        .seller_call(&seller, Method::POST, "/api/v1/usage", Some(json!({"records": "all"})))
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("InvalidParameterValue"))
    );
    let response = app
        .api
        .post(app.url("/api/v1/usage"))
        .bearer_auth(&seller)
        .header("content-type", "application/json")
        .body("{\"records\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (status, _) = app
        .seller_call(
            "tg_wrong",
            Method::POST,
            "/api/v1/usage",
            Some(json!({"records": [record(1)]})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = oversized_post(&app, "/api/v1/usage", &[("authorization", &format!("Bearer {seller}"))]).await;
    assert_eq!(status, 413, "{body}");
    assert!(stored_usage(&app, "ann@example.com", &product).await.is_empty());
    app.finish().await;
}

async fn as3_cancellation_refunds_the_unused_fee_and_ends_access(backend: Backend) {
    let app = TestApp::starting(backend, "2027-07-01T00:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, as2_pricing()).await;
    let code = product["product_code"].as_str().unwrap().to_owned();
    let (customer, token, pid) = subscribed(&app, &seller, &product, "ann@example.com").await;
    let bills = app.bills_of("ann@example.com").await;
    assert_eq!(bills[0]["total"], "15.00", "the one-time fee and all of July's fee");

    // 9 GB kept July 1-20: 9 × 20/31 GB-Month, reported by the storage service.
    app.set_clock("2027-07-20T23:59:59Z").await;
    let storage = |id: &str, quantity: &str, at: &str| {
        json!({"id": id, "product_code": code, "user_token": token, "dimension": "storage.gb_month",
               "quantity": quantity, "timestamp": at})
    };
    let (_, answer) = app
        .operator(
            Method::POST,
            "/api/v1/usage",
            Some(json!({"records": [storage("july", "5.806451612903225806451612903", "2027-07-20T12:00:00Z")]})),
        )
        .await;
    assert_eq!(statuses(&answer), vec![("july".into(), "accepted".into())]);
    assert_eq!(verify(&app, &seller, &pid, &product).await, json!(true));

    let (status, html) = customer.page(&format!("/billing/subscriptions/{code}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        element_text(&html, "seller-contact").as_deref(),
        Some("help@example.com")
    );
    let response = customer
        .submit(&format!("/billing/subscriptions/{code}/cancel"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = unescape(&response.text().await.unwrap());
    assert!(element_text(&html, "notice").unwrap().contains("$3.55"), "{html}");

    // Access ends at once.
    assert_eq!(verify(&app, &seller, &pid, &product).await, json!(false));
    let (_, active) = app
        .seller_call(
            &seller,
            Method::POST,
            "/api/v1/license/get-active-subscriptions-by-pid",
            Some(json!({"persistent_identifier": pid})),
        )
        .await;
    assert_eq!(active, json!({"product_codes": []}));
    let (_, answer) = app
        .operator(
            Method::POST,
            "/api/v1/usage",
            Some(json!({"records": [
                storage("at-cancel", "1", "2027-07-20T23:59:59Z"),
                storage("before-cancel", "0", "2027-07-20T23:00:00Z"),
            ]})),
        )
        .await;
    assert_eq!(
        statuses(&answer),
        vec![
            ("at-cancel".into(), "UserNotSubscribed".into()),
            ("before-cancel".into(), "accepted".into())
        ]
    );
    let activate = customer.submit("/activate", &[("product_code", &code)]).await;
    assert_eq!(activate.status(), StatusCode::NOT_FOUND);

    // 10 × 11/31 = 3.55 refunded at once, charged to the seller; the one-time fee kept.
    let bills = app.bills_of("ann@example.com").await;
    assert_eq!(bills.len(), 2, "{bills:#?}");
    let refund = &bills[1];
    assert_eq!(refund["kind"], "refund");
    assert_eq!(refund["total"], "-3.55");
    assert_eq!(refund["status"], "paid");
    assert_eq!(refund["period"], "2027-07");
    assert_eq!(refund["lines"][0]["kind"], "refund");
    assert_eq!(refund["lines"][0]["amount"], "-3.55");
    let (_, transactions) = app
        .seller_call(&seller, Method::GET, "/api/v1/seller/transactions", None)
        .await;
    assert_eq!(
        transactions["balance"], "11.15",
        "15.00 less 0.30, less the 3.55 refund: {transactions}"
    );
    let emails = app.emails_to("ann@example.com").await;
    let canceled = emails
        .iter()
        .find(|e| e["subject"] == "Your Backup Pro Subscription Has Been Canceled")
        .expect("the cancellation e-mail");
    let text = canceled["text"].as_str().unwrap();
    assert!(text.contains("$3.55") && text.contains("August 1, 2027"), "{text}");

    // The month's page: canceled, fees 15.00 − 3.55, usage to the cancellation billable on the 1st.
    let (_, html) = customer.page("/billing").await;
    let html = unescape(&html);
    assert!(html.contains(r#"data-state="canceled""#), "{html}");
    assert!(html.contains(r#"data-fees>$11.45<"#), "{html}");
    assert!(html.contains("$1.16"), "AS-3's August usage: {html}");
    assert_eq!(element_text(&html, "next-bill-estimate").as_deref(), Some("$1.16"));
    let (_, page) = customer.page(&format!("/billing/subscriptions/{code}")).await;
    assert!(!page.contains("cancel-subscription"), "nothing left to cancel");
    let again = customer
        .submit(&format!("/billing/subscriptions/{code}/cancel"), &[])
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    app.finish().await;
}

async fn as20_resubscribing_pays_again_and_keeps_the_identities(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, as2_pricing()).await;
    let code = product["product_code"].as_str().unwrap().to_owned();
    let offering = product["offering_code"].as_str().unwrap().to_owned();
    let (customer, token, pid) = subscribed(&app, &seller, &product, "ann@example.com").await;
    let (_, html) = customer.page(&format!("/purchase/{offering}")).await;
    assert!(html.contains("already-subscribed"), "one subscription at a time (R11)");

    // Canceled on June 17 (day 17 of 30): 10 × 13/30 = 4.33 back.
    customer
        .submit(&format!("/billing/subscriptions/{code}/cancel"), &[])
        .await;
    let (status, html) = customer.buy(&offering).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let (again_token, again_pid) = activate(&app, &seller, &product, &html).await;
    assert_eq!(
        (again_token, again_pid),
        (token, pid.clone()),
        "the same user token and PID (R12)"
    );
    assert_eq!(verify(&app, &seller, &pid, &product).await, json!(true));

    let totals: Vec<Value> = app
        .bills_of("ann@example.com")
        .await
        .iter()
        .map(|b| json!([b["kind"], b["total"], b["status"]]))
        .collect();
    assert_eq!(
        totals,
        vec![
            json!(["signup", "9.67", "paid"]),
            json!(["refund", "-4.33", "paid"]),
            json!(["signup", "9.67", "paid"]),
        ],
        "the one-time fee again and a new prorated fee; the same day paid twice (R24)"
    );
    let purchases = app
        .emails_to("ann@example.com")
        .await
        .iter()
        .filter(|e| e["subject"] == "Your Backup Pro Purchase")
        .count();
    assert_eq!(purchases, 2);
    // One continuous month on the billing page.
    let (_, html) = customer.page("/billing").await;
    assert_eq!(html.matches("class=\"product-month\"").count(), 1, "{html}");
    assert!(unescape(&html).contains("data-fees>$15.01<"), "{html}");
    app.finish().await;
}

async fn canceling_a_pending_subscription_voids_its_signup_bill(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, as2_pricing()).await;
    let code = product["product_code"].as_str().unwrap().to_owned();
    let customer = app.customer("ann@example.com", Some("4000000000000341")).await;
    let (status, _) = customer.buy(product["offering_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let (_, html) = customer.page("/billing").await;
    assert!(
        html.contains("unpaid-bills"),
        "the declined sign-up bill is shown unpaid"
    );
    let response = customer
        .submit(&format!("/billing/subscriptions/{code}/cancel"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let bills = app.bills_of("ann@example.com").await;
    assert_eq!(bills.len(), 1, "no refund for what was never collected");
    assert_eq!(bills[0]["status"], "void");
    // A new card retries nothing that is void.
    customer.add_card(CARD).await;
    assert_eq!(app.bills_of("ann@example.com").await[0]["attempts"], 1);
    let (_, html) = customer.page("/billing").await;
    assert!(!html.contains("unpaid-bills"));
    assert!(unescape(&html).contains("data-fees>$0.00<"), "nothing was owed: {html}");
    app.finish().await;
}

async fn r14_previous_month_usage_is_accepted_and_marked_late_once_its_month_is_over(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, as2_pricing()).await;
    let (_, token, _) = subscribed(&app, &seller, &product, "ann@example.com").await;
    let record = |id: &str, at: &str| {
        json!({"id": id, "product_code": product["product_code"], "user_token": token,
               "dimension": "custom.exports", "quantity": "2.5", "timestamp": at})
    };
    app.set_clock("2027-06-29T10:00:00Z").await;
    let (_, answer) = post_usage(&app, &seller, json!([record("in-time", "2027-06-29T09:00:00Z")])).await;
    assert_eq!(statuses(&answer), vec![("in-time".into(), "accepted".into())]);

    app.set_clock("2027-07-01T00:00:00Z").await;
    let (_, answer) = post_usage(
        &app,
        &seller,
        json!([
            record("late", "2027-06-29T23:00:00Z"),
            record("late-too", "2027-06-29T23:30:00Z"),
            record("too-old", "2027-05-31T23:59:59Z"),
            record("july", "2027-07-01T00:00:00Z"),
        ]),
    )
    .await;
    assert_eq!(
        statuses(&answer),
        vec![
            ("late".into(), "accepted".into()),
            ("late-too".into(), "accepted".into()),
            ("too-old".into(), "TimestampOutOfWindow".into()),
            ("july".into(), "accepted".into()),
        ]
    );
    // June 29 has two totals: what arrived in June, and what arrived after June was over (R14's late line).
    let store = &app.running().state.store;
    let account = store.account_by_email("ann@example.com").await.unwrap().unwrap();
    let june: Vec<(i64, bool, String)> = store
        .usage_of_customer(&account.id, "2027-06")
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.day, d.late, d.quantity))
        .collect();
    assert_eq!(june, vec![(29, false, "2.5".into()), (29, true, "5".into())]);
    let july = store.usage_of_customer(&account.id, "2027-07").await.unwrap();
    assert_eq!(july.len(), 1);
    assert!(!july[0].late);
    app.finish().await;
}

/// Every start applies the migrations and their one-time back-fill of day totals, which must see that the totals
/// exist and leave them alone, on PostgreSQL too.
async fn a_restart_after_usage_was_stored_starts(backend: Backend) {
    let app = TestApp::starting(backend, "2027-06-17T00:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, as2_pricing()).await;
    let (customer, token, _) = subscribed(&app, &seller, &product, "ann@example.com").await;
    store_usage(&app, &product, &token, "june", "4.2", "2027-06-17T00:00:00Z").await;
    let store = &app.running().state.store;
    store.migrate().await.expect("the start-up work of a restart");
    let (_, page) = customer.page("/billing").await;
    assert!(page.contains("4.2"), "the day totals are as before: {page}");
    app.finish().await;
}
