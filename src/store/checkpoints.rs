//! Signed checkpoints of the activity log, as stored beside it.

use super::StoreResult;
use crate::db::query::{query, Row};

/// One stored checkpoint.
#[derive(Debug, Clone)]
pub struct StoredCheckpoint {
    pub id: i64,
    pub created_at: i64,
    pub size: i64,
    /// The full signed note.
    pub note: String,
}

fn map(r: &Row) -> StoreResult<StoredCheckpoint> {
    Ok(StoredCheckpoint { id: r.get(0)?, created_at: r.get(1)?, size: r.get(2)?, note: r.get(3)? })
}

impl super::Store {
    /// Stores a signed checkpoint; returns false when the very same note is stored already
    /// (signatures are deterministic, so two nodes signing one head write one row).
    pub async fn add_checkpoint(&self, size: i64, head_hash: &str, note: &str) -> StoreResult<bool> {
        let done = query(
            "INSERT INTO audit_checkpoints (created_at, size, head_hash, note) VALUES ($1, $2, $3, $4)
             ON CONFLICT (note) DO NOTHING",
        )
        .bind(crate::domain::now())
        .bind(size)
        .bind(head_hash)
        .bind(note)
        .execute(self.db.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Up to `limit` stored checkpoints with an id above `after`, oldest first (keyset paging).
    pub async fn checkpoint_batch(&self, after: i64, limit: i64) -> StoreResult<Vec<StoredCheckpoint>> {
        let rows = query("SELECT id, created_at, size, note FROM audit_checkpoints WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(&self.db)
            .await?;
        rows.iter().map(map).collect()
    }

    /// The `limit` stored checkpoints of the largest sizes, largest first.
    pub async fn newest_checkpoints(&self, limit: i64) -> StoreResult<Vec<StoredCheckpoint>> {
        let rows =
            query("SELECT id, created_at, size, note FROM audit_checkpoints ORDER BY size DESC, id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(&self.db)
                .await?;
        rows.iter().map(map).collect()
    }

    /// The stored hash of activity entry `id`, if it exists.
    pub async fn activity_hash(&self, id: i64) -> StoreResult<Option<String>> {
        let row = query("SELECT hash FROM activity WHERE id = $1").bind(id).fetch_optional(&self.db).await?;
        row.map(|r| r.get(0)).transpose().map_err(Into::into)
    }
}
