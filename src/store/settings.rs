//! Settings rows, read live on each use, and the webhook endpoints; both written with an activity
//! entry.

use super::activity::NewActivity;
use super::webhooks::{endpoints_wanting, enqueue, NewEndpoint};
use super::{Store, StoreError, StoreResult};
use crate::db::query::query;
use crate::domain::acting::StaffActing;
use crate::domain::activity::ActivityGroup;
use crate::domain::settings::Settings;
use crate::domain::webhooks::EventType;

impl Store {
    /// Every stored setting as key/value pairs.
    pub async fn setting_pairs(&self) -> StoreResult<Vec<(String, String)>> {
        let rows = query("SELECT key, value FROM settings").fetch_all(&self.db).await?;
        rows.iter().map(|r| Ok((r.get(0)?, r.get(1)?))).collect()
    }

    /// The typed settings, read now.
    pub async fn settings(&self) -> StoreResult<Settings> {
        Ok(Settings::from_pairs(&self.setting_pairs().await?))
    }

    /// Stores an already-validated value and records old and new values.
    pub async fn set_setting(&self, key: &str, value: &str, by: &StaffActing) -> StoreResult<()> {
        self.record(|mut tx| async move {
            let old: Option<String> = query("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.get(0))
                .transpose()?;
            query(
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(key)
            .bind(value)
            .execute(&mut *tx)
            .await?;
            let entry = NewActivity::by_staff(by, None, ActivityGroup::Settings, "Setting changed", key.to_string());
            Ok((tx, (), entry.with_detail(format!("{} -> {}", old.as_deref().unwrap_or("(default)"), value))))
        })
        .await
    }
}

/// A URL's scheme and host, for the record: the rest of a webhook URL may hold a secret (some
/// services put one in the path), and the activity log is read by more people than the settings.
fn url_origin(url: &str) -> String {
    url::Url::parse(url).map(|u| u.origin().ascii_serialization()).unwrap_or_else(|_| "(unreadable)".into())
}

impl Store {
    /// Registers an endpoint, recorded.
    pub async fn add_webhook(&self, n: &NewEndpoint<'_>, by: &StaffActing) -> StoreResult<i64> {
        self.record(|mut tx| async move {
            let id: i64 = query(
                "INSERT INTO webhook_endpoints (url, secret, events, description, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(n.url)
            .bind(n.secret)
            .bind(n.events)
            .bind(n.description)
            .bind(crate::domain::now())
            .fetch_scalar(&mut *tx)
            .await?;
            let entry =
                NewActivity::by_staff(by, None, ActivityGroup::Settings, "Webhook endpoint added", format!("webhook #{id}"))
                    .with_detail(format!("{}; events: {}", url_origin(n.url), n.events));
            Ok((tx, id, entry))
        })
        .await
    }

    /// Removes an endpoint: nothing more is sent to it; its delivery log stays.
    pub async fn delete_webhook(&self, id: i64, by: &StaffActing) -> StoreResult<()> {
        self.change(
            query("UPDATE webhook_endpoints SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
                .bind(crate::domain::now())
                .bind(id),
            NewActivity::by_staff(
                by,
                None,
                ActivityGroup::Settings,
                "Webhook endpoint removed",
                format!("webhook #{id}"),
            ),
        )
        .await
    }

    /// **Send test event**: one `webhook.test` delivery to this endpoint, recorded.
    pub async fn send_test_webhook(&self, id: i64, by: &StaffActing) -> StoreResult<()> {
        self.record(|mut tx| async move {
            let endpoints = endpoints_wanting(&mut *tx, EventType::Test, Some(id)).await?;
            if endpoints.is_empty() {
                return Err(StoreError::NotFound);
            }
            let data = serde_json::json!({ "message": "A test event from Behalf's webhook settings.", "staff_id": by.staff_id });
            enqueue(&mut tx, EventType::Test, &endpoints, data).await?;
            let entry = NewActivity::by_staff(
                by,
                None,
                ActivityGroup::Settings,
                "Webhook test event sent",
                format!("webhook #{id}"),
            );
            Ok((tx, (), entry))
        })
        .await
    }
}
