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

/// The server's hot paths (license checks, usage batches) make and drop many small strings per request; mimalloc
/// keeps per-thread free lists where the system allocator takes locks. Declared here so that the binary, the tests
/// and the benchmarks all run on the same allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
