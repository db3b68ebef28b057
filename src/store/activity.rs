//! The append-only, hash-chained activity log.

use super::{Page, StoreResult, Tx};
use crate::domain::acting::{Acting, Actor};
use sha2::{Digest, Sha256};
use sqlx::Row;

/// Who did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityActor {
    Client(i64),
    Staff(i64),
    System,
}

/// One entry to append.
#[derive(Debug, Clone)]
pub struct NewActivity {
    pub subject_client_id: Option<i64>,
    pub actor: ActivityActor,
    pub impersonation_id: Option<i64>,
    pub group: &'static str,
    pub action: &'static str,
    pub target: String,
    pub detail: String,
    pub ip: String,
}

impl NewActivity {
    /// An entry for a portal action: the client is the subject, and the staff member (if any) the actor.
    pub fn from_acting(acting: &Acting, group: &'static str, action: &'static str, target: String) -> Self {
        let actor = match &acting.actor {
            Actor::Client => ActivityActor::Client(acting.client_id),
            Actor::Staff { id, .. } => ActivityActor::Staff(*id),
        };
        NewActivity {
            subject_client_id: Some(acting.client_id),
            actor,
            impersonation_id: acting.impersonation_id(),
            group,
            action,
            target,
            detail: String::new(),
            ip: acting.ip.clone(),
        }
    }
}

/// A stored entry with the names needed to display it.
#[derive(Debug, Clone)]
pub struct ActivityRow {
    pub id: i64,
    pub at: i64,
    pub subject_client_id: Option<i64>,
    pub subject_name: Option<String>,
    pub actor_kind: String,
    pub actor_staff_id: Option<i64>,
    pub actor_staff_name: Option<String>,
    pub impersonation_id: Option<i64>,
    pub group: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub ip: String,
}

fn hash_entry(prev: &str, id: i64, at: i64, e: &NewActivity) -> String {
    hash_with_strings(prev, id, at, e, e.group, e.action)
}

