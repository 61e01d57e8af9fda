//! Products and the dimension catalogue (CONTRACT section 3).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    register_list_show_and_patch,
    invalid_products_are_refused_with_their_field,
    products_belong_to_their_seller,
    dimension_catalogue,
);

fn is_code(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|c| c.len() == 8 && c.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
}

async fn register_list_show_and_patch(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.create_seller("seller@example.com").await;
    let product = app.create_product(&key, contract_pricing()).await;
    assert!(is_code(&product["product_code"]) && is_code(&product["offering_code"]));
    assert!(product["product_token"].as_str().unwrap().starts_with("{ProductToken}"));
    assert_eq!(
        product["purchase_url"],
        app.url(&format!("/purchase/{}", product["offering_code"].as_str().unwrap()))
            .as_str()
    );
    assert_eq!(product["pricing"]["signup_fee"], "5.00");
    assert_eq!(
        product["pricing"]["usage"][0]["tiers"][0],
        json!({"up_to": "10", "unit_price": "0.25"})
    );
    assert_eq!(
        product["pricing"]["usage"][0]["tiers"][1],
        json!({"up_to": null, "unit_price": "0.20"})
    );
    assert_eq!(
        (product["kind"].as_str(), product["redirect_url"].as_str()),
        (Some("desktop"), Some("https://example.com/welcome"))
    );

    let code = product["product_code"].as_str().unwrap();
    let (_, list) = app.seller_call(&key, Method::GET, "/api/v1/products", None).await;
    assert_eq!(list["products"].as_array().unwrap().len(), 1);
    let (status, shown) = app
        .seller_call(&key, Method::GET, &format!("/api/v1/products/{code}"), None)
        .await;
    assert_eq!(
        (status, &shown["product_token"]),
        (StatusCode::OK, &product["product_token"])
    );

    let (status, patched) = app
        .seller_call(
            &key,
            Method::PATCH,
            &format!("/api/v1/products/{code}"),
            Some(json!({"name": "Backup Pro 2", "terms_url": "https://example.com/terms"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        (patched["name"].as_str(), patched["description"].as_str()),
        (Some("Backup Pro 2"), Some("Encrypted backups for your laptop."))
    );
    assert_eq!(patched["terms_url"], "https://example.com/terms");
    let (status, error) = app
        .seller_call(
            &key,
            Method::PATCH,
            &format!("/api/v1/products/{code}"),
            Some(json!({"pricing": {"monthly_fee": "1.00"}})),
        )
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("InvalidParameterValue"))
    );
    let (_, shown) = app
        .seller_call(&key, Method::GET, &format!("/api/v1/products/{code}"), None)
        .await;
    assert_eq!(
        shown["pricing"]["monthly_fee"], "10.00",
        "prices change only through price changes"
    );

    let (status, _) = app
        .seller_call(&key, Method::GET, "/api/v1/products/ZZZZZZZZ", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Lists come in pages.
    let second = app.create_product(&key, contract_pricing()).await;
    let (_, page) = app
        .seller_call(&key, Method::GET, "/api/v1/products?limit=1", None)
        .await;
    assert_eq!(page["products"].as_array().unwrap().len(), 1);
    assert_eq!(page["products"][0]["product_code"], product["product_code"]);
    let next = page["next"].as_str().expect("a cursor to the next page");
    let (_, page) = app
        .seller_call(
            &key,
            Method::GET,
            &format!("/api/v1/products?limit=1&after={next}"),
            None,
        )
        .await;
    assert_eq!(page["products"][0]["product_code"], second["product_code"]);
    assert!(page["next"].is_null());
    for bad in ["limit=0", "limit=1001", "limit=x", "after=nope"] {
        let (status, error) = app
            .seller_call(&key, Method::GET, &format!("/api/v1/products?{bad}"), None)
            .await;
        let code = error["error"]["code"].as_str();
        assert_eq!(
            (status, code),
            (StatusCode::BAD_REQUEST, Some("InvalidParameterValue")),
            "{bad}"
        );
    }
    app.finish().await;
}

async fn invalid_products_are_refused_with_their_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.create_seller("seller@example.com").await;
    let tiers =
        |tiers: Value| json!({"monthly_fee": "1", "usage": [{"dimension": "storage.gb_month", "tiers": tiers}]});
    let mut cases: Vec<(Value, &str, &str)> = vec![
        (
            product_body(json!({"monthly_fee": "-1.00"})),
            "InvalidParameterValue",
            "pricing.monthly_fee",
        ),
        (
            product_body(json!({"monthly_fee": "1.001"})),
            "InvalidParameterValue",
            "pricing.monthly_fee",
        ),
        (
            product_body(json!({"signup_fee": 5})),
            "InvalidParameterValue",
            "pricing.signup_fee",
        ),
        (
            product_body(tiers(
                json!([{"up_to": "10", "unit_price": "0.1"}, {"up_to": "5", "unit_price": "0.1"}, {"up_to": null, "unit_price": "0.1"}]),
            )),
            "InvalidParameterValue",
            "pricing.usage[0].tiers[1].up_to",
        ),
        (
            product_body(tiers(json!([{"up_to": "10", "unit_price": "0.1"}]))),
            "InvalidParameterValue",
            "pricing.usage[0].tiers[0].up_to",
        ),
        (
            product_body(tiers(json!([{"up_to": null, "unit_price": "0.000000001"}]))),
            "InvalidParameterValue",
            "pricing.usage[0].tiers[0].unit_price",
        ),
        (
            product_body(
                json!({"usage": [{"dimension": "storage.petabytes", "tiers": [{"up_to": null, "unit_price": "1"}]}]}),
            ),
            "UnknownDimension",
            "pricing.usage[0].dimension",
        ),
        (
            product_body(
                json!({"usage": [{"dimension": "compute.hours.small", "tiers": [{"up_to": null, "unit_price": "1"}]}]}),
            ),
            "InvalidParameterValue",
            "pricing.usage[0].dimension",
        ),
        (
            product_body(
                json!({"usage": [{"dimension": "custom.Not Valid", "tiers": [{"up_to": null, "unit_price": "1"}]}]}),
            ),
            "InvalidParameterValue",
            "pricing.usage[0].dimension",
        ),
    ];
    let mut with = |field: &str, value: Value, code: &'static str, path: &'static str| {
        let mut body = product_body(contract_pricing());
        body[field] = value;
        cases.push((body, code, path));
    };
    with(
        "redirect_url",
        json!("javascript:alert(1)"),
        "InvalidParameterValue",
        "redirect_url",
    );
    with(
        "redirect_url",
        json!("ftp://example.com"),
        "InvalidParameterValue",
        "redirect_url",
    );
    with("terms_url", json!("/terms"), "InvalidParameterValue", "terms_url");
    with("name", json!("   "), "InvalidParameterValue", "name");
    with("kind", json!("mainframe"), "InvalidParameterValue", "kind");
    with(
        "configurations",
        json!([{"region": "us-east", "environment": "linux", "instance_type": "small", "hourly_price": "0.20"}]),
        "InvalidParameterValue",
        "configurations",
    );
    with("colour", json!("blue"), "InvalidParameterValue", "colour");
    let mut image = product_body(json!({"monthly_fee": "20"}));
    image["kind"] = json!("machine_image");
    cases.push((image, "InvalidParameterValue", "configurations"));
    let mut no_name = product_body(contract_pricing());
    no_name.as_object_mut().unwrap().remove("name");
    cases.push((no_name, "MissingParameter", "name"));

    for (body, code, path) in cases {
        let (status, error) = app
            .seller_call(&key, Method::POST, "/api/v1/products", Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error["error"]["code"], code, "{body}: {error}");
        assert!(
            error["error"]["message"].as_str().unwrap().starts_with(path),
            "{path}: {error}"
        );
    }
    let (_, list) = app.seller_call(&key, Method::GET, "/api/v1/products", None).await;
    assert!(
        list["products"].as_array().unwrap().is_empty(),
        "no refused product was half-created"
    );

    let mut image = product_body(json!({"monthly_fee": "20"}));
    image["kind"] = json!("machine_image");
    image["configurations"] =
        json!([{"region": "us-east", "environment": "linux", "instance_type": "small", "hourly_price": "0.20"}]);
    let (status, created) = app
        .seller_call(&key, Method::POST, "/api/v1/products", Some(image))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["configurations"][0]["hourly_price"], "0.20");
    app.finish().await;
}

