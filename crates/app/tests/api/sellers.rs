//! Sellers: the operator's route, credentials and roles, and the seller console.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    operator_creates_sellers_with_a_first_key,
    credentials_and_roles,
    console_becomes_seller_manages_keys_and_products,
    operator_clock_moves_only_forward,
    without_an_operator_token_the_operator_api_is_closed,
);

async fn without_an_operator_token_the_operator_api_is_closed(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Options {
            operator_token: None,
            ..Options::default()
        },
    )
    .await;
    let person = app.customer("vic@example.com", None).await;
    person
        .submit(
            "/seller/join",
            &[("company_name", "Vic"), ("public_contact", "vic@example.com")],
        )
        .await;
    let html = person
        .submit("/seller/api-keys", &[("label", "k")])
        .await
        .text()
        .await
        .unwrap();
    let key = element_text(&html, "new-api-key").unwrap();
    for token in ["", "anything", key.as_str()] {
        let (status, error) = app.seller_call(token, Method::GET, "/api/v1/admin/clock", None).await;
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("AccessDenied")),
            "{token}"
        );
    }
    app.finish().await;
}

async fn operator_creates_sellers_with_a_first_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = json!({"email": "Shop@Example.com", "password": PASSWORD, "company_name": "Shop", "public_contact": "help@shop.example"});
    let (status, created) = app
        .operator(Method::POST, "/api/v1/admin/sellers", Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let key = created["api_key"].as_str().unwrap();
    assert!(key.len() >= 32 && created["seller_id"].is_string());
    let (status, _) = app.seller_call(key, Method::GET, "/api/v1/products", None).await;
    assert_eq!(status, StatusCode::OK);

    let mut again = body.clone();
    again["email"] = json!("shop@example.COM");
    let (status, error) = app.operator(Method::POST, "/api/v1/admin/sellers", Some(again)).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("EmailTaken"))
    );

    let mut missing = body.clone();
    missing.as_object_mut().unwrap().remove("company_name");
    missing["email"] = json!("other@example.com");
    let (status, error) = app.operator(Method::POST, "/api/v1/admin/sellers", Some(missing)).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("MissingParameter"))
    );
    assert!(error["error"]["message"].as_str().unwrap().contains("company_name"));

    // The key is stored only as a hash.
    let seller_id = created["seller_id"].as_str().unwrap();
    let keys = app.running().state.store.api_keys(seller_id).await.unwrap();
    assert!(keys.iter().all(|k| k.key_hash != key && !key.contains(&k.key_hash)));
    app.finish().await;
}

