//! The customer's statement for a past month (docs/rules.md R19): the month's activity, whichever bill collected it.
//! June's statement shows June's sign-up and fees, June's usage (billed on July 1, late usage on a later bill), and
//! June's refunds; each line says which bill carries it.

use chrono::{DateTime, Utc};
use tollgate_domain::Money;
use tollgate_domain::billing::{BillStatus, activity_month};
use tollgate_domain::calendar::Month;
use tollgate_store::accounts::Account;
use tollgate_store::bills::{Bill, BillLineView};
use tollgate_store::instant;

use crate::error::{Error, Result};
use crate::services::month_to_date::month_to_date;
use crate::services::products;
use crate::state::AppState;

pub struct Statement {
    pub month: Month,
    pub products: Vec<StatementProduct>,
    pub total: Money,
}

/// One product's lines of the month.
pub struct StatementProduct {
    pub code: String,
    pub name: String,
    pub company_name: String,
    pub lines: Vec<StatementLine>,
    pub total: Money,
}

pub struct StatementLine {
    pub description: String,
    pub quantity: Option<String>,
    pub amount: Money,
    /// The bill that carries the line: when it was issued, and its status; `None` for usage of the current month,
    /// billed on the next 1st.
    pub bill: Option<(DateTime<Utc>, String)>,
}

/// The statement of `month` for the customer: a past month, or the current one to date, whose usage so far is not
/// on any bill yet and is shown rated as the billing page rates it. [`Error::NotFound`] for a later month.
pub async fn statement(state: &AppState, customer: &Account, month: Month) -> Result<Statement> {
    let now = state.now().await?;
    if month > Month::of(now) {
        return Err(Error::NotFound("statement (the month has not begun)"));
    }
    let bills = state.store.bills_of_customer(&customer.id).await?;
    let lines = state.store.bill_lines_of_customer(&customer.id).await?;
    let mut products: Vec<StatementProduct> = Vec::new();
    for line in &lines {
        let Some(bill) = bills.iter().find(|b| b.id == line.bill_id) else {
            continue;
        };
        // Void bills were never owed (R10).
        if bill.status == BillStatus::Void.as_str() || line_month(bill, line) != Some(month) {
            continue;
        }
        let index = match products.iter().position(|p| p.code == line.product_code) {
            Some(index) => index,
            None => {
                let (product, seller) = products::with_seller(state, &line.product_code).await?;
                products.push(StatementProduct {
                    code: product.code,
                    name: product.name,
                    company_name: seller.company_name,
                    lines: Vec::new(),
                    total: Money::ZERO,
                });
                products.len() - 1
            }
        };
        let amount = Money::from_cents(line.amount_cents);
        let product = &mut products[index];
        product.total += amount;
        product.lines.push(StatementLine {
            description: line.description.clone(),
            quantity: line.quantity.clone(),
            amount,
            bill: Some((instant(bill.issued_at), bill.status.clone())),
        });
    }
    if month == Month::of(now) {
        add_unbilled_usage(state, customer, &mut products).await?;
    }
    let total = products.iter().map(|p| p.total).sum();
    Ok(Statement { month, products, total })
}

/// The current month's usage so far, per product and dimension, as the billing page rates it.
async fn add_unbilled_usage(state: &AppState, customer: &Account, products: &mut Vec<StatementProduct>) -> Result<()> {
    let to_date = month_to_date(state, customer).await?;
    for product in to_date.products {
        let index = match products.iter().position(|p| p.code == product.code) {
            Some(index) => index,
            None => {
                products.push(StatementProduct {
                    code: product.code.clone(),
                    name: product.name.clone(),
                    company_name: product.company_name.clone(),
                    lines: Vec::new(),
                    total: Money::ZERO,
                });
                products.len() - 1
            }
        };
        let entry = &mut products[index];
        for usage in product.usage {
            entry.total += usage.charge;
            entry.lines.push(StatementLine {
                description: format!(
                    "{}: {} so far in {}",
                    product.name,
                    usage.dimension,
                    to_date.month.long_name()
                ),
                quantity: Some(usage.quantity.normalize().to_string()),
                amount: usage.charge,
                bill: None,
            });
        }
    }
    Ok(())
}

fn line_month(bill: &Bill, line: &BillLineView) -> Option<Month> {
    activity_month(
        &bill.kind,
        &bill.period,
        Month::of(instant(bill.issued_at)),
        &line.kind,
        line.usage_month.as_deref(),
    )
}
