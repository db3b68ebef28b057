//! Login as Client records: starting, touching, listing and ending impersonations, and the session
//! endings that must end an impersonation behind them (a sign-in over the browser's old portal
//! session, a staff sign-out, the sweep of expired sessions).

use super::activity::{append, ActivityActor, NewActivity};
use super::sessions::{end_staff_session_by_hash, insert_session, security_event, touch_last_login};
use super::{Page, Store, StoreError, StoreResult, Tx};
use crate::db::query::{from_row, query, query_as};
use crate::domain::acting::{Acting, StaffActing};
use crate::domain::activity::ActivityGroup;
use crate::domain::api::Channel;
use crate::domain::conflict::Conflict;
use crate::domain::impersonation::{ClientNotice, EndReason, Mode, StartDecision};
use crate::domain::session::{SessionKind, Whose};

/// An impersonation record.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Impersonation {
    pub id: i64,
    pub staff_id: i64,
    pub staff_name: String,
    pub client_id: i64,
    pub client_name: String,
    pub store_name: Option<String>,
    pub reason: String,
    pub mode: String,
    pub ip: String,
    pub user_agent: String,
    pub started_at: i64,
    pub last_seen_at: i64,
    pub ends_by: i64,
    pub ended_at: Option<i64>,
    pub end_reason: Option<String>,
    pub actions: i64,
    /// `page` or `api`: how it was started (see [`Channel`]).
    pub channel: String,
}
from_row!(Impersonation {
    id,
    staff_id,
    staff_name,
    client_id,
    client_name,
    store_name,
    reason,
    mode,
    ip,
    user_agent,
    started_at,
    last_seen_at,
    ends_by,
    ended_at,
    end_reason,
    actions,
    channel,
});

/// Everything a start writes, decided beforehand by the policy.
pub struct NewImpersonation<'a> {
    pub staff_id: i64,
    pub staff_name: &'a str,
    pub client_id: i64,
    pub client_name: &'a str,
    pub decision: &'a StartDecision,
    pub store_name: Option<&'a str>,
    /// The staff member's request: its address and user agent are kept on the record.
    pub by: &'a StaffActing,
    pub token_hash: &'a str,
    pub csrf_token: &'a str,
    /// The portal session this browser had, which the start ends.
    pub replaces_token_hash: Option<&'a str>,
    /// The e-mail telling the client, per `impersonation.notify_client`; with it the start also
    /// shows on the client's portal. `None` tells the client nothing.
    pub notice: Option<ClientNotice>,
    /// The button or the token exchange; an API start's session opens only the API.
    pub channel: Channel,
    /// The API key of a token exchange: revoking it ends the session.
    pub api_key_id: Option<i64>,
}

/// Filters for the impersonation log.
#[derive(Debug, Clone, Default)]
pub struct ImpersonationFilter {
    pub staff: Option<i64>,
    pub client: Option<i64>,
    /// Part of the client's name or e-mail address, any case.
    pub client_text: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub live: Option<bool>,
}

const IMPERSONATION_SQL: &str = "SELECT i.id, i.staff_id, sf.name AS staff_name, i.client_id, c.name AS client_name, st.name AS store_name,
        i.reason, i.mode, i.ip, i.user_agent, i.started_at, i.last_seen_at, i.ends_by, i.ended_at, i.end_reason,
        (SELECT COUNT(*) FROM activity a WHERE a.impersonation_id = i.id AND a.action_group <> 'login_as_client') AS actions,
        i.channel
     FROM impersonations i JOIN staff sf ON sf.id = i.staff_id JOIN clients c ON c.id = i.client_id
     LEFT JOIN stores st ON st.id = i.store_id";

impl Store {
    /// Staff sign-out: ends the session and every live impersonation of that staff member.
    pub async fn end_staff_session(&self, session_id: i64, staff_id: i64, by: &StaffActing) -> StoreResult<()> {
        self.record(|mut tx| async move {
            query("DELETE FROM sessions WHERE id = $1").bind(session_id).execute(&mut *tx).await?;
            end_impersonations_where(&mut tx, Whose::Staff(staff_id), EndReason::StaffLogout, by.into(), &by.ip)
                .await?;
            Ok((tx, (), security_event(by.into(), None, "Staff signed out", &by.ip)))
        })
        .await
    }

