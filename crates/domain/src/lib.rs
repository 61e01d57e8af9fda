//! Tollgate's billing rules as plain types and pure functions: no I/O, no async, no framework types.
//!
//! Every rule cites its number in `docs/rules.md`.

pub mod billing;
pub mod calendar;
pub mod card;
pub mod codes;
pub mod email;
pub mod fees;
pub mod instances;
pub mod json;
pub mod money;
pub mod pricing;
pub mod proration;
pub mod rating;
pub mod subscription;
pub mod validation;

pub use money::{Money, UnitPrice};
pub use validation::FieldError;
