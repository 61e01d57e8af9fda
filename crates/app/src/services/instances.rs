//! Machine-image products (reference 7.2, CONTRACT section 8): images carry a product code for good; the compute
//! host launches instances only for subscribed customers in configured regions and types; every started
//! instance-hour is a usage record (R18); the code's owner can confirm an instance's product.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tollgate_domain::calendar::Month;
use tollgate_domain::codes::is_product_code;
use tollgate_domain::instances::{hour_start, hours_due};
use tollgate_domain::json::Object;
use tollgate_domain::pricing::{COMPUTE_HOURS_PREFIX, ProductKind};
use tollgate_domain::subscription::SubscriptionState;
use tollgate_store::instances::{Image, Instance};
use tollgate_store::products::Product;
use tollgate_store::sellers::Seller;
use tollgate_store::usage::UsageRecord;
use tollgate_store::{StoreError, instant, millis};

use crate::error::{Error, LicenseError, Result};
use crate::services::license;
use crate::services::products::ProductView;
use crate::state::AppState;

/// Image identifiers as compute hosts write them (`img-5bae4b32`).
fn image_id(path: &str, text: &str) -> Result<String> {
    let valid =
        (1..=128).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if valid {
        Ok(text.to_owned())
    } else {
        Err(Error::field(path, "must be 1 to 128 letters, digits, '.', '_' or '-'"))
    }
}

/// A product code in a request: the seller's own product, else 403 (another seller's) or 404 (none).
async fn own_product(state: &AppState, seller: &Seller, code: &str) -> Result<Product> {
    let product = match is_product_code(code) {
        true => state.store.product_by_code(code).await?,
        false => None,
    };
    match product {
        None => Err(Error::NotFound("product")),
        Some(p) if p.seller_id != seller.id => Err(Error::Forbidden("the product belongs to another seller")),
        Some(p) => Ok(p),
    }
}

/// `POST /api/v1/images`: attaches one of the seller's machine-image products to an image, permanently.
pub async fn attach_image(state: &AppState, seller: &Seller, body: &Value) -> Result<Image> {
    let mut obj = Object::new("", body)?;
    let image = image_id("image_id", obj.required_str("image_id")?)?;
    let code = obj.required_str("product_code")?;
    obj.finish()?;
    // An image keeps its first product code whoever asks and for whichever product (CONTRACT section 8).
    if state.store.image(&image).await?.is_some() {
        return Err(Error::ImageAlreadyAttached);
    }
    let product = own_product(state, seller, code).await?;
    if product.kind != ProductKind::MachineImage.as_str() {
        return Err(Error::field("product_code", "is not a machine_image product"));
    }
    let image = Image {
        image_id: image,
        product_id: product.id,
        attached_at: millis(state.now().await?),
    };
    match state.store.attach_image(&image).await {
        Ok(()) => Ok(image),
        Err(StoreError::Conflict) => Err(Error::ImageAlreadyAttached),
        Err(e) => Err(e.into()),
    }
}

