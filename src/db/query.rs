//! One query and row API for both engines. A query is written once with `$1`, `$2`… parameters;
//! on SQLite it runs through rusqlite on the calling task (no worker thread to hand it to and
//! back), on PostgreSQL through sqlx. Rows come back as named [`Cell`]s that [`FromRow`] reads.

use super::Db;
use rusqlite::types::{ToSqlOutput, ValueRef};
use sqlx::{Column, Row as _, ValueRef as _};
use std::borrow::Cow;
use std::sync::{Arc, Mutex};

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
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(v.clone())
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

impl Row {
    /// The column `name` read as `T`; a missing column or a cell of another type is an error
    /// that names the column.
    pub fn get<T: FromCell>(&self, name: &str) -> Result<T, sqlx::Error> {
        let index =
            self.columns.iter().position(|c| c == name).ok_or_else(|| sqlx::Error::ColumnNotFound(name.into()))?;
        T::from_cell(&self.cells[index]).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: name.to_string(),
            source: format!("{:?} cannot be read as {}", self.cells[index], std::any::type_name::<T>()).into(),
        })
    }
}

/// A type made from one row, reading its columns by name.
pub trait FromRow: Sized {
    fn from_row(row: &Row) -> Result<Self, sqlx::Error>;
}

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
pub struct Query {
    sql: Cow<'static, str>,
    args: Vec<Arg>,
}

/// A query with `$1`, `$2`… parameters, bound in order by [`Query::bind`].
pub fn query(sql: impl Into<Cow<'static, str>>) -> Query {
    Query { sql: sql.into(), args: Vec::new() }
}

impl Query {
    /// Binds the next parameter.
    pub fn bind(mut self, value: impl Into<Arg>) -> Self {
        self.args.push(value.into());
        self
    }

    /// Every row as read, for a result that is not one struct per row.
    pub async fn rows(&self, db: &Db) -> Result<Vec<Row>, sqlx::Error> {
        db.read_rows(self).await
    }

    /// The first column of the first row, as `T` (a count, say); no row is
    /// [`sqlx::Error::RowNotFound`].
    pub async fn fetch_scalar<T: FromCell>(&self, db: &Db) -> Result<T, sqlx::Error> {
        let rows = db.read_rows(self).await?;
        let row = rows.first().ok_or(sqlx::Error::RowNotFound)?;
        let cell = row.cells.first().ok_or_else(|| sqlx::Error::ColumnNotFound("0".into()))?;
        T::from_cell(cell).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: row.columns[0].clone(),
            source: format!("{cell:?} cannot be read as {}", std::any::type_name::<T>()).into(),
        })
    }

    /// Every row, read from the readers.
    pub async fn fetch_all<T: FromRow>(&self, db: &Db) -> Result<Vec<T>, sqlx::Error> {
        db.read_rows(self).await?.iter().map(T::from_row).collect()
    }

    /// The first row, if any.
    pub async fn fetch_optional<T: FromRow>(&self, db: &Db) -> Result<Option<T>, sqlx::Error> {
        db.read_rows(self).await?.first().map(T::from_row).transpose()
    }

    /// The first row; none is [`sqlx::Error::RowNotFound`].
    pub async fn fetch_one<T: FromRow>(&self, db: &Db) -> Result<T, sqlx::Error> {
        self.fetch_optional(db).await?.ok_or(sqlx::Error::RowNotFound)
    }
}

impl Db {
    /// Runs a read-only query on a reader: on SQLite right here on the calling task, on
    /// PostgreSQL through the pool.
    pub async fn read_rows(&self, q: &Query) -> Result<Vec<Row>, sqlx::Error> {
        match &self.sqlite_readers {
            Some(readers) => readers.with(|conn| sqlite_rows(conn, q)),
            None => any_rows(&self.read, q).await,
        }
    }
}

/// SQLite reader connections, opened on first use and kept for the next one. Each runs in
/// `query_only` mode: a read path can never write.
pub struct SqliteReaders {
    path: String,
    idle: Mutex<Vec<rusqlite::Connection>>,
    keep: usize,
}

impl SqliteReaders {
    /// Readers of the database file at `path`, keeping at most `keep` idle connections.
    pub fn new(path: &str, keep: usize) -> Self {
        SqliteReaders { path: path.to_string(), idle: Mutex::new(Vec::new()), keep }
    }

    fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let conn = rusqlite::Connection::open_with_flags(&self.path, flags)?;
        conn.execute_batch("PRAGMA busy_timeout=5000; PRAGMA query_only=1;")?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    /// Runs `f` on an idle reader (or a new one), then keeps the reader for the next call.
    pub fn with<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>) -> Result<T, sqlx::Error> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open().map_err(sqlite_error)?,
        };
        let result = f(&conn).map_err(sqlite_error);
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.keep {
            idle.push(conn);
        }
        result
    }
}

fn sqlite_rows(conn: &rusqlite::Connection, q: &Query) -> rusqlite::Result<Vec<Row>> {
    let mut statement = conn.prepare_cached(&q.sql)?;
    if statement.parameter_count() != q.args.len() {
        return Err(rusqlite::Error::InvalidParameterCount(q.args.len(), statement.parameter_count()));
    }
    for (i, arg) in q.args.iter().enumerate() {
        let name = format!("${}", i + 1);
        let index = statement.parameter_index(&name)?.ok_or(rusqlite::Error::InvalidParameterName(name))?;
        statement.raw_bind_parameter(index, arg)?;
    }
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

async fn any_rows(pool: &sqlx::AnyPool, q: &Query) -> Result<Vec<Row>, sqlx::Error> {
    let rows = q.args.iter().fold(sqlx::query(&q.sql), bind_any).fetch_all(pool).await?;
    let Some(first) = rows.first() else { return Ok(Vec::new()) };
    let columns: Arc<[String]> = first.columns().iter().map(|c| c.name().to_string()).collect();
    rows.iter()
        .map(|r| {
            let cells = (0..columns.len()).map(|i| any_cell(r, i)).collect::<Result<_, _>>()?;
            Ok(Row { columns: columns.clone(), cells })
        })
        .collect()
}

/// Binds one [`Arg`] to a sqlx query (for what still runs through sqlx directly).
pub fn bind_any<'q>(q: AnyQuery<'q>, arg: &Arg) -> AnyQuery<'q> {
    match arg {
        Arg::Int(v) => q.bind(*v),
        Arg::Text(v) => q.bind(v.clone()),
        Arg::NullInt => q.bind(None::<i64>),
        Arg::NullText => q.bind(None::<String>),
    }
}

/// A sqlx query on the `Any` driver.
pub type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

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
        sqlx::error::ErrorKind::Other
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
}