    /// Signs a staff member or a client in: ends the session of that side this browser had,
    /// stores the new one, notes the sign-in time and records it. It lives here because the
    /// portal session it replaces may have a Login as Client session behind it, which ends as
    /// `replaced`.
    pub async fn create_session(
        &self,
        whose: Whose,
        token_hash: &str,
        csrf: &str,
        expires_at: i64,
        replaces_token_hash: Option<&str>,
        ip: &str,
    ) -> StoreResult<()> {
        let (kind, staff_id, client_id, actor, subject, action) = match whose {
            Whose::Staff(id) => (SessionKind::Staff, Some(id), None, ActivityActor::Staff(id), None, "Staff signed in"),
            Whose::Client(id) => {
                (SessionKind::Client, None, Some(id), ActivityActor::Client(id), Some(id), "Client signed in")
            }
        };
        self.record(|mut tx| async move {
            match (whose, replaces_token_hash) {
                (Whose::Staff(_), Some(old)) => end_staff_session_by_hash(&mut tx, old).await?,
                (Whose::Client(_), Some(old)) => end_portal_session_by_hash(&mut tx, old, ip).await?,
                (_, None) => {}
            }
            insert_session(&mut tx, token_hash, kind, staff_id, client_id, None, csrf, expires_at).await?;
            touch_last_login(&mut tx, whose).await?;
            Ok((tx, (), security_event(actor, subject, action, ip)))
        })
        .await
    }

    /// Starts Login as Client: ends this staff member's live impersonation and the browser's old
    /// portal session, then creates the record, the new portal session and the activity entry.
    pub async fn start_impersonation(&self, n: &NewImpersonation<'_>) -> StoreResult<i64> {
        let now = crate::domain::now();
        self.record(|mut tx| async move {
            if let Some(old) = n.replaces_token_hash {
                end_portal_session_by_hash(&mut tx, old, &n.by.ip).await?;
            }
            // Usually the staff member has no live impersonation: the insert then succeeds at once.
            // Otherwise the one-live-per-staff index refuses it, the live one ends as `replaced`, and
            // the insert runs again.
            let id = match insert_impersonation(&mut tx, n, now, true).await? {
                Some(id) => id,
                None => {
                    end_impersonations_where(
                        &mut tx,
                        Whose::Staff(n.staff_id),
                        EndReason::Replaced,
                        n.by.into(),
                        &n.by.ip,
                    )
                    .await?;
                    insert_impersonation(&mut tx, n, now, false).await?.ok_or(StoreError::NotFound)?
                }
            };
            let d = n.decision;
            // The row outlives the deadline by a day so the request after it can record `expired`.
            let kind = match n.channel {
                Channel::Page => SessionKind::Client,
                Channel::Api => SessionKind::Api,
            };
            insert_session(
                &mut tx,
                n.token_hash,
                kind,
                Some(n.staff_id),
                Some(n.client_id),
                Some(id),
                n.csrf_token,
                d.ends_by + 86400,
            )
            .await?;
            if let Some(notice) = &n.notice {
                super::outbox::enqueue(&mut tx, &notice.to, &notice.subject, &notice.body).await?;
            }
            Ok((
                tx,
                id,
                NewActivity {
                    impersonation_id: Some(id),
                    detail: format!(
                        "staff {} (#{}) logged in as {} (#{}); reason: {}; mode: {}; store: {}; user agent: {}{}",
                        n.staff_name,
                        n.staff_id,
                        n.client_name,
                        n.client_id,
                        d.shown_reason(),
                        d.mode.as_str(),
                        n.store_name.unwrap_or("-"),
                        n.by.user_agent,
                        match n.channel {
                            Channel::Page => "",
                            Channel::Api => "; channel: api",
                        }
                    ),
                    ..NewActivity::by_staff(
                        n.by,
                        Some(n.client_id),
                        ActivityGroup::LoginAsClient,
                        "Staff impersonated client",
                        format!("client #{}", n.client_id),
                    )
                },
            ))
        })
        .await
    }

