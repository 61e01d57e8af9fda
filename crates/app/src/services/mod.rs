//! What happens when: each module is one capability, using the domain rules, the store, the clocks, the gateway and
//! the outbox that [`crate::state::AppState`] carries.

pub mod accounts;
pub mod activation;
pub mod activity;
pub mod bills;
pub mod cancellation;
pub mod clock;
pub mod dunning;
pub mod instances;
pub mod license;
pub mod month_to_date;
pub mod monthly_billing;
pub mod payments;
pub mod price_changes;
pub mod price_table;
pub mod products;
pub mod purchase;
pub mod reports;
pub mod sellers;
pub mod settlement;
pub mod statement;
pub mod usage;

/// An exact decimal the store keeps as text (a usage quantity, a base cost); one that does not parse is corrupt data.
pub(crate) fn stored_decimal(what: &str, text: &str) -> crate::error::Result<rust_decimal::Decimal> {
    text.parse()
        .map_err(|_| anyhow::anyhow!("stored {what} {text:?} is not a decimal").into())
}
