//! E-mail: composing messages into the outbox (in the same transaction as their cause) and delivering them.

pub mod compose;
pub mod delivery;
