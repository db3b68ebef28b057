//! The filters of the Login as Client log and the activity log, read from a query string the same
//! way for the staff pages, the CSV export and the API.

use crate::domain::activity::ActivityGroup;
use crate::error::{AppError, AppResult};
use crate::store::activity::ActivityFilter;
use crate::store::impersonations::ImpersonationFilter;
use crate::web::extract::optional_id;
use serde::Deserialize;

/// Filters of the log and its export (SPEC §4).
#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// A staff member's id.
    pub staff: Option<String>,
    /// A client's id, or part of their name or e-mail address.
    pub client: Option<String>,
    /// Started on or after this day (`2026-11-23`).
    pub from: Option<String>,
    /// Started on or before this day.
    pub to: Option<String>,
    /// `live` or `ended`.
    pub state: Option<String>,
    /// The pages' page number; the API pages by `cursor`.
    #[param(ignore)]
    pub page: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Rows per page, 1 to 100 (20).
    pub limit: Option<String>,
}

fn parse_date(value: &Option<String>, name: &str) -> AppResult<Option<i64>> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => {
            let fmt = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(v, &fmt)
                .map(|d| Some(d.midnight().assume_utc().unix_timestamp()))
                .map_err(|_| AppError::bad_request(format!("The {name} date must look like 2026-11-23.")))
        }
    }
}

impl LogQuery {
    /// The store's filter; a malformed value answers 400.
    pub fn filter(&self) -> AppResult<ImpersonationFilter> {
        let live = match self.state.as_deref() {
            None | Some("") => None,
            Some("live") => Some(true),
            Some("ended") => Some(false),
            Some(_) => return Err(AppError::bad_request("The state filter must be live or ended.")),
        };
        // Staff know clients by name or e-mail; a number is still read as the client's id.
        let client = self.client.as_deref().map(str::trim).filter(|c| !c.is_empty());
        let (client_id, client_text) = match client {
            Some(c) if c.bytes().all(|b| b.is_ascii_digit()) => (optional_id(&self.client, "client")?, None),
            Some(c) if c.chars().count() > 200 => {
                return Err(AppError::bad_request("The client filter is longer than 200 characters."))
            }
            Some(c) => (None, Some(c.to_string())),
            None => (None, None),
        };
        Ok(ImpersonationFilter {
            staff: optional_id(&self.staff, "staff")?,
            client: client_id,
            client_text,
            from: parse_date(&self.from, "from")?,
            // `to` is inclusive: everything started before the next midnight.
            to: parse_date(&self.to, "to")?.map(|t| t + 86400),
            live,
        })
    }

    /// The filters again as a query string, for the pager and the export link.
    pub fn query_string(&self) -> String {
        let pairs = [
            ("staff", &self.staff),
            ("client", &self.client),
            ("from", &self.from),
            ("to", &self.to),
            ("state", &self.state),
        ];
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter().filter_map(|(k, v)| v.as_deref().filter(|v| !v.is_empty()).map(|v| (*k, v))))
            .finish()
    }
}

/// Query of the activity log (SPEC §4).
#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// An action group: `login_as_client`, `tickets`, `account`, `security`, …
    pub group: Option<String>,
    /// `staff:ID` or `client:ID`.
    pub actor: Option<String>,
    /// The client the entry is about.
    pub client: Option<String>,
    /// The pages' page number; the API pages by `cursor`.
    #[param(ignore)]
    pub page: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Entries per page, 1 to 100 (20).
    pub limit: Option<String>,
}

impl ActivityQuery {
    /// The store's filter; `None` for a group the log does not know, under which nothing is
    /// filed. A malformed actor or client answers 400.
    pub fn filter(&self) -> AppResult<Option<ActivityFilter>> {
        let group = self.group.as_deref().filter(|g| !g.trim().is_empty()).map(ActivityGroup::parse);
        let mut f = ActivityFilter {
            group: group.flatten(),
            client: optional_id(&self.client, "client")?,
            ..Default::default()
        };
        match self.actor.as_deref().map(str::trim) {
            None | Some("") => {}
            Some(a) => match a.split_once(':') {
                Some(("staff", id)) => f.actor_staff = optional_id(&Some(id.to_string()), "actor")?,
                Some(("client", id)) => f.actor_client = optional_id(&Some(id.to_string()), "actor")?,
                _ => return Err(AppError::bad_request("The actor filter must look like staff:ID or client:ID.")),
            },
        }
        Ok(if matches!(group, Some(None)) { None } else { Some(f) })
    }
}
