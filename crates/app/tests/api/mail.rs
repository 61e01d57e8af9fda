//! E-mail delivery through a real SMTP server (TOLLGATE_TEST_SMTP=host:port), and the operator's view of it.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// Composes a sign-up e-mail, delivers it through the SMTP server, and finds it in the server's Maildir when
/// TOLLGATE_TEST_MAILDIR names one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_email_is_delivered_by_smtp() {
    let Ok(server) = std::env::var("TOLLGATE_TEST_SMTP") else {
        eprintln!("TOLLGATE_TEST_SMTP is not set: the SMTP delivery test is skipped");
        return;
    };
    let options = Options {
        smtp_url: Some(format!("smtp://{server}")),
        ..Options::default()
    };
    let app = TestApp::spawn_with(Backend::Sqlite, options).await;
    let key = app.create_seller("seller@example.com").await;
    let product = app
        .create_product(&key, json!({"monthly_fee": "0", "signup_fee": "0"}))
        .await;
    let recipient = format!("smtp-{}@example.com", uuid::Uuid::now_v7().simple());
    let customer = app.customer(&recipient, None).await;
    let (status, _) = customer.buy(product["offering_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);

    let sent = app.running().deliver_mail_now().await.expect("delivery");
    assert_eq!(sent, 1);
    let emails = app.running().state.store.emails_to(&recipient).await.unwrap();
    assert_eq!((emails[0].state.as_str(), emails[0].attempts), ("sent", 1));

    if let Ok(maildir) = std::env::var("TOLLGATE_TEST_MAILDIR") {
        let delivered: Vec<String> = std::fs::read_dir(std::path::Path::new(&maildir).join("new"))
            .unwrap()
            .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
            .filter(|m| m.contains(&recipient))
            .collect();
        assert_eq!(delivered.len(), 1, "one message for {recipient} in {maildir}");
        assert!(delivered[0].contains("Subject: Your Backup Pro Purchase"));
        assert!(delivered[0].contains("multipart/alternative"));
    }
    // Delivered once: a second round finds nothing due.
    assert_eq!(app.running().deliver_mail_now().await.unwrap(), 0);
    app.finish().await;
}

/// An unreachable server leaves the e-mail pending with a retry scheduled, never lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeliverable_email_is_retried_later() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let options = Options {
        smtp_url: Some(format!("smtp://{closed}")),
        ..Options::default()
    };
    let app = TestApp::spawn_with(Backend::Sqlite, options).await;
    let key = app.create_seller("seller@example.com").await;
    let product = app.create_product(&key, json!({})).await;
    let customer = app.customer("sam@example.com", None).await;
    customer.buy(product["offering_code"].as_str().unwrap()).await;

    assert_eq!(app.running().deliver_mail_now().await.unwrap(), 0);
    let email = &app.running().state.store.emails_to("sam@example.com").await.unwrap()[0];
    assert_eq!((email.state.as_str(), email.attempts), ("pending", 1));
    assert!(email.last_error.is_some());
    assert!(
        email.next_attempt_at > tollgate_store::millis(chrono::Utc::now()),
        "retried later, by the infrastructure clock"
    );
    assert_eq!(
        app.running().deliver_mail_now().await.unwrap(),
        0,
        "not retried before its time"
    );
    assert_eq!(
        app.running().state.store.emails_to("sam@example.com").await.unwrap()[0].attempts,
        1
    );
    app.finish().await;
}
