//! The seller console (`/seller`): becoming a seller, API keys, products, and the seller's transactions.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};
use tollgate_domain::Money;
use tollgate_domain::calendar::{Month, format_instant};
use tollgate_store::instant;
use tollgate_store::sellers::Seller;

use super::chart;
use super::{Layout, error_page, render, render_with};
use crate::error::Error;
use crate::http::auth::{User, Visitor};
use crate::http::form::PageForm;
use crate::services::activity::{self, ProductActivity};
use crate::services::price_changes;
use crate::services::products::{self, ProductView};
use crate::services::reports::{self, SubscriptionReport};
use crate::services::sellers::{self, SellerProfile};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/seller_join.html")]
struct JoinPage {
    layout: Layout,
    error: Option<String>,
    company_name: String,
    public_contact: String,
}

struct KeyRow {
    id: String,
    label: String,
    hint: String,
    created: String,
    revoked: bool,
}

struct ProductRow {
    name: String,
    kind: String,
    code: String,
    purchase_url: String,
    token: String,
    /// The pending price change, in a few words.
    price_change: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/seller_console.html")]
struct ConsolePage {
    layout: Layout,
    company_name: String,
    notice: Option<String>,
    new_key: Option<String>,
    keys: Vec<KeyRow>,
    products: Vec<ProductRow>,
    balance: Money,
    transactions: Vec<(String, String, Money, String)>,
    month_name: String,
    activity: Vec<ProductActivity>,
    revenue_chart: String,
    subscriptions: SubscriptionReport,
    /// The latest month whose revenue and usage reports are out (R32).
    latest_report: String,
}

/// The values of the product form, as typed.
#[derive(Default)]
struct ProductFields {
    name: String,
    description: String,
    redirect_url: String,
    terms_url: String,
    support_contact: String,
    kind: String,
    signup_fee: String,
    monthly_fee: String,
    usage: String,
    configurations: String,
}

#[derive(Template)]
#[template(path = "pages/product_form.html")]
struct ProductFormPage {
    layout: Layout,
    code: Option<String>,
    error: Option<String>,
    f: ProductFields,
    kinds: [(&'static str, &'static str); 3],
    dimensions: String,
}

const KINDS: [(&str, &str); 3] = [
    ("desktop", "Desktop program"),
    ("hosted", "Hosted web application"),
    ("machine_image", "Machine image"),
];

async fn seller_of(state: &AppState, user: &User) -> Result<Option<Seller>, Error> {
    Ok(state.store.seller_of_account(&user.account.id).await?)
}

pub async fn console(State(state): State<AppState>, user: User, visitor: Visitor) -> Response {
    let layout = Layout::new(&state, &visitor);
    match seller_of(&state, &user).await {
        Ok(Some(seller)) => console_page(&state, &seller, layout, Outcome::None).await,
        Ok(None) => render(JoinPage {
            layout,
            error: None,
            company_name: String::new(),
            public_contact: String::new(),
        }),
        Err(error) => error_page(error, layout),
    }
}

/// Months of revenue in the console's chart: the current one and the eleven before it.
const CHART_MONTHS: u32 = 12;

/// What a form on the console did, shown at its top.
enum Outcome {
    None,
    NewKey(String),
    Notice(String),
}

async fn console_page(state: &AppState, seller: &Seller, layout: Layout, outcome: Outcome) -> Response {
    let (notice, new_key) = match outcome {
        Outcome::None => (None, None),
        Outcome::NewKey(key) => (None, Some(key)),
        Outcome::Notice(text) => (Some(text), None),
    };
    let load = async {
        let keys = state.store.api_keys(&seller.id).await?;
        let mut products = Vec::new();
        for view in products::list(state, seller).await? {
            let pending = price_changes::pending(state, &view.product).await?.map(|p| {
                format!(
                    "{} from {} · {} accepted",
                    p.mode.as_str(),
                    p.effective_on(),
                    p.accepted
                )
            });
            products.push((view, pending));
        }
        let (balance, history) = sellers::transactions(state, seller).await?;
        let month = Month::of(state.now().await?);
        let activity = activity::activity(state, seller, month).await?;
        let revenue = activity::revenue_by_month(state, seller, month, CHART_MONTHS).await?;
        let subscriptions = reports::subscriptions(state, seller, None).await?;
        Ok::<_, Error>((
            keys,
            products,
            balance,
            history,
            month,
            activity,
            revenue,
            subscriptions,
        ))
    };
    match load.await {
        Ok((keys, products, balance, history, month, activity, revenue, subscriptions)) => render(ConsolePage {
            latest_report: reports::latest_available(subscriptions.as_of).to_string(),
            subscriptions,
            month_name: month.long_name(),
            activity,
            revenue_chart: chart::monthly_revenue(&revenue),
            company_name: seller.company_name.clone(),
            notice,
            new_key,
            keys: keys
                .into_iter()
                .map(|k| KeyRow {
                    created: format_instant(instant(k.created_at)),
                    revoked: k.revoked_at.is_some(),
                    id: k.id,
                    label: k.label,
                    hint: k.hint,
                })
                .collect(),
            products: products
                .into_iter()
                .map(|(v, price_change): (ProductView, Option<String>)| ProductRow {
                    kind: v.kind.as_str().to_owned(),
                    purchase_url: v.purchase_url,
                    name: v.product.name,
                    code: v.product.code,
                    token: v.product.token,
                    price_change,
                })
                .collect(),
            balance,
            transactions: history
                .into_iter()
                .map(|t| {
                    (
                        format_instant(instant(t.at)),
                        t.kind,
                        Money::from_cents(t.amount_cents),
                        t.description,
                    )
                })
                .collect(),
            layout,
        }),
        Err(error) => error_page(error, layout),
    }
}

pub async fn join(State(state): State<AppState>, user: User, form: PageForm) -> Response {
    let layout = Layout::new(&state, &form.visitor);
    let result = async {
        let profile = SellerProfile::parse(form.get("company_name"), form.get("public_contact"))?;
        sellers::become_seller(&state, &user.account, profile).await
    };
    match result.await {
        Ok(_) => Redirect::to("/seller").into_response(),
        Err(error @ Error::Field(_)) => render_with(
            error.status(),
            JoinPage {
                layout,
                error: Some(error.to_string()),
                company_name: form.get("company_name").to_owned(),
                public_contact: form.get("public_contact").to_owned(),
            },
        ),
        Err(error) => error_page(error, layout),
    }
}

/// The signed-in seller; anyone else is sent to the console's first page.
pub(super) async fn require_seller(state: &AppState, user: &User, layout: &Layout) -> Result<Seller, Response> {
    match seller_of(state, user).await {
        Ok(Some(seller)) => Ok(seller),
        Ok(None) => Err(Redirect::to("/seller").into_response()),
        Err(error) => Err(error_page(error, layout.clone())),
    }
}

pub async fn create_key(State(state): State<AppState>, user: User, form: PageForm) -> Response {
    let layout = Layout::new(&state, &form.visitor);
    let seller = match require_seller(&state, &user, &layout).await {
        Ok(seller) => seller,
        Err(response) => return response,
    };
    match sellers::create_api_key(&state, &seller, form.get("label")).await {
        Ok(issued) => console_page(&state, &seller, layout, Outcome::NewKey(issued.plain)).await,
        Err(error) => error_page(error, layout),
    }
}

/// The console's withdrawal form (R30): the outcome, or why not, at the top of the console.
pub async fn withdraw(State(state): State<AppState>, user: User, form: PageForm) -> Response {
    let layout = Layout::new(&state, &form.visitor);
    let seller = match require_seller(&state, &user, &layout).await {
        Ok(seller) => seller,
        Err(response) => return response,
    };
    let body = json!({"amount": form.get("amount").trim()});
    let notice = match sellers::withdraw(&state, &seller, &body).await {
        Ok((amount, balance)) => format!("Withdrew ${amount}; the balance is now ${balance}."),
        Err(error @ (Error::Field(_) | Error::InsufficientBalance)) => format!("Not withdrawn ({error})."),
        Err(error) => return error_page(error, layout),
    };
    console_page(&state, &seller, layout, Outcome::Notice(notice)).await
}

pub async fn revoke_key(State(state): State<AppState>, user: User, Path(id): Path<String>, form: PageForm) -> Response {
    let layout = Layout::new(&state, &form.visitor);
    let seller = match require_seller(&state, &user, &layout).await {
        Ok(seller) => seller,
        Err(response) => return response,
    };
    match sellers::revoke_api_key(&state, &seller, &id).await {
        Ok(()) => Redirect::to("/seller").into_response(),
        Err(error) => error_page(error, layout),
    }
}

async fn form_page(
    state: &AppState,
    layout: Layout,
    code: Option<String>,
    f: ProductFields,
    error: Option<&Error>,
) -> Response {
    let dimensions = match products::dimensions(state).await {
        Ok(list) => list
            .into_iter()
            .filter(|d| !d.name.starts_with("compute.hours."))
            .map(|d| d.name)
            .collect::<Vec<_>>()
            .join(", "),
        Err(error) => return error_page(error, layout),
    };
    let page = ProductFormPage {
        layout,
        code,
        error: error.map(ToString::to_string),
        f,
        kinds: KINDS,
        dimensions,
    };
    render_with(error.map_or(axum::http::StatusCode::OK, Error::status), page)
}

pub async fn new_product_page(State(state): State<AppState>, user: User, visitor: Visitor) -> Response {
    let layout = Layout::new(&state, &visitor);
    if let Err(response) = require_seller(&state, &user, &layout).await {
        return response;
    }
    let f = ProductFields {
        kind: "desktop".into(),
        signup_fee: "0.00".into(),
        monthly_fee: "0.00".into(),
        usage: "[]".into(),
        configurations: "[]".into(),
        ..ProductFields::default()
    };
    form_page(&state, layout, None, f, None).await
}

fn fields_of(form: &PageForm) -> ProductFields {
    let get = |name| form.get(name).to_owned();
    ProductFields {
        name: get("name"),
        description: get("description"),
        redirect_url: get("redirect_url"),
        terms_url: get("terms_url"),
        support_contact: get("support_contact"),
        kind: get("kind"),
        signup_fee: get("signup_fee"),
        monthly_fee: get("monthly_fee"),
        usage: get("usage"),
        configurations: get("configurations"),
    }
}

/// A JSON list typed into a textarea; empty means none.
pub(super) fn json_list(field: &str, text: &str) -> Result<Value, Error> {
    if text.trim().is_empty() {
        return Ok(json!([]));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Array(_)) => Ok(value),
        _ => Err(Error::field(field, "must be a JSON list, such as []")),
    }
}

