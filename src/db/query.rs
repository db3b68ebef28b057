//! One query and row API for both engines. A query is written once with `$1`, `$2`… parameters;
//! on SQLite it runs through rusqlite on the calling task (no worker thread to hand it to and
//! back), on PostgreSQL through sqlx. Rows come back as named [`Cell`]s that [`FromRow`] reads.
//! A query runs where [`On`] says: on the readers, on the writer by itself, or inside a [`Tx`].

use super::Db;
use rusqlite::types::{ToSqlOutput, ValueRef};
use sqlx::{Column, Row as _, ValueRef as _};
use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use tokio::sync::OwnedMutexGuard;

/// A value bound to a `$N` parameter. A null names the type PostgreSQL must give it.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Int(i64),
    Text(String),
    NullInt,
    NullText,
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Int(i64::from(v))
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_string())
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Arg::NullInt, Arg::Int)
    }
}
impl From<&i64> for Arg {
    fn from(v: &i64) -> Self {
        Arg::Int(*v)
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(v.clone())
    }
}
impl From<i32> for Arg {
    fn from(v: i32) -> Self {
        Arg::Int(v.into())
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        v.map_or(Arg::NullText, Arg::Text)
    }
}
impl From<&Option<String>> for Arg {
    fn from(v: &Option<String>) -> Self {
        v.as_deref().into()
    }
}
impl From<Option<&String>> for Arg {
    fn from(v: Option<&String>) -> Self {
        v.map(String::as_str).into()
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Arg::NullText, Arg::from)
    }
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Arg::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Arg::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Arg::NullInt | Arg::NullText => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

/// One column's value as read.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// A type a [`Cell`] can be read as.
pub trait FromCell: Sized {
    /// The value, or `None` when the cell holds something else.
    fn from_cell(cell: &Cell) -> Option<Self>;
}

impl FromCell for i64 {
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Int(v) => Some(*v),
            _ => None,
        }
    }
}
/// Flags are stored as 0 and 1 (and as a boolean where PostgreSQL computes one).
impl FromCell for bool {
    fn from_cell(cell: &Cell) -> Option<Self> {
        i64::from_cell(cell).map(|v| v != 0)
    }
}
impl FromCell for f64 {
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Real(v) => Some(*v),
            Cell::Int(v) => Some(*v as f64),
            _ => None,
        }
    }
}
impl FromCell for String {
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Text(v) => Some(v.clone()),
            _ => None,
        }
    }
}
impl FromCell for Vec<u8> {
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Blob(v) => Some(v.clone()),
            _ => None,
        }
    }
}
impl<T: FromCell> FromCell for Option<T> {
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Null => Some(None),
            other => T::from_cell(other).map(Some),
        }
    }
}

/// One row of a result, its cells named by the query's column names.
#[derive(Debug, Clone)]
pub struct Row {
    columns: Arc<[String]>,
    cells: Vec<Cell>,
}

/// A column by its name or its position (from 0).
pub trait ColumnIndex {
    /// The position in `columns`, if there is such a column.
    fn position(&self, columns: &[String]) -> Option<usize>;
}

impl ColumnIndex for &str {
    fn position(&self, columns: &[String]) -> Option<usize> {
        columns.iter().position(|c| c == self)
    }
}

impl ColumnIndex for usize {
    fn position(&self, columns: &[String]) -> Option<usize> {
        (*self < columns.len()).then_some(*self)
    }
}

impl Row {
    /// The column `at` (a name or a position) read as `T`; a missing column or a cell of
    /// another type is an error that names the column.
    pub fn get<T: FromCell>(&self, at: impl ColumnIndex + std::fmt::Display) -> Result<T, sqlx::Error> {
        let index = at.position(&self.columns).ok_or_else(|| sqlx::Error::ColumnNotFound(at.to_string()))?;
        T::from_cell(&self.cells[index]).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: self.columns[index].clone(),
            source: format!("{:?} cannot be read as {}", self.cells[index], std::any::type_name::<T>()).into(),
        })
    }
}

