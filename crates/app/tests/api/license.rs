//! The license service (CONTRACT section 5): activation, verification, identities and tenancy, through HTTP with
//! the sandbox clock.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    desktop_products_activate_and_verify_with_derived_keys,
    as11_activation_key_rules,
    as12_a_declined_signup_activates_but_is_not_subscribed,
    as18_one_pid_per_customer_and_seller,
    derived_keys_belong_to_one_customer_and_product,
);

async fn license(app: &TestApp, route: &str, auth: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut request = app.api.post(app.url(&format!("/api/v1/license/{route}"))).json(&body);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    json_of(request.send().await.unwrap()).await
}

fn basic(activation: &Value) -> String {
    use base64::Engine;
    let pair = format!(
        "{}:{}",
        activation["access_key_id"].as_str().unwrap(),
        activation["secret_access_key"].as_str().unwrap()
    );
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

/// A seller's product bought by a customer: (seller key, product, activation key).
async fn bought(app: &TestApp, seller: &str, customer: &Browser) -> (Value, String) {
    let product = app.create_product(seller, contract_pricing()).await;
    let (status, html) = customer.buy(product["offering_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    (product, element_text(&html, "activation-key").unwrap())
}

async fn desktop_products_activate_and_verify_with_derived_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let seller = app.create_seller("seller@example.com").await;
    let customer = app.customer("ann@example.com", Some("4242424242424242")).await;
    let (product, key) = bought(&app, &seller, &customer).await;
    let token = product["product_token"].as_str().unwrap();

    let (status, first) = license(
        &app,
        "activate-desktop-product",
        None,
        json!({"activation_key": key, "product_token": token}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let user_token = first["user_token"].as_str().unwrap().to_owned();
    assert!(user_token.starts_with("{UserToken}"));
    let verify = json!({"product_token": token, "user_token": user_token});
    let (status, answer) = license(
        &app,
        "verify-product-subscription-by-tokens",
        Some(&basic(&first)),
        verify.clone(),
    )
    .await;
    assert_eq!((status, &answer), (StatusCode::OK, &json!({"subscribed": true})));

    // The key works more than once within its hour, each time with a new key pair and the same user token (R12).
    let lower = key.to_lowercase();
    let (_, second) = license(
        &app,
        "activate-desktop-product",
        None,
        json!({"activation_key": lower, "product_token": token}),
    )
    .await;
    assert_eq!(second["user_token"], user_token.as_str());
    assert_ne!(second["access_key_id"], first["access_key_id"]);
    for pair in [&first, &second] {
        let (status, answer) = license(
            &app,
            "verify-product-subscription-by-tokens",
            Some(&basic(pair)),
            verify.clone(),
        )
        .await;
        assert_eq!((status, answer["subscribed"].as_bool()), (StatusCode::OK, Some(true)));
    }
    let (status, refreshed) = license(
        &app,
        "refresh-user-token",
        Some(&basic(&first)),
        json!({"user_token": user_token}),
    )
    .await;
    assert_eq!(
        (status, refreshed["user_token"].as_str()),
        (StatusCode::OK, Some(user_token.as_str()))
    );

    // The secret is kept hashed for checks and encrypted for signatures, never as it is.
    let state = &app.running().state;
    let stored = state
        .store
        .derived_key(first["access_key_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let secret = first["secret_access_key"].as_str().unwrap();
    assert!(!stored.secret_hash.contains(secret) && !stored.secret_encrypted.contains(secret));
    assert_eq!(state.secret_key.decrypt(&stored.secret_encrypted).unwrap(), secret);
    app.finish().await;
}

async fn as11_activation_key_rules(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let seller = app.create_seller("seller@example.com").await;
    let customer = app.customer("bo@example.com", Some("4242424242424242")).await;
    let (x, _) = bought(&app, &seller, &customer).await;
    let (y, _) = bought(&app, &seller, &customer).await;
    let (x_token, y_token) = (
        x["product_token"].as_str().unwrap(),
        y["product_token"].as_str().unwrap(),
    );

    app.set_clock("2027-06-17T10:00:00Z").await;
    let html = customer
        .submit("/activate", &[("product_code", x["product_code"].as_str().unwrap())])
        .await
        .text()
        .await
        .unwrap();
    let key = element_text(&html, "activation-key").unwrap();
    let activate = |key: &str, token: &str| json!({"activation_key": key, "product_token": token});

    // Checked in the contract's order: missing fields, product token, key format, key's product, expiry.
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({"product_token": x_token}),
            StatusCode::BAD_REQUEST,
            "MissingParameter",
        ),
        (
            activate("garbage!", "{ProductToken}nope"),
            StatusCode::BAD_REQUEST,
            "InvalidProductToken",
        ),
        (
            activate("garbage!", x_token),
            StatusCode::BAD_REQUEST,
            "InvalidActivationKey",
        ),
        (
            activate(&"A".repeat(31), x_token),
            StatusCode::BAD_REQUEST,
            "InvalidActivationKey",
        ),
        (
            activate("AAAAAAAAAAAAAAAAAAAAAAAAAAAA", x_token),
            StatusCode::BAD_REQUEST,
            "InvalidActivationKey",
        ),
        (
            activate(&key, y_token),
            StatusCode::BAD_REQUEST,
            "IncorrectActivationKey",
        ),
        (
            json!({"activation_key": key, "product_token": x_token, "extra": 1}),
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
        ),
    ];
    for (body, status, expected) in cases {
        let (got, answer) = license(&app, "activate-desktop-product", None, body.clone()).await;
        assert_eq!((got, code(&answer)), (status, Some(expected)), "{body}");
    }

    app.set_clock("2027-06-17T10:59:59Z").await;
    let (status, _) = license(&app, "activate-desktop-product", None, activate(&key, x_token)).await;
    assert_eq!(status, StatusCode::OK, "valid at 10:59:59");
    app.set_clock("2027-06-17T11:00:01Z").await;
    let (status, answer) = license(&app, "activate-desktop-product", None, activate(&key, x_token)).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::BAD_REQUEST, Some("ExpiredActivationKey"))
    );

    // Hosted activation signed by a seller that does not own the token.
    let other = app.create_seller("other@example.com").await;
    let html = customer
        .submit("/activate", &[("product_code", x["product_code"].as_str().unwrap())])
        .await
        .text()
        .await
        .unwrap();
    let fresh = element_text(&html, "activation-key").unwrap();
    let (status, answer) = license(
        &app,
        "activate-hosted-product",
        Some(&bearer(&other)),
        activate(&fresh, x_token),
    )
    .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::BAD_REQUEST, Some("InvalidProductToken"))
    );
    let (status, answer) = license(&app, "activate-hosted-product", None, activate(&fresh, x_token)).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNAUTHORIZED, Some("AccessDenied")),
        "credential first"
    );
    let (status, _) = license(
        &app,
        "activate-hosted-product",
        Some(&bearer(&seller)),
        activate(&fresh, x_token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    app.finish().await;
}

async fn as12_a_declined_signup_activates_but_is_not_subscribed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let seller = app.create_seller("seller@example.com").await;
    let customer = app.customer("cat@example.com", Some("4000000000000341")).await;
    let (product, key) = bought(&app, &seller, &customer).await;
    let body = json!({"activation_key": key, "product_token": product["product_token"]});
    let (status, hosted) = license(&app, "activate-hosted-product", Some(&bearer(&seller)), body).await;
    assert_eq!(status, StatusCode::OK, "activation works while pending: {hosted}");
    let verify =
        json!({"persistent_identifier": hosted["persistent_identifier"], "product_code": product["product_code"]});
    let (_, answer) = license(
        &app,
        "verify-product-subscription-by-pid",
        Some(&bearer(&seller)),
        verify.clone(),
    )
    .await;
    assert_eq!(answer, json!({"subscribed": false}));
    let pid = json!({"persistent_identifier": hosted["persistent_identifier"]});
    let (_, active) = license(&app, "get-active-subscriptions-by-pid", Some(&bearer(&seller)), pid).await;
    assert_eq!(active, json!({"product_codes": []}));

    customer.add_card("4242424242424242").await;
    let (_, answer) = license(
        &app,
        "verify-product-subscription-by-pid",
        Some(&bearer(&seller)),
        verify,
    )
    .await;
    assert_eq!(
        answer,
        json!({"subscribed": true}),
        "the same identifiers work once the sign-up is paid"
    );
    app.finish().await;
}