    /// Ends one impersonation with its reason; returns false if it had already ended.
    pub async fn end_impersonation(&self, id: i64, reason: EndReason, by: &StaffActing) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let ended = end_impersonation_tx(&mut tx, id, reason, by.into(), &by.ip).await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// Another staff member ends a live session (from the log, or the API): `NotFound` for an
    /// unknown one, `Conflict::ImpersonationEnded` for one that has ended.
    pub async fn end_impersonation_by_staff(&self, id: i64, by: &StaffActing) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        if !end_impersonation_tx(&mut tx, id, EndReason::EndedByStaff, by.into(), &by.ip).await? {
            let exists = query("SELECT id FROM impersonations WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
            return Err(if exists.is_some() {
                StoreError::Conflict(Conflict::ImpersonationEnded)
            } else {
                StoreError::NotFound
            });
        }
        tx.commit().await?;
        Ok(())
    }

    /// The client's "End support access": ends every live impersonation of the account.
    pub async fn end_client_impersonations(&self, acting: &Acting) -> StoreResult<usize> {
        let mut tx = self.begin().await?;
        let client = acting.client_id;
        let n = end_impersonations_where(
            &mut tx,
            Whose::Client(client),
            EndReason::ClientEnded,
            ActivityActor::Client(client),
            &acting.ip,
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Impersonations the client has not yet acknowledged (only those the client is told about).
    pub async fn unseen_access(&self, client_id: i64) -> StoreResult<Vec<Impersonation>> {
        Ok(query_as(format!(
            "{IMPERSONATION_SQL} WHERE i.client_id = $1 AND i.notify_client = 1
               AND i.started_at >= (SELECT access_seen_at FROM clients WHERE id = $1) ORDER BY i.id DESC LIMIT 10"
        ))
        .bind(client_id)
        .fetch_all(&self.db)
        .await?)
    }

    /// The client acknowledges the access notices (their own session only).
    pub async fn mark_access_seen(&self, acting: &Acting) -> StoreResult<()> {
        self.change(
            query("UPDATE clients SET access_seen_at = $1 WHERE id = $2")
                .bind(crate::domain::now() + 1)
                .bind(acting.client_id),
            NewActivity::on_account(acting, ActivityGroup::Account, "Acknowledged support access notices"),
        )
        .await
    }

    /// What was done in each of these impersonations of this client, oldest first.
    pub async fn impersonation_actions(
        &self,
        client_id: i64,
        ids: &[i64],
    ) -> StoreResult<Vec<(i64, i64, String, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT impersonation_id, at, action, target FROM activity WHERE subject_client_id = $1
               AND action_group <> 'login_as_client' AND impersonation_id IN ({}) ORDER BY id",
            marks.join(", ")
        );
        let mut q = query(&sql).bind(client_id);
        for id in ids {
            q = q.bind(*id);
        }
        let rows = q.fetch_all(&self.db).await?;
        rows.iter().map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).collect()
    }

    /// Ends impersonations past their deadline or idle limit that no request has noticed, and
    /// removes expired session rows. Safe to run on every node at once.
    pub async fn sweep(&self, limits: crate::domain::impersonation::LiveLimits) -> StoreResult<usize> {
        let now = crate::domain::now();
        let rows = query(
            "SELECT id, ends_by, started_at FROM impersonations
             WHERE ended_at IS NULL AND (ends_by <= $1 OR last_seen_at <= $2 OR started_at <= $3)",
        )
        .bind(now)
        .bind(now - limits.idle_timeout)
        .bind(now - limits.max_duration)
        .fetch_all(&self.db)
        .await?;
        let mut ended = 0;
        for r in rows {
            let id: i64 = r.get(0)?;
            let ends_by: i64 = r.get(1)?;
            let started_at: i64 = r.get(2)?;
            let expired = limits.deadline(started_at, ends_by) <= now;
            let reason = if expired { EndReason::Expired } else { EndReason::Idle };
            ended += self.end_impersonation(id, reason, &StaffActing::server()).await? as usize;
        }
        query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(self.db.writer()).await?;
        Ok(ended)
    }

