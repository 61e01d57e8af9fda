//! Product registration, listing, details and edits (CONTRACT section 3), and the operator's dimension catalogue.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Utc};
use serde_json::{Value, json};
use tollgate_domain::calendar::{Month, format_instant};
use tollgate_domain::codes::{is_product_code, product_code};
use tollgate_domain::json::Object;
use tollgate_domain::pricing::{COMPUTE_HOURS_PREFIX, CUSTOM_PREFIX, PriceSchedule, ProductKind};
use tollgate_domain::rating::PriceFrom;
use tollgate_domain::validation::{http_url, optional_text, required_text};
use tollgate_domain::{FieldError, UnitPrice};
use tollgate_store::catalogue::Dimension;
use tollgate_store::products::{PriceVersion, Product, ProductDetails};
use tollgate_store::sellers::Seller;
use tollgate_store::{StoreError, instant, millis, new_id};

use crate::error::{Error, Result};
use crate::secrets::random_token;
use crate::state::AppState;

const TOKEN_PREFIX: &str = "{ProductToken}";

/// A product with the price in force, as the API and the console show it.
pub struct ProductView {
    pub product: Product,
    pub kind: ProductKind,
    pub price: PriceSchedule,
    pub purchase_url: String,
}

impl ProductView {
    /// The product with the price in force now.
    pub async fn load(state: &AppState, product: Product) -> Result<ProductView> {
        let now = state.now().await?;
        ProductView::load_at(state, product, now).await
    }

    /// The product with the price in force at `at`.
    pub async fn load_at(state: &AppState, product: Product, at: DateTime<Utc>) -> Result<ProductView> {
        let version = state.store.price_at(&product.id, millis(at)).await?;
        let kind = kind_of(&product)?;
        let price = schedule_of(kind, &version)?;
        let purchase_url = state.settings.url(&format!("/purchase/{}", product.offering_code));
        Ok(ProductView {
            product,
            kind,
            price,
            purchase_url,
        })
    }

    pub fn to_json(&self) -> Value {
        let p = &self.product;
        json!({
            "product_code": p.code,
            "product_token": p.token,
            "offering_code": p.offering_code,
            "purchase_url": self.purchase_url,
            "name": p.name,
            "description": p.description,
            "kind": self.kind.as_str(),
            "redirect_url": p.redirect_url,
            "terms_url": p.terms_url,
            "support_contact": p.support_contact,
            "pricing": self.price.pricing.to_json(),
            "configurations": self.price.configurations_json(),
            "created_at": format_instant(instant(p.created_at)),
        })
    }
}

/// A stored product's kind; one that does not parse is corrupt data.
pub fn kind_of(product: &Product) -> Result<ProductKind> {
    Ok(ProductKind::parse(&product.kind).ok_or_else(|| anyhow::anyhow!("product kind {}", product.kind))?)
}

/// The prices of a product in force during a month, each from its first day (R26).
pub async fn prices_in(state: &AppState, product: &Product, month: Month) -> Result<Vec<PriceFrom>> {
    let kind = kind_of(product)?;
    let versions = state
        .store
        .prices_during(&product.id, millis(month.start()), millis(month.next().start()))
        .await?;
    versions
        .iter()
        .enumerate()
        .map(|(i, version)| {
            Ok(PriceFrom {
                // The first is in force from the month's start; each later one from its own day (at 00:00).
                day: if i == 0 { 1 } else { instant(version.effective_at).day() },
                schedule: schedule_of(kind, version)?,
            })
        })
        .collect()
}

pub fn schedule_of(kind: ProductKind, version: &PriceVersion) -> Result<PriceSchedule> {
    let pricing: Value = serde_json::from_str(&version.pricing).map_err(anyhow::Error::from)?;
    let configurations: Value = serde_json::from_str(&version.configurations).map_err(anyhow::Error::from)?;
    PriceSchedule::from_stored(kind, &pricing, &configurations)
        .map_err(|e| Error::Internal(anyhow::anyhow!("stored price {} is invalid: {e}", version.id)))
}

