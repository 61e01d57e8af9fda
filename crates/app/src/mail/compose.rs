//! The customer e-mails (CONTRACT section 11, reference section 8), rendered as text and HTML from templates.

use askama::Template;
use chrono::{DateTime, Utc};
use tollgate_domain::Money;
use tollgate_store::outbox::Email;
use tollgate_store::{millis, new_id};

use crate::state::Settings;

/// What the sign-up e-mail says (reference section 8, "Your [product] Purchase").
pub struct SignupFacts {
    pub customer_name: String,
    pub product_name: String,
    pub company_name: String,
    pub support_contact: String,
    /// When and how much the card was charged, if it was.
    pub charged: Option<(String, Money)>,
    /// Set when a charge was due but declined.
    pub payment_pending: bool,
    pub monthly_fee: Money,
    /// A price change pending at sign-up (R27).
    pub price_change: Option<PriceChangeMention>,
    pub activate_url: String,
    pub billing_url: String,
    pub operator_name: String,
}

/// A pending price change as the sign-up e-mail mentions it.
pub struct PriceChangeMention {
    pub effective_on: String,
    /// An active change, which the order accepted.
    pub accepted: bool,
    pub new_prices: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "emails/signup.txt")]
struct SignupText<'a> {
    f: &'a SignupFacts,
}

#[derive(Template)]
#[template(path = "emails/signup.html")]
struct SignupHtml<'a> {
    f: &'a SignupFacts,
}

/// What the billing alert says: the charge that failed and where to fix the card.
pub struct AlertFacts {
    pub customer_name: String,
    pub amount: Money,
    pub products: Vec<String>,
    pub period: String,
    pub payment_method_url: String,
    pub billing_url: String,
    pub operator_name: String,
}

#[derive(Template)]
#[template(path = "emails/billing_alert.txt")]
struct AlertText<'a> {
    f: &'a AlertFacts,
}

#[derive(Template)]
#[template(path = "emails/billing_alert.html")]
struct AlertHtml<'a> {
    f: &'a AlertFacts,
}

/// What "Your Bill" says (reference section 8): the charge, the period's applications with their sellers, and
/// where to see the details.
pub struct BillFacts {
    pub customer_name: String,
    pub charged_on: String,
    pub amount: Money,
    /// The bill's period written out ("June 2027", R19).
    pub period: String,
    pub products: Vec<BilledProduct>,
    pub billing_url: String,
    pub operator_name: String,
}

/// One application on a bill: what it cost and who sells and supports it.
pub struct BilledProduct {
    pub name: String,
    pub company_name: String,
    pub support_contact: String,
    pub amount: Money,
}

#[derive(Template)]
#[template(path = "emails/monthly_bill.txt")]
struct BillText<'a> {
    f: &'a BillFacts,
}

#[derive(Template)]
#[template(path = "emails/monthly_bill.html")]
struct BillHtml<'a> {
    f: &'a BillFacts,
}

/// What the cancellation e-mail says: when access ended and why, and what happens to the money (R23).
pub struct CancellationFacts {
    pub customer_name: String,
    pub product_name: String,
    pub company_name: String,
    pub support_contact: String,
    pub canceled_at: String,
    /// Why, in a sentence the customer can read ("You canceled it.").
    pub reason: String,
    /// The unused part of the month's fee paid back to the card.
    pub refund: Option<Money>,
    /// The unused part taken off an unpaid bill instead.
    pub reduction: Option<Money>,
    /// When usage up to the cancellation is billed: the next 1st.
    pub usage_billed_on: String,
    pub purchase_url: String,
    pub billing_url: String,
    pub operator_name: String,
}

#[derive(Template)]
#[template(path = "emails/cancellation.txt")]
struct CancellationText<'a> {
    f: &'a CancellationFacts,
}

#[derive(Template)]
#[template(path = "emails/cancellation.html")]
struct CancellationHtml<'a> {
    f: &'a CancellationFacts,
}

/// A rendered message's two bodies.
struct Bodies {
    text: String,
    html: String,
}

fn email(unique_key: String, to: &str, subject: String, template: &str, bodies: Bodies, at: Moment) -> Email {
    Email {
        id: new_id(),
        unique_key,
        to_address: to.to_owned(),
        subject,
        text_body: bodies.text,
        html_body: bodies.html,
        template: template.to_owned(),
        state: "pending".into(),
        attempts: 0,
        next_attempt_at: millis(at.infra),
        last_error: None,
        created_at: millis(at.business),
        sent_at: None,
    }
}

/// When an e-mail is composed: the business instant it is dated, the infrastructure instant it is due.
#[derive(Clone, Copy)]
pub struct Moment {
    pub business: DateTime<Utc>,
    pub infra: DateTime<Utc>,
}

pub fn signup(subscription_id: &str, to: &str, facts: &SignupFacts, at: Moment) -> anyhow::Result<Email> {
    Ok(email(
        format!("signup:{subscription_id}"),
        to,
        format!("Your {} Purchase", facts.product_name),
        "signup",
        Bodies {
            text: SignupText { f: facts }.render()?,
            html: SignupHtml { f: facts }.render()?,
        },
        at,
    ))
}

