//! All SQL lives here, one file per aggregate; the same text runs on SQLite and PostgreSQL.

pub mod activity;
pub mod billing;
pub mod demo;
pub mod files;
pub mod outbox;
pub mod people;
pub mod portal;
pub mod sessions;
pub mod settings;
pub mod shop;
pub mod stores;
pub mod subscriptions;
pub mod tasks;

use crate::db::Db;

/// A transaction on the writer pool.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Storage errors: either a row the caller asked for is missing, or the database failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
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

impl Store {
    /// Wraps connected pools.
    pub fn new(db: Db) -> Self {
        Store { db }
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> StoreResult<Tx> {
        Ok(self.db.write.begin().await?)
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.db.read).await?;
        Ok(())
    }
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