async fn as18_one_pid_per_customer_and_seller(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = app.create_seller("s@example.com").await;
    let other = app.create_seller("t@example.com").await;
    let customer = app.customer("dan@example.com", Some("4242424242424242")).await;
    let (x, x_key) = bought(&app, &s, &customer).await;
    let (y, y_key) = bought(&app, &s, &customer).await;
    let (z, z_key) = bought(&app, &other, &customer).await;
    let activate =
        |key: &str, product: &Value| json!({"activation_key": key, "product_token": product["product_token"]});

    let (_, at_x) = license(&app, "activate-hosted-product", Some(&bearer(&s)), activate(&x_key, &x)).await;
    let (_, at_y) = license(&app, "activate-hosted-product", Some(&bearer(&s)), activate(&y_key, &y)).await;
    let (_, at_z) = license(
        &app,
        "activate-hosted-product",
        Some(&bearer(&other)),
        activate(&z_key, &z),
    )
    .await;
    assert_eq!(
        at_x["persistent_identifier"], at_y["persistent_identifier"],
        "one PID per customer and seller"
    );
    assert_ne!(at_x["persistent_identifier"], at_z["persistent_identifier"]);
    assert_ne!(
        at_x["user_token"], at_y["user_token"],
        "one user token per customer and product"
    );

    let pid = at_x["persistent_identifier"].clone();
    let (_, active) = license(
        &app,
        "get-active-subscriptions-by-pid",
        Some(&bearer(&s)),
        json!({"persistent_identifier": pid}),
    )
    .await;
    let mut expected = vec![x["product_code"].as_str().unwrap(), y["product_code"].as_str().unwrap()];
    expected.sort();
    assert_eq!(active, json!({"product_codes": expected}));

    let cases = [
        (
            json!({"persistent_identifier": at_z["persistent_identifier"], "product_code": x["product_code"]}),
            StatusCode::BAD_REQUEST,
            "InvalidPersistentIdentifier",
        ),
        (
            json!({"persistent_identifier": pid, "product_code": z["product_code"]}),
            StatusCode::FORBIDDEN,
            "AccessDenied",
        ),
        (
            json!({"persistent_identifier": "pid_nothing", "product_code": x["product_code"]}),
            StatusCode::BAD_REQUEST,
            "InvalidPersistentIdentifier",
        ),
        (
            json!({"persistent_identifier": pid, "product_code": "ZZZZZZZZ"}),
            StatusCode::NOT_FOUND,
            "NotFound",
        ),
        (
            json!({"persistent_identifier": pid}),
            StatusCode::BAD_REQUEST,
            "MissingParameter",
        ),
    ];
    for (body, status, expected) in cases {
        let (got, answer) = license(
            &app,
            "verify-product-subscription-by-pid",
            Some(&bearer(&s)),
            body.clone(),
        )
        .await;
        assert_eq!((got, code(&answer)), (status, Some(expected)), "{body}");
    }
    let (status, answer) = license(
        &app,
        "verify-product-subscription-by-pid",
        Some(&bearer(OPERATOR_TOKEN)),
        json!({}),
    )
    .await;
    assert_eq!((status, code(&answer)), (StatusCode::FORBIDDEN, Some("AccessDenied")));

    // The customer cancels Y: the seller's queries see it at once.
    let y_code = y["product_code"].as_str().unwrap();
    customer
        .submit(&format!("/billing/subscriptions/{y_code}/cancel"), &[])
        .await;
    let (_, active) = license(
        &app,
        "get-active-subscriptions-by-pid",
        Some(&bearer(&s)),
        json!({"persistent_identifier": pid}),
    )
    .await;
    assert_eq!(active, json!({"product_codes": [x["product_code"]]}));
    let (_, verified) = license(
        &app,
        "verify-product-subscription-by-pid",
        Some(&bearer(&s)),
        json!({"persistent_identifier": pid, "product_code": y_code}),
    )
    .await;
    assert_eq!(verified, json!({"subscribed": false}));
    app.finish().await;
}

