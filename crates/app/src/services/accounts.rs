//! Customer accounts, logins and sessions.

use chrono::Duration;
use tollgate_domain::email::EmailAddress;
use tollgate_domain::validation::required_text;
use tollgate_store::accounts::Account;
use tollgate_store::{StoreError, millis, new_id};

use crate::error::{Error, Result};
use crate::secrets::{DUMMY_PASSWORD_HASH, constant_time_eq, hash_password, random_token, sha256_hex, verify_password};
use crate::state::AppState;

pub const SESSION_LIFETIME: Duration = Duration::days(30);
/// Failed logins allowed per e-mail address within [`LOGIN_FAILURE_WINDOW`] before logins are refused.
pub const MAX_LOGIN_FAILURES: i64 = 5;
pub const LOGIN_FAILURE_WINDOW: Duration = Duration::minutes(15);

pub struct SignUp<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub name: &'a str,
}

/// Checks a new account's fields and hashes its password; shared by sign-up and seller creation.
pub async fn new_account(state: &AppState, form: &SignUp<'_>) -> Result<Account> {
    let email = EmailAddress::parse(form.email)?;
    let name = required_text("name", form.name, 200)?;
    if form.password.chars().count() < 8 || form.password.len() > 1024 {
        return Err(Error::field("password", "must be between 8 and 1024 characters"));
    }
    Ok(Account {
        id: new_id(),
        email_normalized: email.normalized(),
        email: email.as_str().to_owned(),
        name,
        password_hash: hash_password(form.password.to_owned()).await?,
        created_at: millis(state.now().await?),
    })
}

pub async fn sign_up(state: &AppState, form: &SignUp<'_>) -> Result<Account> {
    let account = new_account(state, form).await?;
    match state.store.create_account(&account).await {
        Ok(()) => Ok(account),
        Err(StoreError::Conflict) => Err(Error::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

/// Checks an e-mail and password, refusing after too many recent failures for that address (infrastructure clock).
pub async fn log_in(state: &AppState, email: &str, password: &str) -> Result<Account> {
    let normalized = email.trim().to_lowercase();
    let now = state.infra_clock.now();
    let failures = state
        .store
        .login_failures_since(&normalized, millis(now - LOGIN_FAILURE_WINDOW))
        .await?;
    if failures >= MAX_LOGIN_FAILURES {
        return Err(Error::RateLimited);
    }
    let account = state.store.account_by_email(&normalized).await?;
    let hash = account
        .as_ref()
        .map_or(DUMMY_PASSWORD_HASH, |a| &a.password_hash)
        .to_owned();
    let valid = verify_password(password.to_owned(), hash).await;
    match account {
        Some(account) if valid => {
            state.store.clear_login_failures(&normalized).await?;
            Ok(account)
        }
        _ => {
            state
                .store
                .record_login_failure(&normalized, millis(now), millis(now - LOGIN_FAILURE_WINDOW))
                .await?;
            Err(Error::WrongCredentials)
        }
    }
}

/// A browser session: the cookie's token (kept only as a hash) and its CSRF token.
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
}

pub async fn start_session(state: &AppState, account_id: &str) -> Result<NewSession> {
    let token = random_token::<32>();
    let csrf_token = random_token::<32>();
    let now = state.infra_clock.now();
    state
        .store
        .create_session(
            &sha256_hex(&token),
            account_id,
            &csrf_token,
            millis(now),
            millis(now + SESSION_LIFETIME),
        )
        .await?;
    Ok(NewSession { token, csrf_token })
}

/// The signed-in account behind a session cookie, with the session's CSRF token.
pub async fn session(state: &AppState, token: &str) -> Result<Option<(Account, String)>> {
    let now = millis(state.infra_clock.now());
    let Some(session) = state.store.session(&sha256_hex(token), now).await? else {
        return Ok(None);
    };
    Ok(state
        .store
        .account(&session.account_id)
        .await?
        .map(|account| (account, session.csrf_token)))
}

pub async fn end_session(state: &AppState, token: &str) -> Result<()> {
    Ok(state.store.delete_session(&sha256_hex(token)).await?)
}

/// Whether a submitted CSRF token matches the expected one.
pub fn csrf_matches(expected: &str, submitted: &str) -> bool {
    !expected.is_empty() && constant_time_eq(expected, submitted)
}
