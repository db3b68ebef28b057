//! Staff two-factor: secrets, recovery codes, the half-signed-in session between password and
//! code, and the step-up check. Each change and each accepted or refused factor is recorded.

use super::activity::{append, NewActivity};
use super::impersonations::end_impersonations_where;
use super::people::insert_login_failure;
use super::sessions::{delete_staff_sessions, end_staff_session_by_hash, insert_session, touch_last_login};
use super::{changed, Store, StoreError, StoreResult, Tx};
use crate::db::query::query;
use crate::domain::acting::StaffActing;
use crate::domain::activity::ActivityGroup;
use crate::domain::impersonation::EndReason;
use crate::domain::session::{SessionKind, Whose};

/// A staff member's two-factor state.
#[derive(Debug, Clone)]
pub struct TwoFactorState {
    /// The confirmed secret; `None` when two-factor is off.
    pub secret: Option<String>,
    /// The secret shown on the setup page, not yet confirmed by a code.
    pub pending: Option<String>,
    /// The last accepted time step.
    pub last_step: Option<i64>,
    pub enabled_at: Option<i64>,
    /// Recovery codes not yet used.
    pub recovery_left: i64,
}

/// A half-signed-in staff session (password right, code still owed).
#[derive(Debug, Clone)]
pub struct PendingStaffRow {
    pub session_id: i64,
    pub csrf_token: String,
    pub staff_id: i64,
    pub email: String,
    pub secret: String,
    pub last_step: Option<i64>,
}

/// What proved the second factor (or the password, at a step-up without two-factor).
#[derive(Debug, Clone)]
pub enum Proof {
    /// An authenticator code of this time step.
    Code(i64),
    /// A recovery code, by its stored hash.
    Recovery(String),
    /// The password (staff without two-factor, at a step-up).
    Password,
}

/// What a refused answer was meant to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailedProof {
    /// An authenticator or recovery code.
    SecondFactor,
    /// The password, at a step-up without two-factor.
    Password,
}

/// A new full staff session, by token hash.
pub struct NewStaffSession<'a> {
    pub token_hash: &'a str,
    pub csrf_token: &'a str,
    pub expires_at: i64,
}

/// The sign-in limit's key under which wrong codes of `account` are counted from every address.
pub fn second_factor_account(account: &str) -> String {
    format!("{account}#second-factor")
}

impl Store {
    /// The staff member's two-factor state.
    pub async fn two_factor_state(&self, staff_id: i64) -> StoreResult<TwoFactorState> {
        let r = query(
            "SELECT totp_secret, totp_pending, totp_last_step, totp_enabled_at,
                    (SELECT COUNT(*) FROM staff_recovery_codes c WHERE c.staff_id = s.id AND c.used_at IS NULL)
             FROM staff s WHERE s.id = $1",
        )
        .bind(staff_id)
        .fetch_optional(&self.db)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(TwoFactorState {
            secret: r.get(0)?,
            pending: r.get(1)?,
            last_step: r.get(2)?,
            enabled_at: r.get(3)?,
            recovery_left: r.get(4)?,
        })
    }

    /// Binds a secret to the staff member for the setup page, unless two-factor is already on.
    pub async fn set_pending_secret(&self, staff_id: i64, secret: &str) -> StoreResult<()> {
        query("UPDATE staff SET totp_pending = $1 WHERE id = $2 AND totp_secret IS NULL")
            .bind(secret)
            .bind(staff_id)
            .execute(self.db.writer())
            .await?;
        Ok(())
    }