/// A type made from one row, reading its columns by name.
pub trait FromRow: Sized {
    fn from_row(row: &Row) -> Result<Self, sqlx::Error>;
}

/// A tuple reads the columns in order.
macro_rules! tuple_from_row {
    ($($t:ident $i:tt),+) => {
        impl<$($t: FromCell),+> FromRow for ($($t,)+) {
            fn from_row(row: &Row) -> Result<Self, sqlx::Error> {
                Ok(($(row.get::<$t>($i)?,)+))
            }
        }
    };
}
tuple_from_row!(A 0);
tuple_from_row!(A 0, B 1);
tuple_from_row!(A 0, B 1, C 2);
tuple_from_row!(A 0, B 1, C 2, D 3);

/// `impl FromRow` for a struct whose fields are named as the query's columns.
macro_rules! from_row {
    ($ty:ident { $($field:ident),+ $(,)? }) => {
        impl $crate::db::query::FromRow for $ty {
            fn from_row(row: &$crate::db::query::Row) -> Result<Self, sqlx::Error> {
                Ok($ty { $($field: row.get(stringify!($field))?),+ })
            }
        }
    };
}
pub(crate) use from_row;

/// A query and its parameters.
#[derive(Debug, Clone)]
pub struct Query<'q> {
    sql: Cow<'q, str>,
    args: Vec<Arg>,
}

/// A query with `$1`, `$2`… parameters, bound in order by [`Query::bind`].
pub fn query<'q>(sql: impl Into<Cow<'q, str>>) -> Query<'q> {
    Query { sql: sql.into(), args: Vec::new() }
}

/// What a statement that returns no rows did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    rows_affected: u64,
}

impl Done {
    /// How many rows the statement inserted, changed or deleted.
    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

/// Where a query runs: `&Db` reads on the readers (which cannot write), [`Db::writer`] runs one
/// statement by itself on the writer, and `&mut *tx` runs inside a transaction.
pub enum On<'a> {
    Readers(&'a Db),
    Writer(&'a Db),
    Tx(&'a mut Conn),
}

impl<'a> From<&'a Db> for On<'a> {
    fn from(db: &'a Db) -> Self {
        On::Readers(db)
    }
}

impl<'a> From<&'a mut Conn> for On<'a> {
    fn from(conn: &'a mut Conn) -> Self {
        On::Tx(conn)
    }
}

/// The writer, for one statement that commits by itself (from [`Db::writer`]).
pub struct Writer<'a>(&'a Db);

impl<'a> From<Writer<'a>> for On<'a> {
    fn from(w: Writer<'a>) -> Self {
        On::Writer(w.0)
    }
}

impl<'q> Query<'q> {
    /// Binds the next parameter.
    pub fn bind(mut self, value: impl Into<Arg>) -> Self {
        self.args.push(value.into());
        self
    }

