//! Accounts, sessions and the protections of the pages.

use reqwest::StatusCode;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    signup_login_logout,
    emails_are_unique_whatever_their_case,
    wrong_passwords_are_told_and_rate_limited,
    forms_need_the_csrf_token_and_the_same_site,
    next_only_goes_to_local_paths,
    a_stale_session_cookie_does_not_lock_anyone_out,
);

async fn a_stale_session_cookie_does_not_lock_anyone_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.customer("uma@example.com", None).await;
    // A browser holding the cookie of a session the server no longer knows (expired, or the database was reset).
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    jar.add_cookie_str("tg_session=forgotten-session-token; Path=/", &app.base.parse().unwrap());
    let client = reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let browser = Browser {
        base: app.base.clone(),
        client,
    };
    let (_, html) = browser.page("/login").await;
    assert!(html.contains("Log in") && !html.contains("Log out"));
    let response = browser
        .submit("/login", &[("email", "uma@example.com"), ("password", PASSWORD)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(browser.get("/activate").await.status(), StatusCode::OK);
    app.finish().await;
}

async fn signup_login_logout(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.browser();
    let response = browser
        .submit(
            "/signup",
            &[("email", "Kim@Example.com"), ("password", PASSWORD), ("name", "Kim")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("tg_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"),
        "{cookie}"
    );
    let (_, home) = browser.page("/").await;
    assert!(home.contains("Kim") && home.contains("Log out"));

    let response = browser.submit("/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, home) = browser.page("/").await;
    assert!(home.contains("Log in") && !home.contains("Log out"));
    assert_eq!(
        browser.get("/activate").await.status(),
        StatusCode::SEE_OTHER,
        "signed out"
    );

    let response = browser
        .submit("/login", &[("email", "kim@example.COM"), ("password", PASSWORD)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(browser.get("/activate").await.status(), StatusCode::OK);

    // Only a hash of the password is stored, in argon2id.
    let account = app
        .running()
        .state
        .store
        .account_by_email("kim@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(account.password_hash.starts_with("$argon2id$") && !account.password_hash.contains(PASSWORD));
    app.finish().await;
}

async fn emails_are_unique_whatever_their_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.customer("lee@example.com", None).await;
    let other = app.browser();
    let response = other
        .submit(
            "/signup",
            &[("email", "LEE@example.com"), ("password", PASSWORD), ("name", "Lee 2")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let html = response.text().await.unwrap();
    assert!(element_text(&html, "error-message").unwrap().contains("exists already"));
    app.finish().await;
}

async fn wrong_passwords_are_told_and_rate_limited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.customer("max@example.com", None).await;
    let browser = app.browser();
    for _ in 0..5 {
        let response = browser
            .submit(
                "/login",
                &[("email", "max@example.com"), ("password", "not the password")],
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("wrong e-mail address or password")
        );
    }
    // Past five failures even the right password is refused for a while.
    let response = browser
        .submit("/login", &[("email", "max@example.com"), ("password", PASSWORD)])
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.text().await.unwrap().contains("too many failed attempts"));
    // An unknown address is told the same as a wrong password.
    let response = browser
        .submit("/login", &[("email", "nobody@example.com"), ("password", PASSWORD)])
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    app.finish().await;
}

async fn forms_need_the_csrf_token_and_the_same_site(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let customer = app.customer("ned@example.com", None).await;
    let url = app.url("/account/payment-method");
    let card = [
        ("card_number", "4242424242424242"),
        ("exp_month", "12"),
        ("exp_year", "2030"),
        ("cvc", "123"),
    ];

    let response = customer.client.post(&url).form(&card).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "no token");
    let response = customer
        .post_with_token("/account/payment-method", &card, "forged")
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "wrong token");

    let token = customer.csrf().await;
    let mut fields = vec![("csrf_token", token.as_str())];
    fields.extend_from_slice(&card);
    let cross = customer
        .client
        .post(&url)
        .header("origin", "https://evil.example")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN, "another site's origin");
    let cross = customer
        .client
        .post(&url)
        .header("sec-fetch-site", "cross-site")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN, "a cross-site fetch");
    let (_, html) = customer.page("/account/payment-method").await;
    assert!(
        html.contains("no card on file"),
        "nothing was saved by the refused posts"
    );

    let same = customer
        .client
        .post(&url)
        .header("origin", app.base.as_str())
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), StatusCode::OK);
    let (_, html) = customer.page("/account/payment-method").await;
    assert_eq!(
        element_text(&html, "card-on-file").as_deref(),
        Some("Visa ending in 4242 (expires 12/2030)")
    );

    // Sign-up before any session is protected by the cookie's token.
    let stranger = app.browser();
    let response = stranger
        .client
        .post(app.url("/signup"))
        .form(&[("email", "x@example.com"), ("password", PASSWORD), ("name", "X")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    app.finish().await;
}

async fn next_only_goes_to_local_paths(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // The header's links bring a visitor back to the page they were on.
    let (_, html) = app.browser().page("/nowhere?x=1").await;
    assert!(html.contains("href=\"/login?next=%2Fnowhere%3Fx%3D1\""), "{html}");
    app.customer("olga@example.com", None).await;
    for (next, expected) in [
        ("%2Factivate", "/activate"),
        ("https%3A%2F%2Fevil.example", "/"),
        ("%2F%2Fevil.example", "/"),
    ] {
        let browser = app.browser();
        let response = browser
            .submit(
                &format!("/login?next={next}"),
                &[("email", "olga@example.com"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(response.headers()["location"], expected, "next={next}");
    }
    app.finish().await;
}