/// The form's fields as the JSON body of `POST /api/v1/products`, so both take exactly the same input.
fn registration_body(f: &ProductFields) -> Result<Value, Error> {
    let or_zero = |text: &str| {
        if text.trim().is_empty() {
            "0".to_owned()
        } else {
            text.trim().to_owned()
        }
    };
    Ok(json!({
        "name": f.name,
        "description": f.description,
        "kind": f.kind,
        "redirect_url": f.redirect_url,
        "terms_url": f.terms_url,
        "support_contact": f.support_contact,
        "pricing": {
            "signup_fee": or_zero(&f.signup_fee),
            "monthly_fee": or_zero(&f.monthly_fee),
            "usage": json_list("usage", &f.usage)?,
        },
        "configurations": json_list("configurations", &f.configurations)?,
    }))
}

pub async fn register_product(State(state): State<AppState>, user: User, form: PageForm) -> Response {
    let layout = Layout::new(&state, &form.visitor);
    let seller = match require_seller(&state, &user, &layout).await {
        Ok(seller) => seller,
        Err(response) => return response,
    };
    let f = fields_of(&form);
    let result = match registration_body(&f) {
        Ok(body) => products::register(&state, &seller, &body).await.map(|_| ()),
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => Redirect::to("/seller").into_response(),
        Err(error @ Error::Field(_)) => form_page(&state, layout, None, f, Some(&error)).await,
        Err(error) => error_page(error, layout),
    }
}