    /// The same query, its rows read as `T` (for a query built up before its type is known).
    pub fn typed<T: FromRow>(self) -> QueryAs<'q, T> {
        QueryAs { query: self, row: std::marker::PhantomData }
    }

    /// Runs the query where `on` says, reading its rows (`rows`) or counting the rows it changed.
    async fn run(&self, on: On<'_>, rows: bool) -> Result<Outcome, sqlx::Error> {
        let sqlite = |conn: &rusqlite::Connection| {
            if rows {
                sqlite_rows(conn, self).map(Outcome::Rows)
            } else {
                sqlite_execute(conn, self).map(Outcome::Changed)
            }
        };
        match on {
            On::Readers(db) => match &db.sqlite {
                Some(sqlite_db) => sqlite_db.readers.with(sqlite),
                None => any_run(&mut *db.read.acquire().await?, self, rows).await,
            },
            On::Writer(db) => match &db.sqlite {
                Some(sqlite_db) => writing(&*sqlite_db.writer_alone().await?, false, sqlite),
                None => any_run(&mut *db.write.acquire().await?, self, rows).await,
            },
            On::Tx(Conn::Sqlite(tx)) => writing(&tx.conn, true, sqlite),
            On::Tx(Conn::Postgres(tx)) => any_run(tx, self, rows).await,
        }
    }

    /// Runs a statement for what it changes, reading past any rows it returns.
    pub async fn execute(&self, on: impl Into<On<'_>>) -> Result<Done, sqlx::Error> {
        let rows_affected = match self.run(on.into(), false).await? {
            Outcome::Changed(n) => n,
            Outcome::Rows(_) => 0,
        };
        Ok(Done { rows_affected })
    }

    /// The first column of the first row, as `T` (a count, say); no row is
    /// [`sqlx::Error::RowNotFound`].
    pub async fn fetch_scalar<T: FromCell>(&self, on: impl Into<On<'_>>) -> Result<T, sqlx::Error> {
        self.fetch_one(on).await?.get(0)
    }

    /// Every row, each as read (for a result that is not one struct per row).
    pub async fn fetch_all(&self, on: impl Into<On<'_>>) -> Result<Vec<Row>, sqlx::Error> {
        match self.run(on.into(), true).await? {
            Outcome::Rows(rows) => Ok(rows),
            Outcome::Changed(_) => Ok(Vec::new()),
        }
    }

    /// The first row, if any.
    pub async fn fetch_optional(&self, on: impl Into<On<'_>>) -> Result<Option<Row>, sqlx::Error> {
        Ok(self.fetch_all(on).await?.into_iter().next())
    }

    /// The first row; none is [`sqlx::Error::RowNotFound`].
    pub async fn fetch_one(&self, on: impl Into<On<'_>>) -> Result<Row, sqlx::Error> {
        self.fetch_optional(on).await?.ok_or(sqlx::Error::RowNotFound)
    }
}

/// What running a query gave back.
enum Outcome {
    Rows(Vec<Row>),
    Changed(u64),
}

/// A query whose rows are read as `T`.
#[derive(Debug, Clone)]
pub struct QueryAs<'q, T> {
    query: Query<'q>,
    row: std::marker::PhantomData<fn() -> T>,
}

/// A query with `$1`, `$2`… parameters whose rows are read as `T`.
pub fn query_as<'q, T: FromRow>(sql: impl Into<Cow<'q, str>>) -> QueryAs<'q, T> {
    query(sql).typed()
}

impl<'q, T: FromRow> QueryAs<'q, T> {
    /// Binds the next parameter.
    pub fn bind(self, value: impl Into<Arg>) -> Self {
        QueryAs { query: self.query.bind(value), row: self.row }
    }

    /// Every row.
    pub async fn fetch_all(&self, on: impl Into<On<'_>>) -> Result<Vec<T>, sqlx::Error> {
        self.query.fetch_all(on).await?.iter().map(T::from_row).collect()
    }

    /// The first row, if any.
    pub async fn fetch_optional(&self, on: impl Into<On<'_>>) -> Result<Option<T>, sqlx::Error> {
        self.query.fetch_optional(on).await?.as_ref().map(T::from_row).transpose()
    }

    /// The first row; none is [`sqlx::Error::RowNotFound`].
    pub async fn fetch_one(&self, on: impl Into<On<'_>>) -> Result<T, sqlx::Error> {
        self.fetch_optional(on).await?.ok_or(sqlx::Error::RowNotFound)
    }
}

/// An open write transaction. It derefs to the [`Conn`] queries run on (`&mut *tx`), commits
/// with [`Tx::commit`], and rolls back when dropped uncommitted (an error, a panic, a request
/// that was cancelled).
pub struct Tx(Conn);

