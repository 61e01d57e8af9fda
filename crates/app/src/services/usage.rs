//! Usage metering (CONTRACT section 7, docs/rules.md R13-R17): batches of up to 1,000 records, each checked on its
//! own and answered on its own, the accepted ones written in one transaction. A record id counts once per product,
//! forever: the store's primary key decides, so racing retries of one batch count each record once.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use tollgate_domain::calendar::{Month, parse_instant};
use tollgate_domain::json::Object;
use tollgate_domain::money::parse_quantity;
use tollgate_domain::pricing::{COMPUTE_HOURS_PREFIX, CUSTOM_PREFIX, PriceSchedule};
use tollgate_domain::validation::{FieldError, FieldErrorKind};
use tollgate_store::license::Owner;
use tollgate_store::millis;
use tollgate_store::products::Product;
use tollgate_store::sellers::Seller;
use tollgate_store::subscriptions::Subscription;
use tollgate_store::usage::UsageRecord;

use crate::error::{Error, LicenseError, Result};
use crate::services::products::ProductView;
use crate::state::AppState;

pub const MAX_RECORDS: usize = 1_000;
const MAX_RECORD_ID: usize = 128;
/// How far ahead of the business clock a record may be stamped (R14): clocks of metering hosts drift.
const FUTURE_TOLERANCE: Duration = Duration::minutes(5);

/// Who reports usage: a seller for its own `custom.*` dimensions, the operator's metered services for platform ones.
pub enum Meter<'a> {
    Seller(&'a Seller),
    Operator,
}

#[derive(Debug)]
pub enum Outcome {
    Accepted,
    Duplicate,
    Rejected(Error),
}

#[derive(Debug)]
pub struct RecordResult {
    pub id: String,
    pub outcome: Outcome,
}

/// Records a batch; errors about the call as a whole (its shape, its size) write nothing (R15).
pub async fn ingest(state: &AppState, meter: &Meter<'_>, body: &Value) -> Result<Vec<RecordResult>> {
    let mut object = Object::new("", body)?;
    let records = object
        .required("records")?
        .as_array()
        .ok_or_else(|| FieldError::new("records", "must be an array of usage records"))?;
    object.finish()?;
    if records.len() > MAX_RECORDS {
        return Err(Error::TooManyRecords);
    }
    let now = state.now().await?;
    let mut lookups = Lookups::new(state, meter, now).await?;
    lookups.prefetch(records).await?;
    let mut results = Vec::with_capacity(records.len());
    let mut rows = Vec::with_capacity(records.len());
    // For each row, the result it answers.
    let mut answers = Vec::with_capacity(records.len());
    let mut in_batch = HashSet::with_capacity(records.len());
    for (i, value) in records.iter().enumerate() {
        let id = value.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
        let outcome = match lookups.check(&format!("records[{i}]"), value).await {
            Ok(row) if !in_batch.insert((row.product_id.clone(), row.record_id.clone())) => Outcome::Duplicate,
            Ok(row) => {
                rows.push(row);
                answers.push(results.len());
                Outcome::Accepted
            }
            Err(Error::Internal(e)) => return Err(Error::Internal(e)),
            Err(error) => Outcome::Rejected(error),
        };
        results.push(RecordResult { id, outcome });
    }
    let new = state.store.insert_usage_batch(&rows).await?;
    for (row, is_new) in new.into_iter().enumerate() {
        if !is_new {
            results[answers[row]].outcome = Outcome::Duplicate;
        }
    }
    Ok(results)
}

/// What the records of one batch look up, each once per batch.
struct Lookups<'a> {
    state: &'a AppState,
    meter: &'a Meter<'a>,
    now: DateTime<Utc>,
    platform_dimensions: HashSet<String>,
    products: HashMap<String, Option<(Product, PriceSchedule)>>,
    user_tokens: HashMap<String, Option<Owner>>,
    pids: HashMap<String, Option<Owner>>,
    subscriptions: HashMap<(String, String), Vec<Subscription>>,
}

/// A record's fields once its shape is right.
struct Fields<'v> {
    id: &'v str,
    product_code: &'v str,
    customer: Customer<'v>,
    dimension: &'v str,
    quantity: rust_decimal::Decimal,
    timestamp: DateTime<Utc>,
}

