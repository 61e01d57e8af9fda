//! The run's database, for the benchmarks that run on SQLite or, with BENCH_DATABASE_URL, on PostgreSQL.

use anyhow::{Context, ensure};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sqlx::{Connection, Executor, PgConnection};
use tollgate::config::ServeArgs;
use tollgate::startup::{Application, RunningApp};

use super::TempDir;

/// The server's secret key on PostgreSQL, where it must be configured: any fixed 32 bytes do for a benchmark.
const SECRET_KEY: [u8; 32] = [7; 32];

/// The run's own database: an SQLite file in a temporary folder, or a PostgreSQL database made from the admin URL
/// in BENCH_DATABASE_URL. Removed by [`Database::remove`]; the folder also when the run fails.
pub struct Database {
    pub url: String,
    place: Place,
}

enum Place {
    Sqlite(TempDir),
    Postgres { admin_url: String, name: String },
}

impl Database {
    pub async fn create() -> anyhow::Result<Database> {
        let admin_url = std::env::var("BENCH_DATABASE_URL").ok().filter(|u| !u.is_empty());
        let Some(admin_url) = admin_url else {
            let dir = TempDir::new();
            return Ok(Database {
                url: format!("sqlite://{}", dir.0.join("tollgate.db").display()),
                place: Place::Sqlite(dir),
            });
        };
        ensure!(
            admin_url.starts_with("postgres://") || admin_url.starts_with("postgresql://"),
            "BENCH_DATABASE_URL must be a postgres:// URL"
        );
        let name = format!("tollgate_bench_{}", uuid::Uuid::now_v7().simple());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .context("connecting to BENCH_DATABASE_URL")?;
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .with_context(|| format!("creating the database {name}"))?;
        admin.close().await.ok();
        Ok(Database {
            url: with_database(&admin_url, &name),
            place: Place::Postgres { admin_url, name },
        })
    }

    /// The real server on this database, in this process, without mail. With `sandbox_start`, in the sandbox: the
    /// sandbox gateway and the simulated business clock starting then. Without, the business clock is the system's,
    /// so no request reads a clock row, and there is no payment gateway.
    pub async fn start_server(&self, sandbox_start: Option<&str>) -> anyhow::Result<RunningApp> {
        let mut args = ServeArgs::for_database(&self.url);
        args.sandbox = sandbox_start.is_some();
        args.sandbox_start = sandbox_start.map(str::to_owned);
        args.demo = false;
        args.smtp_url = None;
        if self.is_postgres() {
            args.secret_key = Some(STANDARD.encode(SECRET_KEY));
        }
        Ok(Application::build(args).await?.spawn())
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.place, Place::Postgres { .. })
    }

    pub fn backend(&self) -> &'static str {
        match self.place {
            Place::Sqlite(_) => "SQLite",
            Place::Postgres { .. } => "PostgreSQL",
        }
    }

    /// The SQLite file and its WAL, in bytes.
    pub fn size(&self) -> Option<u64> {
        let Place::Sqlite(dir) = &self.place else {
            return None;
        };
        let files = std::fs::read_dir(&dir.0).ok()?;
        Some(files.filter_map(|f| f.ok()?.metadata().ok()).map(|m| m.len()).sum())
    }

    pub async fn remove(self) {
        if let Place::Postgres { admin_url, name } = &self.place
            && let Ok(mut admin) = PgConnection::connect(admin_url).await
        {
            let dropped = admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await;
            if let Err(e) = dropped {
                eprintln!("could not drop the database {name}: {e}");
            }
            admin.close().await.ok();
        }
    }
}

/// The admin URL with its database replaced by `name`, its query kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let host_end = base.find("://").map_or(0, |i| i + 3);
    let cut = base[host_end..].find('/').map_or(base.len(), |i| host_end + i);
    let mut out = format!("{}/{name}", &base[..cut]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}
