//! Tollgate's database: SQLite (embedded, the default) or PostgreSQL (scale-out), chosen by the URL's scheme.
//!
//! Every query is written once, in SQL that both dialects accept, and compiled for both connection types by
//! [`queries!`]; the public methods of [`Store`] run them in a read connection or a write transaction. Nothing
//! above this crate writes SQL.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub mod accounts;
pub mod bills;
pub mod catalogue;
pub mod clock;
pub mod instances;
pub mod ledger;
pub mod license;
pub mod monthly;
pub mod outbox;
pub mod payments;
mod point_read;
pub mod price_changes;
pub mod products;
pub mod reports;
pub mod sellers;
pub mod settlement;
pub mod subscriptions;
mod time;
pub mod usage;

pub use time::{instant, millis};

/// Declares a trait of queries and implements it for both connection types, so each SQL text is written once.
macro_rules! queries {
    ($vis:vis trait $trait:ident { $( $(#[$meta:meta])* async fn $name:ident(&mut $self:ident $(, $arg:ident : $ty:ty)* $(,)?) -> $ret:ty $body:block )* }) => {
        $vis trait $trait { $( $(#[$meta])* async fn $name(&mut $self $(, $arg: $ty)*) -> $ret; )* }
        impl $trait for sqlx::SqliteConnection { $( async fn $name(&mut $self $(, $arg: $ty)*) -> $ret $body )* }
        impl $trait for sqlx::PgConnection { $( async fn $name(&mut $self $(, $arg: $ty)*) -> $ret $body )* }
    };
}
pub(crate) use queries;

/// Runs `$body` with `$conn` bound to a pooled read connection of either backend.
macro_rules! read {
    ($store:expr, |$conn:ident| $body:expr) => {
        match &$store.db {
            $crate::Db::Sqlite { read, .. } => {
                let mut pooled = read.acquire().await?;
                let $conn: &mut sqlx::SqliteConnection = &mut pooled;
                $body
            }
            $crate::Db::Postgres(pool) => {
                let mut pooled = pool.acquire().await?;
                let $conn: &mut sqlx::PgConnection = &mut pooled;
                $body
            }
        }
    };
}
pub(crate) use read;

/// Runs `$body` (a `Result`) in a write transaction, committed only when it is `Ok`. The body runs as a block of its
/// own, so that a `?` or `return` in it ends the body, not the caller: its result, whatever refused the write (a
/// unique key, say), is what the caller gets back.
macro_rules! write {
    ($store:expr, |$conn:ident| $body:expr) => {
        match &$store.db {
            $crate::Db::Sqlite { write, .. } => {
                // IMMEDIATE takes the write lock up front, so a transaction never fails half-way on an upgrade.
                let mut tx = write.begin_with("BEGIN IMMEDIATE").await?;
                let out = {
                    let $conn: &mut sqlx::SqliteConnection = &mut tx;
                    async { $body }.await
                };
                if out.is_ok() {
                    tx.commit().await?;
                }
                out
            }
            $crate::Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let out = {
                    let $conn: &mut sqlx::PgConnection = &mut tx;
                    async { $body }.await
                };
                if out.is_ok() {
                    tx.commit().await?;
                }
                out
            }
        }
    };
}
pub(crate) use write;

/// Rows per multi-row statement: far under both databases' parameter limits.
pub(crate) const ROWS_PER_STATEMENT: usize = 200;

/// Placeholders for `rows` rows of `columns` values: `(?, ?), (?, ?)` for SQLite, `($1, $2), ($3, $4)` for
/// PostgreSQL. SQLite gets anonymous ones: it looks each named one up among those before it, which made thousands
/// of `$n` in one statement cost more than the inserts themselves.
pub(crate) fn placeholders(backend: Backend, rows: usize, columns: usize) -> String {
    value_rows(backend, rows, columns, None)
}

/// As [`placeholders`], with each column's SQL type on PostgreSQL (`$1::bigint`): a `VALUES` list that is not
/// inserted anywhere gives its parameters no other way to learn their types.
pub(crate) fn typed_placeholders(backend: Backend, rows: usize, types: &[&str]) -> String {
    value_rows(backend, rows, types.len(), Some(types))
}

fn value_rows(backend: Backend, rows: usize, columns: usize, types: Option<&[&str]>) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => {
                    sql.push_str(&format!("${}", row * columns + column + 1));
                    if let Some(types) = types {
                        sql.push_str("::");
                        sql.push_str(types[column]);
                    }
                }
            }
        }
        sql.push(')');
    }
    sql
}

/// The backend of a connection type, for the few statements whose text differs between the dialects.
pub(crate) trait Dialect {
    const BACKEND: Backend;
}

impl Dialect for sqlx::SqliteConnection {
    const BACKEND: Backend = Backend::Sqlite;
}

impl Dialect for sqlx::PgConnection {
    const BACKEND: Backend = Backend::Postgres;
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key refused the write: the thing exists already (the caller knows which key it meant).
    #[error("already exists")]
    Conflict,
    #[error("not found")]
    NotFound,
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(sqlx::Error),
    #[error(transparent)]
    PointRead(rusqlite::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            sqlx::Error::RowNotFound => StoreError::NotFound,
            _ => StoreError::Database(error),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
pub(crate) enum Db {
    /// Writes go through one connection: SQLite has one writer anyway, and queueing in the pool is cheaper than
    /// retrying on `SQLITE_BUSY`.
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
        point: Arc<point_read::SqliteReaders>,
        /// Held by every usage writer from before its reads until its commit (see `usage.rs`).
        usage_lock: Arc<tokio::sync::Mutex<()>>,
    },
    Postgres(PgPool),
}

/// The database, cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) db: Db,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Store {
    /// Opens `sqlite://path` (created when missing, with its folder) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Store> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            // No ping before each use: a broken connection fails its query and is replaced, and the license
            // checks would otherwise pay a round trip per query.
            let pool = PgPoolOptions::new()
                .max_connections(32)
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options)
                .await?;
            return Ok(Store { db: Db::Postgres(pool) });
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| StoreError::Corrupt(format!("unsupported database URL scheme in {}", redact(url))))?;
        let path = path.split('?').next().unwrap_or(path);
        if let Some(parent) = std::path::Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Corrupt(format!("cannot create {}: {e}", parent.display())))?;
        }
        point_read::configure_sqlite();
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        // A local file has no connection to lose, so no ping before each use.
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        Ok(Store {
            db: Db::Sqlite {
                read,
                write,
                point: Arc::new(point_read::SqliteReaders::new(path.into())),
                usage_lock: Arc::default(),
            },
        })
    }

    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies pending migrations; each dialect has its own folder with the same versions.
    pub async fn migrate(&self) -> Result<()> {
        match &self.db {
            Db::Sqlite { write, .. } => sqlx::migrate!("migrations/sqlite").run(write).await?,
            Db::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        self.backfill_day_totals().await
    }

    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite { read, write, .. } => {
                write.close().await;
                read.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// A new identifier: UUIDv7, so that rows sort by creation.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A database URL with its password hidden, for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(super::redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact("sqlite://./x.db"), "sqlite://./x.db");
    }
}
