//! Settings rows: read live on each use, written with an activity entry.

use super::activity::NewActivity;
use super::{Store, StoreResult};
use crate::db::query::query;
use crate::domain::acting::StaffActing;
use crate::domain::activity::ActivityGroup;
use crate::domain::settings::Settings;

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
