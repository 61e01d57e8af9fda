//! Malformed and hostile input: the contract's codes, never a 500, never a partial write.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    json_bodies_that_are_not_right,
    hostile_forms_and_paths,
    query_strings_that_do_not_fit_get_the_contracts_error,
);

async fn json_bodies_that_are_not_right(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.create_seller("seller@example.com").await;
    let post = |body: Vec<u8>, content_type: &'static str| {
        app.api
            .post(app.url("/api/v1/products"))
            .bearer_auth(&key)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let cases: Vec<(Vec<u8>, &str, StatusCode, &str)> = vec![
        (
            b"{not json".to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
        ),
        (
            b"[1, 2]".to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
        ),
        (
            vec![b'"', 0xff, 0xfe, b'"'],
            "application/json",
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
        ),
        (
            b"name=x".to_vec(),
            "application/x-www-form-urlencoded",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
        ),
    ];
    for (body, content_type, status, code) in cases {
        let (got, error) = json_of(post(body, content_type).await.unwrap()).await;
        assert_eq!((got, error["error"]["code"].as_str()), (status, Some(code)), "{error}");
    }
    let auth = format!("Bearer {key}");
    let (status, body) = oversized_post(
        &app,
        "/api/v1/products",
        &[("authorization", &auth), ("content-type", "application/json")],
    )
    .await;
    assert_eq!(status, 413);
    assert!(body.contains("RequestTooLarge"), "{body}");
    let (_, list) = app.seller_call(&key, Method::GET, "/api/v1/products", None).await;
    assert!(list["products"].as_array().unwrap().is_empty());

    let (status, error) = app.seller_call(&key, Method::DELETE, "/api/v1/products", None).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("MethodNotAllowed"))
    );
    let (status, error) = app.seller_call(&key, Method::GET, "/api/v1/no-such-route", None).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("NotFound"))
    );

    // SQL in names is data: stored and shown as typed.
    let mut body = product_body(contract_pricing());
    body["name"] = json!("Robert'); DROP TABLE products;--");
    let (status, created) = app
        .seller_call(&key, Method::POST, "/api/v1/products", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["name"], "Robert'); DROP TABLE products;--");
    let (_, list) = app.seller_call(&key, Method::GET, "/api/v1/products", None).await;
    assert_eq!(list["products"].as_array().unwrap().len(), 1);
    app.finish().await;
}

async fn hostile_forms_and_paths(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.create_seller("seller@example.com").await;
    let mut body = product_body(contract_pricing());
    body["name"] = json!("<img src=x onerror=alert(1)>");
    body["description"] = json!("\"quoted\" & <b>bold</b>");
    let (status, product) = app
        .seller_call(&key, Method::POST, "/api/v1/products", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let offering = product["offering_code"].as_str().unwrap();

    let customer = app.customer("rae@example.com", None).await;
    let (status, html) = customer.page(&format!("/purchase/{offering}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("<img src=x") && html.contains(&escaped("<img src=x onerror=alert(1)>")));
    assert!(!html.contains("<b>bold</b>"));

    // Invalid UTF-8, empty fields and odd paths answer pages with clear statuses.
    let token = customer.csrf().await;
    let raw = format!("csrf_token={token}&card_number=%FF%FE&exp_month=&exp_year=&cvc=");
    let response = customer
        .client
        .post(app.url("/account/payment-method"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = customer
        .submit("/signup", &[("email", ""), ("password", ""), ("name", "")])
        .await;
    assert!(response.status().is_client_error() || response.status().is_redirection());
    for path in ["/purchase/not-a-code", "/purchase/ZZZZZZZZ", "/nowhere"] {
        let (status, _) = customer.page(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = customer.page("/purchase/%00%FF").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a path that is not UTF-8");
    let (status, _) = oversized_post(
        &app,
        "/seller/join",
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .await;
    assert_eq!(status, 413);

    let stranger = app.browser();
    let response = stranger
        .submit(
            "/signup",
            &[
                ("email", "not-an-address"),
                ("password", PASSWORD),
                ("name", "<b>X</b>"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(element_text(&html, "error-message").unwrap().contains("email"));
    assert!(html.contains(&escaped("<b>X</b>")), "the form is shown again, escaped");
    app.finish().await;
}

async fn query_strings_that_do_not_fit_get_the_contracts_error(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.create_seller("seller@example.com").await;
    for path in [
        "/api/v1/seller/activity?month=2027-06&month=2027-07",
        "/api/v1/seller/reports/subscriptions?product_code=A&product_code=B",
    ] {
        let (status, body) = app.seller_call(&key, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"]["code"], json!("InvalidParameterValue"), "{path}: {body}");
    }
    app.finish().await;
}