    /// Records that an impersonation was seen now (for the idle timeout).
    pub async fn touch_impersonation(&self, id: i64, now: i64) -> StoreResult<()> {
        query("UPDATE impersonations SET last_seen_at = $1 WHERE id = $2 AND ended_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(self.db.writer())
            .await?;
        Ok(())
    }

    /// One impersonation record.
    pub async fn impersonation(&self, id: i64) -> StoreResult<Impersonation> {
        query_as(format!("{IMPERSONATION_SQL} WHERE i.id = $1"))
            .bind(id)
            .fetch_optional(&self.db)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Who is in this client's portal through Login as Client at `now`: impersonations not ended
    /// and still within their deadline and idle limit, newest first. One past its limits that the
    /// sweep has not ended yet is not counted.
    pub async fn live_impersonations_of(
        &self,
        client_id: i64,
        limits: crate::domain::impersonation::LiveLimits,
        now: i64,
    ) -> StoreResult<Vec<Impersonation>> {
        Ok(query_as(format!(
            "{IMPERSONATION_SQL} WHERE i.client_id = $1 AND i.ended_at IS NULL
               AND i.ends_by > $2 AND i.started_at > $3 AND i.last_seen_at > $4 ORDER BY i.id DESC"
        ))
        .bind(client_id)
        .bind(now)
        .bind(now - limits.max_duration)
        .bind(now - limits.idle_timeout)
        .fetch_all(&self.db)
        .await?)
    }

    /// The impersonation log, newest first, filtered and paged.
    pub async fn list_impersonations(
        &self,
        f: &ImpersonationFilter,
        page: i64,
        per_page: i64,
    ) -> StoreResult<Page<Impersonation>> {
        let (page, offset) = super::page_offset(page, per_page);
        let cond = log_conditions(f);
        let filter = cond.sql();
        let total: i64 =
            cond.bind(query(format!("SELECT COUNT(*) FROM impersonations i{filter}"))).fetch_scalar(&self.db).await?;
        let (l, o) = (cond.next(), cond.next() + 1);
        let items = cond
            .bind(query(format!("{IMPERSONATION_SQL}{filter} ORDER BY i.id DESC LIMIT ${l} OFFSET ${o}")))
            .typed()
            .bind(per_page)
            .bind(offset)
            .fetch_all(&self.db)
            .await?;
        Ok(Page { items, page, per_page, total })
    }

    /// Up to `limit` records of the log, filtered, with an id below `before` (from the newest
    /// without it): keyset paging for the API, unshifted by sessions started meanwhile.
    pub async fn impersonations_before(
        &self,
        f: &ImpersonationFilter,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<Impersonation>> {
        let mut cond = log_conditions(f);
        cond.cmp("i.id", "<", before.map(super::activity::Arg::Int));
        let (filter, l) = (cond.sql(), cond.next());
        Ok(cond
            .bind(query(format!("{IMPERSONATION_SQL}{filter} ORDER BY i.id DESC LIMIT ${l}")))
            .typed()
            .bind(limit)
            .fetch_all(&self.db)
            .await?)
    }
}

/// The log's filters as SQL terms; only the filters present become terms, so each combination
/// can use its index.
fn log_conditions(f: &ImpersonationFilter) -> super::activity::Conditions {
    use super::activity::{Arg, Conditions};
    let mut cond = Conditions::default();
    cond.eq("i.staff_id", f.staff.map(Arg::Int));
    cond.eq("i.client_id", f.client.map(Arg::Int));
    cond.with(
        "i.client_id IN (SELECT id FROM clients WHERE LOWER(name) LIKE $? ESCAPE '\\' OR LOWER(email) LIKE $? ESCAPE '\\')",
        f.client_text.as_deref().map(|t| Arg::Text(like_pattern(t))),
    );
    cond.cmp("i.started_at", ">=", f.from.map(Arg::Int));
    cond.cmp("i.started_at", "<", f.to.map(Arg::Int));
    match f.live {
        Some(true) => cond.term("i.ended_at IS NULL"),
        Some(false) => cond.term("i.ended_at IS NOT NULL"),
        None => {}
    }
    cond
}

/// Inserts the impersonation record; with `yield_to_live`, returns `None` instead of inserting
/// when the staff member still has a live one (the partial unique index decides).
async fn insert_impersonation(
    tx: &mut Tx,
    n: &NewImpersonation<'_>,
    now: i64,
    yield_to_live: bool,
) -> StoreResult<Option<i64>> {
    let d = n.decision;
    let on_conflict = if yield_to_live { " ON CONFLICT (staff_id) WHERE ended_at IS NULL DO NOTHING" } else { "" };
    let row = query(format!(
        "INSERT INTO impersonations (staff_id, client_id, store_id, reason, mode, ip, user_agent, started_at, last_seen_at, ends_by, notify_client, channel, api_key_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12){on_conflict} RETURNING id"
    ))
    .bind(n.staff_id)
    .bind(n.client_id)
    .bind(d.store)
    .bind(&d.reason)
    .bind(d.mode.as_str())
    .bind(&n.by.ip)
    .bind(&n.by.user_agent)
    .bind(now)
    .bind(d.ends_by)
    .bind(n.notice.is_some() as i64)
    .bind(n.channel.as_str())
    .bind(n.api_key_id)
    .fetch_optional(&mut **tx)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(ref db) if db.is_unique_violation() => {
            StoreError::Conflict(Conflict::ImpersonationStarting)
        }
        e => StoreError::Db(e),
    })?;
    row.map(|r| r.get(0)).transpose().map_err(StoreError::from)
}

/// Ends the portal session with this token hash; an impersonation behind it ends as `replaced`.
async fn end_portal_session_by_hash(tx: &mut Tx, token_hash: &str, ip: &str) -> StoreResult<()> {
    let row = query("SELECT impersonation_id, staff_id FROM sessions WHERE token_hash = $1 AND kind = 'client'")
        .bind(token_hash)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(row) = row {
        if let (Some(imp), Some(staff)) = (row.get::<Option<i64>>(0)?, row.get::<Option<i64>>(1)?) {
            end_impersonation_tx(tx, imp, EndReason::Replaced, ActivityActor::Staff(staff), ip).await?;
        }
        query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&mut **tx).await?;
    }
    Ok(())
}