async fn derived_keys_belong_to_one_customer_and_product(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let seller = app.create_seller("seller@example.com").await;
    let eve = app.customer("eve@example.com", Some("4242424242424242")).await;
    let fred = app.customer("fred@example.com", Some("4242424242424242")).await;
    let (x, eve_x) = bought(&app, &seller, &eve).await;
    let y = app.create_product(&seller, contract_pricing()).await;
    let (status, html) = eve.buy(y["offering_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let eve_y = element_text(&html, "activation-key").unwrap();
    let (status, html) = fred.buy(x["offering_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let fred_x = element_text(&html, "activation-key").unwrap();
    let desktop =
        |key: &str, product: &Value| json!({"activation_key": key, "product_token": product["product_token"]});
    let (_, eve_on_x) = license(&app, "activate-desktop-product", None, desktop(&eve_x, &x)).await;
    let (_, eve_on_y) = license(&app, "activate-desktop-product", None, desktop(&eve_y, &y)).await;
    let (_, fred_on_x) = license(&app, "activate-desktop-product", None, desktop(&fred_x, &x)).await;
    let auth = basic(&eve_on_x);

    let verify = |product: &Value, user_token: &Value| json!({"product_token": product["product_token"], "user_token": user_token});
    let cases = [
        (
            verify(&y, &eve_on_y["user_token"]),
            StatusCode::FORBIDDEN,
            "AccessDenied",
        ),
        (
            verify(&x, &fred_on_x["user_token"]),
            StatusCode::FORBIDDEN,
            "AccessDenied",
        ),
        (
            verify(&x, &json!("{UserToken}unknown")),
            StatusCode::BAD_REQUEST,
            "InvalidUserToken",
        ),
        (
            json!({"product_token": "{ProductToken}unknown", "user_token": eve_on_x["user_token"]}),
            StatusCode::BAD_REQUEST,
            "InvalidProductToken",
        ),
        (
            json!({"product_token": x["product_token"]}),
            StatusCode::BAD_REQUEST,
            "MissingParameter",
        ),
    ];
    for (body, status, expected) in cases {
        let (got, answer) = license(&app, "verify-product-subscription-by-tokens", Some(&auth), body.clone()).await;
        assert_eq!((got, code(&answer)), (status, Some(expected)), "{body}");
    }
    let (status, answer) = license(
        &app,
        "refresh-user-token",
        Some(&auth),
        json!({"user_token": fred_on_x["user_token"]}),
    )
    .await;
    assert_eq!((status, code(&answer)), (StatusCode::FORBIDDEN, Some("AccessDenied")));

    let mut wrong = eve_on_x.clone();
    wrong["secret_access_key"] = json!("not-the-secret");
    // The credential is checked first, whatever the body: also when its fields are missing.
    for body in [verify(&x, &eve_on_x["user_token"]), json!({})] {
        for auth in [
            None,
            Some(basic(&wrong)),
            Some("Basic !!!".to_owned()),
            Some(bearer(&seller)),
        ] {
            let (status, answer) = license(
                &app,
                "verify-product-subscription-by-tokens",
                auth.as_deref(),
                body.clone(),
            )
            .await;
            assert_eq!(
                (status, code(&answer)),
                (StatusCode::UNAUTHORIZED, Some("AccessDenied")),
                "{auth:?} {body}"
            );
        }
    }
    let pid_body = json!({"persistent_identifier": "pid_nobody", "product_code": x["product_code"]});
    for body in [pid_body, json!({})] {
        for auth in [None, Some(basic(&eve_on_x)), Some(bearer("tg_sk_not_a_live_key"))] {
            let (status, answer) = license(
                &app,
                "verify-product-subscription-by-pid",
                auth.as_deref(),
                body.clone(),
            )
            .await;
            assert_eq!(
                (status, code(&answer)),
                (StatusCode::UNAUTHORIZED, Some("AccessDenied")),
                "{auth:?} {body}"
            );
        }
    }
    let (status, _) = app.seller_call(&seller, Method::GET, "/api/v1/products", None).await;
    assert_eq!(status, StatusCode::OK);
    app.finish().await;
}
