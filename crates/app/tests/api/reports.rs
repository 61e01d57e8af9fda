//! The seller's reports (R32, reference 9.3), through HTTP with the sandbox clock: the live subscription report,
//! the revenue and usage reports of a past month with their timing and row rules, and the transaction history.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    as16_the_subscription_report_counts_the_month_live,
    as16_a_months_revenue_and_usage_reports_come_out_on_the_15th,
    a_cancel_and_resubscribe_gives_two_rows_and_months_without_business_have_no_report,
    the_transaction_history_and_the_console_give_the_same_files,
);

fn free() -> Value {
    json!({"signup_fee": "0.00", "monthly_fee": "0.00", "usage": []})
}

async fn cancel(customer: &Browser, product: &Value) {
    let code = product["product_code"].as_str().unwrap();
    let response = customer
        .submit(&format!("/billing/subscriptions/{code}/cancel"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn buy(customer: &Browser, product: &Value) {
    let (status, html) = customer.buy(product["offering_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
}

/// A report route's answer: status, content type, and the body as text.
async fn report(app: &TestApp, seller: &str, path: &str) -> (StatusCode, String, String) {
    let response = app.api.get(app.url(path)).bearer_auth(seller).send().await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// The CSV's rows, each a list of fields, the header first.
fn rows(csv: &str) -> Vec<Vec<String>> {
    csv.lines()
        .map(|line| line.split(',').map(|f| f.trim_matches('"').to_owned()).collect())
        .collect()
}

fn error_code(body: &str) -> Value {
    serde_json::from_str::<Value>(body).unwrap()["error"]["code"].clone()
}

async fn as16_the_subscription_report_counts_the_month_live(backend: Backend) {
    let app = TestApp::starting(backend, "2027-05-20T10:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, free()).await;
    let other = app.create_product(&seller, free()).await;
    let mut old = Vec::new();
    for n in 0..5 {
        let customer = app.customer(&format!("old{n}@example.com"), None).await;
        buy(&customer, &product).await;
        old.push(customer);
    }
    app.set_clock("2027-06-03T10:00:00Z").await;
    let mut new = Vec::new();
    for n in 0..2 {
        let customer = app.customer(&format!("new{n}@example.com"), None).await;
        buy(&customer, &product).await;
        new.push(customer);
    }
    cancel(&new[0], &product).await;
    cancel(&old[0], &product).await;

    let (status, body) = app
        .seller_call(&seller, Method::GET, "/api/v1/seller/reports/subscriptions", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["month"], "2027-06");
    assert_eq!(body["as_of"], "2027-06-03T10:00:00Z");
    let counts = json!({"not_canceled": 5, "new_not_canceled": 1, "canceled_this_month": 2});
    let first = &body["products"][0];
    assert_eq!(first["product_code"], product["product_code"]);
    for field in ["not_canceled", "new_not_canceled", "canceled_this_month"] {
        assert_eq!(first[field], counts[field], "{field}: {body}");
        assert_eq!(body["products"][1][field], 0, "the other product");
        assert_eq!(body["total"][field], counts[field]);
    }
    // One product only; another seller's product is not found among this seller's.
    let path = format!(
        "/api/v1/seller/reports/subscriptions?product_code={}",
        other["product_code"].as_str().unwrap()
    );
    let (_, body) = app.seller_call(&seller, Method::GET, &path, None).await;
    assert_eq!(body["products"].as_array().unwrap().len(), 1);
    assert_eq!(body["total"]["not_canceled"], 0);
    let stranger = app.create_seller("stranger@example.com").await;
    let path = format!(
        "/api/v1/seller/reports/subscriptions?product_code={}",
        product["product_code"].as_str().unwrap()
    );
    let (status, _) = app.seller_call(&stranger, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A new month starts the month's counts again.
    app.set_clock("2027-07-01T00:00:00Z").await;
    let (_, body) = app
        .seller_call(&seller, Method::GET, "/api/v1/seller/reports/subscriptions", None)
        .await;
    assert_eq!(
        body["total"],
        json!({"not_canceled": 5, "new_not_canceled": 0, "canceled_this_month": 0})
    );
    app.finish().await;
}

async fn as16_a_months_revenue_and_usage_reports_come_out_on_the_15th(backend: Backend) {
    let app = TestApp::starting(backend, "2027-12-01T00:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, as2_pricing()).await;
    let (_, token, pid) = subscribed(&app, &seller, &product, "ann@example.com").await;
    app.set_clock("2027-12-31T12:00:00Z").await;
    store_usage(&app, &product, &token, "december", "4.2", "2027-12-31T11:00:00Z").await;

    app.set_clock("2028-01-14T23:59:59Z").await;
    let (status, _, body) = report(&app, &seller, "/api/v1/seller/reports/revenue/2027-12.csv").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::NOT_FOUND, json!("ReportNotReady"))
    );
    let (status, _, body) = report(&app, &seller, "/api/v1/seller/reports/usage/2027-12.csv").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::NOT_FOUND, json!("ReportNotReady"))
    );

    // January 15: December's usage (billed January 1) and December's fee (billed at sign-up).
    app.set_clock("2028-01-15T00:00:00Z").await;
    let (status, content_type, csv) = report(&app, &seller, "/api/v1/seller/reports/revenue/2027-12.csv").await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let code = product["product_code"].as_str().unwrap();
    assert_eq!(
        rows(&csv),
        vec![
            vec![
                "Customer Name",
                "Customer E-mail",
                "Persistent Identifier",
                "Product Code",
                "Customer Since",
                "Canceled At",
                "Revenue",
                "Collected",
                "Base Cost",
                "Value Add",
                "Payment Status",
            ],
            vec![
                "Casey Customer",
                "ann@example.com",
                pid.as_str(),
                code,
                "2027-12-01T00:00:00Z",
                "",
                "15.84",
                "15.84",
                "0.63",
                "15.21",
                "paid",
            ],
        ]
    );
    let (status, _, csv) = report(&app, &seller, "/api/v1/seller/reports/usage/2027-12.csv").await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    let usage: Vec<Vec<String>> = rows(&csv).into_iter().map(|r| r[4..].to_vec()).collect();
    assert_eq!(
        usage,
        vec![
            vec!["Item", "Dimension", "Quantity", "Amount", "Base Cost"],
            vec!["signup_fee", "", "", "5.00", ""],
            vec!["monthly_fee", "", "", "10.00", ""],
            vec!["usage", "storage.gb_month", "4.2", "0.84", "0.63"],
        ]
    );
    // January's fee, billed January 1, is January's revenue: in February's report, not out yet.
    let (status, _, body) = report(&app, &seller, "/api/v1/seller/reports/revenue/2028-01.csv").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::NOT_FOUND, json!("ReportNotReady"))
    );
    app.set_clock("2028-02-15T00:00:00Z").await;
    let (_, _, csv) = report(&app, &seller, "/api/v1/seller/reports/revenue/2028-01.csv").await;
    assert_eq!(rows(&csv)[1][6..], ["10.00", "10.00", "0.00", "10.00", "paid"]);
    let (status, _, _) = report(&app, &seller, "/api/v1/seller/reports/revenue/2028-01.txt").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.finish().await;
}

async fn a_cancel_and_resubscribe_gives_two_rows_and_months_without_business_have_no_report(backend: Backend) {
    let app = TestApp::starting(backend, "2027-06-01T00:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    let product = app.create_product(&seller, free()).await;
    let customer = app.customer("ann@example.com", None).await;
    buy(&customer, &product).await;
    app.set_clock("2027-06-10T08:00:00Z").await;
    cancel(&customer, &product).await;
    app.set_clock("2027-06-20T09:00:00Z").await;
    buy(&customer, &product).await;
    let idle = app.create_seller("idle@example.com").await;

    app.set_clock("2027-07-15T00:00:00Z").await;
    let (status, _, csv) = report(&app, &seller, "/api/v1/seller/reports/revenue/2027-06.csv").await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    let rows = rows(&csv);
    assert_eq!(rows.len(), 3, "{csv}");
    assert_eq!(rows[1][4..6], ["2027-06-01T00:00:00Z", "2027-06-10T08:00:00Z"]);
    assert_eq!(rows[2][4..6], ["2027-06-20T09:00:00Z", ""]);
    assert_eq!(rows[2][6..], ["0.00", "0.00", "0.00", "0.00", "nothing due"]);
    // A free product used for nothing has no usage report; a seller with no customers has neither.
    let (status, _, body) = report(&app, &seller, "/api/v1/seller/reports/usage/2027-06.csv").await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, json!("NoReport")));
    let (status, _, body) = report(&app, &idle, "/api/v1/seller/reports/revenue/2027-06.csv").await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, json!("NoReport")));
    let (status, _, body) = report(&app, &seller, "/api/v1/seller/reports/revenue/2027-05.csv").await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, json!("NoReport")));
    app.finish().await;
}

