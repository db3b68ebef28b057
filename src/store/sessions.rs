//! Session rows (staff, half signed-in staff, and portal, stored by token hash): creating, reading
//! and deleting them. An ending that must also end a Login as Client session behind it belongs in
//! `impersonations`.

use super::activity::{ActivityActor, NewActivity};
use super::{Store, StoreResult, Tx};
use crate::db::query::{from_row, query, query_as};
use crate::domain::acting::Acting;
use crate::domain::activity::ActivityGroup;
use crate::domain::permissions::Permission;
use crate::domain::session::{SessionKind, Whose};

/// A portal session as read on each portal request: the client, and the impersonation if any.
#[derive(Debug, Clone)]
pub struct PortalSessionRow {
    pub session_id: i64,
    pub csrf_token: String,
    pub client_id: i64,
    pub client_name: String,
    pub client_email: String,
    pub client_active: bool,
    pub impersonation_id: Option<i64>,
    pub mode: Option<String>,
    pub reason: Option<String>,
    pub ends_by: Option<i64>,
    pub last_seen_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub end_reason: Option<String>,
    pub store_name: Option<String>,
    pub store_count: i64,
    pub store_id: Option<i64>,
    pub store_color: Option<String>,
    pub store_currency: Option<String>,
    pub hidden_modules: String,
    pub staff_id: Option<i64>,
    pub staff_name: Option<String>,
    /// Whether the impersonating staff member is active; false without an impersonation.
    pub staff_active: bool,
    /// Whether their role holds `clients.impersonate`.
    pub staff_may_impersonate: bool,
    /// Whether their role holds `clients.impersonate.write`.
    pub staff_may_write: bool,
    pub started_at: Option<i64>,
    pub idle_timeout: Option<String>,
    pub max_duration: Option<String>,
    /// For the client's own session only: the staff member in the newest Login as Client session
    /// of this client that is still open and within its deadline; `None` inside an impersonation.
    pub live_support_name: Option<String>,
    /// When that session started, must end and was last used, so the live limits apply to it.
    pub live_support_started_at: Option<i64>,
    pub live_support_ends_by: Option<i64>,
    pub live_support_seen_at: Option<i64>,
    /// How the impersonation was started (`page`, `api`); `None` without one.
    pub channel: Option<String>,
}
from_row!(PortalSessionRow {
    session_id,
    csrf_token,
    client_id,
    client_name,
    client_email,
    client_active,
    impersonation_id,
    mode,
    reason,
    ends_by,
    last_seen_at,
    ended_at,
    end_reason,
    store_name,
    store_count,
    store_id,
    store_color,
    store_currency,
    hidden_modules,
    staff_id,
    staff_name,
    staff_active,
    staff_may_impersonate,
    staff_may_write,
    started_at,
    idle_timeout,
    max_duration,
    live_support_name,
    live_support_started_at,
    live_support_ends_by,
    live_support_seen_at,
    channel,
});

const PORTAL_SESSION_SQL: &str = "SELECT s.id AS session_id, s.csrf_token, c.id AS client_id, c.name AS client_name, c.email AS client_email,
        c.active AS client_active, i.id AS impersonation_id, i.mode, i.reason, i.ends_by, i.last_seen_at, i.ended_at, i.end_reason,
        st.name AS store_name, (SELECT COUNT(*) FROM client_stores cs WHERE cs.client_id = c.id) AS store_count,
        st.id AS store_id, st.color AS store_color, st.currency AS store_currency, c.hidden_modules,
        sf.id AS staff_id, sf.name AS staff_name, COALESCE(sf.active, 0) AS staff_active,
        (SELECT COUNT(*) FROM role_permissions rp WHERE rp.role_id = sf.role_id AND rp.permission = $3) AS staff_may_impersonate,
        (SELECT COUNT(*) FROM role_permissions rp WHERE rp.role_id = sf.role_id AND rp.permission = $4) AS staff_may_write,
        i.started_at,
        (SELECT value FROM settings WHERE key = 'impersonation.idle_timeout') AS idle_timeout,
        (SELECT value FROM settings WHERE key = 'impersonation.max_duration') AS max_duration,
        lf.name AS live_support_name, li.started_at AS live_support_started_at,
        li.ends_by AS live_support_ends_by, li.last_seen_at AS live_support_seen_at, i.channel
     FROM sessions s JOIN clients c ON c.id = s.client_id
     LEFT JOIN impersonations i ON i.id = s.impersonation_id
     -- For the client's own session: the newest open, unexpired Login as Client session of this
     -- client, found once (the impersonations_client index of this one client).
     LEFT JOIN impersonations li ON s.impersonation_id IS NULL AND li.id = (SELECT MAX(x.id) FROM impersonations x
        WHERE x.client_id = c.id AND x.ended_at IS NULL AND x.ends_by > $2)
     LEFT JOIN staff lf ON lf.id = li.staff_id
     LEFT JOIN stores st ON st.id = COALESCE(i.store_id, s.store_id,
        (SELECT MIN(cs.store_id) FROM client_stores cs WHERE cs.client_id = c.id))
     LEFT JOIN staff sf ON sf.id = i.staff_id
     WHERE s.token_hash = $1 AND s.kind = $5 AND s.expires_at > $2";