/// The "Billing Alert" for one failed attempt at a bill: one e-mail per failed attempt.
pub fn billing_alert(
    settings: &Settings,
    bill_id: &str,
    attempt: i64,
    to: &str,
    facts: &AlertFacts,
    at: Moment,
) -> anyhow::Result<Email> {
    Ok(email(
        format!("billing-alert:{bill_id}:{attempt}"),
        to,
        format!("Billing Alert from {}", settings.operator_name),
        "billing_alert",
        Bodies {
            text: AlertText { f: facts }.render()?,
            html: AlertHtml { f: facts }.render()?,
        },
        at,
    ))
}

/// "Your Bill from {operator} for {period}": once per monthly bill, when its charge succeeds (or at issue for a
/// bill with nothing to pay, which sends none, R21).
pub fn monthly_bill(
    settings: &Settings,
    bill_id: &str,
    to: &str,
    facts: &BillFacts,
    at: Moment,
) -> anyhow::Result<Email> {
    Ok(email(
        format!("monthly-bill:{bill_id}"),
        to,
        format!("Your Bill from {} for {}", settings.operator_name, facts.period),
        "monthly_bill",
        Bodies {
            text: BillText { f: facts }.render()?,
            html: BillHtml { f: facts }.render()?,
        },
        at,
    ))
}

/// "Your {product} Subscription Has Been Canceled": one per subscription, whatever ended it.
pub fn cancellation(subscription_id: &str, to: &str, facts: &CancellationFacts, at: Moment) -> anyhow::Result<Email> {
    Ok(email(
        format!("cancellation:{subscription_id}"),
        to,
        format!("Your {} Subscription Has Been Canceled", facts.product_name),
        "cancellation",
        Bodies {
            text: CancellationText { f: facts }.render()?,
            html: CancellationHtml { f: facts }.render()?,
        },
        at,
    ))
}

/// What the three price-change e-mails say (reference 5.8): the new price and when it applies, and, once it is in
/// effect, what it did to this month's fee (R26).
pub struct PriceChangeFacts {
    pub customer_name: String,
    pub product_name: String,
    pub company_name: String,
    pub support_contact: String,
    /// The effective day written out ("July 1, 2027").
    pub effective_on: String,
    /// An active change: the customer must accept it to keep the product (R27).
    pub active: bool,
    /// Whether this customer accepted it already (by ordering while it was pending).
    pub accepted: bool,
    pub new_prices: Vec<(String, String)>,
    pub message: Option<String>,
    pub refund: Option<Money>,
    pub reduction: Option<Money>,
    /// An increase owed on the next 1st's bill.
    pub owed: Option<Money>,
    pub next_bill_on: String,
    /// The customer's page of the product, where an active change is accepted.
    pub product_billing_url: String,
    pub operator_name: String,
}

#[derive(Template)]
#[template(path = "emails/price_change.txt")]
struct PriceChangeText<'a> {
    f: &'a PriceChangeFacts,
}

#[derive(Template)]
#[template(path = "emails/price_change.html")]
struct PriceChangeHtml<'a> {
    f: &'a PriceChangeFacts,
}

#[derive(Template)]
#[template(path = "emails/price_change_effective.txt")]
struct PriceChangeEffectiveText<'a> {
    f: &'a PriceChangeFacts,
}

#[derive(Template)]
#[template(path = "emails/price_change_effective.html")]
struct PriceChangeEffectiveHtml<'a> {
    f: &'a PriceChangeFacts,
}

#[derive(Template)]
#[template(path = "emails/price_change_withdrawn.txt")]
struct PriceChangeWithdrawnText<'a> {
    f: &'a PriceChangeFacts,
}

#[derive(Template)]
#[template(path = "emails/price_change_withdrawn.html")]
struct PriceChangeWithdrawnHtml<'a> {
    f: &'a PriceChangeFacts,
}

/// The three moments of a price change a subscriber is told of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceChangeNotice {
    Scheduled,
    InEffect,
    Withdrawn,
}

/// One price-change e-mail per subscription and moment: "Price Change for {product}", "Price Change in Effect for
/// {product}", "Price Change Canceled for {product}".
pub fn price_change(
    notice: PriceChangeNotice,
    change_id: &str,
    subscription_id: &str,
    to: &str,
    facts: &PriceChangeFacts,
    at: Moment,
) -> anyhow::Result<Email> {
    let product = &facts.product_name;
    let (key, subject, template, bodies) = match notice {
        PriceChangeNotice::Scheduled => (
            "price-change",
            format!("Price Change for {product}"),
            "price_change",
            Bodies {
                text: PriceChangeText { f: facts }.render()?,
                html: PriceChangeHtml { f: facts }.render()?,
            },
        ),
        PriceChangeNotice::InEffect => (
            "price-change-effective",
            format!("Price Change in Effect for {product}"),
            "price_change_effective",
            Bodies {
                text: PriceChangeEffectiveText { f: facts }.render()?,
                html: PriceChangeEffectiveHtml { f: facts }.render()?,
            },
        ),
        PriceChangeNotice::Withdrawn => (
            "price-change-withdrawn",
            format!("Price Change Canceled for {product}"),
            "price_change_withdrawn",
            Bodies {
                text: PriceChangeWithdrawnText { f: facts }.render()?,
                html: PriceChangeWithdrawnHtml { f: facts }.render()?,
            },
        ),
    };
    Ok(email(
        format!("{key}:{change_id}:{subscription_id}"),
        to,
        subject,
        template,
        bodies,
        at,
    ))
}
