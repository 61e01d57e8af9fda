//! Application Billing (reference 4.3, CONTRACT section 4): the customer's one page for every product of every
//! seller, each product's details with Cancel, and the cancellation itself (R23).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use tollgate_domain::Money;
use tollgate_domain::calendar::long_date;
use tollgate_domain::subscription::SubscriptionState;
use tollgate_store::bills::Bill;

use tollgate_store::products::Product;

use super::chart::{self, Series};
use super::{Layout, error_page, render, render_with};
use crate::error::Error;
use crate::http::auth::{User, Visitor};
use crate::http::form::PageForm;
use crate::services::cancellation::{self, Settled};
use crate::services::month_to_date::{MonthToDate, ProductMonth, month_to_date};
use crate::services::price_changes::{self, Mode};
use crate::services::price_table::pricing_table;
use crate::services::products::{self, ProductView};
use crate::services::purchase::describe_card;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/billing.html")]
struct BillingPage {
    layout: Layout,
    month_name: String,
    as_of: String,
    products: Vec<ProductMonth>,
    focus: Option<String>,
    unpaid: Vec<UnpaidBill>,
    next_bill_on: String,
    next_bill_estimate: Money,
    card: Option<String>,
    chart: String,
    /// The month before this one: its statement is one click away.
    previous_month: (String, String),
    /// The latest month the picker offers: this one, to date.
    this_month: String,
    /// The focused product's pending price change.
    pending: Option<PendingChange>,
}

/// A product's pending price change as its customer sees it, with the accept form for an active one (R27).
struct PendingChange {
    code: String,
    product_name: String,
    company_name: String,
    effective_on: String,
    active: bool,
    accepted: bool,
    pricing: Vec<(String, String)>,
    message: Option<String>,
}

/// The pending change of a product the customer subscribes to, if it has one.
async fn pending_change(
    state: &AppState,
    user: &User,
    product: &Product,
    company_name: &str,
) -> Result<Option<PendingChange>, Error> {
    let Some(pending) = price_changes::pending(state, product).await? else {
        return Ok(None);
    };
    Ok(Some(PendingChange {
        code: product.code.clone(),
        product_name: product.name.clone(),
        company_name: company_name.to_owned(),
        effective_on: pending.effective_on(),
        active: pending.mode == Mode::Active,
        accepted: state.store.has_accepted(&pending.change.id, &user.account.id).await?,
        pricing: pricing_table(state, &pending.schedule).await?,
        message: pending.change.message.clone(),
    }))
}

struct UnpaidBill {
    issued_on: String,
    kind: String,
    status: String,
    total: Money,
}

#[derive(Deserialize)]
pub struct Focus {
    #[serde(rename = "productCode")]
    product_code: Option<String>,
}

pub async fn page(State(state): State<AppState>, user: User, visitor: Visitor, Query(focus): Query<Focus>) -> Response {
    let layout = Layout::new(&state, &visitor);
    let page = async {
        let month = month_to_date(&state, &user.account).await?;
        // A focused product that the customer does not have shows the whole page.
        let focus = focus
            .product_code
            .and_then(|code| month.products.iter().find(|p| p.code == code))
            .map(|p| (p.code.clone(), p.company_name.clone()));
        let pending = match &focus {
            Some((code, company_name)) => match state.store.product_by_code(code).await? {
                Some(product) => pending_change(&state, &user, &product, company_name).await?,
                None => None,
            },
            None => None,
        };
        Ok::<_, Error>(billing_page(layout.clone(), month, focus.map(|f| f.0), pending))
    };
    match page.await {
        Ok(page) => render(page),
        Err(error) => error_page(error, layout),
    }
}

fn billing_page(
    layout: Layout,
    month: MonthToDate,
    focus: Option<String>,
    pending: Option<PendingChange>,
) -> BillingPage {
    let mut products = month.products;
    if let Some(code) = &focus {
        products.retain(|p| &p.code == code);
    }
    let chart = chart::daily_usage(
        &products
            .iter()
            .map(|p| Series {
                label: &p.name,
                values: &p.daily,
            })
            .collect::<Vec<_>>(),
    );
    BillingPage {
        layout,
        month_name: month.month.long_name(),
        as_of: month.now.format("%B %-d, %Y %H:%M UTC").to_string(),
        products,
        focus,
        unpaid: month.unpaid.iter().map(unpaid_bill).collect(),
        next_bill_on: long_date(month.next_bill_on),
        next_bill_estimate: month.next_bill_estimate,
        card: month.card.as_ref().map(describe_card),
        chart,
        previous_month: (month.month.previous().to_string(), month.month.previous().long_name()),
        this_month: month.month.to_string(),
        pending,
    }
}

