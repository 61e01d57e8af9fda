//! Dunning (docs/rules.md R22): a monthly bill whose charge failed is retried at 00:00 on the 7th, 14th and 21st of
//! its month, each failure sending the "Billing Alert"; access stays meanwhile; when the 21st's retry fails the
//! customer's subscriptions on the bill are canceled for nonpayment, and the bill is reduced by the unused part of
//! their fees (R23). A new card's immediate retry comes on top of these.

use chrono::{DateTime, Datelike, Duration, Utc};
use tollgate_domain::billing::{BillKind, BillStatus};
use tollgate_domain::calendar::Month;
use tollgate_domain::subscription::{CancelReason, SubscriptionState};
use tollgate_store::bills::Bill;
use tollgate_store::instant;

use crate::error::{Error, Result};
use crate::services::{cancellation, payments, products};
use crate::state::AppState;

/// The days of the month whose midnight retries failed monthly bills.
pub const RETRY_DAYS: [u32; 3] = [7, 14, 21];

/// When a monthly bill whose charge failed at `now` is tried again by the calendar (R22): the next retry day of the
/// month it was issued in, if one is left. A new card tries it at once besides.
pub fn next_retry(bill: &Bill, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let month = Month::of(now);
    if bill.kind != BillKind::Monthly.as_str() || Month::of(instant(bill.issued_at)) != month {
        return None;
    }
    let day = RETRY_DAYS.into_iter().find(|day| *day > now.day())?;
    Some(month.start() + Duration::days(i64::from(day) - 1))
}

/// Retries, as of `at` (a retry day's midnight), every monthly bill issued this month whose last charge failed.
pub async fn retry(state: &AppState, at: DateTime<Utc>) -> Result<()> {
    let period = Month::of(at).previous().to_string();
    // Each retry day is its own slot: running the day again makes no second charge.
    let slot = format!("retry:{}", at.format("%Y-%m-%d"));
    for bill in state.store.monthly_bills(&period, BillStatus::Failed.as_str()).await? {
        match payments::charge_in_slot(state, &bill.id, &slot, at).await {
            Ok(_) => {}
            Err(Error::GatewayUnavailable) => {
                tracing::warn!(bill = %bill.id, "retry not made: the gateway is unavailable; it will be resumed");
            }
            Err(error) => return Err(error),
        }
    }
    if at.day() == RETRY_DAYS[2] {
        for bill in state.store.monthly_bills(&period, BillStatus::Failed.as_str()).await? {
            cancel_for_nonpayment(state, &bill, at).await?;
        }
    }
    Ok(())
}

/// Cancels the customer's subscriptions that the unpaid bill charges, if still active.
async fn cancel_for_nonpayment(state: &AppState, bill: &Bill, at: DateTime<Utc>) -> Result<()> {
    let customer = state
        .store
        .account(&bill.customer_id)
        .await?
        .ok_or(Error::NotFound("customer"))?;
    let mut codes: Vec<String> = state
        .store
        .bill_lines(&bill.id)
        .await?
        .into_iter()
        .map(|l| l.product_code)
        .collect();
    codes.dedup();
    for code in codes {
        let product = products::by_code(state, &code).await?;
        let Some(subscription) = state.store.open_subscription(&customer.id, &product.id).await? else {
            continue;
        };
        if subscription.state != SubscriptionState::Active.as_str() {
            continue;
        }
        match cancellation::cancel(state, &customer, &product, &subscription, CancelReason::Nonpayment, at).await {
            Ok(_) | Err(Error::Busy(_)) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}
