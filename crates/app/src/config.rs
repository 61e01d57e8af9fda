//! Configuration: one clap struct whose fields read a flag or its environment variable (CONTRACT section 1).

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};
use rust_decimal::Decimal;

use tollgate_domain::Money;
use tollgate_domain::fees::FeeSchedule;

#[derive(Debug, Parser)]
#[command(name = "tollgate", version, about = "Self-hosted billing, licensing and metering")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant, reason = "parsed once at start-up")]
pub enum Command {
    /// Apply pending migrations, then serve pages, the JSON API and the background workers.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(DatabaseArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite://path` (created when missing) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://./tollgate-data/tollgate.db")]
    pub database_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Address to listen on; port 0 picks a free one.
    #[arg(long, env = "TOLLGATE_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// The URL people reach Tollgate at; defaults to http:// and the bound address.
    #[arg(long, env = "TOLLGATE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Sandbox payment gateway and simulated business clock.
    #[arg(long, env = "TOLLGATE_SANDBOX", value_parser = parse_flag, default_value = "false", num_args = 0..=1, default_missing_value = "true")]
    pub sandbox: bool,

    /// RFC 3339 instant the simulated clock starts at when the database has none stored.
    #[arg(long, env = "TOLLGATE_SANDBOX_START")]
    pub sandbox_start: Option<String>,

    /// Load a demo seller, products and customer (implies --sandbox).
    #[arg(long)]
    pub demo: bool,

    /// `smtp://host:port` or `smtps://user:pass@host:port`; unset, e-mails stay in the outbox.
    #[arg(long, env = "TOLLGATE_SMTP_URL")]
    pub smtp_url: Option<String>,

    #[arg(
        long,
        env = "TOLLGATE_MAIL_FROM",
        default_value = "Tollgate <billing@localhost>",
        hide = true
    )]
    pub mail_from: String,

    #[arg(long, env = "TOLLGATE_OPERATOR_NAME", default_value = "Tollgate", hide = true)]
    pub operator_name: String,

    #[arg(long, env = "TOLLGATE_FEE_PERCENT", default_value = "3", hide = true)]
    pub fee_percent: Decimal,

    #[arg(long, env = "TOLLGATE_FEE_PER_BILL", default_value = "0.30", hide = true)]
    pub fee_per_bill: String,

    /// 32 bytes in base64: encrypts the secrets that must stay usable. On SQLite made into `secret.key` beside the
    /// database when unset; required with PostgreSQL.
    #[arg(long, env = "TOLLGATE_SECRET_KEY", hide_env_values = true, hide = true)]
    pub secret_key: Option<String>,

    /// The operator API's bearer token; unset, the operator API refuses every call.
    #[arg(long, env = "TOLLGATE_OPERATOR_TOKEN", hide_env_values = true, hide = true)]
    pub operator_token: Option<String>,
}

/// `TOLLGATE_SANDBOX=1` as the contract writes it, and the usual spellings of true and false.
fn parse_flag(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        other => Err(format!("expected 1 or 0, not {other:?}")),
    }
}

impl ServeArgs {
    pub fn fees(&self) -> anyhow::Result<FeeSchedule> {
        let per_bill =
            Money::parse_price(&self.fee_per_bill).map_err(|e| anyhow::anyhow!("TOLLGATE_FEE_PER_BILL {e}"))?;
        anyhow::ensure!(
            self.fee_percent >= Decimal::ZERO && self.fee_percent <= Decimal::ONE_HUNDRED,
            "TOLLGATE_FEE_PERCENT must be between 0 and 100"
        );
        Ok(FeeSchedule {
            percent: self.fee_percent,
            per_bill,
        })
    }

    /// Settings for tests and embedding: everything at its default, on the given database.
    pub fn for_database(database_url: &str) -> ServeArgs {
        let mut args = Cli::parse_from(["tollgate", "serve", "--database-url", database_url]);
        match args.command {
            Command::Serve(ref mut serve) => {
                serve.addr = "127.0.0.1:0".parse().expect("valid address");
                serve.clone()
            }
            Command::Migrate(_) => unreachable!("parsed as serve"),
        }
    }
}
