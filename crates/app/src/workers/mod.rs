//! Background work: the scheduler of due work and the mail delivery loop, both resumable from the database alone.

pub mod mail;
pub mod scheduler;