/// The connection a transaction runs on.
pub enum Conn {
    Sqlite(SqliteTx),
    Postgres(sqlx::Transaction<'static, sqlx::Any>),
}

/// SQLite's one writer connection, held for a transaction.
pub struct SqliteTx {
    conn: OwnedMutexGuard<rusqlite::Connection>,
    open: bool,
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if self.open {
            // Nothing to report to: the transaction's error (if any) is already on its way.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

impl std::ops::Deref for Tx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.0
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.0
    }
}

impl Tx {
    /// Makes every change durable together.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self.0 {
            Conn::Sqlite(mut tx) => {
                writing(&tx.conn, true, |c| c.execute_batch("COMMIT"))?;
                tx.open = false;
                Ok(())
            }
            Conn::Postgres(tx) => tx.commit().await,
        }
    }

    /// Undoes every change (as dropping would, but saying so).
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self.0 {
            Conn::Sqlite(mut tx) => {
                // Marked closed only once rolled back: otherwise dropping tries again, and the
                // next user of the writer finds the transaction still open and ends it first.
                tx.conn.execute_batch("ROLLBACK").map_err(sqlite_error)?;
                tx.open = false;
                Ok(())
            }
            Conn::Postgres(tx) => tx.rollback().await,
        }
    }
}

impl Db {
    /// Starts a write transaction. On SQLite it holds the one writer connection until it ends,
    /// and takes the database's write lock at once (`BEGIN IMMEDIATE`), so another process
    /// writing is waited for here rather than failing a statement halfway.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        match &self.sqlite {
            Some(sqlite) => {
                let conn = tokio::time::timeout(WRITER_WAIT, sqlite.writer.clone().lock_owned())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?;
                end_leftover_transaction(&conn)?;
                writing(&conn, false, |c| c.execute_batch("BEGIN IMMEDIATE"))?;
                Ok(Tx(Conn::Sqlite(SqliteTx { conn, open: true })))
            }
            None => Ok(Tx(Conn::Postgres(self.write.begin().await?))),
        }
    }

    /// The writer, to run one statement that commits by itself.
    pub fn writer(&self) -> Writer<'_> {
        Writer(self)
    }
}

/// How long the writer waits for another process's write lock (the CLI's, say) before the
/// statement fails as busy (and the request answers 503).
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// How long a write waits for the writer to be free before the request answers 503, as sqlx's
/// pool did with its acquire timeout.
const WRITER_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs `f` on the writer, which does not wait for locks by itself. When another process holds
/// the write lock, `f` runs again with a busy timeout, on this runtime thread handed over to
/// blocking work, so the runtime's other tasks keep running meanwhile.
///
/// `in_transaction` says `f` belongs to an open transaction. A statement that found the
/// database busy did nothing, so running it again is safe, except when SQLite ended the whole
/// transaction with it: then nothing more may run, or it would commit on its own. So inside a
/// transaction every statement first checks the transaction is still open.
fn writing<T>(
    conn: &rusqlite::Connection,
    in_transaction: bool,
    f: impl Fn(&rusqlite::Connection) -> rusqlite::Result<T>,
) -> Result<T, sqlx::Error> {
    let ended = || sqlx::Error::Protocol("SQLite rolled the transaction back after an earlier failure".into());
    if in_transaction && conn.is_autocommit() {
        return Err(ended());
    }
    match f(conn) {
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
            if in_transaction && conn.is_autocommit() {
                return Err(sqlite_error(e));
            }
            let wait = || {
                conn.busy_timeout(BUSY_WAIT)?;
                let result = f(conn);
                conn.busy_timeout(std::time::Duration::ZERO)?;
                result
            };
            let multi_thread = tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
            if multi_thread { tokio::task::block_in_place(wait) } else { wait() }.map_err(sqlite_error)
        }
        other => other.map_err(sqlite_error),
    }
}

/// Ends a transaction a failed rollback left open on the writer, so that what runs next does not
/// join it (and vanish when it is finally rolled back).
fn end_leftover_transaction(conn: &rusqlite::Connection) -> Result<(), sqlx::Error> {
    if !conn.is_autocommit() {
        conn.execute_batch("ROLLBACK").map_err(sqlite_error)?;
    }
    Ok(())
}