async fn products_belong_to_their_seller(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mine = app.create_seller("one@example.com").await;
    let theirs = app.create_seller("two@example.com").await;
    let product = app.create_product(&mine, contract_pricing()).await;
    let code = product["product_code"].as_str().unwrap();
    let (status, error) = app
        .seller_call(&theirs, Method::GET, &format!("/api/v1/products/{code}"), None)
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("AccessDenied"))
    );
    let (status, _) = app
        .seller_call(
            &theirs,
            Method::PATCH,
            &format!("/api/v1/products/{code}"),
            Some(json!({"name": "Mine now"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, list) = app.seller_call(&theirs, Method::GET, "/api/v1/products", None).await;
    assert!(list["products"].as_array().unwrap().is_empty());
    let (_, shown) = app
        .seller_call(&mine, Method::GET, &format!("/api/v1/products/{code}"), None)
        .await;
    assert_eq!(shown["name"], "Backup Pro");
    app.finish().await;
}

async fn dimension_catalogue(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.api.get(app.url("/api/v1/dimensions")).send().await.unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::OK);
    let cost = |body: &Value, name: &str| {
        body["dimensions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .map(|d| (d["unit"].clone(), d["base_cost"].clone()))
    };
    assert_eq!(
        cost(&body, "storage.gb_month"),
        Some((json!("GB-Month"), json!("0.15")))
    );
    assert_eq!(cost(&body, "transfer.out_gb"), Some((json!("GB"), json!("0.17"))));
    assert_eq!(body["dimensions"].as_array().unwrap().len(), 8);

    let (status, _) = app
        .operator(
            Method::PUT,
            "/api/v1/admin/dimensions/storage.gb_month",
            Some(json!({"unit": "GB-Month", "base_cost": "0.12"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .operator(
            Method::PUT,
            "/api/v1/admin/dimensions/queue.messages_1m",
            Some(json!({"unit": "1M messages", "base_cost": "0.40"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, error) = app
        .operator(
            Method::PUT,
            "/api/v1/admin/dimensions/custom.mine",
            Some(json!({"unit": "x", "base_cost": "1"})),
        )
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("InvalidParameterValue"))
    );
    let (status, _) = app
        .operator(
            Method::PUT,
            "/api/v1/admin/dimensions/storage.gb_month",
            Some(json!({"unit": "GB-Month", "base_cost": 0.12})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let key = app.create_seller("seller@example.com").await;
    let (status, _) = app
        .seller_call(
            &key,
            Method::PUT,
            "/api/v1/admin/dimensions/storage.gb_month",
            Some(json!({"unit": "GB-Month", "base_cost": "0"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (_, body) = json_of(app.api.get(app.url("/api/v1/dimensions")).send().await.unwrap()).await;
    assert_eq!(
        cost(&body, "storage.gb_month"),
        Some((json!("GB-Month"), json!("0.12")))
    );
    assert_eq!(
        cost(&body, "queue.messages_1m"),
        Some((json!("1M messages"), json!("0.40")))
    );
    // A seller can now price the new platform dimension.
    let pricing =
        json!({"usage": [{"dimension": "queue.messages_1m", "tiers": [{"up_to": null, "unit_price": "1.00"}]}]});
    app.create_product(&key, pricing).await;
    app.finish().await;
}
