//! Tollgate: self-hosted billing, licensing and metering. This crate is the server: configuration, services,
//! the web layer, background workers and the command line. The rules live in `tollgate-domain`, the database in
//! `tollgate-store`.

pub mod clock;
pub mod config;
mod demo;
pub mod error;
pub mod gateway;
pub mod http;
pub mod keyring;
pub mod mail;
pub mod secrets;
pub mod services;
pub mod startup;
pub mod state;
pub mod workers;
