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
    /// A monthly bill's next dated retry (R22), written out.
    pub next_retry: Option<String>,
    /// A sign-up's: when it is canceled if still unpaid (R10), written out.
    pub unpaid_signup_canceled_on: Option<String>,
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

impl Bodies {
    fn of(text: impl Template, html: impl Template) -> askama::Result<Bodies> {
        Ok(Bodies {
            text: text.render()?,
            html: html.render()?,
        })
    }
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
        Bodies::of(SignupText { f: facts }, SignupHtml { f: facts })?,
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
        Bodies::of(AlertText { f: facts }, AlertHtml { f: facts })?,
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
        Bodies::of(BillText { f: facts }, BillHtml { f: facts })?,
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
        Bodies::of(CancellationText { f: facts }, CancellationHtml { f: facts })?,
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
            Bodies::of(PriceChangeText { f: facts }, PriceChangeHtml { f: facts })?,
        ),
        PriceChangeNotice::InEffect => (
            "price-change-effective",
            format!("Price Change in Effect for {product}"),
            "price_change_effective",
            Bodies::of(
                PriceChangeEffectiveText { f: facts },
                PriceChangeEffectiveHtml { f: facts },
            )?,
        ),
        PriceChangeNotice::Withdrawn => (
            "price-change-withdrawn",
            format!("Price Change Canceled for {product}"),
            "price_change_withdrawn",
            Bodies::of(
                PriceChangeWithdrawnText { f: facts },
                PriceChangeWithdrawnHtml { f: facts },
            )?,
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

/// Every e-mail of CONTRACT section 11, composed from facts: its subject, and the facts it must carry in both its
/// text and its HTML. (The integration tests show each one composed by the work that causes it, in the outbox.)
#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::state::Settings;

    fn settings() -> Settings {
        Settings {
            public_url: "https://billing.example".into(),
            operator_name: "Tollgate".into(),
            mail_from: "billing@billing.example".into(),
            fees: Default::default(),
            operator_token: None,
            demo: false,
        }
    }

    fn at() -> Moment {
        let instant = Utc.with_ymd_and_hms(2027, 7, 1, 0, 0, 0).unwrap();
        Moment {
            business: instant,
            infra: instant,
        }
    }

    fn cents(cents: i64) -> Money {
        Money::from_cents(cents)
    }

    /// The subject, and each fact in both bodies (in the HTML as its escaped text reads).
    fn carries(email: &Email, subject: &str, facts: &[&str]) {
        assert_eq!(email.subject, subject);
        assert_eq!(email.state, "pending", "composed into the outbox, to be sent");
        assert!(email.html_body.starts_with("<!doctype html>"), "{}", email.html_body);
        let html = email.html_body.replace("&#38;", "&").replace("&#39;", "'");
        for fact in facts {
            assert!(
                email.text_body.contains(fact),
                "{fact:?} in the text:\n{}",
                email.text_body
            );
            assert!(html.contains(fact), "{fact:?} in the HTML:\n{}", email.html_body);
        }
    }

    #[test]
    fn signup_names_the_seller_the_charge_and_the_pages() {
        let facts = SignupFacts {
            customer_name: "Ann".into(),
            product_name: "Backup Pro".into(),
            company_name: "Acme Software".into(),
            support_contact: "help@acme.example".into(),
            charged: Some(("June 17, 2027".into(), cents(967))),
            payment_pending: false,
            monthly_fee: cents(1000),
            price_change: Some(PriceChangeMention {
                effective_on: "August 1, 2027".into(),
                accepted: false,
                new_prices: vec![("Monthly fee".into(), "$12.00 a month".into())],
            }),
            activate_url: "https://billing.example/activate".into(),
            billing_url: "https://billing.example/billing?productCode=ABCD1234".into(),
            operator_name: "Tollgate".into(),
        };
        let email = signup("s1", "ann@example.com", &facts, at()).unwrap();
        carries(
            &email,
            "Your Backup Pro Purchase",
            &[
                "Ann",
                "Acme Software",
                "help@acme.example",
                "June 17, 2027",
                "$9.67",
                "$10.00 a month",
                "https://billing.example/activate",
                "https://billing.example/billing?productCode=ABCD1234",
                "changes on",
                "August 1, 2027",
                "$12.00 a month",
            ],
        );
        assert_eq!(email.unique_key, "signup:s1");
    }

    #[test]
    fn billing_alert_names_the_amount_products_and_where_to_fix_the_card() {
        let facts = AlertFacts {
            customer_name: "Ann".into(),
            amount: cents(1084),
            products: vec!["Backup Pro".into(), "Photo Lab".into()],
            period: "June 2027".into(),
            next_retry: Some("July 7, 2027".into()),
            unpaid_signup_canceled_on: None,
            payment_method_url: "https://billing.example/account/payment-method".into(),
            billing_url: "https://billing.example/billing".into(),
            operator_name: "Tollgate".into(),
        };
        let email = billing_alert(&settings(), "b1", 2, "ann@example.com", &facts, at()).unwrap();
        carries(
            &email,
            "Billing Alert from Tollgate",
            &[
                "$10.84",
                "Backup Pro, Photo Lab",
                "June 2027",
                "try again on July 7, 2027",
                "https://billing.example/account/payment-method",
            ],
        );
        assert_eq!(email.unique_key, "billing-alert:b1:2", "one per failed attempt");
    }

    #[test]
    fn monthly_bill_lists_each_product_with_its_seller() {
        let facts = BillFacts {
            customer_name: "Ann".into(),
            charged_on: "July 1, 2027".into(),
            amount: cents(1440),
            period: "June 2027".into(),
            products: vec![
                BilledProduct {
                    name: "Backup Pro".into(),
                    company_name: "Acme Software".into(),
                    support_contact: "help@acme.example".into(),
                    amount: cents(1084),
                },
                BilledProduct {
                    name: "Photo Lab".into(),
                    company_name: "Lens & Co".into(),
                    support_contact: "lens@example.com".into(),
                    amount: cents(356),
                },
            ],
            billing_url: "https://billing.example/billing".into(),
            operator_name: "Tollgate".into(),
        };
        let email = monthly_bill(&settings(), "b1", "ann@example.com", &facts, at()).unwrap();
        carries(
            &email,
            "Your Bill from Tollgate for June 2027",
            &[
                "July 1, 2027",
                "$14.40",
                "Backup Pro",
                "$10.84",
                "Acme Software",
                "Photo Lab",
                "$3.56",
                "Lens & Co",
                "lens@example.com",
            ],
        );
    }

    #[test]
    fn cancellation_says_when_why_and_what_happens_to_the_money() {
        let facts = CancellationFacts {
            customer_name: "Ann".into(),
            product_name: "Backup Pro".into(),
            company_name: "Acme Software".into(),
            support_contact: "help@acme.example".into(),
            canceled_at: "July 20, 2027 at 23:59 UTC".into(),
            reason: "You canceled it.".into(),
            refund: Some(cents(355)),
            reduction: None,
            usage_billed_on: "August 1, 2027".into(),
            purchase_url: "https://billing.example/purchase/OFFER123".into(),
            billing_url: "https://billing.example/billing".into(),
            operator_name: "Tollgate".into(),
        };
        let email = cancellation("s1", "ann@example.com", &facts, at()).unwrap();
        carries(
            &email,
            "Your Backup Pro Subscription Has Been Canceled",
            &[
                "July 20, 2027 at 23:59 UTC",
                "You canceled it.",
                "$3.55",
                "refunded",
                "August 1, 2027",
                "https://billing.example/purchase/OFFER123",
            ],
        );
    }

    fn price_change_facts(active: bool) -> PriceChangeFacts {
        PriceChangeFacts {
            customer_name: "Ann".into(),
            product_name: "Backup Pro".into(),
            company_name: "Acme Software".into(),
            support_contact: "help@acme.example".into(),
            effective_on: "July 21, 2027".into(),
            active,
            accepted: false,
            new_prices: vec![
                ("Monthly fee".into(), "$16.00 a month".into()),
                ("storage.gb_month (GB-Month)".into(), "$0.25 per GB-Month".into()),
            ],
            message: Some("Storage costs us more this year.".into()),
            refund: None,
            reduction: None,
            owed: None,
            next_bill_on: "August 1, 2027".into(),
            product_billing_url: "https://billing.example/billing/subscriptions/ABCD1234".into(),
            operator_name: "Tollgate".into(),
        }
    }

    #[test]
    fn price_change_notices_give_the_date_the_new_price_and_the_sellers_message() {
        let passive = price_change(
            PriceChangeNotice::Scheduled,
            "c1",
            "s1",
            "ann@example.com",
            &price_change_facts(false),
            at(),
        )
        .unwrap();
        let facts = [
            "Acme Software",
            "July 21, 2027",
            "$16.00 a month",
            "$0.25 per GB-Month",
            "Storage costs us more this year.",
            "https://billing.example/billing/subscriptions/ABCD1234",
        ];
        carries(&passive, "Price Change for Backup Pro", &facts);
        carries(&passive, "Price Change for Backup Pro", &["nothing you need to do"]);
        assert_eq!(passive.unique_key, "price-change:c1:s1");
        let active = price_change(
            PriceChangeNotice::Scheduled,
            "c1",
            "s1",
            "ann@example.com",
            &price_change_facts(true),
            at(),
        )
        .unwrap();
        carries(&active, "Price Change for Backup Pro", &facts);
        carries(
            &active,
            "Price Change for Backup Pro",
            &["agree to the new price", "canceled"],
        );
    }

    #[test]
    fn a_change_in_effect_says_what_it_did_to_this_months_fee() {
        let mut facts = price_change_facts(false);
        facts.owed = Some(cents(213));
        let email = price_change(PriceChangeNotice::InEffect, "c1", "s1", "ann@example.com", &facts, at()).unwrap();
        carries(
            &email,
            "Price Change in Effect for Backup Pro",
            &["July 21, 2027", "$16.00 a month", "$2.13", "August 1, 2027"],
        );
        assert_eq!(email.unique_key, "price-change-effective:c1:s1");
        facts.owed = None;
        facts.refund = Some(cents(390));
        let email = price_change(PriceChangeNotice::InEffect, "c1", "s1", "ann@example.com", &facts, at()).unwrap();
        carries(&email, "Price Change in Effect for Backup Pro", &["$3.90", "refunded"]);
    }

    #[test]
    fn a_withdrawn_change_is_announced_as_not_happening() {
        let email = price_change(
            PriceChangeNotice::Withdrawn,
            "c1",
            "s1",
            "ann@example.com",
            &price_change_facts(true),
            at(),
        )
        .unwrap();
        carries(
            &email,
            "Price Change Canceled for Backup Pro",
            &["Acme Software", "July 21, 2027", "will not happen"],
        );
        assert_eq!(email.unique_key, "price-change-withdrawn:c1:s1");
    }
}
