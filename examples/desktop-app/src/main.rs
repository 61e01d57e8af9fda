//! Backup Pro, a desktop product sold through Tollgate: it activates itself once with the customer's activation
//! key and checks at every start that the customer's subscription is active.

mod config;
mod credentials;
mod license;

use std::io::{BufRead, Write};
use std::process::ExitCode;

use clap::Parser;

use config::Config;
use credentials::{CredentialStore, Credentials};
use license::{Error, LicenseClient};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let config = Config::parse();
    match run(&config).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("backup-pro: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: &Config) -> anyhow::Result<ExitCode> {
    let store = CredentialStore::new(config.credentials_path()?);
    let tollgate = LicenseClient::new(config.tollgate_url(), &config.product_token);
    let activate_page = format!("{}/activate", config.tollgate_url());
    if config.activate {
        store.forget()?;
    }
    loop {
        let credentials = match store.load()? {
            Some(credentials) => credentials,
            None => match activate(&tollgate, &store, &activate_page).await? {
                Some(credentials) => credentials,
                None => return Ok(ExitCode::FAILURE),
            },
        };
        match tollgate.verify(&credentials).await {
            Ok(true) => {
                println!("Backup Pro is ready.");
                return Ok(ExitCode::SUCCESS);
            }
            Ok(false) => {
                // The credentials stay: they work again as soon as the subscription is paid.
                eprintln!("Your Backup Pro subscription is not active: its payment is pending, or it was canceled.");
                eprintln!("If a payment is pending, update your card with Tollgate and start Backup Pro again.");
                eprintln!("Otherwise get a new activation key at {activate_page} and run `backup-pro --activate`.");
                return Ok(ExitCode::FAILURE);
            }
            Err(Error::Refused(refusal)) if credentials_rejected(&refusal.code) => {
                eprintln!(
                    "Tollgate no longer accepts this computer's activation ({}). Please enter a new activation key.",
                    refusal.message
                );
                store.forget()?;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The stored key pair or user token was revoked, belongs elsewhere or is unknown: only a new activation helps.
fn credentials_rejected(code: &str) -> bool {
    matches!(code, "AccessDenied" | "InvalidUserToken")
}

/// Asks for activation keys until Tollgate accepts one; `None` when the user gives up or the subscription has
/// ended.
async fn activate(
    tollgate: &LicenseClient,
    store: &CredentialStore,
    activate_page: &str,
) -> anyhow::Result<Option<Credentials>> {
    println!("Backup Pro needs to be activated on this computer.");
    println!("Your activation key is shown after you buy Backup Pro; you can make a new one at {activate_page}");
    loop {
        let Some(key) = prompt("Activation key: ")? else {
            eprintln!("No activation key was entered; Backup Pro is not activated.");
            return Ok(None);
        };
        if key.is_empty() {
            continue;
        }
        match tollgate.activate(&key).await {
            Ok(credentials) => {
                store.save(&credentials)?;
                println!("Backup Pro is activated.");
                return Ok(Some(credentials));
            }
            Err(Error::Refused(refusal)) => match refusal.code.as_str() {
                "InvalidActivationKey" | "IncorrectActivationKey" => eprintln!(
                    "That is not a valid Backup Pro activation key. Check it, or get a new one at {activate_page}"
                ),
                "ExpiredActivationKey" => eprintln!(
                    "That activation key has expired: a key works for one hour. Get a new one at {activate_page}"
                ),
                "UserNotSubscribed" => {
                    eprintln!("The subscription of that activation key has ended. Buy Backup Pro again to use it.");
                    return Ok(None);
                }
                _ => return Err(Error::Refused(refusal).into()),
            },
            Err(e) => return Err(e.into()),
        }
    }
}

/// A line from standard input without surrounding spaces; `None` at the end of input.
fn prompt(question: &str) -> anyhow::Result<Option<String>> {
    print!("{question}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line)? == 0 {
        println!();
        return Ok(None);
    }
    Ok(Some(line.trim().to_owned()))
}
