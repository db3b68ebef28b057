//! All SQL lives here, one file per aggregate; the same text runs on SQLite and PostgreSQL.

pub mod activity;
pub mod api_keys;
pub mod billing;
pub mod checkpoints;
pub mod demo;
pub mod files;
pub mod impersonations;
pub mod outbox;
pub mod people;
pub mod portal;
pub mod sessions;
pub mod settings;
pub mod shop;
pub mod stores;
pub mod subscriptions;
pub mod tasks;
pub mod two_factor;
pub mod webhooks;

use crate::db::query::{query, query_as, FromRow};
use crate::db::Db;
use crate::domain::conflict::Conflict;
use activity::{append, NewActivity};

pub use crate::db::query::Tx;

/// Storage errors: either a row the caller asked for is missing, or the database failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(Conflict),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Result alias for storage calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// The storage layer: every query the product runs.
#[derive(Clone)]
pub struct Store {
    pub db: Db,
}

/// What [`Store::ops_counts`] reads.
#[derive(Debug, Clone, Copy)]
pub struct OpsCounts {
    pub live_impersonations: i64,
    pub activity_entries: i64,
}

/// One connection pool's state, from [`Store::pool_stats`].
#[derive(Debug, Clone)]
pub struct PoolStats {
    pub name: &'static str,
    pub size: u32,
    pub idle: usize,
    pub max: u32,
    /// How long a connection took to get; `None` when none came within the acquire timeout.
    pub wait: Option<std::time::Duration>,
}