/// SQLite's connections for [`Query`]: readers, and the one writer.
pub struct Sqlite {
    pub readers: SqliteReaders,
    writer: Arc<tokio::sync::Mutex<rusqlite::Connection>>,
}

impl Sqlite {
    /// The writer: idle unless a write is running, and how long taking it took right now
    /// (`None` when it was not free within the writer's wait).
    pub async fn writer_counts(&self) -> ConnectionCounts {
        let idle = usize::from(self.writer.try_lock().is_ok());
        let started = std::time::Instant::now();
        let taken = tokio::time::timeout(WRITER_WAIT, self.writer.lock()).await.is_ok();
        ConnectionCounts { open: 1, idle, max: 1, wait: taken.then(|| started.elapsed()) }
    }

    /// The writer for one statement on its own, outside any transaction.
    async fn writer_alone(&self) -> Result<tokio::sync::MutexGuard<'_, rusqlite::Connection>, sqlx::Error> {
        let conn =
            tokio::time::timeout(WRITER_WAIT, self.writer.lock()).await.map_err(|_| sqlx::Error::PoolTimedOut)?;
        end_leftover_transaction(&conn)?;
        Ok(conn)
    }

    /// Opens the writer on the database file at `path` (which must exist) and prepares up to
    /// `keep` idle readers.
    pub fn open(path: &str, keep: usize) -> Result<Sqlite, sqlx::Error> {
        let readers = SqliteReaders::new(path, keep);
        let writer = readers
            .open_with(
                "PRAGMA busy_timeout=5000; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=0;",
            )
            .map_err(sqlite_error)?;
        Ok(Sqlite { readers, writer: Arc::new(tokio::sync::Mutex::new(writer)) })
    }
}

/// SQLite reader connections, opened on first use and kept for the next one. Each runs in
/// `query_only` mode: a read path can never write.
pub struct SqliteReaders {
    path: String,
    idle: Mutex<Vec<rusqlite::Connection>>,
    keep: usize,
    busy: std::sync::atomic::AtomicUsize,
}

/// How many connections of one kind are open and idle, and the most kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionCounts {
    pub open: usize,
    pub idle: usize,
    pub max: usize,
    /// How long getting a connection took right now; `None` when none came within the wait.
    pub wait: Option<std::time::Duration>,
}

impl SqliteReaders {
    /// Readers of the database file at `path`, keeping at most `keep` idle connections.
    pub fn new(path: &str, keep: usize) -> Self {
        SqliteReaders { path: path.to_string(), idle: Mutex::new(Vec::new()), keep, busy: Default::default() }
    }

    fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
        self.open_with("PRAGMA busy_timeout=5000; PRAGMA query_only=1;")
    }

    /// Readers in use and idle now.
    pub fn counts(&self) -> ConnectionCounts {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).len();
        let busy = self.busy.load(std::sync::atomic::Ordering::Relaxed);
        // A reader never waits: when none is idle, a new one opens.
        ConnectionCounts { open: idle + busy, idle, max: self.keep, wait: Some(std::time::Duration::ZERO) }
    }

    /// A connection to the file, set up by `pragmas`, with a statement cache.
    fn open_with(&self, pragmas: &str) -> rusqlite::Result<rusqlite::Connection> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let conn = rusqlite::Connection::open_with_flags(&self.path, flags)?;
        conn.execute_batch(pragmas)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    /// Runs `f` on an idle reader (or a new one), then keeps the reader for the next call.
    pub fn with<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>) -> Result<T, sqlx::Error> {
        use std::sync::atomic::Ordering::Relaxed;
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open().map_err(sqlite_error)?,
        };
        self.busy.fetch_add(1, Relaxed);
        let result = f(&conn).map_err(sqlite_error);
        self.busy.fetch_sub(1, Relaxed);
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.keep {
            idle.push(conn);
        }
        result
    }
}