fn unpaid_bill(bill: &Bill) -> UnpaidBill {
    UnpaidBill {
        issued_on: long_date(tollgate_store::instant(bill.issued_at)),
        kind: bill.kind.clone(),
        status: bill.status.clone(),
        total: Money::from_cents(bill.total_cents),
    }
}

#[derive(Template)]
#[template(path = "pages/subscription.html")]
struct SubscriptionPage {
    layout: Layout,
    code: String,
    name: String,
    description: String,
    company_name: String,
    contact: String,
    pricing: Vec<(String, String)>,
    state: String,
    since: String,
    canceled_on: Option<String>,
    open: bool,
    notice: Option<String>,
    error: Option<String>,
    pending: Option<PendingChange>,
}

pub async fn subscription(
    State(state): State<AppState>,
    user: User,
    visitor: Visitor,
    Path(code): Path<String>,
) -> Response {
    let layout = Layout::new(&state, &visitor);
    match subscription_page(&state, &user, &code, layout.clone(), None, None).await {
        Ok(page) => render(page),
        Err(error) => error_page(error, layout),
    }
}

pub async fn cancel(State(state): State<AppState>, user: User, Path(code): Path<String>, form: PageForm) -> Response {
    let layout = Layout::new(&state, &form.visitor);
    let outcome = match cancellation::cancel_by_customer(&state, &user.account, &code).await {
        Ok(settled) => Ok(canceled_notice(settled)),
        Err(error @ (Error::Busy(_) | Error::NotFound("subscription"))) => Err(error),
        Err(error) => return error_page(error, layout),
    };
    after_action(&state, &user, &code, layout, outcome).await
}

/// The customer accepts a pending active price change (R27); the product's page then says so.
pub async fn accept_price_change(
    State(state): State<AppState>,
    user: User,
    Path(code): Path<String>,
    form: PageForm,
) -> Response {
    let layout = Layout::new(&state, &form.visitor);
    let outcome = match price_changes::accept(&state, &user.account, &code).await {
        Ok(pending) => Ok(format!(
            "You accepted the new price, in effect from {}.",
            pending.effective_on()
        )),
        Err(error @ (Error::NoPendingPriceChange | Error::NotFound("subscription"))) => Err(error),
        Err(error) => return error_page(error, layout),
    };
    after_action(&state, &user, &code, layout, outcome).await
}

/// The product's page after a form on it: what the action did, or why it did not, with the refusal's status.
async fn after_action(
    state: &AppState,
    user: &User,
    code: &str,
    layout: Layout,
    outcome: Result<String, Error>,
) -> Response {
    let status = outcome.as_ref().err().map(Error::status);
    let (notice, error) = match outcome {
        Ok(notice) => (Some(notice), None),
        Err(error) => (None, Some(error.public_message())),
    };
    match subscription_page(state, user, code, layout.clone(), notice, error).await {
        Ok(page) => match status {
            Some(status) => render_with(status, page),
            None => render(page),
        },
        Err(error) => error_page(error, layout),
    }
}

fn canceled_notice(settled: Settled) -> String {
    let money = match settled {
        Settled::Refunded(amount) => format!(" ${amount} of this month's fee has been refunded to your card."),
        Settled::Reduced(amount) => format!(" Your unpaid bill has been reduced by ${amount}."),
        Settled::Nothing => String::new(),
    };
    format!("Your subscription is canceled and access has ended.{money} Usage up to now is billed on the next 1st.")
}

async fn subscription_page(
    state: &AppState,
    user: &User,
    code: &str,
    layout: Layout,
    notice: Option<String>,
    error: Option<String>,
) -> Result<SubscriptionPage, Error> {
    let product = products::by_code(state, code).await?;
    let latest = state
        .store
        .subscriptions_to_product(&user.account.id, &product.id)
        .await?
        .pop()
        .ok_or(Error::NotFound("product"))?;
    let seller = state
        .store
        .seller(&product.seller_id)
        .await?
        .ok_or(Error::NotFound("seller"))?;
    let open = latest.state != SubscriptionState::Canceled.as_str();
    let pending = match open {
        true => pending_change(state, user, &product, &seller.company_name).await?,
        false => None,
    };
    let view = ProductView::load(state, product).await?;
    let pricing = pricing_table(state, &view.price).await?;
    let date = |at: i64| long_date(tollgate_store::instant(at));
    let product = &view.product;
    Ok(SubscriptionPage {
        layout,
        code: product.code.clone(),
        name: product.name.clone(),
        description: product.description.clone(),
        contact: product
            .support_contact
            .clone()
            .unwrap_or_else(|| seller.public_contact.clone()),
        company_name: seller.company_name,
        pricing,
        open,
        state: latest.state.clone(),
        since: date(latest.created_at),
        canceled_on: latest.canceled_at.map(date),
        notice,
        error,
        pending,
    })
}
