//! Machine images and instances (CONTRACT section 8, R18): AS-19's launch rules and hours, through HTTP with the
//! sandbox clock.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    as19_paid_image_launch_rules_and_hours,
    instance_hours_fall_in_the_month_they_start,
    as6_and_as19_instance_hours_settle_their_base_cost_and_fee,
    a_price_change_of_a_configuration_rates_its_hours_from_its_instant,
);

fn image_product() -> Value {
    let mut body = product_body(json!({"monthly_fee": "20.00"}));
    body["name"] = json!("ABC AMI");
    body["kind"] = json!("machine_image");
    body["configurations"] = json!([
        {"region": "us-east", "environment": "linux", "instance_type": "small", "hourly_price": "0.20"},
        {"region": "us-east", "environment": "linux", "instance_type": "large", "hourly_price": "0.50"},
        {"region": "eu-west", "environment": "linux", "instance_type": "gpu.huge", "hourly_price": "3.00"}
    ]);
    body
}

fn launch(image: &str, email: &str, instance_type: &str) -> Value {
    json!({"image_id": image, "customer_email": email, "region": "us-east", "environment": "linux", "instance_type": instance_type})
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

/// An image whose product sells small us-east instances at 0.25 an hour and nothing else, bought by
/// ada@example.com with a card that pays.
async fn small_instances_bought(app: &TestApp, seller: &str, image: &str) -> Value {
    let mut body = image_product();
    body["pricing"] = json!({"signup_fee": "0.00", "monthly_fee": "0.00", "usage": []});
    body["configurations"] =
        json!([{"region": "us-east", "environment": "linux", "instance_type": "small", "hourly_price": "0.25"}]);
    let (status, product) = app
        .seller_call(seller, Method::POST, "/api/v1/products", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    let attach = json!({"image_id": image, "product_code": product["product_code"]});
    app.seller_call(seller, Method::POST, "/api/v1/images", Some(attach))
        .await;
    let customer = app.customer("ada@example.com", Some(CARD)).await;
    let (status, html) = customer.buy(product["offering_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    product
}

/// The hours recorded for a customer's product: (record id, dimension, month of the hour's start).
async fn hours(app: &TestApp, email: &str, product_code: &str) -> Vec<(String, String, String)> {
    let store = &app.running().state.store;
    let customer = store.account_by_email(email).await.unwrap().unwrap();
    let product = store.product_by_code(product_code).await.unwrap().unwrap();
    let records = store.usage_records(&customer.id, &product.id).await.unwrap();
    records
        .into_iter()
        .map(|(id, dimension, _, at)| {
            (
                id,
                dimension,
                tollgate_store::instant(at).format("%Y-%m-%dT%H:%M").to_string(),
            )
        })
        .collect()
}

async fn as19_paid_image_launch_rules_and_hours(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let seller = app.create_seller("seller@example.com").await;
    let (status, product) = app
        .seller_call(&seller, Method::POST, "/api/v1/products", Some(image_product()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    let product_code = product["product_code"].as_str().unwrap();
    let attach = json!({"image_id": "ami-5bae4b32", "product_code": product_code});
    let (status, _) = app
        .seller_call(&seller, Method::POST, "/api/v1/images", Some(attach.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // The code is attached for good, and only to the seller's own machine images.
    let (status, error) = app
        .seller_call(&seller, Method::POST, "/api/v1/images", Some(attach.clone()))
        .await;
    assert_eq!(
        (status, code(&error)),
        (StatusCode::CONFLICT, Some("ImageAlreadyAttached"))
    );
    let desktop = app.create_product(&seller, contract_pricing()).await;
    let to_desktop = json!({"image_id": "ami-other", "product_code": desktop["product_code"]});
    let (status, error) = app
        .seller_call(&seller, Method::POST, "/api/v1/images", Some(to_desktop))
        .await;
    assert_eq!(
        (status, code(&error)),
        (StatusCode::BAD_REQUEST, Some("InvalidParameterValue"))
    );
    let stranger = app.create_seller("stranger@example.com").await;
    let (status, error) = app
        .seller_call(&stranger, Method::POST, "/api/v1/images", Some(attach.clone()))
        .await;
    assert_eq!(
        (status, code(&error)),
        (StatusCode::CONFLICT, Some("ImageAlreadyAttached")),
        "to any product"
    );
    let stolen = json!({"image_id": "ami-mine", "product_code": product_code});
    let (status, _) = app
        .seller_call(&stranger, Method::POST, "/api/v1/images", Some(stolen))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // R31: a configuration's new instance type brought its hours dimension, at no base cost yet.
    let (_, catalogue) = json_of(app.api.get(app.url("/api/v1/dimensions")).send().await.unwrap()).await;
    let gpu = catalogue["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "compute.hours.gpu.huge")
        .cloned();
    assert_eq!(
        gpu,
        Some(json!({"name": "compute.hours.gpu.huge", "unit": "hour", "base_cost": "0.00"}))
    );

    app.set_clock("2027-06-17T10:00:00Z").await;
    let subscriber = app.customer("ivan@example.com", Some("4242424242424242")).await;
    let (status, _) = subscriber.buy(product["offering_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let pending = app.customer("jay@example.com", Some("4000000000000341")).await;
    pending.buy(product["offering_code"].as_str().unwrap()).await;
    app.customer("kay@example.com", Some("4242424242424242")).await;

    let cases = [
        (
            launch("ami-unknown", "ivan@example.com", "small"),
            StatusCode::NOT_FOUND,
            "NotFound",
        ),
        (
            launch("ami-5bae4b32", "kay@example.com", "small"),
            StatusCode::FORBIDDEN,
            "UserNotSubscribed",
        ),
        (
            launch("ami-5bae4b32", "jay@example.com", "small"),
            StatusCode::FORBIDDEN,
            "UserNotSubscribed",
        ),
        (
            launch("ami-5bae4b32", "nobody@example.com", "small"),
            StatusCode::FORBIDDEN,
            "UserNotSubscribed",
        ),
        (
            launch("ami-5bae4b32", "ivan@example.com", "xlarge"),
            StatusCode::BAD_REQUEST,
            "UnsupportedConfiguration",
        ),
        (
            launch("ami-5bae4b32", "kay@example.com", "xlarge"),
            StatusCode::FORBIDDEN,
            "UserNotSubscribed",
        ),
    ];
    for (body, status, expected) in cases {
        let (got, answer) = app
            .operator(Method::POST, "/api/v1/instances", Some(body.clone()))
            .await;
        assert_eq!((got, code(&answer)), (status, Some(expected)), "{body}");
    }
    let (status, _) = app
        .seller_call(
            &seller,
            Method::POST,
            "/api/v1/instances",
            Some(launch("ami-5bae4b32", "ivan@example.com", "small")),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "only the compute host (the operator) launches"
    );

    let (status, launched) = app
        .operator(
            Method::POST,
            "/api/v1/instances",
            Some(launch("ami-5bae4b32", "ivan@example.com", "small")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{launched}");
    let instance = launched["instance_id"].as_str().unwrap();

    // Two hours and ten minutes are three instance-hours, each recorded as it starts.
    app.set_clock("2027-06-17T11:30:00Z").await;
    assert_eq!(hours(&app, "ivan@example.com", product_code).await.len(), 2);
    app.set_clock("2027-06-17T12:10:00Z").await;
    let terminate = format!("/api/v1/instances/{instance}/terminate");
    let (status, ended) = app.operator(Method::POST, &terminate, None).await;
    assert_eq!(
        (status, ended["terminated_at"].as_str(), ended["hours"].as_i64()),
        (StatusCode::OK, Some("2027-06-17T12:10:00Z"), Some(3))
    );
    app.set_clock("2027-06-17T20:00:00Z").await;
    let (status, again) = app.operator(Method::POST, &terminate, None).await;
    assert_eq!(
        (status, again["terminated_at"].as_str()),
        (StatusCode::OK, Some("2027-06-17T12:10:00Z")),
        "idempotent"
    );
    let recorded = hours(&app, "ivan@example.com", product_code).await;
    let expected: Vec<(String, String, String)> = [(0, "10:00"), (1, "11:00"), (2, "12:00")]
        .iter()
        .map(|(k, at)| {
            (
                format!("{instance}:{k}"),
                "compute.hours.small".to_owned(),
                format!("2027-06-17T{at}"),
            )
        })
        .collect();
    assert_eq!(recorded, expected, "none after termination");
    let (status, _) = app
        .operator(Method::POST, "/api/v1/instances/i-unknown/terminate", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // ConfirmProductInstance: the owner learns the launching customer's PID; others learn nothing.
    let confirm = format!("/api/v1/instances/{instance}/confirm-product");
    let (status, answer) = app
        .seller_call(
            &seller,
            Method::POST,
            &confirm,
            Some(json!({"product_code": product_code})),
        )
        .await;
    assert_eq!((status, answer["confirmed"].as_bool()), (StatusCode::OK, Some(true)));
    let owner = answer["owner_id"].as_str().unwrap().to_owned();
    let (_, wrong) = app
        .seller_call(
            &seller,
            Method::POST,
            &confirm,
            Some(json!({"product_code": desktop["product_code"]})),
        )
        .await;
    assert_eq!(wrong, json!({"confirmed": false}));
    let (_, unknown) = app
        .seller_call(
            &seller,
            Method::POST,
            "/api/v1/instances/i-nope/confirm-product",
            Some(json!({"product_code": product_code})),
        )
        .await;
    assert_eq!(unknown, json!({"confirmed": false}));
    let (status, error) = app
        .seller_call(
            &stranger,
            Method::POST,
            &confirm,
            Some(json!({"product_code": product_code})),
        )
        .await;
    assert_eq!((status, code(&error)), (StatusCode::FORBIDDEN, Some("AccessDenied")));

    // The owner id is the PID the license service gives the seller for that customer.
    let html = subscriber
        .submit("/activate", &[("product_code", product_code)])
        .await
        .text()
        .await
        .unwrap();
    let key = element_text(&html, "activation-key").unwrap();
    let body = json!({"activation_key": key, "product_token": product["product_token"]});
    let (_, hosted) = app
        .seller_call(
            &seller,
            Method::POST,
            "/api/v1/license/activate-hosted-product",
            Some(body),
        )
        .await;
    assert_eq!(hosted["persistent_identifier"].as_str(), Some(owner.as_str()));
    app.finish().await;
}

async fn instance_hours_fall_in_the_month_they_start(backend: Backend) {
    let app = TestApp::starting(backend, "2027-06-30T23:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    let (_, product) = app
        .seller_call(&seller, Method::POST, "/api/v1/products", Some(image_product()))
        .await;
    let product_code = product["product_code"].as_str().unwrap();
    let attach = json!({"image_id": "ami-1", "product_code": product_code});
    app.seller_call(&seller, Method::POST, "/api/v1/images", Some(attach))
        .await;
    let customer = app.customer("lou@example.com", Some("4242424242424242")).await;
    customer.buy(product["offering_code"].as_str().unwrap()).await;

    app.set_clock("2027-06-30T23:30:00Z").await;
    let (status, _) = app
        .operator(
            Method::POST,
            "/api/v1/instances",
            Some(launch("ami-1", "lou@example.com", "large")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    app.set_clock("2027-07-01T01:00:00Z").await;
    let store = &app.running().state.store;
    let account = store.account_by_email("lou@example.com").await.unwrap().unwrap();
    let product_id = store.product_by_code(product_code).await.unwrap().unwrap().id;
    let months: Vec<String> = store
        .usage_records(&account.id, &product_id)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, _, _, at)| tollgate_store::instant(at).format("%Y-%m %H:%M").to_string())
        .collect();
    assert_eq!(months, vec!["2027-06 23:30", "2027-07 00:30"]);

    // The July 1 bill charges June's hour at the configuration's hourly price, with July's fee (R18, R19).
    let bills = app.bills_of("lou@example.com").await;
    let july = bills.iter().find(|b| b["kind"] == "monthly").expect("the July 1 bill");
    let lines: Vec<(&Value, &Value, &Value)> = july["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (&l["kind"], &l["amount"], &l["description"]))
        .collect();
    assert_eq!(
        lines,
        vec![
            (
                &json!("monthly_fee"),
                &json!("20.00"),
                &json!("ABC AMI: monthly fee for July 2027")
            ),
            (
                &json!("usage"),
                &json!("0.50"),
                &json!("ABC AMI: compute.hours.large (us-east/linux/large) in June 2027")
            ),
        ]
    );
    assert_eq!(july["total"], "20.50");
    // July's hour so far, on the billing page at the same price.
    let (_, html) = customer.page("/billing").await;
    assert!(
        html.contains("compute.hours.large (us-east/linux/large)") && html.contains("$0.50"),
        "{html}"
    );
    app.finish().await;
}

/// AS-6's arithmetic on a machine image, which also settles AS-19's base cost of instance hours: 100 small hours
/// sold at 0.25 (R = 25.00) against their base cost of 0.10 (C = 10.00), billed and paid on July 1.
async fn as6_and_as19_instance_hours_settle_their_base_cost_and_fee(backend: Backend) {
    let app = TestApp::starting(backend, "2027-06-10T00:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    small_instances_bought(&app, &seller, "ami-6").await;
    let (status, launched) = app
        .operator(
            Method::POST,
            "/api/v1/instances",
            Some(launch("ami-6", "ada@example.com", "small")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{launched}");
    // 99 h 30 min: hours 0 to 99 have started, 100 hours.
    app.set_clock("2027-06-14T03:30:00Z").await;
    let terminate = format!(
        "/api/v1/instances/{}/terminate",
        launched["instance_id"].as_str().unwrap()
    );
    let (_, ended) = app.operator(Method::POST, &terminate, None).await;
    assert_eq!(ended["hours"], 100);

    app.set_clock("2027-07-02T00:00:00Z").await;
    let (_, money) = app
        .seller_call(&seller, Method::GET, "/api/v1/seller/transactions", None)
        .await;
    let moves: Vec<(&Value, &Value)> = money["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (&t["kind"], &t["amount"]))
        .collect();
    // Deposit 25.00 - 0.30; charge 10.00 + 3% of 15.00; the seller nets 14.25.
    assert_eq!(
        moves,
        vec![
            (&json!("deposit"), &json!("24.70")),
            (&json!("charge"), &json!("-10.45"))
        ]
    );
    assert_eq!(money["balance"], "14.25");
    app.finish().await;
}

async fn a_price_change_of_a_configuration_rates_its_hours_from_its_instant(backend: Backend) {
    let app = TestApp::starting(backend, "2027-06-10T00:00:00Z").await;
    let seller = app.create_seller("seller@example.com").await;
    let product = small_instances_bought(&app, &seller, "ami-7").await;
    let product_code = product["product_code"].as_str().unwrap();
    // From June 25 small instances cost 0.40 an hour, and large ones are offered.
    let change = json!({"effective_at": "2027-06-25T00:00:00Z", "authorization": "passive",
        "pricing": {"signup_fee": "0.00", "monthly_fee": "0.00", "usage": []},
        "configurations": [
            {"region": "us-east", "environment": "linux", "instance_type": "small", "hourly_price": "0.40"},
            {"region": "us-east", "environment": "linux", "instance_type": "large", "hourly_price": "0.90"}]});
    let (status, pending) = app
        .seller_call(
            &seller,
            Method::POST,
            &format!("/api/v1/products/{product_code}/price-changes"),
            Some(change),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pending}");
    let (status, refused) = app
        .operator(
            Method::POST,
            "/api/v1/instances",
            Some(launch("ami-7", "ada@example.com", "large")),
        )
        .await;
    assert_eq!(
        (status, code(&refused)),
        (StatusCode::BAD_REQUEST, Some("UnsupportedConfiguration"))
    );

    app.set_clock("2027-06-24T22:00:00Z").await;
    let (status, launched) = app
        .operator(
            Method::POST,
            "/api/v1/instances",
            Some(launch("ami-7", "ada@example.com", "small")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{launched}");
    app.set_clock("2027-06-25T01:30:00Z").await;
    let terminate = format!(
        "/api/v1/instances/{}/terminate",
        launched["instance_id"].as_str().unwrap()
    );
    let (_, ended) = app.operator(Method::POST, &terminate, None).await;
    assert_eq!(ended["hours"], 4);
    let (status, _) = app
        .operator(
            Method::POST,
            "/api/v1/instances",
            Some(launch("ami-7", "ada@example.com", "large")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "offered from the change's instant");

    app.set_clock("2027-07-01T00:00:00Z").await;
    let bills = app.bills_of("ada@example.com").await;
    let july = monthly_bills(&bills)[0];
    let small: Vec<(String, String, String)> = lines(july)
        .into_iter()
        .filter(|l| l.2.contains("compute.hours.small"))
        .collect();
    // Two hours started before June 25 at 0.25, two from it at 0.40.
    assert_eq!(
        small,
        vec![
            (
                "usage".into(),
                "0.50".into(),
                "ABC AMI: compute.hours.small (us-east/linux/small) in June 2027 before June 25 (earlier price)".into()
            ),
            (
                "usage".into(),
                "0.80".into(),
                "ABC AMI: compute.hours.small (us-east/linux/small) in June 2027 from June 25 (new price)".into()
            ),
        ]
    );
    app.finish().await;
}