async fn credentials_and_roles(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.create_seller("seller@example.com").await;
    let (status, error) = app.seller_call("nonsense", Method::GET, "/api/v1/products", None).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("AccessDenied"))
    );
    let response = app.api.get(app.url("/api/v1/products")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let (status, error) = app
        .seller_call(&key, Method::POST, "/api/v1/admin/sellers", Some(json!({})))
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("AccessDenied")),
        "a seller on an operator route"
    );
    let (status, _) = app
        .seller_call(OPERATOR_TOKEN, Method::GET, "/api/v1/products", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the operator on a seller route");
    let (status, _) = app.seller_call(&key, Method::GET, "/api/v1/admin/clock", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.finish().await;
}

async fn console_becomes_seller_manages_keys_and_products(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let person = app.customer("pat@example.com", None).await;
    let (_, html) = person.page("/seller").await;
    assert!(html.contains("id=\"become-seller\""));
    let response = person
        .submit(
            "/seller/join",
            &[
                ("company_name", "Pat's <b>Tools</b>"),
                ("public_contact", "pat@tools.example"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let response = person.submit("/seller/api-keys", &[("label", "ci")]).await;
    let html = response.text().await.unwrap();
    let key = element_text(&html, "new-api-key").expect("the new key is shown once");
    assert!(
        html.contains(&escaped("Pat's <b>Tools</b>")) && !html.contains("<b>Tools"),
        "markup is escaped"
    );
    let (status, _) = app.seller_call(&key, Method::GET, "/api/v1/products", None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, html) = person.page("/seller").await;
    assert!(!html.contains(&key), "a key is never shown again");

    // Register a product with the console's form: the same input and validation as the API.
    let form = [
        ("name", "Sketch <script>alert(1)</script>"),
        ("description", "Draw."),
        ("kind", "desktop"),
        ("redirect_url", "https://sketch.example/start"),
        ("terms_url", ""),
        ("support_contact", ""),
        ("signup_fee", "1.00"),
        ("monthly_fee", "2.00"),
        (
            "usage",
            r#"[{"dimension": "custom.strokes", "tiers": [{"up_to": null, "unit_price": "0.001"}]}]"#,
        ),
        ("configurations", "[]"),
    ];
    let mut bad = form;
    bad[7] = ("monthly_fee", "-2");
    let response = person.submit("/seller/products/new", &bad).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("pricing.monthly_fee"));
    let response = person.submit("/seller/products/new", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, list) = app.seller_call(&key, Method::GET, "/api/v1/products", None).await;
    let products = list["products"].as_array().unwrap();
    assert_eq!(products.len(), 1, "the refused form made nothing");
    let code = products[0]["product_code"].as_str().unwrap();
    assert_eq!(products[0]["pricing"]["usage"][0]["tiers"][0]["unit_price"], "0.001");
    let (_, html) = person.page("/seller").await;
    assert!(
        html.contains(code) && html.contains(&escaped("<script>alert(1)</script>")) && !html.contains("<script>alert")
    );

    let response = person
        .submit(
            &format!("/seller/products/{code}"),
            &[
                ("name", "Sketch Pro"),
                ("description", "Draw more."),
                ("redirect_url", "https://sketch.example/pro"),
                ("terms_url", "https://sketch.example/terms"),
                ("support_contact", "help@sketch.example"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, product) = app
        .seller_call(&key, Method::GET, &format!("/api/v1/products/{code}"), None)
        .await;
    assert_eq!(
        (product["name"].as_str(), product["terms_url"].as_str()),
        (Some("Sketch Pro"), Some("https://sketch.example/terms"))
    );

    // Revoke the key: it stops working at once.
    let store = &app.running().state.store;
    let seller = store
        .seller_of_account(&store.account_by_email("pat@example.com").await.unwrap().unwrap().id)
        .await
        .unwrap()
        .unwrap();
    let key_id = store.api_keys(&seller.id).await.unwrap()[0].id.clone();
    let response = person.submit(&format!("/seller/api-keys/{key_id}/revoke"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, _) = app.seller_call(&key, Method::GET, "/api/v1/products", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Another seller's product is not editable from the console.
    let other = app.customer("quinn@example.com", None).await;
    other
        .submit(
            "/seller/join",
            &[("company_name", "Q"), ("public_contact", "q@example.com")],
        )
        .await;
    let response = other.get(&format!("/seller/products/{code}")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // The console shows the month's activity with the revenue chart.
    let (_, console) = person.page("/seller").await;
    assert!(
        console.contains("id=\"activity-table\"") && console.contains("id=\"revenue-chart\""),
        "{console}"
    );

    // The console's withdrawal form says why nothing was withdrawn from an empty balance (R30).
    let response = person.submit("/seller/withdrawals", &[("amount", "1.00")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = unescape(&response.text().await.unwrap());
    assert_eq!(
        element_text(&html, "notice").as_deref(),
        Some("Not withdrawn (the amount is more than the balance).")
    );
    app.finish().await;
}

async fn operator_clock_moves_only_forward(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, now) = app.operator(Method::GET, "/api/v1/admin/clock", None).await;
    assert_eq!(
        (status, now["now"].as_str()),
        (StatusCode::OK, Some("2027-06-17T00:00:00Z"))
    );
    app.set_clock("2027-06-20T10:00:00Z").await;
    let (_, now) = app.operator(Method::GET, "/api/v1/admin/clock", None).await;
    assert_eq!(now["now"], "2027-06-20T10:00:00Z");
    let (status, error) = app
        .operator(
            Method::POST,
            "/api/v1/admin/clock",
            Some(json!({"now": "2027-06-19T00:00:00Z"})),
        )
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("ClockMovedBackwards"))
    );
    let (status, error) = app
        .operator(Method::POST, "/api/v1/admin/clock", Some(json!({"now": "tomorrow"})))
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("InvalidParameterValue"))
    );
    let (_, now) = app.operator(Method::GET, "/api/v1/admin/clock", None).await;
    assert_eq!(now["now"], "2027-06-20T10:00:00Z");
    app.finish().await;
}