impl Store {
    /// Reads a portal session (a cookie's, `SessionKind::Client`, or an API token's,
    /// `SessionKind::Api`), with its impersonation and the staff member's current standing.
    pub async fn portal_session(
        &self,
        token_hash: &str,
        kind: SessionKind,
        now: i64,
    ) -> StoreResult<Option<PortalSessionRow>> {
        Ok(query_as(PORTAL_SESSION_SQL)
            .bind(token_hash)
            .bind(now)
            .bind(Permission::ClientsImpersonate.as_str())
            .bind(Permission::ClientsImpersonateWrite.as_str())
            .bind(kind.as_str())
            .fetch_optional(&self.db)
            .await?)
    }

    /// A client's own sign-out: ends that one session only.
    pub async fn end_client_session(&self, acting: &Acting, session_id: i64) -> StoreResult<()> {
        self.record(|mut tx| async move {
            query("DELETE FROM sessions WHERE id = $1").bind(session_id).execute(&mut *tx).await?;
            let client = acting.client_id;
            Ok((tx, (), security_event(ActivityActor::Client(client), Some(client), "Client signed out", &acting.ip)))
        })
        .await
    }

    /// Deletes one session row.
    pub async fn delete_session(&self, session_id: i64) -> StoreResult<()> {
        query("DELETE FROM sessions WHERE id = $1").bind(session_id).execute(self.db.writer()).await?;
        Ok(())
    }
}

/// Inserts one session row; `impersonation_id` only for a Login as Client portal session.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_session(
    tx: &mut Tx,
    token_hash: &str,
    kind: SessionKind,
    staff_id: Option<i64>,
    client_id: Option<i64>,
    impersonation_id: Option<i64>,
    csrf: &str,
    expires_at: i64,
) -> StoreResult<()> {
    query(
        "INSERT INTO sessions (token_hash, kind, staff_id, client_id, impersonation_id, csrf_token, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(token_hash)
    .bind(kind.as_str())
    .bind(staff_id)
    .bind(client_id)
    .bind(impersonation_id)
    .bind(csrf)
    .bind(crate::domain::now())
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Notes the sign-in time on the staff member's or the client's row.
pub(crate) async fn touch_last_login(tx: &mut Tx, whose: Whose) -> StoreResult<()> {
    let (sql, id) = match whose {
        Whose::Staff(id) => ("UPDATE staff SET last_login_at = $1 WHERE id = $2", id),
        Whose::Client(id) => ("UPDATE clients SET last_login_at = $1 WHERE id = $2", id),
    };
    query(sql).bind(crate::domain::now()).bind(id).execute(&mut **tx).await?;
    Ok(())
}

/// Removes the staff session (whole or half signed in) that a browser had, before it gets a new one.
pub(crate) async fn end_staff_session_by_hash(tx: &mut Tx, token_hash: &str) -> StoreResult<()> {
    query("DELETE FROM sessions WHERE token_hash = $1 AND kind IN ('staff', 'staff_2fa')")
        .bind(token_hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes a staff member's admin sessions, whole or half signed in (never their portal ones).
pub(crate) async fn delete_staff_sessions(tx: &mut Tx, staff_id: i64) -> StoreResult<u64> {
    Ok(query("DELETE FROM sessions WHERE staff_id = $1 AND kind IN ('staff', 'staff_2fa')")
        .bind(staff_id)
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

/// An entry of the security log about a sign-in or sign-out.
pub(crate) fn security_event(actor: ActivityActor, client: Option<i64>, action: &'static str, ip: &str) -> NewActivity {
    NewActivity {
        subject_client_id: client,
        actor,
        impersonation_id: None,
        group: ActivityGroup::Security,
        action,
        target: String::new(),
        detail: String::new(),
        ip: ip.to_string(),
    }
}