async fn live_ids(tx: &mut Tx, whose: Whose) -> StoreResult<Vec<i64>> {
    let (sql, id) = match whose {
        Whose::Staff(id) => ("SELECT id FROM impersonations WHERE staff_id = $1 AND ended_at IS NULL", id),
        Whose::Client(id) => ("SELECT id FROM impersonations WHERE client_id = $1 AND ended_at IS NULL", id),
    };
    let rows = query(sql).bind(id).fetch_all(&mut **tx).await?;
    rows.iter().map(|r| r.get(0).map_err(StoreError::from)).collect()
}

/// Ends every live impersonation of this staff member, or of this client.
pub(crate) async fn end_impersonations_where(
    tx: &mut Tx,
    whose: Whose,
    reason: EndReason,
    by: ActivityActor,
    ip: &str,
) -> StoreResult<usize> {
    let ids = live_ids(tx, whose).await?;
    for id in &ids {
        end_impersonation_tx(tx, *id, reason, by, ip).await?;
    }
    Ok(ids.len())
}

/// Marks the record ended, deletes its portal sessions and records the end, once.
pub(crate) async fn end_impersonation_tx(
    tx: &mut Tx,
    id: i64,
    reason: EndReason,
    by: ActivityActor,
    ip: &str,
) -> StoreResult<bool> {
    let row = query(
        "UPDATE impersonations SET ended_at = $1, end_reason = $2 WHERE id = $3 AND ended_at IS NULL RETURNING client_id, staff_id, mode",
    )
    .bind(crate::domain::now())
    .bind(reason.as_str())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(false) };
    metrics::counter!("behalf_impersonation_ends_total", "reason" => reason.as_str()).increment(1);
    let client_id: i64 = row.get(0)?;
    let staff_id: i64 = row.get(1)?;
    let mode: String = row.get(2)?;
    // The browser's cookie is gone (returned, closed) or overwritten (replaced), so its session
    // row can go. Otherwise the row stays, so the tab's next request can say why it ended.
    if matches!(reason, EndReason::Returned | EndReason::Closed | EndReason::Replaced) {
        query("DELETE FROM sessions WHERE impersonation_id = $1").bind(id).execute(&mut **tx).await?;
    }
    append(
        tx,
        NewActivity {
            subject_client_id: Some(client_id),
            actor: by,
            impersonation_id: Some(id),
            group: ActivityGroup::LoginAsClient,
            action: "Login as Client ended",
            target: format!("client #{client_id}"),
            detail: format!(
                "end reason: {}; staff #{staff_id}; mode: {}",
                reason.as_str(),
                Mode::parse(&mode).unwrap_or(Mode::ReadOnly).as_str()
            ),
            ip: ip.to_string(),
        },
    )
    .await?;
    Ok(true)
}

/// A `LIKE … ESCAPE '\'` pattern that finds `text` anywhere, any case, with `%`, `_` and `\`
/// in it matched as themselves.
fn like_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in text.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}
