//! Bills and their lines as the API shows them (CONTRACT section 9).

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
