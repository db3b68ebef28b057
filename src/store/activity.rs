//! The append-only, hash-chained activity log.

use super::{Page, StoreResult, Tx};
use crate::db::query::{query, Row};
use crate::domain::acting::{Acting, Actor, StaffActing};
use crate::domain::activity::ActivityGroup;
use crate::domain::api::Channel;
use crate::domain::webhooks::EventType;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::Mutex;

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
    pub group: ActivityGroup,
    pub action: &'static str,
    pub target: String,
    pub detail: String,
    pub ip: String,
}

impl NewActivity {
    /// An entry for a portal action: the client is the subject, and the staff member (if any) the actor.
    pub fn from_acting(acting: &Acting, group: ActivityGroup, action: &'static str, target: String) -> Self {
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

    /// The entry with this detail.
    pub fn with_detail(self, detail: String) -> Self {
        NewActivity { detail, ..self }
    }

    /// An entry for a portal write to the acting client's own account.
    pub fn on_account(acting: &Acting, group: ActivityGroup, action: &'static str) -> Self {
        NewActivity::from_acting(acting, group, action, format!("client #{}", acting.client_id))
    }

    /// An entry for a staff-side write: the staff member (or the system) is the actor, and the
    /// context's address is recorded; `subject` is the client it is about, if any.
    pub fn by_staff(
        by: &StaffActing,
        subject: Option<i64>,
        group: ActivityGroup,
        action: &'static str,
        target: String,
    ) -> Self {
        NewActivity {
            subject_client_id: subject,
            actor: by.into(),
            impersonation_id: None,
            group,
            action,
            target,
            detail: String::new(),
            ip: by.ip.clone(),
        }
    }
}

impl From<&StaffActing> for ActivityActor {
    fn from(by: &StaffActing) -> Self {
        by.staff_id.map_or(ActivityActor::System, ActivityActor::Staff)
    }
}

/// A stored entry with the names needed to display it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
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
    /// How the Login as Client session behind the entry was started, if there was one.
    pub channel: Channel,
}

/// The hash encoding new entries are written with (see [`entry_hash`]).
pub const HASH_VERSION: i64 = 2;

/// Every stored column of an entry, as read back from the database: what its hash binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEntry {
    pub id: i64,
    pub at: i64,
    pub subject_client_id: Option<i64>,
    pub actor_kind: String,
    pub actor_staff_id: Option<i64>,
    pub actor_client_id: Option<i64>,
    pub impersonation_id: Option<i64>,
    pub group: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub ip: String,
    pub prev_hash: String,
}

impl ChainEntry {
    fn new(prev: &str, id: i64, at: i64, e: &NewActivity) -> Self {
        let (kind, staff, client) = actor_columns(e.actor);
        ChainEntry {
            id,
            at,
            subject_client_id: e.subject_client_id,
            actor_kind: kind.to_string(),
            actor_staff_id: staff,
            actor_client_id: client,
            impersonation_id: e.impersonation_id,
            group: e.group.as_str().to_string(),
            action: e.action.to_string(),
            target: e.target.clone(),
            detail: e.detail.clone(),
            ip: e.ip.clone(),
            prev_hash: prev.to_string(),
        }
    }
}

/// The hex SHA-256 of an entry under hash encoding `version`, or `None` for an unknown version.
///
/// Version 1 (before 0007): each column as text (`""` for NULL), each prefixed with its length.
/// Version 2: a domain tag, then each column typed: `0` for NULL, `1` and 8 big-endian bytes for
/// an integer, `2`, an 8-byte big-endian length and the bytes for text. Both bind every column;
/// version 2 also keeps the version and the column types in the hash.
pub fn entry_hash(version: i64, e: &ChainEntry) -> Option<String> {
    let mut h = Sha256::new();
    match version {
        1 => {
            let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
            for part in [
                e.prev_hash.clone(),
                e.id.to_string(),
                e.at.to_string(),
                opt(e.subject_client_id),
                e.actor_kind.clone(),
                opt(e.actor_staff_id),
                opt(e.actor_client_id),
                opt(e.impersonation_id),
                e.group.clone(),
                e.action.clone(),
                e.target.clone(),
                e.detail.clone(),
                e.ip.clone(),
            ] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part.as_bytes());
            }
        }
        2 => {
            let int = |h: &mut Sha256, v: Option<i64>| match v {
                None => h.update([0u8]),
                Some(v) => {
                    h.update([1u8]);
                    h.update(v.to_be_bytes());
                }
            };
            let text = |h: &mut Sha256, s: &str| {
                h.update([2u8]);
                h.update((s.len() as u64).to_be_bytes());
                h.update(s.as_bytes());
            };
            text(&mut h, "behalf activity entry v2");
            text(&mut h, &e.prev_hash);
            int(&mut h, Some(e.id));
            int(&mut h, Some(e.at));
            int(&mut h, e.subject_client_id);
            text(&mut h, &e.actor_kind);
            int(&mut h, e.actor_staff_id);
            int(&mut h, e.actor_client_id);
            int(&mut h, e.impersonation_id);
            text(&mut h, &e.group);
            text(&mut h, &e.action);
            text(&mut h, &e.target);
            text(&mut h, &e.detail);
            text(&mut h, &e.ip);
        }
        _ => return None,
    }
    Some(hex::encode(h.finalize()))
}

