//! Staff API keys: making, listing and revoking them, and finding the live key (and its owner's
//! current standing) behind an API request. Only each key's SHA-256 is stored.

use super::activity::NewActivity;
use super::impersonations::end_impersonation_tx;
use super::people::Staff;
use super::{changed, Store, StoreError, StoreResult};
use crate::db::query::{from_row, query, query_as};
use crate::domain::acting::StaffActing;
use crate::domain::activity::ActivityGroup;
use crate::domain::impersonation::EndReason;
use crate::domain::permissions::Grants;

/// One key as its owner's list shows it (never the key itself).
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
}
from_row!(ApiKey { id, name, prefix, created_at, expires_at, revoked_at, last_used_at, last_used_ip });

impl ApiKey {
    /// Whether the key still opens the API at `now` (its owner's standing aside).
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

/// A live key with its owner, who is active, and the owner's permissions as they are now.
#[derive(Debug, Clone)]
pub struct KeyOwner {
    pub key_id: i64,
    pub staff: Staff,
    pub grants: Grants,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
    /// Whether the owner has two-factor.
    pub two_factor: bool,
    /// Whether `security.staff_2fa` requires two-factor of the owner.
    pub two_factor_required: bool,
    /// When the key stops working, if ever: no token made with it outlives it.
    pub expires_at: Option<i64>,
}

/// A key to store.
pub struct NewApiKey<'a> {
    pub staff_id: i64,
    pub name: &'a str,
    pub key_hash: &'a str,
    pub prefix: &'a str,
    pub expires_at: Option<i64>,
}

/// How often the last use of a key is written: at most once a minute from one address, so a busy
/// integration does not turn every read into a write.
const TOUCH_EVERY_SECONDS: i64 = 60;

impl Store {
    /// Stores a new key and records it.
    pub async fn create_api_key(&self, n: &NewApiKey<'_>, by: &StaffActing) -> StoreResult<i64> {
        self.record(|mut tx| async move {
            let id: i64 = query(
                "INSERT INTO api_keys (staff_id, name, key_hash, prefix, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(n.staff_id)
            .bind(n.name)
            .bind(n.key_hash)
            .bind(n.prefix)
            .bind(crate::domain::now())
            .bind(n.expires_at)
            .fetch_scalar(&mut *tx)
            .await?;
            let expiry = n.expires_at.map(crate::domain::format_time).unwrap_or_else(|| "never".into());
            let entry = NewActivity::by_staff(
                by,
                None,
                ActivityGroup::Security,
                "API key created",
                format!("staff #{}", n.staff_id),
            )
            .with_detail(format!("key #{id} \"{}\" ({}…), expires: {expiry}", n.name, n.prefix));
            Ok((tx, id, entry))
        })
        .await
    }

    /// A staff member's keys, newest first.
    pub async fn api_keys_of(&self, staff_id: i64) -> StoreResult<Vec<ApiKey>> {
        Ok(query_as(
            "SELECT id, name, prefix, created_at, expires_at, revoked_at, last_used_at, last_used_ip
             FROM api_keys WHERE staff_id = $1 ORDER BY id DESC",
        )
        .bind(staff_id)
        .fetch_all(&self.db)
        .await?)
    }

    /// Revokes one of the staff member's own keys, and ends the Login as Client sessions it
    /// started (as `revoked`), in one transaction; `NotFound` when it is not theirs or was
    /// already revoked.
    pub async fn revoke_api_key(&self, staff_id: i64, key_id: i64, by: &StaffActing) -> StoreResult<()> {
        self.record(|mut tx| async move {
            let done =
                query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND staff_id = $3 AND revoked_at IS NULL")
                    .bind(crate::domain::now())
                    .bind(key_id)
                    .bind(staff_id)
                    .execute(&mut *tx)
                    .await?;
            changed(done)?;
            let live = query("SELECT id FROM impersonations WHERE api_key_id = $1 AND ended_at IS NULL")
                .bind(key_id)
                .fetch_all(&mut *tx)
                .await?;
            for row in live {
                let id: i64 = row.get(0)?;
                end_impersonation_tx(&mut tx, id, EndReason::Revoked, by.into(), &by.ip).await?;
            }
            let entry = NewActivity::by_staff(
                by,
                None,
                ActivityGroup::Security,
                "API key revoked",
                format!("staff #{staff_id}"),
            )
            .with_detail(format!("key #{key_id}"));
            Ok((tx, (), entry))
        })
        .await
    }

    /// The live key with this hash, if its owner is active: read on every request made with it,
    /// so revoking it, disabling its owner or changing the owner's role applies at once.
    pub async fn api_key_owner(&self, key_hash: &str, now: i64) -> StoreResult<Option<KeyOwner>> {
        let rows = query(
            "SELECT k.id AS key_id, k.last_used_at, k.last_used_ip, k.expires_at, st.id AS staff_id, st.email, st.name,
                    st.password_hash, st.role_id, r.name AS role_name, st.active, rp.permission,
                    CAST(CASE WHEN st.totp_secret IS NULL THEN 0 ELSE 1 END AS BIGINT) AS two_factor,
                    (SELECT value FROM settings WHERE key = 'security.staff_2fa') AS staff_2fa
             FROM api_keys k JOIN staff st ON st.id = k.staff_id JOIN roles r ON r.id = st.role_id
             LEFT JOIN role_permissions rp ON rp.role_id = r.id
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2)
               AND st.active = 1",
        )
        .bind(key_hash)
        .bind(now)
        .fetch_all(&self.db)
        .await?;
        let Some((staff, grants, staff_2fa)) = super::people::staff_standing(&rows)? else { return Ok(None) };
        let first = &rows[0];
        Ok(Some(KeyOwner {
            two_factor_required: staff_2fa.applies_to(&grants),
            two_factor: first.get("two_factor")?,
            key_id: first.get("key_id")?,
            expires_at: first.get("expires_at")?,
            staff,
            grants,
            last_used_at: first.get("last_used_at")?,
            last_used_ip: first.get("last_used_ip")?,
        }))
    }

    /// Notes that the key was used from `ip` at `now`, unless that was already noted within the
    /// last minute from the same address.
    pub async fn touch_api_key(&self, owner: &KeyOwner, ip: &str, now: i64) -> StoreResult<()> {
        let fresh = owner.last_used_at.is_some_and(|t| now - t < TOUCH_EVERY_SECONDS);
        if fresh && owner.last_used_ip.as_deref() == Some(ip) {
            return Ok(());
        }
        query("UPDATE api_keys SET last_used_at = $1, last_used_ip = $2 WHERE id = $3")
            .bind(now)
            .bind(ip)
            .bind(owner.key_id)
            .execute(self.db.writer())
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }
}
