//! Staff API keys at work: issuing one (for the staff member's page and the command line alike)
//! and reading the bearer key of an API request into the staff member it acts as.

use super::guards::ClientInfo;
use super::hash_token;
use crate::domain::acting::StaffActing;
use crate::domain::api::{is_api_key, key_expiry, key_name, new_api_key, shown_prefix};
use crate::domain::permissions::{Grants, Permission};
use crate::store::api_keys::{KeyOwner, NewApiKey};
use crate::store::people::Staff;
use crate::store::{Store, StoreError};
use axum::http::{header, HeaderMap};

/// Why a key was not issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// A name or expiry a person must correct; nothing was stored.
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Makes a key for `staff_id` named `name`, working through the day `expires` (or until
/// revoked), stores its hash and records it; answers the key, which is never shown again.
pub async fn issue_api_key(
    store: &Store,
    staff_id: i64,
    name: &str,
    expires: &str,
    by: &StaffActing,
) -> Result<String, IssueError> {
    let name = key_name(name).map_err(IssueError::Invalid)?;
    let expires_at = key_expiry(expires, crate::domain::now()).map_err(IssueError::Invalid)?;
    let key = new_api_key();
    let new = NewApiKey { staff_id, name, key_hash: &hash_token(&key), prefix: &shown_prefix(&key), expires_at };
    store.create_api_key(&new, by).await?;
    Ok(key)
}

/// The bearer value of `Authorization`, if the request has one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// A staff member calling the API with one of their keys, with their permissions as they are now.
#[derive(Debug, Clone)]
pub struct KeyHolder {
    pub key_id: i64,
    pub staff: Staff,
    pub grants: Grants,
    pub info: ClientInfo,
    /// The context of the writes this request makes.
    pub acting: StaffActing,
    /// Whether the owner has two-factor, and whether `security.staff_2fa` requires it of them.
    pub two_factor: bool,
    pub two_factor_required: bool,
    /// When the key stops working, if ever.
    pub expires_at: Option<i64>,
}

impl KeyHolder {
    /// Whether the permission is held.
    pub fn has(&self, p: Permission) -> bool {
        self.grants.has(p)
    }
}

/// The live key `key` names, read fresh from the database (so revoking it, disabling its owner
/// or changing their role applies on the very next request on every node), its use noted.
/// `None` for anything that is not such a key.
pub async fn key_holder(store: &Store, key: &str, info: ClientInfo) -> Result<Option<KeyHolder>, StoreError> {
    if !is_api_key(key) {
        return Ok(None);
    }
    let now = crate::domain::now();
    let Some(owner) = store.api_key_owner(&hash_token(key), now).await? else { return Ok(None) };
    store.touch_api_key(&owner, &info.ip, now).await?;
    let KeyOwner { key_id, staff, grants, two_factor, two_factor_required, expires_at, .. } = owner;
    Ok(Some(KeyHolder {
        acting: StaffActing::staff(staff.id, &info.ip, &info.user_agent),
        key_id,
        staff,
        grants,
        info,
        two_factor,
        two_factor_required,
        expires_at,
    }))
}