fn hash_entry(prev: &str, id: i64, at: i64, e: &NewActivity) -> String {
    entry_hash(HASH_VERSION, &ChainEntry::new(prev, id, at, e)).unwrap_or_default()
}

fn actor_columns(a: ActivityActor) -> (&'static str, Option<i64>, Option<i64>) {
    match a {
        ActivityActor::Client(id) => ("client", None, Some(id)),
        ActivityActor::Staff(id) => ("staff", Some(id), None),
        ActivityActor::System => ("system", None, None),
    }
}

/// The chain head this process last wrote: `(last_id, last_hash)`. Only a hint: an append that
/// uses it checks in its UPDATE that the stored head still equals it, so a stale hint (another
/// node appended, a transaction rolled back, another database in the same process) costs one
/// extra statement and never a wrong chain.
static HEAD_HINT: Mutex<Option<(i64, String)>> = Mutex::new(None);

fn head_hint() -> Option<(i64, String)> {
    HEAD_HINT.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

fn set_head_hint(id: i64, hash: &str) {
    *HEAD_HINT.lock().unwrap_or_else(|p| p.into_inner()) = Some((id, hash.to_string()));
}

/// Appends an entry inside the caller's transaction, so the entry commits with the write it records.
pub async fn append(tx: &mut Tx, e: NewActivity) -> StoreResult<i64> {
    // Fast path, two statements: move the head from the hinted one to the new entry in one
    // conditional UPDATE (which also serialises appends on the head row), then insert.
    if let Some((last_id, last_hash)) = head_hint() {
        let (id, at) = (last_id + 1, crate::domain::now());
        let hash = hash_entry(&last_hash, id, at, &e);
        let moved = query(
            "UPDATE audit_head SET last_id = $1, last_hash = $2 WHERE id = 1 AND last_id = $3 AND last_hash = $4",
        )
        .bind(id)
        .bind(&hash)
        .bind(last_id)
        .bind(&last_hash)
        .execute(&mut **tx)
        .await?;
        if moved.rows_affected() == 1 {
            insert_entry(tx, id, at, &e, &last_hash, &hash).await?;
            set_head_hint(id, &hash);
            return Ok(id);
        }
    }
    // Claiming the head row serialises appends in the database itself (every node, both engines);
    // RETURNING gives the claimed id and the previous hash in the same statement.
    let head = query("UPDATE audit_head SET last_id = last_id + 1 WHERE id = 1 RETURNING last_id, last_hash")
        .fetch_one(&mut **tx)
        .await?;
    let id: i64 = head.get(0)?;
    let last_hash: String = head.get(1)?;
    let at = crate::domain::now();
    let hash = hash_entry(&last_hash, id, at, &e);
    insert_entry(tx, id, at, &e, &last_hash, &hash).await?;
    query("UPDATE audit_head SET last_hash = $1 WHERE id = 1").bind(&hash).execute(&mut **tx).await?;
    set_head_hint(id, &hash);
    Ok(id)
}

async fn insert_entry(tx: &mut Tx, id: i64, at: i64, e: &NewActivity, prev: &str, hash: &str) -> StoreResult<()> {
    let (kind, staff, client) = actor_columns(e.actor);
    query(
        "INSERT INTO activity (id, at, subject_client_id, actor_kind, actor_staff_id, actor_client_id, impersonation_id, action_group, action, target, detail, ip, prev_hash, hash, hash_version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(id)
    .bind(at)
    .bind(e.subject_client_id)
    .bind(kind)
    .bind(staff)
    .bind(client)
    .bind(e.impersonation_id)
    .bind(e.group.as_str())
    .bind(e.action)
    .bind(&e.target)
    .bind(&e.detail)
    .bind(&e.ip)
    .bind(prev)
    .bind(hash)
    .bind(HASH_VERSION)
    .execute(&mut **tx)
    .await?;
    // An entry that reports a security event has its webhook deliveries in its own transaction.
    enqueue_for_entry(tx, id, e).await
}

fn actor_json(actor: ActivityActor) -> Value {
    match actor {
        ActivityActor::Staff(id) => json!({ "kind": "staff", "id": id }),
        ActivityActor::Client(id) => json!({ "kind": "client", "id": id }),
        ActivityActor::System => json!({ "kind": "system" }),
    }
}

/// Called by [`append`] for each entry: an entry whose action raises an event enqueues
/// it, in the entry's transaction. A Login as Client event names the staff member, the client,
/// the reason, the mode, the channel and the address (and how it ended).
async fn enqueue_for_entry(tx: &mut Tx, entry_id: i64, e: &NewActivity) -> StoreResult<()> {
    let Some(event) = EventType::of_activity(e.group.as_str(), e.action) else { return Ok(()) };
    let endpoints = super::webhooks::endpoints_wanting(&mut **tx, event, None).await?;
    if endpoints.is_empty() {
        return Ok(());
    }
    let mut data = json!({
        "activity_id": entry_id,
        "action": e.action,
        "actor": actor_json(e.actor),
        "client_id": e.subject_client_id,
        "target": e.target,
        "detail": e.detail,
        "ip": e.ip,
    });
    if let (Some(imp), EventType::ImpersonationStarted | EventType::ImpersonationEnded) = (e.impersonation_id, event) {
        let row = query(
            "SELECT i.id, i.staff_id, sf.name, sf.email, i.client_id, c.name, c.email, i.reason, i.mode, i.channel,
                    i.ip, i.user_agent, i.started_at, i.ends_by, i.ended_at, i.end_reason, st.name
             FROM impersonations i JOIN staff sf ON sf.id = i.staff_id JOIN clients c ON c.id = i.client_id
             LEFT JOIN stores st ON st.id = i.store_id WHERE i.id = $1",
        )
        .bind(imp)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(r) = row {
            data["impersonation"] = json!({
                "id": r.get::<i64>(0)?,
                "staff": { "id": r.get::<i64>(1)?, "name": r.get::<String>(2)?, "email": r.get::<String>(3)? },
                "client": { "id": r.get::<i64>(4)?, "name": r.get::<String>(5)?, "email": r.get::<String>(6)? },
                "reason": r.get::<String>(7)?,
                "mode": r.get::<String>(8)?,
                "channel": r.get::<String>(9)?,
                "ip": r.get::<String>(10)?,
                "user_agent": r.get::<String>(11)?,
                "started_at": r.get::<i64>(12)?,
                "ends_by": r.get::<i64>(13)?,
                "ended_at": r.get::<Option<i64>>(14)?,
                "end_reason": r.get::<Option<String>>(15)?,
                "store": r.get::<Option<String>>(16)?,
            });
        }
    }
    super::webhooks::enqueue(tx, event, &endpoints, data).await
}

/// Filters for the activity page.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    pub group: Option<ActivityGroup>,
    pub actor_staff: Option<i64>,
    pub actor_client: Option<i64>,
    pub client: Option<i64>,
}

const COLUMNS: &str = "SELECT a.id, a.at, a.subject_client_id, c.name AS subject_name, a.actor_kind, a.actor_staff_id, s.name AS staff_name,
        a.impersonation_id, a.action_group, a.action, a.target, a.detail, a.ip, im.channel";
const NAMES: &str = "LEFT JOIN clients c ON c.id = a.subject_client_id LEFT JOIN staff s ON s.id = a.actor_staff_id
    LEFT JOIN impersonations im ON im.id = a.impersonation_id";

fn map_row(r: &Row) -> StoreResult<ActivityRow> {
    Ok(ActivityRow {
        id: r.get(0)?,
        at: r.get(1)?,
        subject_client_id: r.get(2)?,
        subject_name: r.get(3)?,
        actor_kind: r.get(4)?,
        actor_staff_id: r.get(5)?,
        actor_staff_name: r.get(6)?,
        impersonation_id: r.get(7)?,
        group: r.get(8)?,
        action: r.get(9)?,
        target: r.get(10)?,
        detail: r.get(11)?,
        ip: r.get(12)?,
        channel: Channel::parse(r.get::<Option<String>>(13)?.as_deref().unwrap_or("")),
    })
}

/// A value for one numbered placeholder of a [`Conditions`] clause.
pub(crate) use crate::db::query::Arg;

/// A WHERE clause built from only the filters present, each bound to its own numbered placeholder.
///
/// Every combination of filters is its own SQL text, so the planner sees plain `col = $n` terms and
/// can use the matching index; the old `($1 IS NULL OR col = $1)` form cannot be planned that way by
/// SQLite and scanned the whole table. Column names and operators are `&'static str` so only
/// constants from this crate ever reach the SQL text; values always go through placeholders.
#[derive(Debug, Default)]
pub(crate) struct Conditions {
    terms: Vec<String>,
    args: Vec<Arg>,
}

impl Conditions {
    /// Adds `column op $n` when the value is present.
    pub(crate) fn cmp(&mut self, column: &'static str, op: &'static str, value: Option<Arg>) {
        if let Some(v) = value {
            self.args.push(v);
            self.terms.push(format!("{column} {op} ${}", self.args.len()));
        }
    }

    /// Adds `column = $n` when the value is present.
    pub(crate) fn eq(&mut self, column: &'static str, value: Option<Arg>) {
        self.cmp(column, "=", value);
    }

    /// Adds `template` with every `$?` in it numbered as one new placeholder, when the value is
    /// present (a term that compares one value more than once).
    pub(crate) fn with(&mut self, template: &'static str, value: Option<Arg>) {
        if let Some(v) = value {
            self.args.push(v);
            self.terms.push(template.replace("$?", &format!("${}", self.args.len())));
        }
    }

    /// Adds a term without parameters.
    pub(crate) fn term(&mut self, term: &'static str) {
        self.terms.push(term.to_string());
    }

    /// The number the next placeholder after these conditions must have.
    pub(crate) fn next(&self) -> usize {
        self.args.len() + 1
    }

    /// `" WHERE a AND b"`, or nothing when no filter is present.
    pub(crate) fn sql(&self) -> String {
        if self.terms.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.terms.join(" AND "))
        }
    }

    /// Binds the values, in placeholder order.
    pub(crate) fn bind<'q>(&self, q: crate::db::query::Query<'q>) -> crate::db::query::Query<'q> {
        self.args.iter().cloned().fold(q, crate::db::query::Query::bind)
    }
}