/// Names of the operator's platform dimensions, for validating usage prices.
pub(crate) async fn platform_dimensions(state: &AppState) -> Result<HashSet<String>> {
    let now = millis(state.now().await?);
    Ok(state.store.dimensions(now).await?.into_iter().map(|d| d.name).collect())
}

fn read_details(obj: &mut Object<'_>, current: Option<&Product>) -> Result<ProductDetails, FieldError> {
    let name = match obj.optional_str("name")? {
        Some(name) => required_text("name", name, 200)?,
        None => match current {
            Some(p) => p.name.clone(),
            None => return Err(FieldError::missing("name")),
        },
    };
    let description = match obj.optional_str("description")? {
        Some(text) => optional_text("description", text, 5000)?.unwrap_or_default(),
        None => current.map(|p| p.description.clone()).unwrap_or_default(),
    };
    let redirect_url = match obj.optional_str("redirect_url")? {
        Some(url) => http_url("redirect_url", url)?,
        None => match current {
            Some(p) => p.redirect_url.clone(),
            None => return Err(FieldError::missing("redirect_url")),
        },
    };
    let patching = current.is_some();
    let terms_url = optional_url(obj, "terms_url", current.and_then(|p| p.terms_url.clone()), patching)?;
    let support_contact = if !patching || obj.contains("support_contact") {
        obj.optional_str("support_contact")?
            .map(|t| optional_text("support_contact", t, 200))
            .transpose()?
            .flatten()
    } else {
        current.and_then(|p| p.support_contact.clone())
    };
    Ok(ProductDetails {
        name,
        description,
        redirect_url,
        terms_url,
        support_contact,
    })
}

/// A nullable URL field: absent keeps the current value when patching; `null` or empty clears it.
fn optional_url(
    obj: &mut Object<'_>,
    field: &'static str,
    current: Option<String>,
    patching: bool,
) -> Result<Option<String>, FieldError> {
    if patching && !obj.contains(field) {
        return Ok(current);
    }
    match obj.optional_str(field)? {
        Some(url) if !url.trim().is_empty() => Ok(Some(http_url(field, url)?)),
        _ => Ok(None),
    }
}

