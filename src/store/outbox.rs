//! The e-mail outbox: messages are written in the transaction that causes them and delivered
//! later by the mailer, so a mail server outage never loses or blocks a write. A message that
//! fails stays here, with its attempts and last error, and is tried again later, forever.

use super::activity::NewActivity;
use super::{page_offset, Page, Store, StoreError, StoreResult, Tx};
use crate::db::query::{from_row, query, query_as};
use crate::domain::acting::StaffActing;
use crate::domain::activity::ActivityGroup;
use crate::domain::conflict::Conflict;

/// A message waiting to be sent.
#[derive(Debug, Clone)]
pub struct Mail {
    pub id: i64,
    pub to_email: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
}
from_row!(Mail { id, to_email, subject, body, attempts });

/// A queued message as the admin outbox page shows it: never the body.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub id: i64,
    pub to_email: String,
    pub subject: String,
    pub created_at: i64,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: i64,
}
from_row!(QueuedMail { id, to_email, subject, created_at, attempts, last_error, next_attempt_at });

/// How many messages are not sent yet, and how many of those failed their last attempt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub backlog: i64,
    pub failing: i64,
}

/// Queues a message inside the caller's transaction.
pub async fn enqueue(tx: &mut Tx, to: &str, subject: &str, body: &str) -> StoreResult<()> {
    query("INSERT INTO outbox (to_email, subject, body, created_at) VALUES ($1, $2, $3, $4)")
        .bind(to)
        .bind(subject)
        .bind(body)
        .bind(crate::domain::now())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Claims up to `limit` unsent messages that are due, oldest first, for `lease` seconds:
    /// another node (or this one) sees them again only if that time passes without a delivery
    /// being recorded. The claim is one UPDATE whose condition is checked again on each row it
    /// locks, so two nodes claiming at once never get the same message; on PostgreSQL the
    /// candidates skip rows another node is claiming right now, so it takes the next ones instead
    /// of none (SQLite has one writer and no such race). The candidates are picked once
    /// (MATERIALIZED): PostgreSQL would otherwise run a skip-locked subquery again for each row
    /// and claim a different set.
    pub async fn claim_mail(&self, limit: i64, lease: i64) -> StoreResult<Vec<Mail>> {
        let now = crate::domain::now();
        let free = "sent_at IS NULL AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until < $2)";
        let skip_locked = match self.db.backend {
            crate::db::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            crate::db::Backend::Sqlite => "",
        };
        let mut mail: Vec<Mail> = query_as(format!(
            "WITH picked AS MATERIALIZED (SELECT id FROM outbox WHERE {free} ORDER BY id LIMIT $3{skip_locked})
             UPDATE outbox SET claimed_until = $1 WHERE id IN (SELECT id FROM picked) AND {free}
             RETURNING id, to_email, subject, body, attempts"
        ))
        .bind(now + lease)
        .bind(now)
        .bind(limit)
        .fetch_all(self.db.writer())
        .await?;
        mail.sort_by_key(|m| m.id);
        Ok(mail)
    }

    /// Records a delivery.
    pub async fn mail_sent(&self, id: i64) -> StoreResult<()> {
        query("UPDATE outbox SET sent_at = $1, attempts = attempts + 1, claimed_until = NULL WHERE id = $2")
            .bind(crate::domain::now())
            .bind(id)
            .execute(self.db.writer())
            .await?;
        Ok(())
    }

    /// Records a failed attempt; the message is claimed again from `next_attempt_at` on.
    pub async fn mail_failed(&self, id: i64, error: &str, next_attempt_at: i64) -> StoreResult<()> {
        query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, claimed_until = NULL
             WHERE id = $3",
        )
        .bind(error.chars().take(500).collect::<String>())
        .bind(next_attempt_at)
        .bind(id)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    /// Messages not sent yet, and those among them whose last attempt failed.
    pub async fn outbox_counts(&self) -> StoreResult<OutboxCounts> {
        let row = query(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN last_error IS NOT NULL THEN 1 ELSE 0 END), 0)
             FROM outbox WHERE sent_at IS NULL",
        )
        .fetch_one(&self.db)
        .await?;
        Ok(OutboxCounts { backlog: row.get(0)?, failing: row.get(1)? })
    }

    /// One page of the messages not sent yet, newest first.
    pub async fn list_outbox(&self, page: i64, per_page: i64) -> StoreResult<Page<QueuedMail>> {
        let (page, offset) = page_offset(page, per_page);
        let total: i64 = query("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetch_scalar(&self.db).await?;
        let items = query_as(
            "SELECT id, to_email, subject, created_at, attempts, last_error, next_attempt_at
             FROM outbox WHERE sent_at IS NULL ORDER BY id DESC LIMIT $1 OFFSET $2",
        )
        .bind(per_page)
        .bind(offset)
        .fetch_all(&self.db)
        .await?;
        Ok(Page { items, page, per_page, total })
    }

    /// Makes one unsent message due now, recorded in the activity log with who asked. A message
    /// a node is sending right now keeps its claim: the outcome of that attempt is recorded as usual.
    /// `NotFound` for an unknown id, `Conflict` for a message already sent.
    pub async fn retry_mail_now(&self, id: i64, by: &StaffActing) -> StoreResult<()> {
        self.record(|mut tx| async move {
            let row = query("SELECT to_email, subject, sent_at, attempts FROM outbox WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
            if row.get::<Option<i64>>(2)?.is_some() {
                return Err(StoreError::Conflict(Conflict::MailAlreadySent));
            }
            let (to, subject, attempts): (String, String, i64) = (row.get(0)?, row.get(1)?, row.get(3)?);
            query("UPDATE outbox SET next_attempt_at = $1 WHERE id = $2 AND sent_at IS NULL")
                .bind(crate::domain::now())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            // The outbox is run from the settings side (`settings.manage`), so its actions file there.
            let entry = NewActivity::by_staff(
                by,
                None,
                ActivityGroup::Settings,
                "Mail retry requested",
                format!("outbox #{id}"),
            );
            Ok((tx, (), entry.with_detail(format!("to {to}: {subject} (after {attempts} attempts)"))))
        })
        .await
    }
}