impl ActivityFilter {
    fn conditions(&self) -> Conditions {
        let mut c = Conditions::default();
        c.eq("a.action_group", self.group.map(|g| Arg::Text(g.as_str().to_string())));
        c.eq("a.actor_staff_id", self.actor_staff.map(Arg::Int));
        c.eq("a.actor_client_id", self.actor_client.map(Arg::Int));
        c.eq("a.subject_client_id", self.client.map(Arg::Int));
        c
    }
}

impl super::Store {
    /// Lists entries newest first, filtered, one page at a time.
    pub async fn list_activity(&self, f: &ActivityFilter, page: i64, per_page: i64) -> StoreResult<Page<ActivityRow>> {
        let (page, offset) = super::page_offset(page, per_page);
        let cond = f.conditions();
        if cond.terms.is_empty() {
            // Unfiltered, the log's ids run 1..=newest without gaps (the hash chain and
            // `audit verify` hold it to that), so any page is an id range: as cheap at page
            // 10,000 as at page 1, where an OFFSET would step over every newer row.
            let total = self.last_activity_id().await?;
            let (hi, lo) = (total - offset, total - offset - per_page);
            let sql = format!("{COLUMNS} FROM activity a {NAMES} WHERE a.id > $1 AND a.id <= $2 ORDER BY a.id DESC");
            let rows = query(&sql).bind(lo).bind(hi).fetch_all(&self.db).await?;
            let items = rows.iter().map(map_row).collect::<StoreResult<Vec<_>>>()?;
            return Ok(Page { items, page, per_page, total });
        }
        let filter = cond.sql();
        let total: i64 =
            cond.bind(query(format!("SELECT COUNT(*) FROM activity a{filter}"))).fetch_scalar(&self.db).await?;
        // The page's ids are found first, on the filter's index alone, so a deep OFFSET skips index
        // entries rather than joined rows; only the page's own rows are then read and joined to
        // names. (`IN (…)` rather than a derived table: SQLite 3.46 drives a join to a derived table
        // from a scan of the outer table, visiting every row.)
        let (l, o) = (cond.next(), cond.next() + 1);
        let sql = format!(
            "{COLUMNS} FROM activity a {NAMES}
             WHERE a.id IN (SELECT a.id FROM activity a{filter} ORDER BY a.id DESC LIMIT ${l} OFFSET ${o})
             ORDER BY a.id DESC"
        );
        let rows = cond.bind(query(&sql)).bind(per_page).bind(offset).fetch_all(&self.db).await?;
        let items = rows.iter().map(map_row).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page { items, page, per_page, total })
    }

    /// Up to `limit` entries matching the filter with an id below `before` (all, without it),
    /// newest first: keyset paging for the API, as cheap deep in the log as at its head.
    pub async fn activity_before(
        &self,
        f: &ActivityFilter,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<ActivityRow>> {
        let mut cond = f.conditions();
        cond.cmp("a.id", "<", before.map(Arg::Int));
        let (filter, l) = (cond.sql(), cond.next());
        let sql = format!("{COLUMNS} FROM activity a {NAMES}{filter} ORDER BY a.id DESC LIMIT ${l}");
        let rows = cond.bind(query(&sql)).bind(limit).fetch_all(&self.db).await?;
        rows.iter().map(map_row).collect()
    }

    /// The id of the newest entry (0 when the log is empty).
    pub async fn last_activity_id(&self) -> StoreResult<i64> {
        let row = query("SELECT COALESCE(MAX(id), 0) FROM activity").fetch_one(&self.db).await?;
        Ok(row.get(0)?)
    }

    /// Up to `limit` entries with `after < id <= upto`, oldest first: keyset paging for exports,
    /// which stays as cheap on the millionth row as on the first.
    pub async fn activity_batch(&self, after: i64, upto: i64, limit: i64) -> StoreResult<Vec<ActivityRow>> {
        let rows =
            query(format!("{COLUMNS} FROM activity a {NAMES} WHERE a.id > $1 AND a.id <= $2 ORDER BY a.id LIMIT $3"))
                .bind(after)
                .bind(upto)
                .bind(limit)
                .fetch_all(&self.db)
                .await?;
        rows.iter().map(map_row).collect()
    }

    /// Walks the whole chain; returns the id of the newest entry, or what does not verify.
    pub async fn verify_activity_chain(&self) -> StoreResult<Result<i64, String>> {
        let (last_id, last_hash) = match self.verify_activity_range(0, "", None).await? {
            Ok(end) => end,
            Err(problem) => return Ok(Err(problem)),
        };
        let (head_id, head_hash) = self.audit_head().await?;
        if head_id != last_id || head_hash != last_hash {
            return Ok(Err(format!("the newest entries after {last_id} are missing")));
        }
        Ok(Ok(last_id))
    }

    /// The chain head as the log's writers last left it: `(last_id, last_hash)`.
    pub async fn audit_head(&self) -> StoreResult<(i64, String)> {
        let head = query("SELECT last_id, last_hash FROM audit_head WHERE id = 1").fetch_one(&self.db).await?;
        Ok((head.get(0)?, head.get(1)?))
    }

    /// Walks the chain from just after entry `after` (whose hash is `after_hash`; `0` and `""` for
    /// the start) up to entry `upto` (every entry when `None`), each entry hashed with its own
    /// version. Returns the id and hash of the last entry walked, or what does not verify.
    pub async fn verify_activity_range(
        &self,
        after: i64,
        after_hash: &str,
        upto: Option<i64>,
    ) -> StoreResult<Result<(i64, String), String>> {
        // Walk in keyset batches so memory stays flat however long the log grows.
        const BATCH: i64 = 5_000;
        let upto = upto.unwrap_or(i64::MAX);
        let mut prev = after_hash.to_string();
        let mut expected_id = after + 1;
        loop {
            let rows = query(
                "SELECT id, at, subject_client_id, actor_kind, actor_staff_id, actor_client_id, impersonation_id, action_group, action, target, detail, ip, prev_hash, hash, hash_version FROM activity WHERE id >= $1 AND id <= $2 ORDER BY id LIMIT $3",
            )
            .bind(expected_id)
            .bind(upto)
            .bind(BATCH)
            .fetch_all(&self.db)
            .await?;
            let batch_len = rows.len();
            for r in &rows {
                let e = ChainEntry {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    subject_client_id: r.get(2)?,
                    actor_kind: r.get(3)?,
                    actor_staff_id: r.get(4)?,
                    actor_client_id: r.get(5)?,
                    impersonation_id: r.get(6)?,
                    group: r.get(7)?,
                    action: r.get(8)?,
                    target: r.get(9)?,
                    detail: r.get(10)?,
                    ip: r.get(11)?,
                    prev_hash: r.get(12)?,
                };
                let stored_hash: String = r.get(13)?;
                let version: i64 = r.get(14)?;
                let id = e.id;
                if id != expected_id {
                    return Ok(Err(format!("entry {expected_id} is missing (found {id} next)")));
                }
                let Some(computed) = entry_hash(version, &e) else {
                    return Ok(Err(format!("entry {id} has an unknown hash version {version}")));
                };
                if e.prev_hash != prev || stored_hash != computed {
                    return Ok(Err(format!("entry {id} was changed or reordered")));
                }
                prev = stored_hash;
                expected_id += 1;
            }
            if (batch_len as i64) < BATCH {
                break;
            }
            // On SQLite a read never waits, so a walk of the whole log would hold this runtime
            // thread to the end: let the other tasks run between batches.
            tokio::task::yield_now().await;
        }
        if upto != i64::MAX && expected_id <= upto {
            return Ok(Err(format!("entry {expected_id} is missing")));
        }
        Ok(Ok((expected_id - 1, prev)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::query::query_as;
    use crate::store::impersonations::ImpersonationFilter;
    use crate::store::Store;

    #[test]
    fn conditions_number_only_the_filters_present() {
        let f = ActivityFilter { group: Some(ActivityGroup::Tickets), client: Some(42), ..Default::default() };
        let c = f.conditions();
        assert_eq!(c.sql(), " WHERE a.action_group = $1 AND a.subject_client_id = $2");
        assert_eq!(c.next(), 3);
        let none = ActivityFilter::default().conditions();
        assert_eq!(none.sql(), "");
        assert_eq!(none.next(), 1);
        let mut c = Conditions::default();
        c.term("i.ended_at IS NULL");
        c.cmp("i.started_at", "<", Some(Arg::Int(5)));
        assert_eq!(c.sql(), " WHERE i.ended_at IS NULL AND i.started_at < $1");
    }

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        db.migrate().await.unwrap();
        (dir, Store::new(db))
    }

    const GROUPS: [ActivityGroup; 3] = [ActivityGroup::Tickets, ActivityGroup::Security, ActivityGroup::Settings];

    /// Entry `i` (1-based): group by i % 3, subject client 1 + i % 4 (none for settings), staff 1 + i % 2
    /// on even entries, client actor on odd ones.
    fn entry(i: i64) -> NewActivity {
        let group = GROUPS[(i % 3) as usize];
        let client = (group != ActivityGroup::Settings).then_some(1 + i % 4);
        NewActivity {
            subject_client_id: client,
            actor: if i % 2 == 0 { ActivityActor::Staff(1 + i % 4 / 2) } else { ActivityActor::Client(1 + i % 4) },
            impersonation_id: None,
            group,
            action: "test",
            target: format!("t{i}"),
            detail: String::new(),
            ip: String::new(),
        }
    }

    fn sample() -> ChainEntry {
        ChainEntry {
            id: 7,
            at: 1_700_000_000,
            subject_client_id: Some(3),
            actor_kind: "staff".into(),
            actor_staff_id: Some(2),
            actor_client_id: None,
            impersonation_id: Some(9),
            group: "login_as_client".into(),
            action: "start".into(),
            target: "client 3".into(),
            detail: "reason: x".into(),
            ip: "10.0.0.1".into(),
            prev_hash: "abc".into(),
        }
    }

    #[test]
    fn version_1_hashes_as_the_previous_release_wrote_them() {
        // Computed independently of this crate with the pre-0007 encoding.
        assert_eq!(
            entry_hash(1, &sample()).unwrap(),
            "27570e78c4ac3c6c16c77cdfcf882745801baa6e8875531699e2e279d8f2012b"
        );
        assert_eq!(entry_hash(3, &sample()), None);
    }

    #[test]
    fn every_column_changes_the_hash() {
        let base = sample();
        let edits: &[fn(&mut ChainEntry)] = &[
            |e| e.id += 1,
            |e| e.at += 1,
            |e| e.subject_client_id = None,
            |e| e.actor_kind = "client".into(),
            |e| e.actor_staff_id = Some(1),
            |e| e.actor_client_id = Some(2),
            |e| e.impersonation_id = None,
            |e| e.group = "security".into(),
            |e| e.action = "end".into(),
            |e| e.target.push('x'),
            |e| e.detail.clear(),
            |e| e.ip = "10.0.0.2".into(),
            |e| e.prev_hash = "abd".into(),
            // Moving bytes between neighbouring columns must not collide either.
            |e| {
                e.target = "client 3r".into();
                e.detail = "eason: x".into();
            },
        ];
        for version in [1, 2] {
            let h = entry_hash(version, &base).unwrap();
            for (i, edit) in edits.iter().enumerate() {
                let mut e = base.clone();
                edit(&mut e);
                assert_ne!(entry_hash(version, &e).unwrap(), h, "version {version}, edit {i}");
            }
        }
        assert_ne!(entry_hash(1, &base), entry_hash(2, &base));
    }

    #[tokio::test]
    async fn old_entries_verify_beside_new_ones_and_every_column_counts() {
        let (_dir, store) = store().await;
        let mut tx = store.begin().await.unwrap();
        for i in 1..=6 {
            append(&mut tx, entry(i)).await.unwrap();
        }
        tx.commit().await.unwrap();
        // Rewrite entries 1..=6 as the previous release wrote them: version 1 hashes.
        let mut prev = String::new();
        for i in 1..=6 {
            let mut e = ChainEntry::new(&prev, i, 0, &entry(i));
            e.at = query("SELECT at FROM activity WHERE id = $1")
                .bind(i)
                .fetch_one(&store.db)
                .await
                .unwrap()
                .get(0)
                .unwrap();
            let hash = entry_hash(1, &e).unwrap();
            query("UPDATE activity SET hash_version = 1, prev_hash = $1, hash = $2 WHERE id = $3")
                .bind(&prev)
                .bind(&hash)
                .bind(i)
                .execute(store.db.writer())
                .await
                .unwrap();
            prev = hash;
        }
        query("UPDATE audit_head SET last_hash = $1 WHERE id = 1")
            .bind(&prev)
            .execute(store.db.writer())
            .await
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        for i in 7..=9 {
            append(&mut tx, entry(i)).await.unwrap();
        }
        tx.commit().await.unwrap();
        assert_eq!(store.verify_activity_chain().await.unwrap(), Ok(9));
        let versions: i64 =
            query("SELECT SUM(hash_version) FROM activity").fetch_one(&store.db).await.unwrap().get(0).unwrap();
        assert_eq!(versions, 6 + 2 * 3);

        // Entry 3 is a client's own action: pinning it on a staff member fails, in either version.
        for (id, sql) in [
            (3, "UPDATE activity SET actor_staff_id = 1 WHERE id = 3"),
            (3, "UPDATE activity SET actor_kind = 'system' WHERE id = 3"),
            (7, "UPDATE activity SET actor_staff_id = 1 WHERE id = 7"),
            (7, "UPDATE activity SET hash_version = 1 WHERE id = 7"),
        ] {
            let before: (String, Option<i64>, i64) =
                query_as("SELECT actor_kind, actor_staff_id, hash_version FROM activity WHERE id = $1")
                    .bind(id)
                    .fetch_one(&store.db)
                    .await
                    .unwrap();
            query(sql).execute(store.db.writer()).await.unwrap();
            assert_eq!(
                store.verify_activity_chain().await.unwrap(),
                Err(format!("entry {id} was changed or reordered")),
                "{sql}"
            );
            query("UPDATE activity SET actor_kind = $1, actor_staff_id = $2, hash_version = $3 WHERE id = $4")
                .bind(before.0)
                .bind(before.1)
                .bind(before.2)
                .bind(id)
                .execute(store.db.writer())
                .await
                .unwrap();
            assert_eq!(store.verify_activity_chain().await.unwrap(), Ok(9));
        }
    }

    #[tokio::test]
    async fn filtered_pages_and_keyset_batches_match_a_plain_scan() {
        let (_dir, store) = store().await;
        let n = 2_345;
        let mut tx = store.begin().await.unwrap();
        for i in 1..=n {
            append(&mut tx, entry(i)).await.unwrap();
        }
        tx.commit().await.unwrap();
        let all: Vec<(i64, NewActivity)> = (1..=n).map(|i| (i, entry(i))).collect();

        let filters = [
            ActivityFilter::default(),
            ActivityFilter { group: Some(ActivityGroup::Tickets), ..Default::default() },
            ActivityFilter { client: Some(3), ..Default::default() },
            ActivityFilter { actor_staff: Some(2), ..Default::default() },
            ActivityFilter { actor_client: Some(2), ..Default::default() },
            ActivityFilter { group: Some(ActivityGroup::Security), client: Some(4), ..Default::default() },
            ActivityFilter { group: Some(ActivityGroup::Files), ..Default::default() },
        ];
        for f in &filters {
            let mut expected: Vec<i64> = all
                .iter()
                .filter(|(_, e)| {
                    let (_, staff, client) = actor_columns(e.actor);
                    f.group.is_none_or(|g| g == e.group)
                        && f.client.is_none_or(|c| Some(c) == e.subject_client_id)
                        && f.actor_staff.is_none_or(|s| Some(s) == staff)
                        && f.actor_client.is_none_or(|c| Some(c) == client)
                })
                .map(|(id, _)| *id)
                .collect();
            expected.reverse();
            let mut seen = Vec::new();
            for page in 1.. {
                let p = store.list_activity(f, page, 100).await.unwrap();
                assert_eq!(p.total, expected.len() as i64, "{f:?}");
                assert_eq!(p.page, page);
                seen.extend(p.items.iter().map(|r| r.id));
                if page >= p.pages() {
                    assert!(store.list_activity(f, page + 1, 100).await.unwrap().items.is_empty());
                    break;
                }
            }
            assert_eq!(seen, expected, "{f:?}");
        }

        // Keyset batches: oldest first, every entry once, and nothing past the upper bound.
        let upto = store.last_activity_id().await.unwrap();
        assert_eq!(upto, n);
        let mut after = 0;
        let mut ids = Vec::new();
        loop {
            let batch = store.activity_batch(after, upto - 5, 1000).await.unwrap();
            let Some(last) = batch.last() else { break };
            after = last.id;
            ids.extend(batch.iter().map(|r| r.id));
        }
        assert_eq!(ids, (1..=n - 5).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn impersonation_filters_page_like_a_plain_scan() {
        let (_dir, store) = store().await;
        // Plain rows straight into the tables: 3 staff, 5 clients, 130 sessions, the newest 3 live.
        for s in 1..=3 {
            query("INSERT INTO roles (id, name) VALUES ($1, $2)")
                .bind(s)
                .bind(format!("r{s}"))
                .execute(store.db.writer())
                .await
                .unwrap();
            query(
                "INSERT INTO staff (id, email, name, password_hash, role_id, active, created_at) VALUES ($1, $2, $3, '', $1, 1, 0)",
            )
            .bind(s)
            .bind(format!("s{s}@example.com"))
            .bind(format!("Staff {s}"))
            .execute(store.db.writer())
            .await
            .unwrap();
        }
        for c in 1..=5 {
            query("INSERT INTO clients (id, email, name, password_hash, active, created_at) VALUES ($1, $2, $3, '', 1, 0)")
                .bind(c)
                .bind(format!("c{c}@example.com"))
                .bind(format!("Client {c}"))
                .execute(store.db.writer())
                .await
                .unwrap();
        }
        let n = 130;
        let row = |i: i64| (1 + i % 3, 1 + i % 5, 1_000 + i * 10, i > n - 3);
        for i in 1..=n {
            let (staff, client, started, live) = row(i);
            query(
                "INSERT INTO impersonations (id, staff_id, client_id, mode, started_at, last_seen_at, ends_by, ended_at)
                 VALUES ($1, $2, $3, 'read_only', $4, $4, $4, $5)",
            )
            .bind(i)
            .bind(staff)
            .bind(client)
            .bind(started)
            .bind((!live).then_some(started + 5))
            .execute(store.db.writer())
            .await
            .unwrap();
        }
        let filters = [
            ImpersonationFilter::default(),
            ImpersonationFilter { staff: Some(2), ..Default::default() },
            ImpersonationFilter { client: Some(4), live: Some(false), ..Default::default() },
            ImpersonationFilter { from: Some(1_300), to: Some(1_800), ..Default::default() },
            ImpersonationFilter { live: Some(true), ..Default::default() },
            ImpersonationFilter {
                staff: Some(1),
                client: Some(2),
                from: Some(1_100),
                to: Some(2_000),
                live: Some(false),
                ..Default::default()
            },
        ];
        for f in &filters {
            let mut expected: Vec<i64> = (1..=n)
                .filter(|&i| {
                    let (staff, client, started, live) = row(i);
                    f.staff.is_none_or(|s| s == staff)
                        && f.client.is_none_or(|c| c == client)
                        && f.from.is_none_or(|t| started >= t)
                        && f.to.is_none_or(|t| started < t)
                        && f.live.is_none_or(|l| l == live)
                })
                .collect();
            expected.reverse();
            let mut seen = Vec::new();
            for page in 1.. {
                let p = store.list_impersonations(f, page, 20).await.unwrap();
                assert_eq!(p.total, expected.len() as i64, "{f:?}");
                seen.extend(p.items.iter().map(|i| i.id));
                if page >= p.pages() {
                    break;
                }
            }
            assert_eq!(seen, expected, "{f:?}");
        }
    }
}