/// The statement, from the connection's cache, with every parameter bound by its `$N` name.
fn sqlite_statement<'c>(conn: &'c rusqlite::Connection, q: &Query) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
    let mut statement = conn.prepare_cached(&q.sql)?;
    if statement.parameter_count() != q.args.len() {
        return Err(rusqlite::Error::InvalidParameterCount(q.args.len(), statement.parameter_count()));
    }
    for (i, arg) in q.args.iter().enumerate() {
        let name = format!("${}", i + 1);
        let index = statement.parameter_index(&name)?.ok_or(rusqlite::Error::InvalidParameterName(name))?;
        statement.raw_bind_parameter(index, arg)?;
    }
    Ok(statement)
}

/// Runs a statement to its end, reading past any rows it returns (as sqlx's `execute` does),
/// and says how many rows it changed.
fn sqlite_execute(conn: &rusqlite::Connection, q: &Query) -> rusqlite::Result<u64> {
    let before = conn.total_changes();
    let mut statement = sqlite_statement(conn, q)?;
    let mut rows = statement.raw_query();
    while rows.next()?.is_some() {}
    // `changes()` is the last INSERT, UPDATE or DELETE's count (without rows its triggers
    // changed); a statement that changed nothing (DDL, a SELECT) leaves it at an older count.
    Ok(if conn.total_changes() == before { 0 } else { conn.changes() })
}

fn sqlite_rows(conn: &rusqlite::Connection, q: &Query) -> rusqlite::Result<Vec<Row>> {
    let mut statement = sqlite_statement(conn, q)?;
    let columns: Arc<[String]> = statement.column_names().into_iter().map(String::from).collect();
    let width = columns.len();
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut cells = Vec::with_capacity(width);
        for i in 0..width {
            cells.push(match r.get_ref(i)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(v) => Cell::Int(v),
                ValueRef::Real(v) => Cell::Real(v),
                ValueRef::Text(v) => Cell::Text(
                    std::str::from_utf8(v)
                        .map_err(|e| {
                            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
                        })?
                        .to_string(),
                ),
                ValueRef::Blob(v) => Cell::Blob(v.to_vec()),
            });
        }
        out.push(Row { columns: columns.clone(), cells });
    }
    Ok(out)
}

async fn any_run(conn: &mut sqlx::AnyConnection, q: &Query<'_>, rows: bool) -> Result<Outcome, sqlx::Error> {
    if rows {
        return Ok(Outcome::Rows(any_rows(conn, q).await?));
    }
    let done = q.args.iter().fold(sqlx::query(&q.sql), bind_any).execute(conn).await?;
    Ok(Outcome::Changed(done.rows_affected()))
}

async fn any_rows(conn: &mut sqlx::AnyConnection, q: &Query<'_>) -> Result<Vec<Row>, sqlx::Error> {
    let rows = q.args.iter().fold(sqlx::query(&q.sql), bind_any).fetch_all(conn).await?;
    let Some(first) = rows.first() else { return Ok(Vec::new()) };
    let columns: Arc<[String]> = first.columns().iter().map(|c| c.name().to_string()).collect();
    rows.iter()
        .map(|r| {
            let cells = (0..columns.len()).map(|i| any_cell(r, i)).collect::<Result<_, _>>()?;
            Ok(Row { columns: columns.clone(), cells })
        })
        .collect()
}

/// Binds one [`Arg`] to a sqlx query.
fn bind_any<'q>(q: AnyQuery<'q>, arg: &Arg) -> AnyQuery<'q> {
    match arg {
        Arg::Int(v) => q.bind(*v),
        Arg::Text(v) => q.bind(v.clone()),
        Arg::NullInt => q.bind(None::<i64>),
        Arg::NullText => q.bind(None::<String>),
    }
}