enum Customer<'v> {
    UserToken(&'v str),
    Pid(&'v str),
}

impl<'a> Lookups<'a> {
    async fn new(state: &'a AppState, meter: &'a Meter<'a>, now: DateTime<Utc>) -> Result<Lookups<'a>> {
        let platform_dimensions = match meter {
            Meter::Operator => state
                .store
                .dimensions(millis(now))
                .await?
                .into_iter()
                .map(|d| d.name)
                .collect(),
            Meter::Seller(_) => HashSet::new(),
        };
        Ok(Lookups {
            state,
            meter,
            now,
            platform_dimensions,
            products: HashMap::new(),
            user_tokens: HashMap::new(),
            pids: HashMap::new(),
            subscriptions: HashMap::new(),
        })
    }

    /// Reads the owners of every user token and PID the records name, and their customers' subscriptions, in
    /// three reads for the whole batch rather than some for each record. The checks read only what this found.
    async fn prefetch(&mut self, records: &[Value]) -> Result<()> {
        let named = |field: &str| -> Vec<&str> {
            let mut keys: Vec<&str> = records.iter().filter_map(|r| r.get(field)?.as_str()).collect();
            keys.sort_unstable();
            keys.dedup();
            keys
        };
        let (tokens, pids) = (named("user_token"), named("persistent_identifier"));
        let store = &self.state.store;
        let (token_owners, pid_owners) = (store.user_token_owners(&tokens).await?, store.pid_owners(&pids).await?);
        let mut customers: Vec<&str> = Vec::new();
        for (asked, owners, known) in [
            (&tokens, &token_owners, &mut self.user_tokens),
            (&pids, &pid_owners, &mut self.pids),
        ] {
            known.extend(asked.iter().map(|key| ((*key).to_owned(), None)));
            for owner in owners {
                customers.push(&owner.customer_id);
                known.insert(
                    owner.key.clone(),
                    Some(Owner {
                        customer_id: owner.customer_id.clone(),
                        scope_id: owner.scope_id.clone(),
                    }),
                );
            }
        }
        customers.sort_unstable();
        customers.dedup();
        for subscription in store.subscriptions_of_customers(&customers).await? {
            self.subscriptions
                .entry((subscription.customer_id.clone(), subscription.product_id.clone()))
                .or_default()
                .push(subscription);
        }
        Ok(())
    }

    /// The contract's checks, in its order: shape, product and dimension, customer, window, subscription.
    async fn check(&mut self, path: &str, value: &Value) -> Result<UsageRecord> {
        let fields = shape(path, value).map_err(|mut e| {
            // A record's shape is wrong as a whole: one code for every field (CONTRACT section 7).
            e.kind = FieldErrorKind::Invalid;
            Error::Field(e)
        })?;
        let (product, schedule) = self.product(fields.product_code).await?;
        self.check_dimension(path, &schedule, fields.dimension)?;
        let customer_id = self.customer(&product, &fields.customer)?;
        let month = Month::of(fields.timestamp);
        let current = Month::of(self.now);
        if (month != current && month != current.previous()) || fields.timestamp > self.now + FUTURE_TOLERANCE {
            return Err(Error::TimestampOutOfWindow);
        }
        let at = millis(fields.timestamp);
        let subscription_id = self
            .subscriptions(&customer_id, &product.id)
            .iter()
            .find(|s| s.activated_at.is_some_and(|from| from <= at) && s.canceled_at.is_none_or(|to| at < to))
            .map(|s| s.id.clone())
            .ok_or(Error::License(LicenseError::UserNotSubscribed))?;
        Ok(UsageRecord {
            product_id: product.id.clone(),
            record_id: fields.id.to_owned(),
            customer_id,
            subscription_id,
            dimension: fields.dimension.to_owned(),
            quantity: fields.quantity.to_string(),
            configuration: None,
            occurred_at: at,
            month: month.to_string(),
            received_at: millis(self.now),
        })
    }

    async fn product(&mut self, code: &str) -> Result<(Product, PriceSchedule)> {
        if !self.products.contains_key(code) {
            let found = match self.state.store.product_by_code(code).await? {
                Some(product) => {
                    let view = ProductView::load_at(self.state, product, self.now).await?;
                    Some((view.product, view.price))
                }
                None => None,
            };
            self.products.insert(code.to_owned(), found);
        }
        let (product, schedule) = self.products[code].clone().ok_or(Error::NotFound("product"))?;
        if let Meter::Seller(seller) = self.meter
            && product.seller_id != seller.id
        {
            return Err(Error::Forbidden("the product belongs to another seller"));
        }
        Ok((product, schedule))
    }

    /// Sellers report their own `custom.*` dimensions that the product prices (R17); the operator reports
    /// platform dimensions of the catalogue, priced or not. Instance hours are recorded by Tollgate itself (R18).
    fn check_dimension(&self, path: &str, schedule: &PriceSchedule, name: &str) -> Result<()> {
        let custom = name.starts_with(CUSTOM_PREFIX);
        let unknown = || Error::Field(FieldError::unknown_dimension(format!("{path}.dimension"), name));
        match self.meter {
            Meter::Seller(_) if !custom => Err(Error::Forbidden(
                "sellers report their own custom.* dimensions; platform usage is reported by the operator",
            )),
            Meter::Seller(_) => match schedule.pricing.usage.iter().any(|u| u.dimension == name) {
                true => Ok(()),
                false => Err(unknown()),
            },
            Meter::Operator if custom => Err(Error::Forbidden(
                "custom.* dimensions are reported by the product's seller",
            )),
            Meter::Operator if name.starts_with(COMPUTE_HOURS_PREFIX) => Err(Error::Forbidden(
                "instance hours are recorded by Tollgate from the instances it launches",
            )),
            Meter::Operator => match self.platform_dimensions.contains(name) {
                true => Ok(()),
                false => Err(unknown()),
            },
        }
    }

    /// The customer named by a user token of this product or a PID issued by its seller, as prefetched.
    fn customer(&self, product: &Product, customer: &Customer<'_>) -> Result<String> {
        match *customer {
            Customer::UserToken(token) => match self.user_tokens.get(token).and_then(Option::as_ref) {
                Some(owner) if owner.scope_id == product.id => Ok(owner.customer_id.clone()),
                _ => Err(Error::License(LicenseError::InvalidUserToken)),
            },
            Customer::Pid(pid) => match self.pids.get(pid).and_then(Option::as_ref) {
                Some(owner) if owner.scope_id == product.seller_id => Ok(owner.customer_id.clone()),
                _ => Err(Error::License(LicenseError::InvalidPersistentIdentifier)),
            },
        }
    }

    /// The customer's subscriptions to the product, as prefetched.
    fn subscriptions(&self, customer_id: &str, product_id: &str) -> &[Subscription] {
        self.subscriptions
            .get(&(customer_id.to_owned(), product_id.to_owned()))
            .map_or(&[], Vec::as_slice)
    }
}

/// A record's fields, each of the right form.
fn shape<'v>(path: &str, value: &'v Value) -> Result<Fields<'v>, FieldError> {
    let mut record = Object::new(path, value)?;
    let id = record.required_str("id")?;
    if id.is_empty() || id.chars().count() > MAX_RECORD_ID || id.chars().any(char::is_control) {
        return Err(FieldError::new(
            record.path_of("id"),
            format!("must be 1 to {MAX_RECORD_ID} printable characters"),
        ));
    }
    let product_code = record.required_str("product_code")?;
    let customer = match (
        record.optional_str("user_token")?,
        record.optional_str("persistent_identifier")?,
    ) {
        (Some(token), None) => Customer::UserToken(token),
        (None, Some(pid)) => Customer::Pid(pid),
        _ => {
            return Err(FieldError::new(
                record.path_of("user_token"),
                "name the customer by exactly one of user_token and persistent_identifier",
            ));
        }
    };
    let dimension = record.required_str("dimension")?;
    let quantity_path = record.path_of("quantity");
    let quantity =
        parse_quantity(record.required_str("quantity")?).map_err(|e| FieldError::new(quantity_path, e.to_string()))?;
    let timestamp_path = record.path_of("timestamp");
    let timestamp = parse_instant(record.required_str("timestamp")?).ok_or_else(|| {
        FieldError::new(
            timestamp_path,
            "must be an RFC 3339 instant such as 2027-06-18T09:00:00Z",
        )
    })?;
    record.finish()?;
    Ok(Fields {
        id,
        product_code,
        customer,
        dimension,
        quantity,
        timestamp,
    })
}