    /// Turns two-factor on with the pending secret the first code was checked against (only if
    /// it is still the pending one), stores the recovery codes' hashes, ends every session of
    /// the staff member and opens `new` in their place (the session rotates). False when the
    /// pending secret changed meanwhile or two-factor was already on.
    #[allow(clippy::too_many_arguments)]
    pub async fn enable_two_factor(
        &self,
        staff_id: i64,
        secret: &str,
        step: i64,
        recovery_hashes: &[String],
        new: &NewStaffSession<'_>,
        by: &StaffActing,
    ) -> StoreResult<bool> {
        let now = crate::domain::now();
        let mut tx = self.begin().await?;
        let n = query(
            "UPDATE staff SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = $1, totp_enabled_at = $2
             WHERE id = $3 AND totp_secret IS NULL AND totp_pending = $4",
        )
        .bind(step)
        .bind(now)
        .bind(staff_id)
        .bind(secret)
        .execute(&mut *tx)
        .await?;
        if n.rows_affected() != 1 {
            return Ok(false);
        }
        query("DELETE FROM staff_recovery_codes WHERE staff_id = $1").bind(staff_id).execute(&mut *tx).await?;
        for h in recovery_hashes {
            query("INSERT INTO staff_recovery_codes (staff_id, code_hash) VALUES ($1, $2)")
                .bind(staff_id)
                .bind(h)
                .execute(&mut *tx)
                .await?;
        }
        delete_staff_sessions(&mut tx, staff_id).await?;
        open_staff_session(&mut tx, staff_id, new).await?;
        append(
            &mut tx,
            event(
                by,
                staff_id,
                "Two-factor enabled",
                format!("{} recovery codes issued; other sessions ended", recovery_hashes.len()),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// After the right password of a staff member with two-factor: a half-signed-in session
    /// that can only answer the code page. Ends the staff session this browser had.
    pub async fn create_pending_staff_session(
        &self,
        staff_id: i64,
        token_hash: &str,
        csrf: &str,
        expires_at: i64,
        replaces_token_hash: Option<&str>,
        by: &StaffActing,
    ) -> StoreResult<()> {
        self.record(|mut tx| async move {
            if let Some(old) = replaces_token_hash {
                end_staff_session_by_hash(&mut tx, old).await?;
            }
            insert_session(
                &mut tx,
                token_hash,
                SessionKind::StaffPending,
                Some(staff_id),
                None,
                None,
                csrf,
                expires_at,
            )
            .await?;
            Ok((tx, (), event(by, staff_id, "Staff password accepted", "second factor still owed".into())))
        })
        .await
    }

    /// Drops a half-signed-in session at the staff member's request, recorded like a sign-out.
    pub async fn cancel_pending_staff_session(
        &self,
        session_id: i64,
        staff_id: i64,
        by: &StaffActing,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let n = query("DELETE FROM sessions WHERE id = $1 AND kind = 'staff_2fa'")
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        if n.rows_affected() == 1 {
            append(&mut tx, event(by, staff_id, "Two-factor sign-in cancelled", String::new())).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Reads a live half-signed-in session of an active staff member who has two-factor.
    pub async fn pending_staff_session(&self, token_hash: &str, now: i64) -> StoreResult<Option<PendingStaffRow>> {
        let Some(r) = query(
            "SELECT s.id, s.csrf_token, st.id, st.email, st.totp_secret, st.totp_last_step
             FROM sessions s JOIN staff st ON st.id = s.staff_id
             WHERE s.token_hash = $1 AND s.kind = 'staff_2fa' AND s.expires_at > $2 AND st.active = 1
               AND st.totp_secret IS NOT NULL",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.db)
        .await?
        else {
            return Ok(None);
        };
        Ok(Some(PendingStaffRow {
            session_id: r.get(0)?,
            csrf_token: r.get(1)?,
            staff_id: r.get(2)?,
            email: r.get(3)?,
            secret: r.get(4)?,
            last_step: r.get(5)?,
        }))
    }

    /// The second step of a sign-in: uses up the proof (a code's time step, or a recovery
    /// code), ends the half-signed-in session and opens `new` (a fresh token). False, with
    /// nothing changed, when the proof was already used (a replay, or two tabs at once).
    pub async fn complete_staff_sign_in(
        &self,
        pending_session_id: i64,
        staff_id: i64,
        proof: &Proof,
        new: &NewStaffSession<'_>,
        by: &StaffActing,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        if !use_proof(&mut tx, by, staff_id, proof, "sign-in").await? {
            return Ok(false);
        }
        let n = query("DELETE FROM sessions WHERE id = $1 AND kind = 'staff_2fa'")
            .bind(pending_session_id)
            .execute(&mut *tx)
            .await?;
        if n.rows_affected() != 1 {
            return Ok(false);
        }
        open_staff_session(&mut tx, staff_id, new).await?;
        touch_last_login(&mut tx, Whose::Staff(staff_id)).await?;
        append(&mut tx, event(by, staff_id, "Staff signed in", "with two-factor".into())).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A successful step-up: uses up the proof and records the check as the session's last.
    /// False, with nothing changed, when the proof was already used.
    pub async fn staff_step_up(
        &self,
        session_id: i64,
        staff_id: i64,
        proof: &Proof,
        by: &StaffActing,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        if !use_proof(&mut tx, by, staff_id, proof, "step-up before Login as Client").await? {
            return Ok(false);
        }
        query("UPDATE sessions SET verified_at = $1 WHERE id = $2 AND kind = 'staff'")
            .bind(crate::domain::now())
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A refused code, recovery code or step-up password: counts against the sign-in limit of
    /// `account` from `by`'s address, and is recorded with the staff member as actor.
    pub async fn record_second_factor_failure(
        &self,
        by: &StaffActing,
        staff_id: i64,
        account: &str,
        proof: FailedProof,
        detail: String,
    ) -> StoreResult<()> {
        self.record(|mut tx| async move {
            insert_login_failure(&mut tx, account, &by.ip).await?;
            if proof == FailedProof::SecondFactor {
                // Counted once more under the account alone, so the code limit also holds across addresses.
                insert_login_failure(&mut tx, &second_factor_account(account), "").await?;
            }
            let action = match proof {
                FailedProof::SecondFactor => "Second factor refused",
                FailedProof::Password => "Password re-check refused",
            };
            Ok((tx, (), event(by, staff_id, action, detail)))
        })
        .await
    }

    /// Clears the staff member's two-factor and recovery codes and ends their staff sessions
    /// (and so their live Login as Client sessions, as a sign-out would).
    pub async fn reset_two_factor(&self, staff_id: i64, by: &StaffActing) -> StoreResult<()> {
        self.record(|mut tx| async move {
            changed(query(
                "UPDATE staff SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL, totp_enabled_at = NULL
             WHERE id = $1",
            )
            .bind(staff_id)
            .execute(&mut *tx)
            .await?)?;
            query("DELETE FROM staff_recovery_codes WHERE staff_id = $1").bind(staff_id).execute(&mut *tx).await?;
            let sessions = delete_staff_sessions(&mut tx, staff_id).await?;
            let ended =
                end_impersonations_where(&mut tx, Whose::Staff(staff_id), EndReason::Revoked, by.into(), &by.ip)
                    .await?;
            Ok((
                tx,
                (),
                event(
                    by,
                    staff_id,
                    "Two-factor reset",
                    format!("recovery codes removed; {sessions} sessions and {ended} Login as Client sessions ended"),
                ),
            ))
        })
        .await
    }
}

/// Opens the full staff session `new` for the staff member.
async fn open_staff_session(tx: &mut Tx, staff_id: i64, new: &NewStaffSession<'_>) -> StoreResult<()> {
    insert_session(tx, new.token_hash, SessionKind::Staff, Some(staff_id), None, None, new.csrf_token, new.expires_at)
        .await
}

/// Uses up a proof inside the transaction and records it; false when it was already used.
async fn use_proof(tx: &mut Tx, by: &StaffActing, staff_id: i64, proof: &Proof, context: &str) -> StoreResult<bool> {
    let now = crate::domain::now();
    let entry = match proof {
        Proof::Code(step) => {
            // Only a later step than the last accepted one moves it: two requests with the
            // same code cannot both pass.
            let n = query(
                "UPDATE staff SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
            )
            .bind(step)
            .bind(staff_id)
            .execute(&mut **tx)
            .await?;
            if n.rows_affected() != 1 {
                return Ok(false);
            }
            event(by, staff_id, "Second factor accepted", format!("authenticator code; {context}"))
        }
        Proof::Recovery(hash) => {
            let n = query(
                "UPDATE staff_recovery_codes SET used_at = $1 WHERE staff_id = $2 AND code_hash = $3 AND used_at IS NULL",
            )
            .bind(now)
            .bind(staff_id)
            .bind(hash)
            .execute(&mut **tx)
            .await?;
            if n.rows_affected() != 1 {
                return Ok(false);
            }
            let left: i64 = query("SELECT COUNT(*) FROM staff_recovery_codes WHERE staff_id = $1 AND used_at IS NULL")
                .bind(staff_id)
                .fetch_scalar(&mut **tx)
                .await?;
            event(by, staff_id, "Recovery code used", format!("{context}; {left} recovery codes left"))
        }
        Proof::Password => event(by, staff_id, "Password re-checked", context.to_string()),
    };
    append(tx, entry).await?;
    Ok(true)
}

/// A security entry about a staff member's own sign-in or two-factor, by `by`.
fn event(by: &StaffActing, staff_id: i64, action: &'static str, detail: String) -> NewActivity {
    NewActivity::by_staff(by, None, ActivityGroup::Security, action, format!("staff #{staff_id}")).with_detail(detail)
}