/// A sqlx query on the `Any` driver.
type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn any_cell(row: &sqlx::any::AnyRow, i: usize) -> Result<Cell, sqlx::Error> {
    use sqlx::any::AnyTypeInfoKind as Kind;
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Cell::Null);
    }
    let kind = raw.type_info().kind();
    Ok(match kind {
        Kind::Null => Cell::Null,
        Kind::Bool => Cell::Int(i64::from(row.try_get::<bool, _>(i)?)),
        Kind::SmallInt | Kind::Integer | Kind::BigInt => Cell::Int(row.try_get::<i64, _>(i)?),
        Kind::Real | Kind::Double => Cell::Real(row.try_get::<f64, _>(i)?),
        Kind::Text => Cell::Text(row.try_get::<String, _>(i)?),
        Kind::Blob => Cell::Blob(row.try_get::<Vec<u8>, _>(i)?),
    })
}

/// A failure SQLite reported, carried as sqlx's database error so that every outage rule
/// (busy, locked, out of memory, I/O, disk full, cannot open) reads it the same as before.
#[derive(Debug)]
struct SqliteFailure {
    code: i32,
    message: String,
}

impl std::fmt::Display for SqliteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SQLite error {}: {}", self.code, self.message)
    }
}

impl std::error::Error for SqliteFailure {}

