//! The real `backup-pro` binary against Tollgate running in this process: a customer buys Backup Pro through
//! the pages and types the activation key into the program.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncWriteExt;

use support::{Customer, DECLINING_CARD, GOOD_CARD, TempDir, Tollgate};

/// One customer's computer: a home directory of its own, and Backup Pro built with the product's token.
struct Computer {
    home: TempDir,
    tollgate_url: String,
    product_token: String,
}

struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

impl Computer {
    fn new(tollgate: &Tollgate, product: &Value) -> Computer {
        Computer {
            home: TempDir::new("backup-pro-home"),
            tollgate_url: tollgate.base.clone(),
            product_token: product["product_token"].as_str().unwrap().to_owned(),
        }
    }

    fn credentials_path(&self) -> PathBuf {
        self.home.0.join("config/backup-pro/credentials.json")
    }

    fn credentials(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.credentials_path()).unwrap()).unwrap()
    }

    /// Starts Backup Pro with `input` typed on the terminal, and waits for it to end.
    async fn run(&self, args: &[&str], input: &str) -> Run {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_backup-pro"))
            .args(args)
            .env_clear()
            .env("HOME", &self.home.0)
            .env("XDG_CONFIG_HOME", self.home.0.join("config"))
            .env("TOLLGATE_URL", &self.tollgate_url)
            .env("BACKUP_PRO_PRODUCT_TOKEN", &self.product_token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).await.unwrap();
        drop(stdin);
        let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("backup-pro ended")
            .unwrap();
        Run {
            success: output.status.success(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }
}

async fn bought(tollgate: &Tollgate, email: &str, card: &str) -> (Value, Customer, String) {
    let seller = tollgate.seller().await;
    let product = tollgate.register_backup_pro(&seller).await;
    let customer = tollgate.customer(email, card).await;
    let key = customer.buy(&product).await;
    (product, customer, key)
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activates_once_then_verifies_at_every_start() {
    let tollgate = Tollgate::start().await;
    let (product, _, key) = bought(&tollgate, "ann@example.com", GOOD_CARD).await;
    let computer = Computer::new(&tollgate, &product);

    let first = computer.run(&[], &format!("{key}\n")).await;
    assert!(first.success, "{}{}", first.stdout, first.stderr);
    assert!(first.stdout.contains("Activation key: "), "{}", first.stdout);
    assert!(first.stdout.contains("Backup Pro is ready."), "{}", first.stdout);
    let path = computer.credentials_path();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    let stored = computer.credentials();
    assert!(stored["user_token"].as_str().unwrap().starts_with("{UserToken}"));
    assert!(stored["access_key_id"].as_str().unwrap().starts_with("TGAK"));
    assert!(!stored["secret_access_key"].as_str().unwrap().is_empty());

    let second = computer.run(&[], "").await;
    assert!(second.success, "{}{}", second.stdout, second.stderr);
    assert_eq!(second.stdout, "Backup Pro is ready.\n", "no questions once activated");

    // Activating again, with the same key within its hour, makes a new key pair for the same customer.
    let again = computer
        .run(&["--activate"], &format!("{}\n", key.to_lowercase()))
        .await;
    assert!(
        again.stdout.contains("Backup Pro is ready."),
        "{}{}",
        again.stdout,
        again.stderr
    );
    let renewed = computer.credentials();
    assert_ne!(renewed["access_key_id"], stored["access_key_id"]);
    assert_eq!(renewed["user_token"], stored["user_token"]);
    tollgate.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_subscription_is_reported_until_it_is_paid() {
    let tollgate = Tollgate::start().await;
    let (product, customer, key) = bought(&tollgate, "bo@example.com", DECLINING_CARD).await;
    let computer = Computer::new(&tollgate, &product);

    let lapsed = computer.run(&[], &format!("{key}\n")).await;
    assert!(!lapsed.success, "{}", lapsed.stdout);
    assert!(lapsed.stdout.contains("Backup Pro is activated."), "{}", lapsed.stdout);
    assert!(
        lapsed.stderr.contains("subscription is not active"),
        "{}",
        lapsed.stderr
    );
    assert!(
        lapsed.stderr.contains(&format!("{}/activate", tollgate.base)),
        "{}",
        lapsed.stderr
    );
    assert!(!lapsed.stdout.contains("ready"));
    assert!(
        computer.credentials_path().exists(),
        "kept for when the payment succeeds"
    );

    customer.add_card(GOOD_CARD).await;
    let paid = computer.run(&[], "").await;
    assert!(paid.success, "{}{}", paid.stdout, paid.stderr);
    assert_eq!(paid.stdout, "Backup Pro is ready.\n");
    tollgate.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_and_expired_keys_are_refused_with_the_reason() {
    let tollgate = Tollgate::start().await;
    let (product, _, key) = bought(&tollgate, "cat@example.com", GOOD_CARD).await;
    let computer = Computer::new(&tollgate, &product);
    tollgate.set_clock("2027-06-17T11:00:01Z").await;

    let refused = computer.run(&[], &format!("garbage\n\n{key}\n")).await;
    assert!(!refused.success);
    let activate_page = format!("{}/activate", tollgate.base);
    for expected in [
        "That is not a valid Backup Pro activation key.",
        "That activation key has expired: a key works for one hour.",
        activate_page.as_str(),
        "No activation key was entered",
    ] {
        assert!(refused.stderr.contains(expected), "{expected}: {}", refused.stderr);
    }
    assert!(!computer.credentials_path().exists());
    tollgate.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_credentials_are_replaced_by_a_new_activation() {
    let tollgate = Tollgate::start().await;
    let (product, _, key) = bought(&tollgate, "dan@example.com", GOOD_CARD).await;
    let computer = Computer::new(&tollgate, &product);
    assert!(computer.run(&[], &format!("{key}\n")).await.success);

    let mut tampered = computer.credentials();
    tampered["secret_access_key"] = "not-the-secret".into();
    std::fs::write(computer.credentials_path(), tampered.to_string()).unwrap();
    let rejected = computer.run(&[], "").await;
    assert!(!rejected.success);
    assert!(
        rejected
            .stderr
            .contains("Tollgate no longer accepts this computer's activation"),
        "{}",
        rejected.stderr
    );
    assert!(!computer.credentials_path().exists(), "stale credentials are removed");

    let reactivated = computer.run(&[], &format!("{key}\n")).await;
    assert!(reactivated.success, "{}{}", reactivated.stdout, reactivated.stderr);
    assert_ne!(computer.credentials()["secret_access_key"], "not-the-secret");
    tollgate.stop().await;
}
