//! The monthly run and dunning (R10, R14, R19-R22), through HTTP with the sandbox clock: each move of the clock
//! across a 1st bills, across the 7th, 14th and 21st retries; the ledger's invariants are checked at the end of
//! every test.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tollgate_store::bills::AttemptOutcome;
use tollgate_store::ledger::LedgerTransaction;
use tollgate_store::outbox::Email;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    as1_prorated_signups_then_the_full_fee_on_the_1st,
    as2_and_as3_usage_in_arrears_fees_in_advance_and_the_month_after_a_cancellation,
    as9_one_bill_and_one_charge_for_two_products,
    a_zero_bill_is_paid_without_a_charge_or_an_email,
    late_usage_is_billed_on_the_next_bill_continuing_its_tiers,
    a_signup_still_pending_on_the_1st_is_canceled_and_its_bill_voided,
    dunning_retries_on_the_7th_14th_and_21st_then_cancels_for_nonpayment,
    a_new_card_during_dunning_pays_the_bill_and_ends_the_retries,
    months_skipped_in_one_move_are_billed_each_on_its_own_1st,
    running_a_midnight_again_bills_and_charges_no_one_twice,
    an_attempt_finished_already_is_not_booked_again,
    as4_settlement_follows_what_is_collected,
    as7_an_uncovered_base_cost_is_charged_to_the_seller_unpaid,
    withdrawals_take_at_most_the_balance_once,
);

const DECLINING_CARD: &str = "4000000000000341";

