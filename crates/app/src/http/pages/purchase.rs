//! The purchase pipeline's pages (reference 4.1): product details with the amount due today, Place your order,
//! and the confirmation with the activation key and the link to the seller's site.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tollgate_domain::Money;

use super::{Layout, error_page, render, render_with};
use crate::error::Error;
use crate::http::auth::{User, Visitor, url_encode};
use crate::http::form::PageForm;
use crate::services::activation::IssuedActivationKey;
use crate::services::price_changes::Mode;
use crate::services::price_table::pricing_table;
use crate::services::purchase::{self, Offer, OrderResult, PaymentStatus, Shown, describe_card};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/purchase.html")]
struct PurchasePage {
    layout: Layout,
    offering_code: String,
    here_encoded: String,
    product_name: String,
    company_name: String,
    contact: String,
    description: String,
    pricing: Vec<(String, String)>,
    terms_url: Option<String>,
    amount_due: Money,
    breakdown: Vec<(String, Money)>,
    card: Option<String>,
    requires_card: bool,
    already_subscribed: bool,
    message: Option<String>,
    price_change: Option<UpcomingPrice>,
}

/// A pending price change as the purchase page shows it (R27).
struct UpcomingPrice {
    id: String,
    effective_on: String,
    active: bool,
    pricing: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "pages/confirmation.html")]
pub struct Confirmation {
    layout: Layout,
    purchased: bool,
    payment_declined: bool,
    product_name: String,
    activation_key: String,
    continue_url: String,
}

impl Confirmation {
    pub fn new(layout: Layout, key: IssuedActivationKey, purchased: bool, payment_declined: bool) -> Confirmation {
        Confirmation {
            layout,
            purchased,
            payment_declined,
            product_name: key.product_name,
            activation_key: key.key,
            continue_url: key.continue_url,
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    user: User,
    visitor: Visitor,
    Path(offering): Path<String>,
) -> Response {
    let layout = Layout::new(&state, &visitor);
    match purchase_page(&state, &user, &offering, layout.clone(), None).await {
        Ok(page) => render(page),
        Err(error) => error_page(error, layout),
    }
}

async fn purchase_page(
    state: &AppState,
    user: &User,
    offering: &str,
    layout: Layout,
    message: Option<String>,
) -> Result<PurchasePage, Error> {
    let offer = purchase::offer(state, offering).await?;
    page_for_offer(state, user, offer, layout, message).await
}

async fn page_for_offer(
    state: &AppState,
    user: &User,
    offer: Offer,
    layout: Layout,
    message: Option<String>,
) -> Result<PurchasePage, Error> {
    let card = state
        .store
        .payment_method(&user.account.id)
        .await?
        .map(|c| describe_card(&c));
    let already_subscribed = state
        .store
        .open_subscription(&user.account.id, &offer.product.product.id)
        .await?
        .is_some();
    let pricing = pricing_table(state, &offer.product.price).await?;
    let price_change = match &offer.price_change {
        Some(pending) => Some(UpcomingPrice {
            id: pending.change.id.clone(),
            effective_on: pending.effective_on(),
            active: pending.mode == Mode::Active,
            pricing: pricing_table(state, &pending.schedule).await?,
        }),
        None => None,
    };
    let product = &offer.product.product;
    let mut breakdown = Vec::new();
    if !offer.charge.signup_fee.is_zero() {
        breakdown.push(("One-time fee".to_owned(), offer.charge.signup_fee));
    }
    if !offer.charge.prorated_monthly_fee.is_zero() {
        breakdown.push((
            "Monthly fee for the rest of this month".to_owned(),
            offer.charge.prorated_monthly_fee,
        ));
    }
    Ok(PurchasePage {
        layout,
        offering_code: product.offering_code.clone(),
        here_encoded: url_encode(&format!("/purchase/{}", product.offering_code)),
        product_name: product.name.clone(),
        company_name: offer.seller.company_name.clone(),
        contact: product
            .support_contact
            .clone()
            .unwrap_or_else(|| offer.seller.public_contact.clone()),
        description: product.description.clone(),
        pricing,
        terms_url: product.terms_url.clone(),
        amount_due: offer.charge.total(),
        breakdown,
        card,
        requires_card: offer.requires_payment_method(),
        already_subscribed,
        message,
        price_change,
    })
}

pub async fn order(
    State(state): State<AppState>,
    user: User,
    Path(offering): Path<String>,
    form: PageForm,
) -> Response {
    let layout = Layout::new(&state, &form.visitor);
    let again = |message: &str, status: StatusCode| {
        let (state, user, offering, layout, message) = (&state, &user, &offering, layout.clone(), message.to_owned());
        async move {
            match purchase_page(state, user, offering, layout.clone(), Some(message)).await {
                Ok(page) => render_with(status, page),
                Err(error) => error_page(error, layout),
            }
        }
    };
    let shown = Shown {
        amount_due: form.get("amount_due"),
        price_change: form.get("price_change"),
    };
    match purchase::place_order(&state, &user.account, &offering, shown).await {
        Ok(OrderResult::Placed(confirmation)) => {
            let declined = matches!(confirmation.payment, PaymentStatus::Declined);
            render(Confirmation::new(layout, confirmation.key, true, declined))
        }
        Ok(OrderResult::AmountChanged(offer)) => {
            let message = format!(
                "The amount due changed to ${} since the page was shown. Nothing was charged; please check and order again.",
                offer.charge.total()
            );
            match page_for_offer(&state, &user, *offer, layout.clone(), Some(message)).await {
                Ok(page) => render_with(StatusCode::CONFLICT, page),
                Err(error) => error_page(error, layout),
            }
        }
        Ok(OrderResult::PriceChangeChanged(offer)) => {
            let message = "The seller changed the upcoming price since the page was shown. Nothing was charged; please check and order again.".to_owned();
            match page_for_offer(&state, &user, *offer, layout.clone(), Some(message)).await {
                Ok(page) => render_with(StatusCode::CONFLICT, page),
                Err(error) => error_page(error, layout),
            }
        }
        Ok(OrderResult::NeedsPaymentMethod) => {
            let next = url_encode(&format!("/purchase/{offering}"));
            Redirect::to(&format!("/account/payment-method?next={next}")).into_response()
        }
        Ok(OrderResult::AlreadySubscribed) => again("You already have this product.", StatusCode::CONFLICT).await,
        Err(error) => error_page(error, layout),
    }
}
