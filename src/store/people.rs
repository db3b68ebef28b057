//! Staff, roles, clients and the failed sign-in counter, and the staff member a staff session
//! belongs to. Disabling staff or withdrawing a permission ends their sessions and impersonations,
//! so this file builds on `sessions` and `impersonations`, and they never name `Staff`.

use super::activity::{ActivityActor, NewActivity};
use super::{changed, Page, Store, StoreError, StoreResult, Tx};
use crate::db::query::{from_row, query, query_as};
use crate::domain::acting::StaffActing;
use crate::domain::activity::ActivityGroup;
use crate::domain::conflict::Conflict;
use crate::domain::permissions::{Grants, Permission};
use crate::domain::session::Whose;

/// A staff member with their role.
#[derive(Debug, Clone)]
pub struct Staff {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role_id: i64,
    pub role_name: String,
    pub active: bool,
}
from_row!(Staff { id, email, name, password_hash, role_id, role_name, active });

/// A live staff session with the staff member and their permissions.
#[derive(Debug, Clone)]
pub struct StaffSessionRow {
    pub session_id: i64,
    pub csrf_token: String,
    pub staff: Staff,
    pub grants: Grants,
    /// When the session last checked a password or code.
    pub verified_at: i64,
    /// Whether the staff member has two-factor.
    pub two_factor: bool,
    /// The `security.staff_2fa` setting, read with the session.
    pub staff_2fa: crate::domain::two_factor::StaffTwoFactor,
}

/// A client account.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub company: String,
    pub phone: String,
    pub password_hash: String,
    pub active: bool,
    pub consent: String,
    pub consent_until: Option<i64>,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    pub hidden_modules: String,
}
from_row!(Client {
    id,
    email,
    name,
    company,
    phone,
    password_hash,
    active,
    consent,
    consent_until,
    created_at,
    last_login_at,
    hidden_modules
});

/// A row of the admin client list.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ClientListRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub company: String,
    pub active: bool,
    pub consent: String,
    pub consent_until: Option<i64>,
}
from_row!(ClientListRow { id, email, name, company, active, consent, consent_until });

/// A role with its permissions.
#[derive(Debug, Clone)]
pub struct Role {
    pub id: i64,
    pub name: String,
    pub grants: Grants,
}

/// A store (brand) a client belongs to.
#[derive(Debug, Clone)]
pub struct StoreRow {
    pub id: i64,
    pub name: String,
}
from_row!(StoreRow { id, name });

const STAFF_COLUMNS: &str =
    "SELECT s.id, s.email, s.name, s.password_hash, s.role_id, r.name AS role_name, s.active FROM staff s JOIN roles r ON r.id = s.role_id";
const CLIENT_COLUMNS: &str = "SELECT id, email, name, company, phone, password_hash, active, consent, consent_until, created_at, last_login_at, hidden_modules FROM clients";

/// A staff member, their role's permissions and the `security.staff_2fa` policy, from the rows of
/// one staff member joined to each permission of their role (columns `staff_id`, `email`, `name`,
/// `password_hash`, `role_id`, `role_name`, `active`, `permission`, `staff_2fa`); `None` for no rows.
/// Staff sessions and API keys read their holder's standing this way.
pub(crate) fn staff_standing(
    rows: &[crate::db::query::Row],
) -> StoreResult<Option<(Staff, Grants, crate::domain::two_factor::StaffTwoFactor)>> {
    let Some(first) = rows.first() else { return Ok(None) };
    let staff = Staff {
        id: first.get("staff_id")?,
        email: first.get("email")?,
        name: first.get("name")?,
        password_hash: first.get("password_hash")?,
        role_id: first.get("role_id")?,
        role_name: first.get("role_name")?,
        active: first.get("active")?,
    };
    let mut names = Vec::new();
    for r in rows {
        if let Some(p) = r.get::<Option<String>>("permission")? {
            names.push(p);
        }
    }
    let staff_2fa: Option<String> = first.get("staff_2fa")?;
    let policy = crate::domain::two_factor::StaffTwoFactor::parse(&crate::domain::settings::value_or_default(
        "security.staff_2fa",
        staff_2fa.as_deref(),
    ));
    Ok(Some((staff, Grants::from_stored(names.iter().map(String::as_str)), policy)))
}

