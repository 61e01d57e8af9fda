//! Point reads for the license checks, the hottest path: every product start asks whether its customer still
//! pays (docs/BENCHMARKS.md, "License checks").
//!
//! sqlx runs each SQLite connection on a thread of its own, so every statement is a hand-off to that thread and
//! back: for an indexed lookup that SQLite answers in microseconds, the hand-offs cost ten times the query. On
//! SQLite these reads therefore run on the calling thread, through read-only connections kept here, each
//! statement prepared once per connection. In WAL mode a reader never waits for the writer, so a read blocks its
//! thread only for the query itself. PostgreSQL's reads go over the network anyway and keep to sqlx.
//!
//! The SQL text is the same for both backends: `$1`, `$2`… are bound by name, as sqlx does for SQLite.

use std::path::PathBuf;
use std::sync::{Mutex, Once};
use std::time::Duration;

use rusqlite::types::ToSql;
use rusqlite::{Connection, OpenFlags, Row};

use crate::{Db, Result, Store, StoreError};

/// More idle connections than threads that read at once would only hold memory.
const MAX_IDLE: usize = 16;

/// Per connection, in KiB (SQLite reads a negative size as KiB); memory is taken only as pages are read.
const CACHE_KIB: i64 = -65_536;

/// Readers map the file: a page is then read where it lies instead of being copied into each connection's cache,
/// which tripled the rate of the checks' statements (docs/BENCHMARKS.md). SQLite caps the size at its build's limit
/// (2 GiB) and reads pages beyond it as before. A mapping fails only if the file shrinks under it, and Tollgate
/// never shrinks its database (no VACUUM).
const MMAP_BYTES: i64 = 1 << 40;

/// Parameter names, so that binding does not format them each time.
const NUMBERED: [&str; 4] = ["$1", "$2", "$3", "$4"];

/// Turns off SQLite's memory statistics, process-wide, before its first connection: with them on, every
/// allocation of every connection takes one global mutex, on which the readers of all threads then wait.
/// Tollgate never reads them. SQLite refuses the setting once it is initialized, which only a process that opened
/// SQLite before any store can cause; the statistics then stay on and nothing else changes.
pub(crate) fn configure_sqlite() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: called before any connection exists in the process, as sqlite3_config requires; it only sets
        // a flag in SQLite's global configuration.
        let code = unsafe { rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0) };
        if code != rusqlite::ffi::SQLITE_OK {
            tracing::debug!(code, "SQLite was initialized already: its memory statistics stay on");
        }
    });
}

/// Read-only SQLite connections used on the caller's thread.
#[derive(Debug)]
pub(crate) struct SqliteReaders {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteReaders {
    pub(crate) fn new(path: PathBuf) -> SqliteReaders {
        SqliteReaders {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(&self.path, flags)?;
        connection.busy_timeout(Duration::from_secs(30))?;
        // The checks land on random customers: a cache that holds the indexes they walk saves a read call per page.
        connection.pragma_update(None, "cache_size", CACHE_KIB)?;
        connection.pragma_update(None, "mmap_size", MMAP_BYTES)?;
        Ok(connection)
    }

    /// The first row of `sql` with `params` bound to `$1`, `$2`…, mapped by `map`.
    fn first_row<T>(
        &self,
        sql: &str,
        params: &[&dyn ToSql],
        map: fn(&Row) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        let taken = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let connection = match taken {
            Some(connection) => connection,
            None => self.open()?,
        };
        let row = query_first(&connection, sql, params, map);
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(connection);
        }
        Ok(row?)
    }
}

impl SqliteReaders {
    /// Every row of `sql`, whose anonymous `?` placeholders take `params` in order.
    fn all_rows<T>(&self, sql: &str, params: &[&str], map: fn(&Row) -> rusqlite::Result<T>) -> Result<Vec<T>> {
        let taken = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let connection = match taken {
            Some(connection) => connection,
            None => self.open()?,
        };
        let rows = (|| {
            let mut statement = connection.prepare_cached(sql)?;
            for (n, value) in params.iter().enumerate() {
                statement.raw_bind_parameter(n + 1, value)?;
            }
            let mut rows = statement.raw_query();
            let mut all = Vec::new();
            while let Some(row) = rows.next()? {
                all.push(map(row)?);
            }
            Ok::<_, rusqlite::Error>(all)
        })();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(connection);
        }
        Ok(rows?)
    }
}

fn query_first<T>(
    connection: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
    map: fn(&Row) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    let mut statement = connection.prepare_cached(sql)?;
    if params.len() > NUMBERED.len() {
        return Err(rusqlite::Error::InvalidParameterCount(params.len(), NUMBERED.len()));
    }
    for (n, (value, name)) in params.iter().zip(NUMBERED).enumerate() {
        let index = statement
            .parameter_index(name)?
            .ok_or(rusqlite::Error::InvalidParameterCount(
                n + 1,
                statement.parameter_count(),
            ))?;
        statement.raw_bind_parameter(index, value)?;
    }
    let mut rows = statement.raw_query();
    rows.next()?.map(map).transpose()
}

/// A row type that point reads can return from either backend.
pub(crate) trait PointRow: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin {
    fn from_sqlite(row: &Row) -> rusqlite::Result<Self>;
}

/// Implements [`PointRow`] for a struct whose fields are named like the query's columns.
macro_rules! point_row {
    ($ty:ty { $($field:ident),* $(,)? }) => {
        impl $crate::point_read::PointRow for $ty {
            fn from_sqlite(row: &rusqlite::Row) -> rusqlite::Result<Self> {
                Ok(Self { $($field: row.get(stringify!($field))?),* })
            }
        }
    };
}
pub(crate) use point_row;

impl Store {
    /// The first row of a read of one or a few rows by key, on the calling thread with SQLite.
    pub(crate) async fn point_read<T: PointRow>(&self, sql: &'static str, params: &[&str]) -> Result<Option<T>> {
        match &self.db {
            Db::Sqlite { point, .. } => {
                let params: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
                point.first_row(sql, &params, T::from_sqlite)
            }
            Db::Postgres(pool) => {
                let query = params
                    .iter()
                    .fold(sqlx::query_as::<_, T>(sql), |query, param| query.bind(*param));
                Ok(query.fetch_optional(pool).await?)
            }
        }
    }
}

impl Store {
    /// The rows of a read by a list of keys, on the calling thread with SQLite. `sql` makes the statement for a
    /// backend, with the keys' placeholders from [`crate::placeholders`].
    pub(crate) async fn point_rows<T: PointRow>(
        &self,
        sql: impl Fn(crate::Backend) -> String,
        params: &[&str],
    ) -> Result<Vec<T>> {
        match &self.db {
            Db::Sqlite { point, .. } => point.all_rows(&sql(crate::Backend::Sqlite), params, T::from_sqlite),
            Db::Postgres(pool) => {
                let text = sqlx::AssertSqlSafe(sql(crate::Backend::Postgres));
                let query = params
                    .iter()
                    .fold(sqlx::query_as::<_, T>(text), |query, param| query.bind(*param));
                Ok(query.fetch_all(pool).await?)
            }
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::PointRead(error)
    }
}
