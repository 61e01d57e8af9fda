//! Bills and their lines as the API shows them (CONTRACT section 9).

use crate::calendar::Month;
use crate::subscription::text_enum;

text_enum! {
    BillKind { Signup = "signup", Monthly = "monthly", Refund = "refund" }
}

text_enum! {
    /// `Pending`: issued, no attempt finished; `Failed`: the last attempt failed; `Void`: closed uncollected (R10).
    BillStatus { Pending = "pending", Failed = "failed", Paid = "paid", Void = "void" }
}

text_enum! {
    LineKind { SignupFee = "signup_fee", MonthlyFee = "monthly_fee", Usage = "usage", Refund = "refund" }
}

impl BillStatus {
    /// Whether a new card should retry this bill (R10): unpaid and not closed.
    pub fn is_collectible(self) -> bool {
        matches!(self, BillStatus::Pending | BillStatus::Failed)
    }
}

/// The month whose activity a bill line charges (R19, R29): the month the line names when it names one (a usage
/// line's month of usage, late ones included (R14), or the month a price change's fee difference covers, R26); any
/// other usage line its bill's period; a fee or reduction on a 1st's bill that 1st's month, charged in advance; any
/// other line its bill's period, the month it was issued in. `None` for a month that does not parse.
pub fn activity_month(
    bill_kind: &str,
    period: &str,
    issued_in: Month,
    line_kind: &str,
    usage_month: Option<&str>,
) -> Option<Month> {
    if let Some(month) = usage_month {
        return month.parse().ok();
    }
    if line_kind == LineKind::Usage.as_str() {
        return period.parse().ok();
    }
    if bill_kind == BillKind::Monthly.as_str() {
        return Some(issued_in);
    }
    period.parse().ok()
}