/// Registers a product for a seller from the JSON of CONTRACT section 3 (the console's form sends the same).
pub async fn register(state: &AppState, seller: &Seller, body: &Value) -> Result<ProductView> {
    let platform = platform_dimensions(state).await?;
    let mut obj = Object::new("", body)?;
    let details = read_details(&mut obj, None)?;
    let kind_text = obj.required_str("kind")?;
    let kind = ProductKind::parse(kind_text)
        .ok_or_else(|| FieldError::new("kind", "must be desktop, hosted or machine_image"))?;
    let pricing = obj.required("pricing")?;
    let configurations = obj.optional_array("configurations")?;
    let schedule = PriceSchedule::parse(kind, pricing, configurations, &|name| platform.contains(name))?;
    obj.finish()?;

    let now = millis(state.now().await?);
    // R31: an instance type the catalogue lacks gets its hours dimension, at no base cost until the operator sets one.
    for configuration in &schedule.configurations {
        let dimension = format!("{COMPUTE_HOURS_PREFIX}{}", configuration.instance_type);
        state.store.ensure_dimension(&dimension, "hour", "0.00", now).await?;
    }
    // Codes are random; a collision is astronomically rare but simply retried.
    for _ in 0..5 {
        let product = Product {
            id: new_id(),
            seller_id: seller.id.clone(),
            code: product_code(rand::random()),
            offering_code: product_code(rand::random()),
            token: format!("{TOKEN_PREFIX}{}", random_token::<48>()),
            kind: kind.as_str().to_owned(),
            name: details.name.clone(),
            description: details.description.clone(),
            redirect_url: details.redirect_url.clone(),
            terms_url: details.terms_url.clone(),
            support_contact: details.support_contact.clone(),
            created_at: now,
            updated_at: now,
        };
        let price = PriceVersion {
            id: new_id(),
            product_id: product.id.clone(),
            effective_at: now,
            pricing: schedule.pricing.to_json().to_string(),
            configurations: schedule.configurations_json().to_string(),
        };
        match state.store.create_product(&product, &price).await {
            Ok(()) => return ProductView::load(state, product).await,
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Internal(anyhow::anyhow!("could not find a free product code")))
}

pub async fn list(state: &AppState, seller: &Seller) -> Result<Vec<ProductView>> {
    let mut views = Vec::new();
    for product in state.store.products_of_seller(&seller.id).await? {
        views.push(ProductView::load(state, product).await?);
    }
    Ok(views)
}

/// One of the seller's own products: another seller's is refused (403), an unknown code is 404.
pub async fn owned(state: &AppState, seller: &Seller, code: &str) -> Result<Product> {
    if !is_product_code(code) {
        return Err(Error::NotFound("product"));
    }
    match state.store.product_by_code(code).await? {
        None => Err(Error::NotFound("product")),
        Some(p) if p.seller_id != seller.id => Err(Error::Forbidden("the product belongs to another seller")),
        Some(p) => Ok(p),
    }
}

/// Changes the non-price fields; prices change only through price changes (CONTRACT section 10).
pub async fn update(state: &AppState, seller: &Seller, code: &str, body: &Value) -> Result<ProductView> {
    let product = owned(state, seller, code).await?;
    let mut obj = Object::new("", body)?;
    for fixed in [
        "pricing",
        "configurations",
        "kind",
        "product_code",
        "product_token",
        "offering_code",
    ] {
        if obj.contains(fixed) {
            return Err(Error::field(
                fixed,
                "cannot be changed here; prices change through a price change",
            ));
        }
    }
    let details = read_details(&mut obj, Some(&product))?;
    obj.finish()?;
    state
        .store
        .update_product(&product.id, &details, millis(state.now().await?))
        .await?;
    let updated = state
        .store
        .product(&product.id)
        .await?
        .ok_or(Error::NotFound("product"))?;
    ProductView::load(state, updated).await
}

/// A product by its code; an unknown code is 404.
pub async fn by_code(state: &AppState, code: &str) -> Result<Product> {
    state
        .store
        .product_by_code(code)
        .await?
        .ok_or(Error::NotFound("product"))
}

/// A product by its code with its seller, as bills and statements name them.
pub async fn with_seller(state: &AppState, code: &str) -> Result<(Product, Seller)> {
    let product = by_code(state, code).await?;
    let seller = state
        .store
        .seller(&product.seller_id)
        .await?
        .ok_or(Error::NotFound("seller"))?;
    Ok((product, seller))
}

pub async fn dimensions(state: &AppState) -> Result<Vec<Dimension>> {
    Ok(state.store.dimensions(millis(state.now().await?)).await?)
}

/// Adds a platform dimension or changes its base cost from now on (CONTRACT section 3).
pub async fn put_dimension(state: &AppState, name: &str, body: &Value) -> Result<Dimension> {
    let valid_name = name.len() <= 64
        && !name.starts_with(CUSTOM_PREFIX)
        && name.split('.').count() >= 2
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        });
    if !valid_name {
        return Err(Error::field(
            "name",
            "platform dimensions are named like storage.gb_month, and never custom.*",
        ));
    }
    let mut obj = Object::new("", body)?;
    let unit = required_text("unit", obj.required_str("unit")?, 40)?;
    let base_cost =
        UnitPrice::parse(obj.required_str("base_cost")?).map_err(|e| Error::field("base_cost", &e.to_string()))?;
    obj.finish()?;
    let now = millis(state.now().await?);
    state
        .store
        .put_dimension(name, &unit, &base_cost.to_string(), now)
        .await?;
    Ok(Dimension {
        name: name.to_owned(),
        unit,
        base_cost: base_cost.to_string(),
    })
}
