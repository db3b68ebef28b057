//! The e-mail outbox: messages are written in the transaction that causes them and delivered
//! later by the mailer, so a mail server outage never loses or blocks a write.

use super::{Store, StoreResult, Tx};
use sqlx::FromRow;

/// A message waiting to be sent.
#[derive(Debug, Clone, FromRow)]
pub struct Mail {
    pub id: i64,
    pub to_email: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
}

/// Delivery gives up on a message after this many failures.
pub const MAX_ATTEMPTS: i64 = 5;

/// Queues a message inside the caller's transaction.
pub async fn enqueue(tx: &mut Tx, to: &str, subject: &str, body: &str) -> StoreResult<()> {
    sqlx::query("INSERT INTO outbox (to_email, subject, body, created_at) VALUES ($1, $2, $3, $4)")
        .bind(to)
        .bind(subject)
        .bind(body)
        .bind(crate::domain::now())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Unsent messages, oldest first.
    pub async fn pending_mail(&self, limit: i64) -> StoreResult<Vec<Mail>> {
        Ok(sqlx::query_as(
            "SELECT id, to_email, subject, body, attempts FROM outbox WHERE sent_at IS NULL AND attempts < $1 ORDER BY id LIMIT $2",
        )
        .bind(MAX_ATTEMPTS)
        .bind(limit)
        .fetch_all(&self.db.read)
        .await?)
    }

    /// Records a delivery.
    pub async fn mail_sent(&self, id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE outbox SET sent_at = $1, attempts = attempts + 1 WHERE id = $2")
            .bind(crate::domain::now())
            .bind(id)
            .execute(&self.db.write)
            .await?;
        Ok(())
    }

    /// Records a failed attempt.
    pub async fn mail_failed(&self, id: i64, error: &str) -> StoreResult<()> {
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1 WHERE id = $2")
            .bind(error.chars().take(500).collect::<String>())
            .bind(id)
            .execute(&self.db.write)
            .await?;
        Ok(())
    }
}