/// `POST /api/v1/instances`, called by the compute host: checked in the contract's order, an unknown image (404),
/// then the subscription (403), then the configuration (400).
pub async fn launch(state: &AppState, body: &Value) -> Result<Instance> {
    let mut obj = Object::new("", body)?;
    let image_id = obj.required_str("image_id")?;
    let email = obj.required_str("customer_email")?;
    let region = obj.required_str("region")?;
    let environment = obj.required_str("environment")?;
    let instance_type = obj.required_str("instance_type")?;
    obj.finish()?;

    let image = state.store.image(image_id).await?.ok_or(Error::NotFound("image"))?;
    let now = state.now().await?;
    let customer = state.store.account_by_email(&email.trim().to_lowercase()).await?;
    let subscription = match &customer {
        Some(customer) => state.store.open_subscription(&customer.id, &image.product_id).await?,
        None => None,
    };
    let (Some(customer), Some(subscription)) = (customer, subscription) else {
        return Err(Error::License(LicenseError::UserNotSubscribed));
    };
    if subscription.state != SubscriptionState::Active.as_str() {
        return Err(Error::License(LicenseError::UserNotSubscribed));
    }
    let product = state
        .store
        .product(&image.product_id)
        .await?
        .ok_or(Error::NotFound("product"))?;
    let view = ProductView::load_at(state, product, now).await?;
    let configured = view
        .price
        .configurations
        .iter()
        .any(|c| c.region == region && c.environment == environment && c.instance_type == instance_type);
    if !configured {
        return Err(Error::UnsupportedConfiguration);
    }
    let instance = Instance {
        id: format!("i-{}", uuid::Uuid::now_v7().simple()),
        image_id: image.image_id,
        product_id: view.product.id.clone(),
        customer_id: customer.id,
        subscription_id: subscription.id,
        region: region.to_owned(),
        environment: environment.to_owned(),
        instance_type: instance_type.to_owned(),
        launched_at: millis(now),
        terminated_at: None,
        hours_recorded: 0,
        closed: false,
    };
    state
        .store
        .launch_instance(&instance, &hour_record(&instance, 0))
        .await?;
    Ok(instance)
}

/// The usage record of hour k, counted in the month it starts (R18).
/// Instance-hour k as a usage record, received when it starts (R18): an hour recorded late by the scheduler is not
/// late usage (R14).
fn hour_record(instance: &Instance, k: i64) -> UsageRecord {
    let starts = hour_start(instance.launched_at, k);
    UsageRecord {
        product_id: instance.product_id.clone(),
        record_id: format!("{}:{k}", instance.id),
        customer_id: instance.customer_id.clone(),
        subscription_id: instance.subscription_id.clone(),
        dimension: format!("{COMPUTE_HOURS_PREFIX}{}", instance.instance_type),
        quantity: "1".into(),
        configuration: Some(format!(
            "{}/{}/{}",
            instance.region, instance.environment, instance.instance_type
        )),
        occurred_at: starts,
        month: Month::of(instant(starts)).to_string(),
        received_at: starts,
    }
}

/// `POST /api/v1/instances/{id}/terminate`: idempotent; the hours started before it stay, no hour starts after.
pub async fn terminate(state: &AppState, id: &str) -> Result<Instance> {
    let now = state.now().await?;
    state.store.instance(id).await?.ok_or(Error::NotFound("instance"))?;
    state.store.terminate_instance(id, millis(now)).await?;
    record_due_hours(state, now).await?;
    state.store.instance(id).await?.ok_or(Error::NotFound("instance"))
}

/// Records every instance-hour that has started by `now` (R18). Hours stop at termination or at the end of the
/// subscription, whichever comes first.
pub async fn record_due_hours(state: &AppState, now: DateTime<Utc>) -> Result<()> {
    let now = millis(now);
    for open in state.store.open_instances().await? {
        let instance = &open.instance;
        let stop = [instance.terminated_at, open.canceled_at].into_iter().flatten().min();
        let due = hours_due(instance.launched_at, stop, now, instance.hours_recorded);
        let close = stop.is_some_and(|stop| stop <= now);
        if due.is_empty() && !close {
            continue;
        }
        let hours: Vec<UsageRecord> = due.clone().map(|k| hour_record(instance, k)).collect();
        state
            .store
            .record_instance_hours(&instance.id, due.start, &hours, close)
            .await?;
    }
    Ok(())
}

/// `POST /api/v1/instances/{id}/confirm-product`: whether the instance runs the seller's product, and whose it is.
pub async fn confirm(state: &AppState, seller: &Seller, id: &str, body: &Value) -> Result<Option<String>> {
    let mut obj = Object::new("", body)?;
    let code = obj.required_str("product_code")?;
    obj.finish()?;
    let product = own_product(state, seller, code).await?;
    let instance = state.store.instance(id).await?.filter(|i| i.product_id == product.id);
    let Some(instance) = instance else {
        return Ok(None);
    };
    let ids = license::identities(state, &instance.customer_id, &product).await?;
    Ok(Some(ids.persistent_identifier))
}
