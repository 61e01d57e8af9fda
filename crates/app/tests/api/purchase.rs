//! The purchase pipeline (reference 4.1) through the pages, with the money it moves.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    as2_signup_on_the_17th_charges_9_67_and_deposits_9_37,
    declined_signup_stays_pending_until_a_new_card_pays,
    the_amount_charged_is_the_amount_shown,
    free_products_need_no_card_and_no_bill,
    one_subscription_at_a_time,
    concurrent_orders_charge_once,
    activation_page_makes_new_keys,
    purchase_needs_login_and_a_card,
    orders_without_a_gateway_are_refused,
);

async fn as2_signup_on_the_17th_charges_9_67_and_deposits_9_37(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.create_seller("seller@example.com").await;
    let product = app.create_product(&key, contract_pricing()).await;
    let offering = product["offering_code"].as_str().unwrap();
    let code = product["product_code"].as_str().unwrap();

    let customer = app.customer("ana@example.com", Some("4242424242424242")).await;
    let (status, html) = customer.page(&format!("/purchase/{offering}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(element_text(&html, "amount-due").as_deref(), Some("$9.67"));
    assert!(html.contains("Backup Pro") && html.contains("Acme Software") && html.contains("Visa ending in 4242"));

    let (status, html) = customer.buy(offering).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let activation_key = element_text(&html, "activation-key").expect("activation key shown");
    assert!(activation_key.len() <= 30);
    let continue_url = element_attr(&html, "continue", "href").unwrap();
    assert_eq!(
        continue_url,
        format!("https://example.com/welcome?ActivationKey={activation_key}&ProductCode={code}")
    );
    assert!(!html.contains("payment-warning"));

    let bills = app.bills_of("ana@example.com").await;
    assert_eq!(bills.len(), 1);
    let bill = &bills[0];
    assert_eq!(
        (bill["kind"].as_str(), bill["period"].as_str(), bill["total"].as_str()),
        (Some("signup"), Some("2027-06"), Some("9.67"))
    );
    assert_eq!(
        (bill["status"].as_str(), bill["attempts"].as_i64()),
        (Some("paid"), Some(1))
    );
    let lines: Vec<(&str, &str)> = bill["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["kind"].as_str().unwrap(), l["amount"].as_str().unwrap()))
        .collect();
    assert_eq!(lines, vec![("signup_fee", "5.00"), ("monthly_fee", "4.67")]);

    let (status, money) = app
        .seller_call(&key, Method::GET, "/api/v1/seller/transactions", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(money["balance"], "9.37");
    assert_eq!(money["transactions"][0]["kind"], "deposit");
    assert_eq!(money["transactions"][0]["amount"], "9.37");
    assert_eq!(money["transactions"][0]["at"], "2027-06-17T00:00:00Z");

    let emails = app.emails_to("ana@example.com").await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["subject"], "Your Backup Pro Purchase");
    let text = emails[0]["text"].as_str().unwrap();
    assert!(
        text.contains("$9.67")
            && text.contains("June 17, 2027")
            && text.contains("Acme Software")
            && text.contains("/activate"),
        "{text}"
    );

    // The subscription is active: the activation page lists it.
    let (_, html) = customer.page("/activate").await;
    assert!(html.contains("Backup Pro") && html.contains("active"));
    app.finish().await;
}

async fn declined_signup_stays_pending_until_a_new_card_pays(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.create_seller("seller@example.com").await;
    let product = app.create_product(&key, contract_pricing()).await;
    let offering = product["offering_code"].as_str().unwrap();

    let customer = app.customer("ben@example.com", Some("4000000000000341")).await;
    let (status, html) = customer.buy(offering).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        element_text(&html, "activation-key").is_some(),
        "the key is shown even when the charge fails (R10)"
    );
    assert!(
        element_attr(&html, "continue", "href")
            .unwrap()
            .contains("ActivationKey=")
    );
    assert!(html.contains("id=\"payment-warning\""));

    let bills = app.bills_of("ben@example.com").await;
    assert_eq!(
        (bills[0]["status"].as_str(), bills[0]["attempts"].as_i64()),
        (Some("failed"), Some(1))
    );
    let subjects: Vec<String> = app
        .emails_to("ben@example.com")
        .await
        .iter()
        .map(|e| e["subject"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        subjects.contains(&"Billing Alert from Tollgate".to_owned()),
        "{subjects:?}"
    );
    let emails = app.emails_to("ben@example.com").await;
    let alert = emails
        .iter()
        .find(|e| e["subject"] == "Billing Alert from Tollgate")
        .unwrap();
    let text = alert["text"].as_str().unwrap();
    assert!(
        text.contains("if it has not by July 1, 2027, it is canceled then"),
        "{text}"
    );
    assert!(
        subjects.contains(&"Your Backup Pro Purchase".to_owned()),
        "{subjects:?}"
    );
    let (_, html) = customer.page("/activate").await;
    assert!(html.contains("pending"));
    let (_, money) = app
        .seller_call(&key, Method::GET, "/api/v1/seller/transactions", None)
        .await;
    assert_eq!(money["balance"], "0.00");

    // A new card retries the unpaid bill at once; the subscription becomes active.
    let response = customer.add_card("4242424242424242").await;
    assert_eq!(response.status(), StatusCode::OK);
    let bills = app.bills_of("ben@example.com").await;
    assert_eq!(bills.len(), 1);
    assert_eq!(
        (bills[0]["status"].as_str(), bills[0]["attempts"].as_i64()),
        (Some("paid"), Some(2))
    );
    let (_, html) = customer.page("/activate").await;
    assert!(html.contains("active") && !html.contains("pending"));
    let (_, money) = app
        .seller_call(&key, Method::GET, "/api/v1/seller/transactions", None)
        .await;
    assert_eq!(money["balance"], "9.37");
    // One alert for the one failed attempt, one sign-up e-mail.
    assert_eq!(app.emails_to("ben@example.com").await.len(), 2);
    app.finish().await;
}

async fn the_amount_charged_is_the_amount_shown(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.create_seller("seller@example.com").await;
    let product = app.create_product(&key, contract_pricing()).await;
    let offering = product["offering_code"].as_str().unwrap();
    let customer = app.customer("cy@example.com", Some("4242424242424242")).await;

    let (_, html) = customer.page(&format!("/purchase/{offering}")).await;
    assert_eq!(hidden_value(&html, "amount_due").as_deref(), Some("9.67"));
    let token = csrf_token(&html).unwrap();
    // A day later the prorated fee is 10 × 13/30 = 4.33: the stale amount is refused and nothing is charged.
    app.set_clock("2027-06-18T00:00:00Z").await;
    let response = customer
        .post_with_token(&format!("/purchase/{offering}"), &[("amount_due", "9.67")], &token)
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let html = response.text().await.unwrap();
    assert_eq!(element_text(&html, "amount-due").as_deref(), Some("$9.33"));
    assert!(html.contains("changed to $9.33"));
    assert!(app.bills_of("cy@example.com").await.is_empty());

    let (status, _) = customer.buy(offering).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.bills_of("cy@example.com").await[0]["total"], "9.33");
    app.finish().await;
}

async fn free_products_need_no_card_and_no_bill(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.create_seller("seller@example.com").await;
    let product = app
        .create_product(&key, json!({"signup_fee": "0", "monthly_fee": "0.00", "usage": []}))
        .await;
    let offering = product["offering_code"].as_str().unwrap();
    let customer = app.customer("dee@example.com", None).await;

    let (_, html) = customer.page(&format!("/purchase/{offering}")).await;
    assert_eq!(element_text(&html, "amount-due").as_deref(), Some("$0.00"));
    let (status, html) = customer.buy(offering).await;
    assert_eq!(status, StatusCode::OK);
    assert!(element_text(&html, "activation-key").is_some());
    assert!(
        app.bills_of("dee@example.com").await.is_empty(),
        "R9: no sign-up bill when nothing is due"
    );
    let emails = app.emails_to("dee@example.com").await;
    assert_eq!(emails.len(), 1);
    assert!(!emails[0]["text"].as_str().unwrap().contains("was charged"));
    let (_, html) = customer.page("/activate").await;
    assert!(html.contains("active"));
    app.finish().await;
}

async fn one_subscription_at_a_time(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.create_seller("seller@example.com").await;
    let product = app.create_product(&key, contract_pricing()).await;
    let offering = product["offering_code"].as_str().unwrap();
    let customer = app.customer("eve@example.com", Some("4242424242424242")).await;
    let (_, html) = customer.page(&format!("/purchase/{offering}")).await;
    let token = csrf_token(&html).unwrap();
    let (status, _) = customer.buy(offering).await;
    assert_eq!(status, StatusCode::OK);

    let (_, html) = customer.page(&format!("/purchase/{offering}")).await;
    assert!(html.contains("id=\"already-subscribed\"") && !html.contains("id=\"place-order\""));
    let response = customer
        .post_with_token(&format!("/purchase/{offering}"), &[("amount_due", "9.67")], &token)
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(app.bills_of("eve@example.com").await.len(), 1, "R11: no second charge");
    app.finish().await;
}

async fn concurrent_orders_charge_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.create_seller("seller@example.com").await;
    let product = app.create_product(&key, contract_pricing()).await;
    let offering = product["offering_code"].as_str().unwrap().to_owned();
    let customer = app.customer("fay@example.com", Some("4242424242424242")).await;
    let token = customer.csrf().await;
    let url = format!("{}/purchase/{offering}", app.base);
    let orders: Vec<_> = (0..6)
        .map(|_| {
            let (client, url, token) = (customer.client.clone(), url.clone(), token.clone());
            tokio::spawn(async move {
                client
                    .post(url)
                    .form(&[("csrf_token", token.as_str()), ("amount_due", "9.67")])
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for order in orders {
        statuses.push(order.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    let bills = app.bills_of("fay@example.com").await;
    assert_eq!(bills.len(), 1);
    assert_eq!(bills[0]["attempts"], 1);
    let (_, money) = app
        .seller_call(&key, Method::GET, "/api/v1/seller/transactions", None)
        .await;
    assert_eq!(money["transactions"].as_array().unwrap().len(), 1);
    app.finish().await;
}

async fn activation_page_makes_new_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.create_seller("seller@example.com").await;
    let product = app.create_product(&key, contract_pricing()).await;
    let offering = product["offering_code"].as_str().unwrap();
    let code = product["product_code"].as_str().unwrap();
    let customer = app.customer("gus@example.com", Some("4242424242424242")).await;
    let (_, first) = customer.buy(offering).await;
    let first_key = element_text(&first, "activation-key").unwrap();

    let response = customer.submit("/activate", &[("product_code", code)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    let second_key = element_text(&html, "activation-key").unwrap();
    assert_ne!(first_key, second_key);
    assert_eq!(
        element_attr(&html, "continue", "href").unwrap(),
        format!("https://example.com/welcome?ActivationKey={second_key}&ProductCode={code}")
    );

    // Another customer cannot make keys for a product they do not have.
    let stranger = app.customer("hal@example.com", None).await;
    let response = stranger.submit("/activate", &[("product_code", code)]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(element_text(&response.text().await.unwrap(), "activation-key").is_none());
    app.finish().await;
}

async fn purchase_needs_login_and_a_card(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.create_seller("seller@example.com").await;
    let product = app.create_product(&key, contract_pricing()).await;
    let offering = product["offering_code"].as_str().unwrap();

    let visitor = app.browser();
    let response = visitor.get(&format!("/purchase/{offering}")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let login = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(login, format!("/login?next=%2Fpurchase%2F{offering}"));
    // Signing up from there comes back to the product.
    let response = visitor
        .submit(
            &format!("/signup?next=%2Fpurchase%2F{offering}"),
            &[("email", "ivy@example.com"), ("password", PASSWORD), ("name", "Ivy")],
        )
        .await;
    assert_eq!(response.headers()["location"], format!("/purchase/{offering}").as_str());

    let (_, html) = visitor.page(&format!("/purchase/{offering}")).await;
    assert!(html.contains("id=\"add-card\"") && !html.contains("id=\"place-order\""));
    let token = csrf_token(&html).unwrap();
    let response = visitor
        .post_with_token(&format!("/purchase/{offering}"), &[("amount_due", "9.67")], &token)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/account/payment-method?next=")
    );

    // A card refused by the sandbox is not kept.
    let response = visitor.add_card("4000000000000002").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("refused"));
    let (_, html) = visitor.page("/account/payment-method").await;
    assert!(html.contains("no card on file"));
    assert!(app.bills_of("ivy@example.com").await.is_empty());
    app.finish().await;
}

async fn orders_without_a_gateway_are_refused(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Options {
            sandbox: false,
            ..Options::default()
        },
    )
    .await;
    let key = app.create_seller("seller@example.com").await;
    let product = app.create_product(&key, contract_pricing()).await;
    let offering = product["offering_code"].as_str().unwrap();
    let customer = app.customer("jo@example.com", None).await;
    let response = customer.add_card("4242424242424242").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    // The business clock is real time here: order for the amount the page shows now.
    let (_, html) = customer.page(&format!("/purchase/{offering}")).await;
    let amount = element_text(&html, "amount-due")
        .unwrap()
        .trim_start_matches('$')
        .to_owned();
    let token = csrf_token(&html).unwrap();
    let response = customer
        .post_with_token(&format!("/purchase/{offering}"), &[("amount_due", &amount)], &token)
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(app.bills_of("jo@example.com").await.is_empty());
    let (status, clock) = app.operator(Method::GET, "/api/v1/admin/clock", None).await;
    assert_eq!(
        (status, clock["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("NotFound"))
    );
    app.finish().await;
}