/// A sandbox on June 17, 2027 with one seller selling one product at AS-2's prices.
async fn as2_product_on_june_17(backend: Backend) -> (TestApp, String, Value) {
    let app = TestApp::starting(backend, "2027-06-17T00:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, as2_pricing()).await;
    (app, seller, product)
}

async fn seller_balance(app: &TestApp, seller: &str) -> (String, Vec<Value>) {
    let (status, body) = app
        .seller_call(seller, Method::GET, "/api/v1/seller/transactions", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (
        body["balance"].as_str().unwrap().to_owned(),
        body["transactions"].as_array().unwrap().clone(),
    )
}

/// (at, amount) of the seller's settlement charges, oldest first.
async fn settlement_charges(app: &TestApp, seller: &str) -> Vec<(String, String)> {
    let (_, transactions) = seller_balance(app, seller).await;
    transactions
        .iter()
        .filter(|t| t["kind"] == "charge")
        .map(|t| {
            (
                t["at"].as_str().unwrap().to_owned(),
                t["amount"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn monthly_only(fee: &str) -> Value {
    json!({"signup_fee": "0.00", "monthly_fee": fee, "usage": []})
}

async fn as1_prorated_signups_then_the_full_fee_on_the_1st(backend: Backend) {
    let app = TestApp::starting(backend, "2027-06-03T09:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, monthly_only("20.00")).await;
    let offering = product["offering_code"].as_str().unwrap().to_owned();
    for (email, day) in [
        ("a@example.com", "03"),
        ("b@example.com", "04"),
        ("c@example.com", "05"),
    ] {
        app.set_clock(&format!("2027-06-{day}T09:00:00Z")).await;
        let customer = app.customer(email, Some(CARD)).await;
        let (status, html) = customer.buy(&offering).await;
        assert_eq!(status, StatusCode::OK, "{html}");
    }
    app.set_clock("2027-07-01T00:00:00Z").await;
    for (email, signup) in [
        ("a@example.com", "18.67"),
        ("b@example.com", "18.00"),
        ("c@example.com", "17.33"),
    ] {
        assert_eq!(
            bill_summary(&app, email).await,
            vec![
                json!(["signup", "2027-06", signup, "paid"]),
                json!(["monthly", "2027-06", "20.00", "paid"]),
            ],
            "{email}"
        );
        let bills = app.bills_of(email).await;
        assert_eq!(bills[1]["issued_at"], "2027-07-01T00:00:00Z");
        assert_eq!(bills[1]["attempts"], 1);
        assert_eq!(
            lines(&bills[1]),
            vec![(
                "monthly_fee".into(),
                "20.00".into(),
                "Backup Pro: monthly fee for July 2027".into()
            )]
        );
        let emails = app.emails_to(email).await;
        let bill_email = emails
            .iter()
            .find(|e| e["subject"] == "Your Bill from Tollgate for June 2027")
            .unwrap_or_else(|| panic!("no bill e-mail in {:?}", subjects(&emails)));
        let text = bill_email["text"].as_str().unwrap();
        assert!(
            text.contains("charged $20.00") && text.contains("July 1, 2027"),
            "{text}"
        );
        assert!(
            text.contains("Backup Pro: $20.00") && text.contains("Acme Software"),
            "{text}"
        );
    }
    // Deposits: 18.37 + 17.70 + 17.03 at sign-up, 3 × 19.70 on the 1st.
    let (balance, _) = seller_balance(&app, &seller).await;
    assert_eq!(balance, "112.20");
    app.finish().await;
}

async fn as2_and_as3_usage_in_arrears_fees_in_advance_and_the_month_after_a_cancellation(backend: Backend) {
    let (app, seller, product) = as2_product_on_june_17(backend).await;
    let code = product["product_code"].as_str().unwrap().to_owned();
    let (customer, token, _) = subscribed(&app, &seller, &product, "ann@example.com").await;
    // 9 GB kept June 17-30: 4.2 GB-Month.
    app.set_clock("2027-06-30T12:00:00Z").await;
    store_usage(&app, &product, &token, "june", "4.2", "2027-06-30T11:00:00Z").await;

    app.set_clock("2027-07-01T00:00:00Z").await;
    let bills = app.bills_of("ann@example.com").await;
    let july = monthly_bills(&bills)[0];
    assert_eq!(
        (&july["period"], &july["total"], &july["status"]),
        (&json!("2027-06"), &json!("10.84"), &json!("paid"))
    );
    assert_eq!(
        lines(july),
        vec![
            (
                "monthly_fee".into(),
                "10.00".into(),
                "Backup Pro: monthly fee for July 2027".into()
            ),
            (
                "usage".into(),
                "0.84".into(),
                "Backup Pro: storage.gb_month in June 2027".into()
            ),
        ]
    );
    assert_eq!(july["lines"][1]["quantity"], "4.2");
    // AS-2: 9.37 at sign-up, 10.54 on July 1.
    let (balance, transactions) = seller_balance(&app, &seller).await;
    assert_eq!(balance, "19.91");
    assert_eq!(transactions.last().unwrap()["amount"], "10.54");

    // AS-3: canceled at the end of July 20; 9 GB × 20/31 GB-Month of July usage billed on August 1, no fee.
    app.set_clock("2027-07-20T23:59:59Z").await;
    // AS-2's settlement on July 2: June's base cost 4.2 × 0.15 and 3% of June's value-add 10.51 - 0.63.
    assert_eq!(
        settlement_charges(&app, &seller).await,
        vec![("2027-07-02T00:00:00Z".into(), "-0.93".into())]
    );
    store_usage(
        &app,
        &product,
        &token,
        "july",
        "5.806451612903225806451612903",
        "2027-07-20T12:00:00Z",
    )
    .await;
    let response = customer
        .submit(&format!("/billing/subscriptions/{code}/cancel"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    app.set_clock("2027-08-01T00:00:00Z").await;
    let bills = app.bills_of("ann@example.com").await;
    let august = monthly_bills(&bills)[1];
    assert_eq!(
        (&august["period"], &august["total"], &august["status"]),
        (&json!("2027-07"), &json!("1.16"), &json!("paid"))
    );
    assert_eq!(
        lines(august),
        vec![(
            "usage".into(),
            "1.16".into(),
            "Backup Pro: storage.gb_month in July 2027".into()
        )]
    );
    let (_, transactions) = seller_balance(&app, &seller).await;
    assert_eq!(transactions.last().unwrap()["amount"], "0.86");
    // Nothing more to bill on September 1: no subscription, no usage.
    app.set_clock("2027-09-01T00:00:00Z").await;
    assert_eq!(monthly_bills(&app.bills_of("ann@example.com").await).len(), 2);
    // July settled on August 2: 5.806… × 0.15 = 0.87 of base cost and 3% of 7.61 - 0.87.
    assert_eq!(
        settlement_charges(&app, &seller).await,
        vec![
            ("2027-07-02T00:00:00Z".into(), "-0.93".into()),
            ("2027-08-02T00:00:00Z".into(), "-1.07".into())
        ]
    );

    // Each month's statement shows its activity whichever bill collected it (R19): the reference's June revenue of
    // 5.00 + 4.67 + 0.84 and July's of 10.00 - 3.55 + 1.16.
    let (status, june) = customer.page("/billing/statements/2027-06").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(element_text(&june, "statement-total").as_deref(), Some("$10.51"));
    assert!(
        june.contains("storage.gb_month in June 2027") && june.contains("July 1, 2027 (paid)"),
        "{june}"
    );
    assert!(!june.contains("class=\"top\""), "printable: no site navigation");
    let (_, july) = customer.page("/billing/statements/2027-07").await;
    assert_eq!(element_text(&july, "statement-total").as_deref(), Some("$7.61"));
    let (_, may) = customer.page("/billing/statements/2027-05").await;
    assert!(may.contains("no-activity"), "{may}");
    let (status, september) = customer.page("/billing/statements/2027-09").await;
    assert_eq!(status, StatusCode::OK, "the current month, to date");
    assert!(september.contains("no-activity"), "{september}");
    for month in ["2027-10", "June"] {
        let (status, _) = customer.page(&format!("/billing/statements/{month}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{month}");
    }
    let (_, billing) = customer.page("/billing").await;
    assert!(
        billing.contains("<title>Application Billing · Tollgate</title>"),
        "{billing}"
    );
    assert_eq!(
        element_attr(&billing, "previous-statement", "href").as_deref(),
        Some("/billing/statements/2027-08")
    );
    // The seller's activity for each month: AS-2's June and AS-3's July as the reference counts them.
    let activity = async |month: &str| {
        let path = format!("/api/v1/seller/activity?month={month}");
        app.seller_call(&seller, Method::GET, &path, None).await
    };
    let (status, june) = activity("2027-06").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        june["products"][0],
        json!({"product_code": code, "name": "Backup Pro",
               "usage": [{"dimension": "storage.gb_month", "quantity": "4.2"}],
               "revenue_expected": "10.51", "revenue_collected": "10.51", "base_costs": "0.63", "fees": "0.30",
               "refunds": "0.00", "fee_bills": 1})
    );
    let (_, july) = activity("2027-07").await;
    let july = &july["products"][0];
    assert_eq!(
        (
            &july["revenue_expected"],
            &july["refunds"],
            &july["base_costs"],
            &july["fees"],
            &july["fee_bills"]
        ),
        (
            &json!("7.61"),
            &json!("-3.55"),
            &json!("0.87"),
            &json!("0.20"),
            &json!(1)
        )
    );
    let (status, answer) = activity("July").await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (StatusCode::BAD_REQUEST, &json!("InvalidParameterValue"))
    );

    let picked = customer.get("/billing/statements?month=2027-06").await;
    assert_eq!(picked.headers()["location"], "/billing/statements/2027-06");
    app.finish().await;
}

async fn as9_one_bill_and_one_charge_for_two_products(backend: Backend) {
    let app = TestApp::starting(backend, "2027-06-01T00:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    let x = app.create_product(&seller, monthly_only("10.00")).await;
    let mut y_body = product_body(monthly_only("5.00"));
    y_body["name"] = json!("Photo Lab");
    let (status, y) = app
        .seller_call(&seller, Method::POST, "/api/v1/products", Some(y_body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{y}");
    let customer = app.customer("ann@example.com", Some(CARD)).await;
    for product in [&x, &y] {
        let (status, html) = customer.buy(product["offering_code"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{html}");
    }
    app.set_clock("2027-07-01T00:00:00Z").await;
    let bills = app.bills_of("ann@example.com").await;
    let july = monthly_bills(&bills);
    assert_eq!(july.len(), 1, "one bill for both products");
    assert_eq!((&july[0]["total"], &july[0]["attempts"]), (&json!("15.00"), &json!(1)));
    let emails = app.emails_to("ann@example.com").await;
    let bill_emails: Vec<&Value> = emails
        .iter()
        .filter(|e| e["subject"].as_str().unwrap().starts_with("Your Bill"))
        .collect();
    assert_eq!(bill_emails.len(), 1);
    let text = bill_emails[0]["text"].as_str().unwrap();
    assert!(
        text.contains("Backup Pro: $10.00") && text.contains("Photo Lab: $5.00"),
        "{text}"
    );
    let (_, transactions) = seller_balance(&app, &seller).await;
    assert_eq!(
        transactions.last().unwrap()["amount"],
        "14.40",
        "15.00 less two per-bill fees"
    );
    // The activity counts the bill once for each product whose lines on it were positive: two fee transactions.
    let (_, july) = app
        .seller_call(&seller, Method::GET, "/api/v1/seller/activity?month=2027-07", None)
        .await;
    let fee_bills: Vec<&Value> = july["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["fee_bills"])
        .collect();
    assert_eq!(fee_bills, vec![&json!(1), &json!(1)]);
    app.finish().await;
}

async fn a_zero_bill_is_paid_without_a_charge_or_an_email(backend: Backend) {
    let app = TestApp::starting(backend, "2027-06-10T00:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    let pricing = json!({"signup_fee": "0.00", "monthly_fee": "0.00", "usage": [
        {"dimension": "storage.gb_month", "tiers": [{"up_to": null, "unit_price": "0.10"}]}]});
    let product = app.create_product(&seller, pricing).await;
    let (_, token, _) = subscribed(&app, &seller, &product, "ann@example.com").await;
    // 0.04 GB-Month at 0.10 is 0.004: 0.00 once rounded.
    store_usage(&app, &product, &token, "tiny", "0.04", "2027-06-10T00:00:00Z").await;
    app.set_clock("2027-07-01T00:00:00Z").await;
    let bills = app.bills_of("ann@example.com").await;
    assert_eq!(bills.len(), 1);
    assert_eq!(
        (
            &bills[0]["kind"],
            &bills[0]["total"],
            &bills[0]["status"],
            &bills[0]["attempts"]
        ),
        (&json!("monthly"), &json!("0.00"), &json!("paid"), &json!(0))
    );
    assert_eq!(lines(&bills[0])[0].1, "0.00");
    let emails = app.emails_to("ann@example.com").await;
    assert!(
        !subjects(&emails).iter().any(|s| s.starts_with("Your Bill")),
        "{:?}",
        subjects(&emails)
    );
    let (balance, transactions) = seller_balance(&app, &seller).await;
    assert_eq!(
        (balance.as_str(), transactions.len()),
        ("0.00", 0),
        "nothing collected, no fee"
    );
    app.finish().await;
}

async fn late_usage_is_billed_on_the_next_bill_continuing_its_tiers(backend: Backend) {
    let app = TestApp::starting(backend, "2027-06-01T00:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, as2_pricing()).await;
    let (_, token, _) = subscribed(&app, &seller, &product, "ann@example.com").await;
    let exports = |id: &str, quantity: &str, at: &str| {
        json!({"id": id, "product_code": product["product_code"], "user_token": token,
               "dimension": "custom.exports", "quantity": quantity, "timestamp": at})
    };
    app.set_clock("2027-06-20T00:00:00Z").await;
    let (status, _) = app
        .seller_call(
            &seller,
            Method::POST,
            "/api/v1/usage",
            Some(json!({"records": [exports("a", "90", "2027-06-19T00:00:00Z")]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.set_clock("2027-07-03T00:00:00Z").await;
    // June's bill is out; 20 more June exports arrive late: 10 at 0.05 and 10 at 0.01 after June's 90.
    let (_, answer) = app
        .seller_call(
            &seller,
            Method::POST,
            "/api/v1/usage",
            Some(json!({"records": [exports("b", "20", "2027-06-30T23:00:00Z")]})),
        )
        .await;
    assert_eq!(statuses(&answer), vec![("b".into(), "accepted".into())]);
    app.set_clock("2027-08-01T00:00:00Z").await;
    let bills = app.bills_of("ann@example.com").await;
    let monthly = monthly_bills(&bills);
    assert_eq!(
        lines(monthly[0])[1],
        (
            "usage".into(),
            "4.50".into(),
            "Backup Pro: custom.exports in June 2027".into()
        )
    );
    assert_eq!(
        monthly[0]["total"], "14.50",
        "the late exports are not rewritten onto June's bill"
    );
    assert_eq!(
        lines(monthly[1]),
        vec![
            (
                "monthly_fee".into(),
                "10.00".into(),
                "Backup Pro: monthly fee for August 2027".into()
            ),
            (
                "usage".into(),
                "0.60".into(),
                "Backup Pro: custom.exports late usage for June 2027".into()
            ),
        ]
    );
    app.finish().await;
}

async fn a_signup_still_pending_on_the_1st_is_canceled_and_its_bill_voided(backend: Backend) {
    let (app, _, product) = as2_product_on_june_17(backend).await;
    let customer = app.customer("ann@example.com", Some(DECLINING_CARD)).await;
    let (status, html) = customer.buy(product["offering_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    app.set_clock("2027-07-01T00:00:00Z").await;
    assert_eq!(
        bill_summary(&app, "ann@example.com").await,
        vec![json!(["signup", "2027-06", "9.67", "void"])],
        "no monthly bill for a subscription that never started"
    );
    let emails = subjects(&app.emails_to("ann@example.com").await);
    assert_eq!(
        emails.last().unwrap(),
        "Your Backup Pro Subscription Has Been Canceled",
        "{emails:?}"
    );
    let text = app.emails_to("ann@example.com").await.last().unwrap()["text"].clone();
    assert!(
        text.as_str()
            .unwrap()
            .contains("The payment for the sign-up never succeeded."),
        "{text}"
    );
    app.finish().await;
}

async fn dunning_retries_on_the_7th_14th_and_21st_then_cancels_for_nonpayment(backend: Backend) {
    let (app, seller, product) = as2_product_on_june_17(backend).await;
    let (customer, _, pid) = subscribed(&app, &seller, &product, "ann@example.com").await;
    // The card on file now declines every charge.
    customer.add_card(DECLINING_CARD).await;
    let alerts = |emails: &[Value]| {
        subjects(emails)
            .iter()
            .filter(|s| s.starts_with("Billing Alert"))
            .count()
    };

    app.set_clock("2027-07-01T00:00:00Z").await;
    let bills = app.bills_of("ann@example.com").await;
    let july = monthly_bills(&bills)[0].clone();
    assert_eq!(
        (&july["total"], &july["status"], &july["attempts"]),
        (&json!("10.00"), &json!("failed"), &json!(1))
    );
    assert_eq!(alerts(&app.emails_to("ann@example.com").await), 1);
    let alert_texts = |emails: &[Value]| -> Vec<String> {
        emails
            .iter()
            .filter(|e| e["subject"].as_str().unwrap().starts_with("Billing Alert"))
            .map(|e| e["text"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = &alert_texts(&app.emails_to("ann@example.com").await)[0];
    assert!(first.contains("We will try again on July 7, 2027"), "{first}");
    for (day, attempts) in [("06", 1), ("07", 2), ("13", 2), ("14", 3), ("20", 3)] {
        app.set_clock(&format!("2027-07-{day}T12:00:00Z")).await;
        let bills = app.bills_of("ann@example.com").await;
        assert_eq!(monthly_bills(&bills)[0]["attempts"], attempts, "on July {day}");
        assert_eq!(
            alerts(&app.emails_to("ann@example.com").await),
            attempts,
            "an alert per failed attempt"
        );
        let subscribed = verify(&app, &seller, &pid, &product).await;
        assert_eq!(subscribed, true, "access is kept during dunning (July {day})");
    }
    app.set_clock("2027-07-21T00:00:00Z").await;
    let bills = app.bills_of("ann@example.com").await;
    let july = monthly_bills(&bills)[0];
    // Canceled on day 21 of 31: 10 × 10/31 = 3.23 taken off the unpaid bill (R22, R23).
    assert_eq!(
        (&july["total"], &july["status"], &july["attempts"]),
        (&json!("6.77"), &json!("failed"), &json!(4))
    );
    assert_eq!(lines(july).last().unwrap().1, "-3.23");
    let emails = app.emails_to("ann@example.com").await;
    assert_eq!(alerts(&emails), 4);
    let texts = alert_texts(&emails);
    assert!(texts[1].contains("try again on July 14, 2027") && texts[2].contains("try again on July 21, 2027"));
    assert!(
        !texts[3].contains("try again on"),
        "the 21st's was the last: {}",
        texts[3]
    );
    assert_eq!(
        subjects(&emails).last().unwrap(),
        "Your Backup Pro Subscription Has Been Canceled"
    );
    assert!(
        emails.last().unwrap()["text"]
            .as_str()
            .unwrap()
            .contains("after three retries")
    );
    assert_eq!(verify(&app, &seller, &pid, &product).await, false);
    // No further retries, and no fee for August.
    app.set_clock("2027-08-08T00:00:00Z").await;
    let bills = app.bills_of("ann@example.com").await;
    assert_eq!(monthly_bills(&bills)[0]["attempts"], 4);
    assert_eq!(monthly_bills(&bills).len(), 1);
    // AS-4's variant: the seller got the sign-up's deposit only, paid June's 3% of what was collected (9.67) on
    // July 2, and no per-bill fee for the bill never collected; July's fee was never collected, so nothing of July.
    let (balance, transactions) = seller_balance(&app, &seller).await;
    let kinds: Vec<(&str, &str)> = transactions
        .iter()
        .map(|t| (t["kind"].as_str().unwrap(), t["amount"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, vec![("deposit", "9.37"), ("charge", "-0.29")]);
    assert_eq!(balance, "9.08");
    app.finish().await;
}

async fn a_new_card_during_dunning_pays_the_bill_and_ends_the_retries(backend: Backend) {
    let (app, seller, product) = as2_product_on_june_17(backend).await;
    let (customer, _, _) = subscribed(&app, &seller, &product, "ann@example.com").await;
    customer.add_card(DECLINING_CARD).await;
    app.set_clock("2027-07-03T00:00:00Z").await;
    customer.add_card(CARD).await;
    let bills = app.bills_of("ann@example.com").await;
    let july = monthly_bills(&bills)[0];
    assert_eq!((&july["status"], &july["attempts"]), (&json!("paid"), &json!(2)));
    app.set_clock("2027-07-22T00:00:00Z").await;
    let bills = app.bills_of("ann@example.com").await;
    assert_eq!(monthly_bills(&bills)[0]["attempts"], 2, "a paid bill is not retried");
    let subjects = subjects(&app.emails_to("ann@example.com").await);
    assert!(
        subjects.contains(&"Your Bill from Tollgate for June 2027".to_owned()),
        "{subjects:?}"
    );
    app.finish().await;
}

async fn months_skipped_in_one_move_are_billed_each_on_its_own_1st(backend: Backend) {
    let (app, seller, product) = as2_product_on_june_17(backend).await;
    subscribed(&app, &seller, &product, "ann@example.com").await;
    app.set_clock("2027-09-15T10:00:00Z").await;
    let bills = app.bills_of("ann@example.com").await;
    let issued: Vec<(&Value, &Value, &Value)> = monthly_bills(&bills)
        .iter()
        .map(|b| (&b["period"], &b["issued_at"], &b["total"]))
        .collect();
    assert_eq!(
        issued,
        vec![
            (&json!("2027-06"), &json!("2027-07-01T00:00:00Z"), &json!("10.00")),
            (&json!("2027-07"), &json!("2027-08-01T00:00:00Z"), &json!("10.00")),
            (&json!("2027-08"), &json!("2027-09-01T00:00:00Z"), &json!("10.00")),
        ]
    );
    let emails = app.emails_to("ann@example.com").await;
    let bill_emails: Vec<(&Value, &Value)> = emails
        .iter()
        .filter(|e| e["subject"].as_str().unwrap().starts_with("Your Bill"))
        .map(|e| (&e["subject"], &e["created_at"]))
        .collect();
    assert_eq!(bill_emails.len(), 3);
    assert_eq!(
        bill_emails[1],
        (
            &json!("Your Bill from Tollgate for July 2027"),
            &json!("2027-08-01T00:00:00Z")
        )
    );
    app.finish().await;
}

async fn running_a_midnight_again_bills_and_charges_no_one_twice(backend: Backend) {
    let (app, seller, product) = as2_product_on_june_17(backend).await;
    subscribed(&app, &seller, &product, "ann@example.com").await;
    let (declined, _, _) = subscribed(&app, &seller, &product, "bo@example.com").await;
    declined.add_card(DECLINING_CARD).await;
    app.set_clock("2027-07-07T00:00:00Z").await;
    let before = (
        app.bills_of("ann@example.com").await,
        app.bills_of("bo@example.com").await,
        app.emails_to("ann@example.com").await.len(),
        app.emails_to("bo@example.com").await.len(),
    );
    // The 1st's and the 7th's work again, as after a crash that lost the record of their completion.
    let state = &app.running().state;
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc();
    tollgate::services::monthly_billing::run(state, at("2027-07-01T00:00:00Z"))
        .await
        .unwrap();
    tollgate::services::dunning::retry(state, at("2027-07-07T00:00:00Z"))
        .await
        .unwrap();
    let after = (
        app.bills_of("ann@example.com").await,
        app.bills_of("bo@example.com").await,
        app.emails_to("ann@example.com").await.len(),
        app.emails_to("bo@example.com").await.len(),
    );
    assert_eq!(before, after);
    assert_eq!(
        monthly_bills(&after.1)[0]["attempts"],
        2,
        "the 1st's charge and the 7th's retry, once each"
    );
    app.finish().await;
}

async fn an_attempt_finished_already_is_not_booked_again(backend: Backend) {
    let (app, seller, product) = as2_product_on_june_17(backend).await;
    subscribed(&app, &seller, &product, "ann@example.com").await;
    app.set_clock("2027-07-01T00:00:00Z").await;
    let bills = app.bills_of("ann@example.com").await;
    let bill = monthly_bills(&bills)[0];
    assert_eq!(bill["status"], "paid");
    let bill_id = bill["id"].as_str().unwrap();
    let emails = app.emails_to("ann@example.com").await.len();
    let balance = seller_balance(&app, &seller).await.0;
    // What a second process that charged the same attempt would record: the run's outcome has it finished already.
    let at = tollgate_store::millis("2027-07-01T00:00:00Z".parse().unwrap());
    let again = LedgerTransaction {
        id: tollgate_store::new_id(),
        unique_key: format!("collect-again:{bill_id}"),
        at,
        kind: "collection",
        description: "collected a second time".into(),
        bill_id: Some(bill_id.to_owned()),
        entries: vec![("customer_payments".into(), -1_000), ("platform:fees".into(), 1_000)],
    };
    let email = Email {
        id: tollgate_store::new_id(),
        unique_key: format!("again:{bill_id}"),
        to_address: "ann@example.com".into(),
        subject: "Your Bill, again".into(),
        text_body: String::new(),
        html_body: String::new(),
        template: "monthly_bill".into(),
        state: "pending".into(),
        attempts: 0,
        next_attempt_at: at,
        last_error: None,
        created_at: at,
        sent_at: None,
    };
    let outcome = AttemptOutcome {
        bill_id,
        attempt: 1,
        at,
        succeeded: true,
        gateway_reference: Some("sbx_ch_again"),
        message: None,
        ledger: Some(&again),
        activate_subscription: None,
        emails: std::slice::from_ref(&email),
    };
    let recorded = app.running().state.store.finish_attempts(&[outcome]).await.unwrap();
    assert_eq!(recorded, [false]);
    assert_eq!(app.emails_to("ann@example.com").await.len(), emails);
    assert_eq!(seller_balance(&app, &seller).await.0, balance);
    app.finish().await;
}

async fn as4_settlement_follows_what_is_collected(backend: Backend) {
    let (app, seller, product) = as2_product_on_june_17(backend).await;
    let (customer, token, _) = subscribed(&app, &seller, &product, "ann@example.com").await;
    app.set_clock("2027-06-30T12:00:00Z").await;
    store_usage(&app, &product, &token, "june", "4.2", "2027-06-30T11:00:00Z").await;
    customer.add_card(DECLINING_CARD).await;

    // July 1's 10.84 fails; on July 2 June's cost is capped by what June collected (9.67 ≥ 0.63) and the fee is 3%
    // of the value-add collected so far (9.67 - 0.63).
    app.set_clock("2027-07-02T00:00:00Z").await;
    assert_eq!(
        settlement_charges(&app, &seller).await,
        vec![("2027-07-02T00:00:00Z".into(), "-0.90".into())]
    );
    // The card is replaced on July 5 and the bill paid at once: deposit 10.54; the next day the rest of June's fee.
    app.set_clock("2027-07-05T10:00:00Z").await;
    customer.add_card(CARD).await;
    app.set_clock("2027-07-06T00:00:00Z").await;
    assert_eq!(
        settlement_charges(&app, &seller).await,
        vec![
            ("2027-07-02T00:00:00Z".into(), "-0.90".into()),
            ("2027-07-06T00:00:00Z".into(), "-0.03".into())
        ]
    );
    let (balance, transactions) = seller_balance(&app, &seller).await;
    let deposits: Vec<&str> = transactions
        .iter()
        .filter(|t| t["kind"] == "deposit")
        .map(|t| t["amount"].as_str().unwrap())
        .collect();
    assert_eq!(deposits, vec!["9.37", "10.54"]);
    assert_eq!(balance, "18.98", "9.37 + 10.54 - 0.90 - 0.03");
    // Settling again changes nothing (R20): the next collection-free midnights charge nothing more.
    app.set_clock("2027-07-10T00:00:00Z").await;
    assert_eq!(settlement_charges(&app, &seller).await.len(), 2);
    app.finish().await;
}

async fn as7_an_uncovered_base_cost_is_charged_to_the_seller_unpaid(backend: Backend) {
    let app = TestApp::starting(backend, "2027-06-01T00:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    // Usage only, storage sold at 0.10 against its base cost of 0.15: value-add is negative.
    let pricing = json!({"signup_fee": "0.00", "monthly_fee": "0.00", "usage": [
        {"dimension": "storage.gb_month", "tiers": [{"up_to": null, "unit_price": "0.10"}]}]});
    let product = app.create_product(&seller, pricing).await;
    let customer = app.customer("ann@example.com", Some(DECLINING_CARD)).await;
    let (status, html) = customer.buy(product["offering_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let (user_token, _) = activate(&app, &seller, &product, &html).await;
    app.set_clock("2027-06-10T12:00:00Z").await;
    store_usage(&app, &product, &user_token, "june", "100", "2027-06-10T00:00:00Z").await;
    // R = 10.00, C = 15.00, never paid: the seller owes C - R = 5.00, no fee and no per-bill fee (AS-7 b).
    app.set_clock("2027-07-02T00:00:00Z").await;
    assert_eq!(
        monthly_bills(&app.bills_of("ann@example.com").await)[0]["status"],
        "failed"
    );
    let (balance, transactions) = seller_balance(&app, &seller).await;
    assert_eq!(transactions.len(), 1, "{transactions:?}");
    assert_eq!(
        (balance.as_str(), transactions[0]["kind"].as_str()),
        ("-5.00", Some("charge"))
    );
    app.finish().await;
}

async fn withdrawals_take_at_most_the_balance_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, as2_pricing()).await;
    subscribed(&app, &seller, &product, "ann@example.com").await;
    let withdraw = |body: Value| app.seller_call(&seller, Method::POST, "/api/v1/seller/withdrawals", Some(body));

    let (status, answer) = withdraw(json!({"amount": "5.00"})).await;
    assert_eq!(
        (status, answer),
        (StatusCode::CREATED, json!({"amount": "5.00", "balance": "4.37"}))
    );
    let (status, answer) = withdraw(json!({"amount": "4.38"})).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("InsufficientBalance"))
    );
    for (body, code) in [
        (json!({"amount": "0.00"}), "InvalidParameterValue"),
        (json!({"amount": "-1.00"}), "InvalidParameterValue"),
        (json!({"amount": "1.234"}), "InvalidParameterValue"),
        (json!({"amount": 1}), "InvalidParameterValue"),
        (json!({"amount": "1.00", "to": "elsewhere"}), "InvalidParameterValue"),
        (json!({}), "MissingParameter"),
    ] {
        let (status, answer) = withdraw(body.clone()).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{body}"
        );
    }
    // Two withdrawals at once that the balance covers only one of: exactly one is made.
    let (first, second) = tokio::join!(withdraw(json!({"amount": "4.00"})), withdraw(json!({"amount": "4.00"})));
    let mut statuses = vec![first.0, second.0];
    statuses.sort();
    assert_eq!(statuses, vec![StatusCode::CREATED, StatusCode::UNPROCESSABLE_ENTITY]);
    let (balance, transactions) = seller_balance(&app, &seller).await;
    assert_eq!(balance, "0.37");
    let withdrawals: Vec<&Value> = transactions
        .iter()
        .filter(|t| t["kind"] == "withdrawal")
        .map(|t| &t["amount"])
        .collect();
    assert_eq!(withdrawals, vec![&json!("-5.00"), &json!("-4.00")]);
    app.finish().await;
}