pub async fn edit_product_page(
    State(state): State<AppState>,
    user: User,
    visitor: Visitor,
    Path(code): Path<String>,
) -> Response {
    let layout = Layout::new(&state, &visitor);
    let seller = match require_seller(&state, &user, &layout).await {
        Ok(seller) => seller,
        Err(response) => return response,
    };
    match products::owned(&state, &seller, &code).await {
        Ok(p) => {
            let f = ProductFields {
                name: p.name,
                description: p.description,
                redirect_url: p.redirect_url,
                terms_url: p.terms_url.unwrap_or_default(),
                support_contact: p.support_contact.unwrap_or_default(),
                ..ProductFields::default()
            };
            form_page(&state, layout, Some(p.code), f, None).await
        }
        Err(error) => error_page(error, layout),
    }
}

pub async fn update_product(
    State(state): State<AppState>,
    user: User,
    Path(code): Path<String>,
    form: PageForm,
) -> Response {
    let layout = Layout::new(&state, &form.visitor);
    let seller = match require_seller(&state, &user, &layout).await {
        Ok(seller) => seller,
        Err(response) => return response,
    };
    let f = fields_of(&form);
    let body = json!({
        "name": f.name,
        "description": f.description,
        "redirect_url": f.redirect_url,
        "terms_url": f.terms_url,
        "support_contact": f.support_contact,
    });
    match products::update(&state, &seller, &code, &body).await {
        Ok(_) => Redirect::to("/seller").into_response(),
        Err(error @ Error::Field(_)) => form_page(&state, layout, Some(code.clone()), f, Some(&error)).await,
        Err(error) => error_page(error, layout),
    }
}