/// The `LIKE` pattern of a client search: the text anywhere, any case, its wildcards dropped.
fn client_pattern(q: &str) -> String {
    format!("%{}%", q.trim().to_lowercase().replace(['%', '_', '\\'], ""))
}

/// Counts one failed sign-in (password or code) of `account` from `ip` against the limit.
pub(crate) async fn insert_login_failure(tx: &mut Tx, account: &str, ip: &str) -> StoreResult<()> {
    query("INSERT INTO login_failures (account, ip, at) VALUES ($1, $2, $3)")
        .bind(account)
        .bind(ip)
        .bind(crate::domain::now())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Finds a staff member by e-mail (case-insensitive).
    pub async fn staff_by_email(&self, email: &str) -> StoreResult<Option<Staff>> {
        Ok(query_as(format!("{STAFF_COLUMNS} WHERE s.email = $1"))
            .bind(email.trim().to_lowercase())
            .fetch_optional(&self.db)
            .await?)
    }

    /// Reads a live staff session with the staff member's permissions; disabled staff have none.
    pub async fn staff_session(&self, token_hash: &str, now: i64) -> StoreResult<Option<StaffSessionRow>> {
        let rows = query(
            "SELECT s.id AS session_id, s.csrf_token, st.id AS staff_id, st.email, st.name, st.password_hash, st.role_id,
                    r.name AS role_name, st.active, rp.permission,
                    COALESCE(s.verified_at, s.created_at) AS verified_at,
                    CAST(CASE WHEN st.totp_secret IS NULL THEN 0 ELSE 1 END AS BIGINT) AS two_factor,
                    (SELECT value FROM settings WHERE key = 'security.staff_2fa') AS staff_2fa
             FROM sessions s JOIN staff st ON st.id = s.staff_id JOIN roles r ON r.id = st.role_id
             LEFT JOIN role_permissions rp ON rp.role_id = r.id
             WHERE s.token_hash = $1 AND s.kind = 'staff' AND s.expires_at > $2 AND st.active = 1",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_all(&self.db)
        .await?;
        let Some((staff, grants, staff_2fa)) = staff_standing(&rows)? else { return Ok(None) };
        let first = &rows[0];
        Ok(Some(StaffSessionRow {
            session_id: first.get("session_id")?,
            csrf_token: first.get("csrf_token")?,
            staff,
            grants,
            verified_at: first.get("verified_at")?,
            two_factor: first.get("two_factor")?,
            staff_2fa,
        }))
    }

    /// Finds a staff member by id.
    pub async fn staff_by_id(&self, id: i64) -> StoreResult<Staff> {
        query_as(format!("{STAFF_COLUMNS} WHERE s.id = $1"))
            .bind(id)
            .fetch_optional(&self.db)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// All staff, for filters.
    pub async fn list_staff(&self) -> StoreResult<Vec<Staff>> {
        Ok(query_as(format!("{STAFF_COLUMNS} ORDER BY s.name")).fetch_all(&self.db).await?)
    }

    /// The permissions a role grants.
    pub async fn role_permissions(&self, role_id: i64) -> StoreResult<Vec<String>> {
        let rows = query("SELECT permission FROM role_permissions WHERE role_id = $1")
            .bind(role_id)
            .fetch_all(&self.db)
            .await?;
        rows.iter().map(|r| r.get(0).map_err(StoreError::from)).collect()
    }

    /// Every role with its permissions.
    pub async fn list_roles(&self) -> StoreResult<Vec<Role>> {
        let rows = query(
            "SELECT r.id, r.name, rp.permission FROM roles r LEFT JOIN role_permissions rp ON rp.role_id = r.id ORDER BY r.id",
        )
        .fetch_all(&self.db)
        .await?;
        let mut roles: Vec<Role> = Vec::new();
        for r in rows {
            let id: i64 = r.get(0)?;
            let perm: Option<String> = r.get(2)?;
            if roles.last().map(|x| x.id) != Some(id) {
                roles.push(Role { id, name: r.get(1)?, grants: Grants::default() });
            }
            // A name this build does not know grants nothing, as in `Grants::from_stored`.
            if let (Some(p), Some(role)) = (perm.as_deref().and_then(Permission::parse), roles.last_mut()) {
                role.grants.insert(p);
            }
        }
        Ok(roles)
    }

    /// Creates a role with the given permissions (used by seeding).
    pub async fn create_role(&self, name: &str, builtin: bool, perms: &[&str]) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let id: i64 = query("INSERT INTO roles (name, builtin) VALUES ($1, $2) RETURNING id")
            .bind(name)
            .bind(builtin as i64)
            .fetch_scalar(&mut *tx)
            .await?;
        for p in perms {
            query("INSERT INTO role_permissions (role_id, permission) VALUES ($1, $2)")
                .bind(id)
                .bind(*p)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Adds a custom role with no permissions, recorded as a staff change.
    pub async fn add_role(&self, name: &str, by: &StaffActing) -> StoreResult<i64> {
        if self.role_id(name).await.is_ok() {
            return Err(StoreError::Conflict(Conflict::RoleExists { name: name.to_string() }));
        }
        self.record(|mut tx| async move {
            let id: i64 = query("INSERT INTO roles (name, builtin) VALUES ($1, 0) RETURNING id")
                .bind(name)
                .fetch_scalar(&mut *tx)
                .await?;
            let mut e = staff_event(by, "Role added", name, 0);
            e.target = format!("role {name}");
            Ok((tx, id, e))
        })
        .await
    }

    /// Replaces a role's permissions. Staff of that role who lose `clients.impersonate` have
    /// their live Login as Client sessions ended at once, in the same transaction.
    pub async fn set_role_permissions(&self, role_id: i64, perms: &[&str], by: &StaffActing) -> StoreResult<bool> {
        let before = self.role_permissions(role_id).await?;
        let added: Vec<&str> = perms.iter().copied().filter(|p| !before.iter().any(|b| b == p)).collect();
        let removed: Vec<&str> = before.iter().map(String::as_str).filter(|b| !perms.contains(b)).collect();
        if added.is_empty() && removed.is_empty() {
            return Ok(false);
        }
        self.record(|mut tx| async move {
            query("DELETE FROM role_permissions WHERE role_id = $1").bind(role_id).execute(&mut *tx).await?;
            for p in perms {
                query("INSERT INTO role_permissions (role_id, permission) VALUES ($1, $2)")
                    .bind(role_id)
                    .bind(*p)
                    .execute(&mut *tx)
                    .await?;
            }
            if removed.contains(&Permission::ClientsImpersonate.as_str()) {
                let staff = query("SELECT id FROM staff WHERE role_id = $1").bind(role_id).fetch_all(&mut *tx).await?;
                for row in staff {
                    let staff_id: i64 = row.get(0)?;
                    super::impersonations::end_impersonations_where(
                        &mut tx,
                        Whose::Staff(staff_id),
                        crate::domain::impersonation::EndReason::Revoked,
                        by.into(),
                        &by.ip,
                    )
                    .await?;
                }
            }
            let mut e = staff_event(
                by,
                "Role permissions changed",
                &format!("added: {}; removed: {}", added.join(" "), removed.join(" ")),
                0,
            );
            e.target = format!("role #{role_id}");
            Ok((tx, true, e))
        })
        .await
    }

    /// Finds a role id by name.
    pub async fn role_id(&self, name: &str) -> StoreResult<i64> {
        query("SELECT id FROM roles WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.db)
            .await?
            .ok_or(StoreError::NotFound)?
            .get(0)
            .map_err(StoreError::from)
    }

    /// Adds a staff account; fails with `Conflict` if the e-mail is taken.
    pub async fn add_staff(
        &self,
        email: &str,
        name: &str,
        password_hash: &str,
        role_id: i64,
        by: &StaffActing,
    ) -> StoreResult<i64> {
        let email = email.trim().to_lowercase();
        if self.staff_by_email(&email).await?.is_some() {
            return Err(StoreError::Conflict(Conflict::StaffExists { email: email.to_string() }));
        }
        self.record(|mut tx| async move {
            let id: i64 = query(
                "INSERT INTO staff (email, name, password_hash, role_id, active, created_at) VALUES ($1, $2, $3, $4, 1, $5) RETURNING id",
            )
            .bind(&email)
            .bind(name)
            .bind(password_hash)
            .bind(role_id)
            .bind(crate::domain::now())
            .fetch_scalar(&mut *tx).await?;
            Ok((tx, id, staff_event(by, "Staff account added", &email, id)))
        })
        .await
    }

    /// Disables a staff account and ends its sessions; its impersonations end on their next request.
    pub async fn disable_staff(&self, staff_id: i64, by: &StaffActing) -> StoreResult<()> {
        self.record(|mut tx| async move {
            changed(query("UPDATE staff SET active = 0 WHERE id = $1").bind(staff_id).execute(&mut *tx).await?)?;
            super::sessions::delete_staff_sessions(&mut tx, staff_id).await?;
            super::impersonations::end_impersonations_where(
                &mut tx,
                Whose::Staff(staff_id),
                crate::domain::impersonation::EndReason::Revoked,
                // Ended by the system as a consequence of the change, from where the change came.
                ActivityActor::System,
                &by.ip,
            )
            .await?;
            Ok((tx, (), staff_event(by, "Staff account disabled", "", staff_id)))
        })
        .await
    }

    /// Changes a staff member's role; live impersonations are re-checked on their next request.
    pub async fn set_staff_role(&self, staff_id: i64, role_id: i64, by: &StaffActing) -> StoreResult<()> {
        self.change(
            query("UPDATE staff SET role_id = $1 WHERE id = $2").bind(role_id).bind(staff_id),
            staff_event(by, "Staff role changed", &format!("role #{role_id}"), staff_id),
        )
        .await
    }

    /// Finds a client by e-mail (case-insensitive).
    pub async fn client_by_email(&self, email: &str) -> StoreResult<Option<Client>> {
        Ok(query_as(format!("{CLIENT_COLUMNS} WHERE email = $1"))
            .bind(email.trim().to_lowercase())
            .fetch_optional(&self.db)
            .await?)
    }

    /// Finds a client by id.
    pub async fn client(&self, id: i64) -> StoreResult<Client> {
        query_as(format!("{CLIENT_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// The stores a client belongs to.
    pub async fn client_stores(&self, client_id: i64) -> StoreResult<Vec<StoreRow>> {
        Ok(query_as(
            "SELECT st.id, st.name FROM stores st JOIN client_stores cs ON cs.store_id = st.id WHERE cs.client_id = $1 ORDER BY st.id",
        )
        .bind(client_id)
        .fetch_all(&self.db)
        .await?)
    }

    /// Sets which portal modules a client sees; records old and new lists.
    pub async fn set_client_modules(
        &self,
        client_id: i64,
        modules: crate::domain::modules::Modules,
        by: &StaffActing,
    ) -> StoreResult<()> {
        self.record(|mut tx| async move {
            let old: String = query("SELECT hidden_modules FROM clients WHERE id = $1")
                .bind(client_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?
                .get(0)?;
            let new = modules.hidden_list();
            query("UPDATE clients SET hidden_modules = $1 WHERE id = $2")
                .bind(&new)
                .bind(client_id)
                .execute(&mut *tx)
                .await?;
            let shown = |hidden: &str| crate::domain::modules::Modules::from_hidden(hidden).describe();
            Ok((
                tx,
                (),
                NewActivity::by_staff(
                    by,
                    Some(client_id),
                    ActivityGroup::Account,
                    "Changed the client's portal modules",
                    format!("client #{client_id}"),
                )
                .with_detail(format!("shown: {} -> {}", shown(&old), shown(&new))),
            ))
        })
        .await
    }

    /// Searches clients by name or e-mail, one page at a time.
    pub async fn search_clients(&self, q: &str, page: i64, per_page: i64) -> StoreResult<Page<ClientListRow>> {
        let (page, offset) = super::page_offset(page, per_page);
        let pattern = client_pattern(q);
        let filter = "WHERE LOWER(name) LIKE $1 OR email LIKE $1";
        let total: i64 =
            query(format!("SELECT COUNT(*) FROM clients {filter}")).bind(&pattern).fetch_scalar(&self.db).await?;
        let items = query_as(format!(
            "SELECT id, email, name, company, active, consent, consent_until FROM clients {filter} ORDER BY name, id LIMIT $2 OFFSET $3"
        ))
        .bind(&pattern)
        .bind(per_page)
        .bind(offset)
        .fetch_all(&self.db)
        .await?;
        Ok(Page { items, page, per_page, total })
    }

    /// [`Store::search_clients`] after a client (by name, then id), up to `limit`: keyset paging
    /// for the API.
    pub async fn search_clients_after(
        &self,
        q: &str,
        after: Option<(&str, i64)>,
        limit: i64,
    ) -> StoreResult<Vec<ClientListRow>> {
        let cols = "SELECT id, email, name, company, active, consent, consent_until FROM clients";
        let filter = "(LOWER(name) LIKE $1 OR email LIKE $1)";
        let q = match after {
            None => query_as(format!("{cols} WHERE {filter} ORDER BY name, id LIMIT $2"))
                .bind(client_pattern(q))
                .bind(limit),
            Some((name, id)) => query_as(format!(
                "{cols} WHERE {filter} AND (name > $3 OR (name = $3 AND id > $4)) ORDER BY name, id LIMIT $2"
            ))
            .bind(client_pattern(q))
            .bind(limit)
            .bind(name)
            .bind(id),
        };
        Ok(q.fetch_all(&self.db).await?)
    }

    /// Counts for the admin dashboard: clients, live impersonations, open tickets, unpaid invoices.
    pub async fn admin_counts(&self) -> StoreResult<(i64, i64, i64, i64)> {
        let r = query(
            "SELECT (SELECT COUNT(*) FROM clients), (SELECT COUNT(*) FROM impersonations WHERE ended_at IS NULL),
                    (SELECT COUNT(*) FROM tickets WHERE status <> 'closed'), (SELECT COUNT(*) FROM invoices WHERE status = 'unpaid')",
        )
        .fetch_one(&self.db)
        .await?;
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    }

    /// Number of failed sign-ins for this account from this address since `since`.
    pub async fn recent_login_failures(&self, account: &str, ip: &str, since: i64) -> StoreResult<i64> {
        Ok(query("SELECT COUNT(*) FROM login_failures WHERE account = $1 AND ip = $2 AND at > $3")
            .bind(account)
            .bind(ip)
            .bind(since)
            .fetch_scalar(&self.db)
            .await?)
    }

    /// Failed sign-ins of one account from every address since `since`.
    pub async fn recent_login_failures_anywhere(&self, account: &str, since: i64) -> StoreResult<i64> {
        Ok(query("SELECT COUNT(*) FROM login_failures WHERE account = $1 AND at > $2")
            .bind(account)
            .bind(since)
            .fetch_scalar(&self.db)
            .await?)
    }

    /// Records one failed sign-in, with an activity entry for the security log.
    pub async fn record_login_failure(&self, account: &str, ip: &str, subject_client: Option<i64>) -> StoreResult<()> {
        self.record(|mut tx| async move {
            let now = crate::domain::now();
            insert_login_failure(&mut tx, account, ip).await?;
            // Old rows are useless to the 15-minute window; trimming here keeps the table small.
            query("DELETE FROM login_failures WHERE at < $1").bind(now - 86400).execute(&mut *tx).await?;
            Ok((
                tx,
                (),
                NewActivity {
                    subject_client_id: subject_client,
                    actor: ActivityActor::System,
                    impersonation_id: None,
                    group: ActivityGroup::Security,
                    action: "Failed sign-in",
                    target: account.to_string(),
                    detail: String::new(),
                    ip: ip.to_string(),
                },
            ))
        })
        .await
    }
}

fn staff_event(by: &StaffActing, action: &'static str, detail: &str, staff_id: i64) -> NewActivity {
    NewActivity::by_staff(by, None, ActivityGroup::Staff, action, format!("staff #{staff_id}"))
        .with_detail(detail.to_string())
}