impl Store {
    /// Wraps connected pools.
    pub fn new(db: Db) -> Self {
        Store { db }
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> StoreResult<Tx> {
        Ok(self.db.begin().await?)
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        query("SELECT 1").execute(&self.db).await?;
        Ok(())
    }

    /// Counts an operator watches: live Login as Client sessions and the activity log's length.
    pub async fn ops_counts(&self) -> StoreResult<OpsCounts> {
        let row = query(
            "SELECT (SELECT COUNT(*) FROM impersonations WHERE ended_at IS NULL),
                    (SELECT last_id FROM audit_head WHERE id = 1)",
        )
        .fetch_one(&self.db)
        .await?;
        Ok(OpsCounts { live_impersonations: row.get(0)?, activity_entries: row.get::<Option<i64>>(1)?.unwrap_or(0) })
    }

    /// The connection pools' sizes and idle connections, and how long getting a connection from
    /// each takes right now (the pool's wait time as one sample).
    pub async fn pool_stats(&self) -> Vec<PoolStats> {
        if let Some(sqlite) = &self.db.sqlite {
            let stats = |name, c: crate::db::query::ConnectionCounts| PoolStats {
                name,
                size: c.open as u32,
                idle: c.idle,
                max: c.max as u32,
                wait: c.wait,
            };
            return vec![stats("read", sqlite.readers.counts()), stats("write", sqlite.writer_counts().await)];
        }
        let pool = &self.db.read;
        let started = std::time::Instant::now();
        let acquired = pool.acquire().await.is_ok();
        vec![PoolStats {
            name: "shared",
            size: pool.size(),
            idle: pool.num_idle(),
            max: pool.options().get_max_connections(),
            wait: acquired.then(|| started.elapsed()),
        }]
    }

    /// One page of a client-owned table in `t.order` (newest first), with the total.
    pub(crate) async fn client_page<T>(
        &self,
        t: &ClientTable,
        client_id: i64,
        page: i64,
        per_page: i64,
    ) -> StoreResult<Page<T>>
    where
        T: FromRow,
    {
        self.client_page_where(t, None, client_id, page, per_page).await
    }

    /// [`Store::client_page`] of the rows that also meet `condition`, a constant SQL condition
    /// naming columns unqualified (so it reads the same in the count and in `t.select`).
    pub(crate) async fn client_page_where<T>(
        &self,
        t: &ClientTable,
        condition: Option<&'static str>,
        client_id: i64,
        page: i64,
        per_page: i64,
    ) -> StoreResult<Page<T>>
    where
        T: FromRow,
    {
        let (page, offset) = page_offset(page, per_page);
        let and = condition.map(|c| format!(" AND {c}")).unwrap_or_default();
        let total: i64 = query(format!("SELECT COUNT(*) FROM {} WHERE client_id = $1{and}", t.table))
            .bind(client_id)
            .fetch_scalar(&self.db)
            .await?;
        let items = query_as(format!(
            "{} WHERE {} = $1{and} ORDER BY {} DESC, {} DESC LIMIT $2 OFFSET $3",
            t.select, t.client_col, t.sort, t.id_col
        ))
        .bind(client_id)
        .bind(per_page)
        .bind(offset)
        .fetch_all(&self.db)
        .await?;
        Ok(Page { items, page, per_page, total })
    }

    /// Up to `limit` rows of a client-owned table that come after `after` in its order (from the
    /// first without it), meeting `condition` too: keyset paging for the API's cursors, which
    /// neither counts nor skips rows, and never shifts when rows are added meanwhile.
    pub(crate) async fn client_slice_where<T>(
        &self,
        t: &ClientTable,
        condition: Option<&'static str>,
        client_id: i64,
        after: Option<Position>,
        limit: i64,
    ) -> StoreResult<Vec<T>>
    where
        T: FromRow,
    {
        let and = condition.map(|c| format!(" AND {c}")).unwrap_or_default();
        let (s, id) = (t.sort, t.id_col);
        let from = if after.is_some() { format!(" AND ({s} < $3 OR ({s} = $3 AND {id} < $4))") } else { String::new() };
        let sql = format!("{} WHERE {} = $1{and}{from} ORDER BY {s} DESC, {id} DESC LIMIT $2", t.select, t.client_col);
        let q = query_as(sql).bind(client_id).bind(limit);
        let q = match after {
            Some(p) => q.bind(p.at).bind(p.id),
            None => q,
        };
        Ok(q.fetch_all(&self.db).await?)
    }

    /// One row of a client-owned table by id; `client_id` scopes it (`None` for staff, who may
    /// see any), so another client's row is `NotFound`.
    pub(crate) async fn client_row<T>(&self, t: &ClientTable, id: i64, client_id: Option<i64>) -> StoreResult<T>
    where
        T: FromRow,
    {
        query_as(format!("{} WHERE {} = $1 AND ($2 IS NULL OR {} = $2)", t.select, t.id_col, t.client_col))
            .bind(id)
            .bind(client_id)
            .fetch_optional(&self.db)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Runs one recorded write: `change` makes the write's changes in a transaction and says
    /// what it answers and which entry records it; the entry is appended in the same transaction
    /// and both commit together. When `change` fails (`NotFound`, or a `Conflict` explaining why
    /// nothing changed) the transaction rolls back and nothing is recorded. `change` is handed
    /// the transaction and hands it back, so it may borrow the caller's values.
    pub(crate) async fn record<T, Fut>(&self, change: impl FnOnce(Tx) -> Fut) -> StoreResult<T>
    where
        Fut: std::future::Future<Output = StoreResult<(Tx, T, NewActivity)>>,
    {
        let (mut tx, out, entry) = change(self.begin().await?).await?;
        append(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// [`Store::record`] for a write of one statement that must change a row (its WHERE says
    /// whose row it is): when it changes none, `unchanged` says why, inside the transaction.
    pub(crate) async fn change_or<Fut>(
        &self,
        query: Write<'_>,
        entry: NewActivity,
        unchanged: impl FnOnce(Tx) -> Fut,
    ) -> StoreResult<()>
    where
        Fut: std::future::Future<Output = StoreError>,
    {
        self.record(|mut tx| async move {
            if query.execute(&mut *tx).await?.rows_affected() == 0 {
                return Err(unchanged(tx).await);
            }
            Ok((tx, (), entry))
        })
        .await
    }

    /// [`Store::change_or`] answering `NotFound` when the statement changed no row.
    pub(crate) async fn change(&self, query: Write<'_>, entry: NewActivity) -> StoreResult<()> {
        self.change_or(query, entry, |_| async { StoreError::NotFound }).await
    }
}

/// A write statement with its values bound.
pub(crate) type Write<'q> = crate::db::query::Query<'q>;

/// `NotFound` unless a statement changed a row: the write was on a row that is not there, or
/// not the caller's.
pub(crate) fn changed(done: crate::db::query::Done) -> StoreResult<()> {
    if done.rows_affected() == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// The constant SQL pieces that list one client-owned table page by page.
pub(crate) struct ClientTable {
    /// `SELECT … FROM …` (joins included), without WHERE.
    pub select: &'static str,
    /// The table counted for the total, without joins.
    pub table: &'static str,
    /// The client column as `select` names it (`client_id`, `f.client_id`).
    pub client_col: &'static str,
    /// The id column as `select` names it (`id`, `f.id`).
    pub id_col: &'static str,
    /// The row's date column as `select` names it (`issued_at`, `f.created_at`): lists run
    /// newest first by it, then by `id DESC`, so rows of one date keep one order from page to page.
    pub sort: &'static str,
}

/// `NotFound` unless the client exists (staff-side writes about one client).
pub(crate) async fn client_exists(tx: &mut Tx, client_id: i64) -> StoreResult<()> {
    query("SELECT id FROM clients WHERE id = $1")
        .bind(client_id)
        .fetch_optional(&mut **tx)
        .await?
        .map(|_| ())
        .ok_or(StoreError::NotFound)
}

/// The id of the client's row of `table` (`orders`, `payments`) made by the form with this
/// idempotency key, if there is one.
pub(crate) async fn id_by_key(
    on: impl Into<crate::db::query::On<'_>>,
    table: &str,
    client_id: i64,
    key: &str,
) -> StoreResult<Option<i64>> {
    Ok(query(format!("SELECT id FROM {table} WHERE client_id = $1 AND idempotency_key = $2"))
        .bind(client_id)
        .bind(key)
        .fetch_optional(on)
        .await?
        .map(|r| r.get(0))
        .transpose()?)
}

/// A row's place in its list's order: its date (the table's `sort` column) and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub at: i64,
    pub id: i64,
}

/// A row that has a place in its list's order, so a cursor can resume after it.
pub trait Positioned {
    /// Where this row is in its list.
    fn position(&self) -> Position;
}

/// A page of rows with the total count, for paginated lists.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

impl<T> Page<T> {
    /// Number of pages (at least 1).
    pub fn pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page).max(1)
    }
}

/// Clamps a requested page number and returns (page, offset).
pub fn page_offset(page: i64, per_page: i64) -> (i64, i64) {
    let page = page.clamp(1, 1_000_000);
    (page, (page - 1) * per_page)
}