async fn the_transaction_history_and_the_console_give_the_same_files(backend: Backend) {
    let app = TestApp::starting(backend, "2027-06-01T00:00:00Z").await;
    let key = app.create_seller("seller@example.com").await;
    let product = app.create_product(&key, as2_pricing()).await;
    subscribed(&app, &key, &product, "ann@example.com").await;
    let (status, content_type, csv) = report(&app, &key, "/api/v1/seller/transactions.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/csv"));
    // 15.00 collected less the 0.30 per-bill fee.
    let rows = rows(&csv);
    assert_eq!(rows[0], ["At", "Kind", "Amount", "Balance", "Description"]);
    assert_eq!(rows[1][..4], ["2027-06-01T00:00:00Z", "deposit", "14.70", "14.70"]);

    let seller = app.browser();
    seller
        .submit("/login", &[("email", "seller@example.com"), ("password", PASSWORD)])
        .await;
    let (_, console) = seller.page("/seller").await;
    assert!(console.contains("id=\"subscription-report\""), "{console}");
    assert!(
        console.contains("value=\"2027-04\""),
        "the latest month out on June 1 is April"
    );
    let response = seller.get("/seller/transactions.csv").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), csv);
    app.set_clock("2027-07-15T00:00:00Z").await;
    let response = seller.get("/seller/reports/revenue?month=2027-06").await;
    assert_eq!(response.status(), StatusCode::OK);
    let from_console = response.text().await.unwrap();
    let (_, _, from_api) = report(&app, &key, "/api/v1/seller/reports/revenue/2027-06.csv").await;
    assert_eq!(from_console, from_api);
    let response = seller.get("/seller/reports/usage?month=2027-07").await;
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "July's reports come out on August 15"
    );
    app.finish().await;
}
