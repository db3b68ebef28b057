//! The top of a client record: the client's name with badges for their state (active or
//! disabled, support access, someone in their portal now through Login as Client) and the
//! actions area, whose primary action is Login as Client. What the start may ask sits in a
//! disclosure beside the button; what it must ask is shown in the open; no JavaScript.

use super::impersonation_views::{start_blocker, StartForm};
use crate::auth::guards::StaffAuth;
use crate::domain::format_time;
use crate::domain::impersonation::{Consent, Mode, StartQuestions};
use crate::domain::permissions::Permission;
use crate::domain::settings::Settings;
use crate::store::impersonations::Impersonation;
use crate::store::people::{Client, StoreRow};
use crate::web::layout::{alert, csrf};
use maud::{html, Markup};

/// What the header shows about one client, read by the record's handler.
pub(crate) struct Header<'a> {
    pub client: &'a Client,
    pub consent: Consent,
    pub settings: &'a Settings,
    /// The stores the client belongs to.
    pub stores: &'a [StoreRow],
    /// The Login as Client sessions in the client's portal now.
    pub live: &'a [Impersonation],
    pub now: i64,
}

/// How the record and its badge word the client's support-access answer.
fn consent_label(c: Consent) -> String {
    match c {
        Consent::Unset => "not set".into(),
        Consent::Refused => "refused".into(),
        Consent::Allowed { until: None } => "allowed until revoked".into(),
        Consent::Allowed { until: Some(u) } => format!("allowed until {}", format_time(u)),
    }
}

/// The badge's colour class for a support-access answer at `now`: an allowance that ran out
/// reads like no answer.
fn consent_class(c: Consent, now: i64) -> &'static str {
    match c {
        Consent::Allowed { until } if until.is_none_or(|u| u > now) => "ok",
        Consent::Refused => "off",
        Consent::Allowed { .. } | Consent::Unset => "unset",
    }
}

/// The header: name, badges and the actions area. `error` and `typed` come from a refused start
/// shown again, which opens the start form with what was typed.
pub(crate) fn client_header(auth: &StaffAuth, h: &Header, error: Option<&str>, typed: Option<&StartForm>) -> Markup {
    let c = h.client;
    html! {
        header.record-header #client-header {
            div.record-title {
                h1 { (c.name) }
                p.badges #client-badges {
                    @if c.active { span.badge.ok #client-status { "active" } }
                    @else { span.badge.off #client-status { "disabled" } }
                    span class=(format!("badge {}", consent_class(h.consent, h.now))) #support-access {
                        "Support access: " span #consent-label { (consent_label(h.consent)) }
                    }
                    @if !h.live.is_empty() {
                        span.badge.live #live-badge title="Someone is in this client's portal now through Login as Client" {
                            "Live: "
                            (h.live.iter().map(live_words).collect::<Vec<_>>().join("; "))
                        }
                    }
                }
            }
            @if auth.grants.has(Permission::ClientsImpersonate) {
                div.record-actions #client-actions { (start_form(auth, h, error, typed)) }
            }
        }
    }
}

fn live_words(i: &Impersonation) -> String {
    let mode = Mode::parse(&i.mode).map(Mode::label).unwrap_or("read-only");
    format!("{} since {} ({mode})", i.staff_name, format_time(i.started_at))
}

/// What the disclosure's summary names: what it offers.
fn summary_words(q: StartQuestions) -> String {
    let mut offered = Vec::new();
    if q.mode {
        offered.push("mode");
    }
    if q.store {
        offered.push("store");
    }
    offered.push("reason");
    let last = offered.pop().unwrap_or("reason");
    let mut words = if offered.is_empty() { last.to_string() } else { format!("{} and {last}", offered.join(", ")) };
    words[..1].make_ascii_uppercase();
    words
}

/// The start form: the primary button, and beside it the disclosure with mode, store and reason.
/// When blocked, the button is disabled with the reason beside it and nothing is asked.
fn start_form(auth: &StaffAuth, h: &Header, error: Option<&str>, typed: Option<&StartForm>) -> Markup {
    let (c, settings) = (h.client, h.settings);
    let blocker = start_blocker(&auth.grants, settings, c.active, h.consent, h.now);
    let q = StartQuestions::new(&auth.grants, settings, h.stores.len());
    let chosen_mode = typed.and_then(|t| t.mode.as_deref()).unwrap_or(settings.default_mode.as_str());
    let chosen_store = typed.and_then(|t| t.store.as_deref());
    html! {
        @if let Some(e) = error { (alert(e)) }
        form.start-login #login-as-client-form method="post" action=(format!("/admin/clients/{}/impersonate", c.id)) {
            (csrf(&auth.csrf_token))
            @if blocker.is_none() {
                @if q.must_answer() {
                    // Not a disclosure: a required field inside a closed one would stop the form
                    // without the browser being able to show why.
                    div.start-options #login-as-client-options { (start_fields(h, q, chosen_mode, chosen_store, typed)) }
                } @else {
                    details.start-options #login-as-client-options open[typed.is_some()] {
                        summary { (summary_words(q)) }
                        (start_fields(h, q, chosen_mode, chosen_store, typed))
                    }
                }
            }
            @if let Some(next) = typed.and_then(|t| t.next.as_deref()) { input type="hidden" name="next" value=(next); }
            button.primary #login-as-client type="submit" disabled[blocker.is_some()] { "Login as Client" }
        }
        @if let Some(b) = blocker { p.blocked #login-as-client-blocked { (b) } }
    }
}

/// Mode, store and reason, as the start may ask them.
fn start_fields(
    h: &Header,
    q: StartQuestions,
    chosen_mode: &str,
    chosen_store: Option<&str>,
    typed: Option<&StartForm>,
) -> Markup {
    html! {
                    div {
                        label for="mode" { "Mode" }
                        select #mode name="mode" {
                            option value="read_only" selected[chosen_mode == "read_only" || !q.mode] { "Read-only" }
                            @if q.mode { option value="full" selected[chosen_mode == "full"] { "Full access" } }
                        }
                    }
                    @if q.store {
                        div {
                            label for="store" { "Store" }
                            select #store name="store" {
                                @if q.store_required { option value="" { "Choose a store…" } }
                                @for s in h.stores { option value=(s.id) selected[chosen_store == Some(s.id.to_string().as_str())] { (s.name) } }
                            }
                        }
                    }
                    div {
                        label for="reason" { "Reason" @if q.reason_required { " (required)" } }
                        input #reason type="text" name="reason" value=(typed.map(|t| t.reason.as_str()).unwrap_or("")) placeholder="Ticket reference or why you need access" required[q.reason_required];
                    }
    }
}
