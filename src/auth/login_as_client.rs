//! Starting Login as Client, for the button and the API's token exchange alike: the target's
//! state is read, the one policy (`decide_start`) decides, and the store writes the session, its
//! record, the client's notice and the activity entry together.

use super::FreshSession;
use crate::domain::acting::StaffActing;
use crate::domain::api::Channel;
use crate::domain::impersonation::{
    decide_start, start_notice, Consent, Refusal, StartAsk, StartDecision, TargetClient,
};
use crate::domain::permissions::Grants;
use crate::domain::settings::Settings;
use crate::store::impersonations::NewImpersonation;
use crate::store::people::{Client, Staff};
use crate::store::{Store, StoreError};

/// Who starts, for whom, through which channel, asking what.
pub struct Start<'a> {
    pub staff: &'a Staff,
    pub grants: &'a Grants,
    pub by: &'a StaffActing,
    pub client: &'a Client,
    pub ask: StartAsk<'a>,
    pub channel: Channel,
    /// The API key of a token exchange (`None` for the button).
    pub api_key_id: Option<i64>,
    /// The new session's secrets: a cookie's token, or an API token's `jti`.
    pub session: &'a FreshSession,
    /// The portal session this browser had, which the start ends.
    pub replaces_token_hash: Option<&'a str>,
}

/// A session that started.
#[derive(Debug, Clone)]
pub struct Started {
    pub impersonation_id: i64,
    pub decision: StartDecision,
}

/// Why a start did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The policy refused; nothing was written.
    #[error("refused: {}", .0.code())]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Decides and, when allowed, starts Login as Client; every refusal is counted by its reason.
pub async fn start(store: &Store, settings: &Settings, s: Start<'_>) -> Result<Started, StartError> {
    let client = s.client;
    let stores = store.client_stores(client.id).await?;
    let store_ids: Vec<i64> = stores.iter().map(|st| st.id).collect();
    let target = TargetClient {
        active: client.active,
        consent: Consent::from_stored(&client.consent, client.consent_until),
        stores: &store_ids,
    };
    let now = crate::domain::now();
    let decision = match decide_start(s.grants, settings, &target, &s.ask, now) {
        Ok(d) => d,
        Err(r) => {
            metrics::counter!("behalf_impersonation_refusals_total", "reason" => r.code()).increment(1);
            let event = serde_json::json!({
                "staff": { "id": s.staff.id, "name": s.staff.name, "email": s.staff.email },
                "client": { "id": client.id, "name": client.name, "email": client.email },
                "reason": s.ask.reason.trim(),
                "mode": s.ask.mode,
                "channel": s.channel.as_str(),
                "ip": s.by.ip,
                "refusal": r.code(),
                "message": r.message(),
            });
            // The refusal stands whatever happens to its notification.
            if let Err(e) = store.enqueue_refusal(event).await {
                tracing::warn!(error = %e, "could not enqueue the impersonation.refused webhook");
            }
            return Err(StartError::Refused(r));
        }
    };
    let store_name = stores.iter().find(|st| Some(st.id) == decision.store).map(|st| st.name.as_str());
    let impersonation_id = store
        .start_impersonation(&NewImpersonation {
            staff_id: s.staff.id,
            staff_name: &s.staff.name,
            client_id: client.id,
            client_name: &client.name,
            decision: &decision,
            store_name,
            by: s.by,
            token_hash: &s.session.token_hash,
            csrf_token: &s.session.csrf_token,
            replaces_token_hash: s.replaces_token_hash,
            notice: settings
                .notify_client
                .then(|| start_notice(&client.name, &client.email, &s.staff.name, &decision, now)),
            channel: s.channel,
            api_key_id: s.api_key_id,
        })
        .await?;
    metrics::counter!("behalf_impersonation_starts_total").increment(1);
    Ok(Started { impersonation_id, decision })
}