fn opt(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn actor_columns(a: ActivityActor) -> (&'static str, Option<i64>, Option<i64>) {
    match a {
        ActivityActor::Client(id) => ("client", None, Some(id)),
        ActivityActor::Staff(id) => ("staff", Some(id), None),
        ActivityActor::System => ("system", None, None),
    }
}

/// Appends an entry inside the caller's transaction, so the entry commits with the write it records.
pub async fn append(tx: &mut Tx, e: NewActivity) -> StoreResult<i64> {
    // Claiming the head row serialises appends in the database itself (every node, both engines);
    // RETURNING gives the claimed id and the previous hash in the same statement.
    let head = sqlx::query("UPDATE audit_head SET last_id = last_id + 1 WHERE id = 1 RETURNING last_id, last_hash")
        .fetch_one(&mut **tx)
        .await?;
    let id: i64 = head.try_get(0)?;
    let last_hash: String = head.try_get(1)?;
    let at = crate::domain::now();
    let hash = hash_entry(&last_hash, id, at, &e);
    let (kind, staff, client) = actor_columns(e.actor);
    sqlx::query(
        "INSERT INTO activity (id, at, subject_client_id, actor_kind, actor_staff_id, actor_client_id, impersonation_id, action_group, action, target, detail, ip, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(id)
    .bind(at)
    .bind(e.subject_client_id)
    .bind(kind)
    .bind(staff)
    .bind(client)
    .bind(e.impersonation_id)
    .bind(e.group)
    .bind(e.action)
    .bind(&e.target)
    .bind(&e.detail)
    .bind(&e.ip)
    .bind(&last_hash)
    .bind(&hash)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE audit_head SET last_hash = $1 WHERE id = 1").bind(&hash).execute(&mut **tx).await?;
    Ok(id)
}

/// Filters for the activity page.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    pub group: Option<String>,
    pub actor_staff: Option<i64>,
    pub actor_client: Option<i64>,
    pub client: Option<i64>,
}

const SELECT_ROWS: &str = "SELECT a.id, a.at, a.subject_client_id, c.name AS subject_name, a.actor_kind, a.actor_staff_id, s.name AS staff_name,
        a.impersonation_id, a.action_group, a.action, a.target, a.detail, a.ip
     FROM activity a LEFT JOIN clients c ON c.id = a.subject_client_id LEFT JOIN staff s ON s.id = a.actor_staff_id";

fn map_row(r: &sqlx::any::AnyRow) -> StoreResult<ActivityRow> {
    Ok(ActivityRow {
        id: r.try_get(0)?,
        at: r.try_get(1)?,
        subject_client_id: r.try_get(2)?,
        subject_name: r.try_get(3)?,
        actor_kind: r.try_get(4)?,
        actor_staff_id: r.try_get(5)?,
        actor_staff_name: r.try_get(6)?,
        impersonation_id: r.try_get(7)?,
        group: r.try_get(8)?,
        action: r.try_get(9)?,
        target: r.try_get(10)?,
        detail: r.try_get(11)?,
        ip: r.try_get(12)?,
    })
}

impl super::Store {
    /// Lists entries newest first, filtered, one page at a time.
    pub async fn list_activity(&self, f: &ActivityFilter, page: i64, per_page: i64) -> StoreResult<Page<ActivityRow>> {
        let (page, offset) = super::page_offset(page, per_page);
        // Unused filters compare a NULL parameter, so one SQL text serves every combination.
        let filter = " WHERE ($1 IS NULL OR a.action_group = $1) AND ($2 IS NULL OR a.actor_staff_id = $2)
              AND ($3 IS NULL OR a.actor_client_id = $3) AND ($4 IS NULL OR a.subject_client_id = $4)";
        let total: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM activity a{filter}"))
            .bind(f.group.clone())
            .bind(f.actor_staff)
            .bind(f.actor_client)
            .bind(f.client)
            .fetch_one(&self.db.read)
            .await?
            .try_get(0)?;
        let rows = sqlx::query(&format!("{SELECT_ROWS}{filter} ORDER BY a.id DESC LIMIT $5 OFFSET $6"))
            .bind(f.group.clone())
            .bind(f.actor_staff)
            .bind(f.actor_client)
            .bind(f.client)
            .bind(per_page)
            .bind(offset)
            .fetch_all(&self.db.read)
            .await?;
        let items = rows.iter().map(map_row).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page { items, page, per_page, total })
    }

    /// Walks the whole chain; returns the id of the first entry that does not verify, if any.
    pub async fn verify_activity_chain(&self) -> StoreResult<Result<i64, String>> {
        let rows = sqlx::query(
            "SELECT id, at, subject_client_id, actor_kind, actor_staff_id, actor_client_id, impersonation_id, action_group, action, target, detail, ip, prev_hash, hash FROM activity ORDER BY id",
        )
        .fetch_all(&self.db.read)
        .await?;
        let mut prev = String::new();
        let mut expected_id = 1;
        for r in &rows {
            let id: i64 = r.try_get(0)?;
            if id != expected_id {
                return Ok(Err(format!("entry {expected_id} is missing (found {id} next)")));
            }
            let kind: String = r.try_get(3)?;
            let actor = match kind.as_str() {
                "client" => ActivityActor::Client(r.try_get::<Option<i64>, _>(5)?.unwrap_or(-1)),
                "staff" => ActivityActor::Staff(r.try_get::<Option<i64>, _>(4)?.unwrap_or(-1)),
                _ => ActivityActor::System,
            };
            let group: String = r.try_get(7)?;
            let action: String = r.try_get(8)?;
            let e = NewActivity {
                subject_client_id: r.try_get(2)?,
                actor,
                impersonation_id: r.try_get(6)?,
                group: "",
                action: "",
                target: r.try_get(9)?,
                detail: r.try_get(10)?,
                ip: r.try_get(11)?,
            };
            let stored_prev: String = r.try_get(12)?;
            let stored_hash: String = r.try_get(13)?;
            let at: i64 = r.try_get(1)?;
            let computed = hash_with_strings(&prev, id, at, &e, &group, &action);
            if stored_prev != prev || stored_hash != computed {
                return Ok(Err(format!("entry {id} was changed or reordered")));
            }
            prev = stored_hash;
            expected_id += 1;
        }
        let head =
            sqlx::query("SELECT last_id, last_hash FROM audit_head WHERE id = 1").fetch_one(&self.db.read).await?;
        let last_id: i64 = head.try_get(0)?;
        let last_hash: String = head.try_get(1)?;
        if last_id != expected_id - 1 || last_hash != prev {
            return Ok(Err(format!("the newest entries after {} are missing", expected_id - 1)));
        }
        Ok(Ok(expected_id - 1))
    }
}

fn hash_with_strings(prev: &str, id: i64, at: i64, e: &NewActivity, group: &str, action: &str) -> String {
    // Group and action are passed apart so verification can hash the strings read back from storage.
    let (kind, staff, client) = actor_columns(e.actor);
    let mut h = Sha256::new();
    for part in [
        prev.to_string(),
        id.to_string(),
        at.to_string(),
        opt(e.subject_client_id),
        kind.to_string(),
        opt(staff),
        opt(client),
        opt(e.impersonation_id),
        group.to_string(),
        action.to_string(),
        e.target.clone(),
        e.detail.clone(),
        e.ip.clone(),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}
