//! Bills as the operator's support route shows them (CONTRACT section 9).

use serde_json::{Value, json};
use tollgate_domain::Money;
use tollgate_domain::calendar::format_instant;
use tollgate_store::instant;

use crate::error::{Error, Result};
use crate::state::AppState;

/// Every bill of the customer with this e-mail, oldest first, with its lines.
pub async fn customer_bills(state: &AppState, email: &str) -> Result<Vec<Value>> {
    let account = state
        .store
        .account_by_email(&email.trim().to_lowercase())
        .await?
        .ok_or(Error::NotFound("customer"))?;
    let bills = state.store.bills_of_customer(&account.id).await?;
    let lines = state.store.bill_lines_of_customer(&account.id).await?;
    Ok(bills
        .iter()
        .map(|bill| {
            let lines: Vec<Value> = lines
                .iter()
                .filter(|l| l.bill_id == bill.id)
                .map(|l| {
                    let mut line = json!({
                        "product_code": l.product_code,
                        "kind": l.kind,
                        "amount": Money::from_cents(l.amount_cents).to_string(),
                        "description": l.description,
                    });
                    if let Some(dimension) = &l.dimension {
                        line["dimension"] = json!(dimension);
                    }
                    if let Some(quantity) = &l.quantity {
                        line["quantity"] = json!(quantity);
                    }
                    line
                })
                .collect();
            json!({
                "id": bill.id,
                "kind": bill.kind,
                "period": bill.period,
                "issued_at": format_instant(instant(bill.issued_at)),
                "total": Money::from_cents(bill.total_cents).to_string(),
                "status": bill.status,
                "attempts": bill.attempts,
                "lines": lines,
            })
        })
        .collect())
}
