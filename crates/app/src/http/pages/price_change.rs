//! The seller console's price changes (CONTRACT sections 4 and 10): the pending change of a product with how many
//! customers accepted it, a form that schedules one (the same JSON body as the API), and withdrawal.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use tollgate_domain::pricing::ProductKind;
use tollgate_store::sellers::Seller;

use super::seller::{json_list, require_seller};
use super::{Layout, error_page, render_with};
use crate::error::Error;
use crate::http::auth::{User, Visitor};
use crate::http::form::PageForm;
use crate::services::price_changes;
use crate::services::price_table::pricing_table;
use crate::services::products::{self, ProductView};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/price_change_form.html")]
struct PriceChangePage {
    layout: Layout,
    code: String,
    name: String,
    machine_image: bool,
    pricing: Vec<(String, String)>,
    pending: Option<PendingRow>,
    f: ChangeFields,
    notice: Option<String>,
    error: Option<String>,
}

struct PendingRow {
    effective_on: String,
    authorization: &'static str,
    accepted_count: i64,
    subscribers: i64,
    pricing: Vec<(String, String)>,
    message: Option<String>,
}

/// The form's values, as typed.
#[derive(Default)]
struct ChangeFields {
    effective_on: String,
    authorization: String,
    signup_fee: String,
    monthly_fee: String,
    usage: String,
    configurations: String,
    message: String,
}

impl ChangeFields {
    fn of(form: &PageForm) -> ChangeFields {
        let get = |name| form.get(name).to_owned();
        ChangeFields {
            effective_on: get("effective_on"),
            authorization: get("authorization"),
            signup_fee: get("signup_fee"),
            monthly_fee: get("monthly_fee"),
            usage: get("usage"),
            configurations: get("configurations"),
            message: get("message"),
        }
    }

    /// The current price, as the form starts.
    fn from_view(view: &ProductView) -> ChangeFields {
        let pricing = view.price.pricing.to_json();
        ChangeFields {
            authorization: "passive".into(),
            signup_fee: view.price.pricing.signup_fee.to_string(),
            monthly_fee: view.price.pricing.monthly_fee.to_string(),
            usage: serde_json::to_string_pretty(&pricing["usage"]).unwrap_or_default(),
            configurations: serde_json::to_string_pretty(&view.price.configurations_json()).unwrap_or_default(),
            ..ChangeFields::default()
        }
    }

    /// The body of `POST /api/v1/products/{code}/price-changes`, so the form and the API take the same input.
    fn body(&self, kind: ProductKind) -> Result<Value, Error> {
        let effective_at = match self.effective_on.trim() {
            "" => String::new(),
            day => format!("{day}T00:00:00Z"),
        };
        let mut body = json!({
            "effective_at": effective_at,
            "authorization": self.authorization,
            "pricing": {
                "signup_fee": self.signup_fee.trim(),
                "monthly_fee": self.monthly_fee.trim(),
                "usage": json_list("pricing.usage", &self.usage)?,
            },
        });
        if kind == ProductKind::MachineImage {
            body["configurations"] = json_list("configurations", &self.configurations)?;
        }
        if !self.message.trim().is_empty() {
            body["message"] = json!(self.message.trim());
        }
        Ok(body)
    }
}

/// What the page shows besides the form.
struct Shown {
    fields: Option<ChangeFields>,
    notice: Option<String>,
    error: Option<Error>,
}

async fn page_for(state: &AppState, seller: &Seller, code: &str, layout: Layout, shown: Shown) -> Response {
    let load = async {
        let product = products::owned(state, seller, code).await?;
        let pending = price_changes::pending(state, &product).await?;
        let subscribers = state.store.open_subscription_count(&product.id).await?;
        let view = ProductView::load(state, product).await?;
        let pending = match pending {
            Some(p) => Some(PendingRow {
                effective_on: p.effective_on(),
                authorization: p.mode.as_str(),
                accepted_count: p.accepted,
                subscribers,
                pricing: pricing_table(state, &p.schedule).await?,
                message: p.change.message.clone(),
            }),
            None => None,
        };
        Ok::<_, Error>((pricing_table(state, &view.price).await?, view, pending))
    };
    let (pricing, view, pending) = match load.await {
        Ok(loaded) => loaded,
        Err(error) => return error_page(error, layout),
    };
    let status = shown.error.as_ref().map_or(StatusCode::OK, Error::status);
    let page = PriceChangePage {
        layout,
        code: view.product.code.clone(),
        name: view.product.name.clone(),
        machine_image: view.kind == ProductKind::MachineImage,
        pricing,
        pending,
        f: shown.fields.unwrap_or_else(|| ChangeFields::from_view(&view)),
        notice: shown.notice,
        error: shown.error.map(|e| e.public_message()),
    };
    render_with(status, page)
}

pub async fn page(State(state): State<AppState>, user: User, visitor: Visitor, Path(code): Path<String>) -> Response {
    let layout = Layout::new(&state, &visitor);
    let seller = match require_seller(&state, &user, &layout).await {
        Ok(seller) => seller,
        Err(response) => return response,
    };
    let shown = Shown {
        fields: None,
        notice: None,
        error: None,
    };
    page_for(&state, &seller, &code, layout, shown).await
}

pub async fn schedule(State(state): State<AppState>, user: User, Path(code): Path<String>, form: PageForm) -> Response {
    let layout = Layout::new(&state, &form.visitor);
    let seller = match require_seller(&state, &user, &layout).await {
        Ok(seller) => seller,
        Err(response) => return response,
    };
    let fields = ChangeFields::of(&form);
    let scheduled = async {
        let product = products::owned(&state, &seller, &code).await?;
        let kind = products::kind_of(&product)?;
        price_changes::schedule(&state, &seller, &code, &fields.body(kind)?).await
    };
    let shown = match scheduled.await {
        Ok(pending) => Shown {
            fields: None,
            notice: Some(format!(
                "Scheduled from {}; every customer has been told.",
                pending.effective_on()
            )),
            error: None,
        },
        Err(error @ (Error::Internal(_) | Error::NotFound(_) | Error::Forbidden(_))) => {
            return error_page(error, layout);
        }
        Err(error) => Shown {
            fields: Some(fields),
            notice: None,
            error: Some(error),
        },
    };
    page_for(&state, &seller, &code, layout, shown).await
}

pub async fn withdraw(State(state): State<AppState>, user: User, Path(code): Path<String>, form: PageForm) -> Response {
    let layout = Layout::new(&state, &form.visitor);
    let seller = match require_seller(&state, &user, &layout).await {
        Ok(seller) => seller,
        Err(response) => return response,
    };
    let shown = match price_changes::withdraw(&state, &seller, &code).await {
        Ok(()) => Shown {
            fields: None,
            notice: Some("Withdrawn; every customer has been told it will not happen.".into()),
            error: None,
        },
        Err(error @ Error::NoPendingPriceChange) => Shown {
            fields: None,
            notice: None,
            error: Some(error),
        },
        Err(error) => return error_page(error, layout),
    };
    page_for(&state, &seller, &code, layout, shown).await
}
