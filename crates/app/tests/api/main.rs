//! The HTTP integration suite: every test starts the real server on a free port with a fresh database and drives
//! it over HTTP with the sandbox clock; each runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL.

mod helpers;

mod accounts;
mod bad_input;
mod billing;
mod crash;
mod instances;
mod license;
mod mail;
mod metering;
mod openapi;
mod price_changes;
mod products;
mod purchase;
mod reports;
mod sellers;
