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
    /// Claims up to `limit` unsent messages, oldest first, for `lease` seconds: another node (or
    /// this one) sees them again only if that time passes without a delivery being recorded. The
    /// claim is one UPDATE whose condition is checked again on each row it locks, so two nodes
    /// claiming at once never get the same message; on PostgreSQL the candidates skip rows
    /// another node is claiming right now, so it takes the next ones instead of none (SQLite has
    /// one writer and no such race). The candidates are picked once (MATERIALIZED): PostgreSQL
    /// would otherwise run a skip-locked subquery again for each row and claim a different set.
    pub async fn claim_mail(&self, limit: i64, lease: i64) -> StoreResult<Vec<Mail>> {
        let now = crate::domain::now();
        let free = "sent_at IS NULL AND attempts < $2 AND (claimed_until IS NULL OR claimed_until < $3)";
        let skip_locked = match self.db.backend {
            crate::db::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            crate::db::Backend::Sqlite => "",
        };
        let mut mail: Vec<Mail> = sqlx::query_as(&format!(
            "WITH picked AS MATERIALIZED (SELECT id FROM outbox WHERE {free} ORDER BY id LIMIT $4{skip_locked})
             UPDATE outbox SET claimed_until = $1 WHERE id IN (SELECT id FROM picked) AND {free}
             RETURNING id, to_email, subject, body, attempts"
        ))
        .bind(now + lease)
        .bind(MAX_ATTEMPTS)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.db.write)
        .await?;
        mail.sort_by_key(|m| m.id);
        Ok(mail)
    }

    /// Records a delivery.
    pub async fn mail_sent(&self, id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE outbox SET sent_at = $1, attempts = attempts + 1, claimed_until = NULL WHERE id = $2")
            .bind(crate::domain::now())
            .bind(id)
            .execute(&self.db.write)
            .await?;
        Ok(())
    }

    /// Records a failed attempt.
    pub async fn mail_failed(&self, id: i64, error: &str) -> StoreResult<()> {
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1, claimed_until = NULL WHERE id = $2")
            .bind(error.chars().take(500).collect::<String>())
            .bind(id)
            .execute(&self.db.write)
            .await?;
        Ok(())
    }
}