impl sqlx::error::DatabaseError for SqliteFailure {
    fn message(&self) -> &str {
        &self.message
    }
    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Owned(self.code.to_string()))
    }
    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }
    fn kind(&self) -> sqlx::error::ErrorKind {
        use sqlx::error::ErrorKind;
        // SQLite's extended result codes for constraint failures.
        match self.code {
            2067 | 1555 => ErrorKind::UniqueViolation,
            787 => ErrorKind::ForeignKeyViolation,
            1299 => ErrorKind::NotNullViolation,
            275 => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

fn sqlite_error(e: rusqlite::Error) -> sqlx::Error {
    match e {
        rusqlite::Error::SqliteFailure(failure, message) => sqlx::Error::Database(Box::new(SqliteFailure {
            code: failure.extended_code,
            message: message.unwrap_or_else(|| failure.to_string()),
        })),
        other => sqlx::Error::Decode(Box::new(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_reads_bind_by_parameter_name_and_name_their_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let setup = rusqlite::Connection::open(&path).unwrap();
        setup.execute_batch("CREATE TABLE t (id INTEGER, name TEXT, score REAL, flag INTEGER, data BLOB); INSERT INTO t VALUES (1, 'a', 1.5, 1, x'00ff'), (2, NULL, NULL, 0, NULL);").unwrap();
        let readers = SqliteReaders::new(path.to_str().unwrap(), 2);
        // $2 before $1 in the text: each binds by its own name, not by position.
        let q =
            query("SELECT id, name, score, flag, data FROM t WHERE name = $2 OR id = $1 ORDER BY id").bind(2).bind("a");
        let rows = readers.with(|c| sqlite_rows(c, &q)).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].get::<i64>("id").unwrap(), 1);
        assert_eq!(rows[0].get::<String>("name").unwrap(), "a");
        assert_eq!(rows[0].get::<f64>("score").unwrap(), 1.5);
        assert!(rows[0].get::<bool>("flag").unwrap());
        assert_eq!(rows[0].get::<Vec<u8>>("data").unwrap(), vec![0, 255]);
        assert_eq!(rows[1].get::<Option<String>>("name").unwrap(), None);
        assert!(!rows[1].get::<bool>("flag").unwrap());
        // A wrong type or a missing column is an error that names the column.
        assert!(rows[0].get::<i64>("name").unwrap_err().to_string().contains("name"));
        assert!(matches!(rows[0].get::<i64>("nope"), Err(sqlx::Error::ColumnNotFound(_))));
        // Too few parameters is refused, not run with a null.
        let short = query("SELECT id FROM t WHERE id = $1 AND name = $2").bind(1);
        assert!(readers.with(|c| sqlite_rows(c, &short)).is_err());
        // Readers cannot write.
        let write = query("DELETE FROM t");
        assert!(readers.with(|c| sqlite_rows(c, &write)).is_err());
        assert_eq!(setup.query_row("SELECT COUNT(*) FROM t", [], |r| r.get::<_, i64>(0)).unwrap(), 2);
    }

    #[tokio::test]
    async fn a_transaction_commits_together_or_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("tx.db").display());
        let db = Db::connect(&url).await.unwrap();
        query("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)").execute(db.writer()).await.unwrap();
        let count = || async { query("SELECT COUNT(*) FROM t").fetch_scalar::<i64>(&db).await.unwrap() };

        // Dropped without a commit (an error, a cancelled request): rolled back, writer free again.
        let mut tx = db.begin().await.unwrap();
        query("INSERT INTO t (v) VALUES ($1)").bind("dropped").execute(&mut *tx).await.unwrap();
        drop(tx);
        assert_eq!(count().await, 0);

        // A failing statement leaves the transaction's earlier work to the caller's choice.
        let mut tx = db.begin().await.unwrap();
        query("INSERT INTO t (v) VALUES ($1)").bind("kept").execute(&mut *tx).await.unwrap();
        assert!(query("INSERT INTO t (v) VALUES ($1)").bind(None::<&str>).execute(&mut *tx).await.is_err());
        // Readers do not see uncommitted work.
        assert_eq!(count().await, 0);
        tx.commit().await.unwrap();
        assert_eq!(count().await, 1);

        // RETURNING rows through `rows`, and `execute` counts changes past returned rows.
        let mut tx = db.begin().await.unwrap();
        let id: i64 = query("INSERT INTO t (v) VALUES ('b') RETURNING id").fetch_scalar(&mut *tx).await.unwrap();
        assert_eq!(id, 2);
        let done = query("UPDATE t SET v = 'c' WHERE id >= $1 RETURNING id").bind(1).execute(&mut *tx).await.unwrap();
        assert_eq!(done.rows_affected(), 2);
        tx.rollback().await.unwrap();
        assert_eq!(count().await, 1);
        assert_eq!(query("SELECT 1").execute(&db).await.unwrap().rows_affected(), 0);
        // A statement that changes no row counts none, whatever ran before it.
        let ddl = query("CREATE TABLE u (id INTEGER PRIMARY KEY)").execute(db.writer()).await.unwrap();
        assert_eq!(ddl.rows_affected(), 0);

        // A transaction SQLite ended underneath (as a failure can) runs nothing more: what came
        // next would otherwise commit on its own.
        let mut tx = db.begin().await.unwrap();
        query("INSERT INTO t (v) VALUES ('lost')").execute(&mut *tx).await.unwrap();
        query("ROLLBACK").execute(&mut *tx).await.unwrap();
        assert!(query("INSERT INTO t (v) VALUES ('alone')").execute(&mut *tx).await.is_err());
        assert!(tx.commit().await.is_err());
        assert_eq!(count().await, 1);

        // A unique violation is reported as one, as PostgreSQL's is.
        let err = query("INSERT INTO t (id, v) VALUES (1, 'again')").execute(db.writer()).await.unwrap_err();
        assert!(err.as_database_error().is_some_and(|e| e.is_unique_violation()), "{err}");
        // The writer is free and outside any transaction afterwards.
        query("INSERT INTO t (v) VALUES ('next')").execute(db.writer()).await.unwrap();
        assert_eq!(count().await, 2);
    }

    /// Another process holding the write lock is waited for, not failed at once and not
    /// waited for on the runtime's own thread.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_waits_for_another_process_holding_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("busy.db");
        let db = Db::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        query("CREATE TABLE t (v INTEGER)").execute(db.writer()).await.unwrap();
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (1);").unwrap();
        let holder = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            other.execute_batch("COMMIT").unwrap();
        });
        let started = std::time::Instant::now();
        query("INSERT INTO t VALUES (2)").execute(db.writer()).await.unwrap();
        let mut tx = db.begin().await.unwrap();
        query("INSERT INTO t VALUES (3)").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        assert!(started.elapsed() >= std::time::Duration::from_millis(250), "it waited for the other writer");
        holder.join().unwrap();
        assert_eq!(query("SELECT SUM(v) FROM t").fetch_scalar::<i64>(&db).await.unwrap(), 6);
    }
}
