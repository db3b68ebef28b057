//! Login as Client rules: who may start, in which mode, and when a live impersonation must end.

pub use super::mode::Mode;
use super::permissions::{Grants, Permission};
use super::settings::{duration_or_default, ConsentPolicy, Settings};

/// Why an impersonation ended (SPEC §2.17).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    Returned,
    Closed,
    Expired,
    Idle,
    StaffLogout,
    Revoked,
    EndedByStaff,
    ClientEnded,
    Replaced,
}

impl EndReason {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Returned => "returned",
            EndReason::Closed => "closed",
            EndReason::Expired => "expired",
            EndReason::Idle => "idle",
            EndReason::StaffLogout => "staff_logout",
            EndReason::Revoked => "revoked",
            EndReason::EndedByStaff => "ended_by_staff",
            EndReason::ClientEnded => "client_ended",
            EndReason::Replaced => "replaced",
        }
    }

    /// A sentence for the staff member who lands back on the admin side.
    pub fn message(self) -> &'static str {
        match self {
            EndReason::Returned => "You returned to the admin.",
            EndReason::Closed => "The Login as Client session was closed.",
            EndReason::Expired => "The Login as Client session reached its maximum duration.",
            EndReason::Idle => "The Login as Client session ended after being idle.",
            EndReason::StaffLogout => "You signed out of the admin, which ended the Login as Client session.",
            EndReason::Revoked => "Your permission to log in as clients was withdrawn.",
            EndReason::EndedByStaff => "Another staff member ended this Login as Client session.",
            EndReason::ClientEnded => "The client ended support access to their account.",
            EndReason::Replaced => "You started another Login as Client session, which ended this one.",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<EndReason> {
        ALL_END_REASONS.iter().copied().find(|r| r.as_str() == s)
    }
}

const ALL_END_REASONS: &[EndReason] = &[
    EndReason::Returned,
    EndReason::Closed,
    EndReason::Expired,
    EndReason::Idle,
    EndReason::StaffLogout,
    EndReason::Revoked,
    EndReason::EndedByStaff,
    EndReason::ClientEnded,
    EndReason::Replaced,
];

/// A client's answer to "Allow support staff to access my account".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    Unset,
    Allowed { until: Option<i64> },
    Refused,
}

impl Consent {
    /// Builds it from the stored columns.
    pub fn from_stored(value: &str, until: Option<i64>) -> Self {
        match value {
            "allowed" => Consent::Allowed { until },
            "refused" => Consent::Refused,
            _ => Consent::Unset,
        }
    }

    /// Stored form (`clients.consent`).
    pub fn as_str(self) -> &'static str {
        match self {
            Consent::Unset => "unset",
            Consent::Allowed { .. } => "allowed",
            Consent::Refused => "refused",
        }
    }

    /// When an allowance ends (`clients.consent_until`); `None` for one until revoked, and for
    /// every other answer.
    pub fn until(self) -> Option<i64> {
        match self {
            Consent::Allowed { until } => until,
            Consent::Unset | Consent::Refused => None,
        }
    }

    /// Whether staff may log in under the given policy at `now`.
    pub fn lets_staff_in(self, policy: ConsentPolicy, now: i64) -> bool {
        match policy {
            ConsentPolicy::NotRequired => true,
            ConsentPolicy::OptIn => {
                matches!(self, Consent::Allowed { until } if until.is_none_or(|u| u > now))
            }
            ConsentPolicy::OptOut => !matches!(self, Consent::Refused),
        }
    }
}

/// Reads a consent choice (`allow`/`refuse`/`unset`, for `24h`/`7d`/`always`) made at `now`.
pub fn parse_consent_choice(consent: &str, duration: &str, now: i64) -> Result<Consent, &'static str> {
    match (consent, duration) {
        ("allow", "24h") => Ok(Consent::Allowed { until: Some(now + 86400) }),
        ("allow", "7d") => Ok(Consent::Allowed { until: Some(now + 7 * 86400) }),
        ("allow", "always" | "") => Ok(Consent::Allowed { until: None }),
        ("refuse", _) => Ok(Consent::Refused),
        ("unset", _) => Ok(Consent::Unset),
        _ => Err("Choose allow, refuse or unset, for 24h, 7d or always."),
    }
}

/// Why a start was refused; each maps to a status code and a message (SPEC §2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NoPermission,
    FeatureOff,
    ClientDisabled,
    NoConsent,
    FullModeNotAllowed,
    ReasonRequired,
    ReasonTooLong,
    StoreRequired,
    UnknownMode,
}

impl Refusal {
    /// A stable name for the refusal, for metrics and records.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NoPermission => "no_permission",
            Refusal::FeatureOff => "feature_off",
            Refusal::ClientDisabled => "client_disabled",
            Refusal::NoConsent => "no_consent",
            Refusal::FullModeNotAllowed => "full_mode_not_allowed",
            Refusal::ReasonRequired => "reason_required",
            Refusal::ReasonTooLong => "reason_too_long",
            Refusal::StoreRequired => "store_required",
            Refusal::UnknownMode => "unknown_mode",
        }
    }

    /// HTTP status for the refusal.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::ReasonRequired | Refusal::ReasonTooLong | Refusal::StoreRequired | Refusal::UnknownMode => 422,
            _ => 403,
        }
    }

    /// What the staff member reads.
    pub fn message(&self) -> &'static str {
        match self {
            Refusal::NoPermission => "You do not have permission to log in as clients.",
            Refusal::FeatureOff => "Login as Client is switched off in the settings.",
            Refusal::ClientDisabled => "This client account is disabled, so you cannot log in as it.",
            Refusal::NoConsent => "This client has not allowed support staff to access their account.",
            Refusal::FullModeNotAllowed => {
                "Full access needs the clients.impersonate.write permission; use read-only mode."
            }
            Refusal::ReasonRequired => "Give a reason or ticket reference of at least 10 characters.",
            Refusal::ReasonTooLong => "The reason may have at most 500 characters.",
            Refusal::StoreRequired => "Choose a store to log in to.",
            Refusal::UnknownMode => "Mode must be read_only or full.",
        }
    }
}

/// What a start request asks for, already read from the form.
pub struct StartAsk<'a> {
    pub mode: Option<&'a str>,
    pub reason: &'a str,
    pub store: Option<i64>,
}

/// The target client's state relevant to a start.
pub struct TargetClient<'a> {
    pub active: bool,
    pub consent: Consent,
    pub stores: &'a [i64],
}

/// What an allowed start will create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartDecision {
    pub mode: Mode,
    pub store: Option<i64>,
    pub reason: String,
    pub ends_by: i64,
}

impl StartDecision {
    /// The reason as the client and the log read it.
    pub fn shown_reason(&self) -> &str {
        if self.reason.is_empty() {
            "none given"
        } else {
            &self.reason
        }
    }
}

/// An e-mail that tells a client support staff logged in to their account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientNotice {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// The notice to `client_email` that `staff_name` started `decision` at `at`.
pub fn start_notice(
    client_name: &str,
    client_email: &str,
    staff_name: &str,
    decision: &StartDecision,
    at: i64,
) -> ClientNotice {
    let body = format!(
        "Hello {client_name},\n\n{staff_name} from our support team logged in to your account on {} ({} mode).\n\
         Reason: {}\n\n\
         Every access to your account is listed under Account > Who has accessed my account, with what was done.\n\
         You can end support access at any time from your Account page.\n",
        super::format_time(at),
        decision.mode.label(),
        decision.shown_reason()
    );
    ClientNotice { to: client_email.to_string(), subject: "Support accessed your account".into(), body }
}

/// Shortest reason accepted when a reason is required.
pub const MIN_REASON_CHARS: usize = 10;
/// Longest reason stored.
pub const MAX_REASON_CHARS: usize = 500;

/// Whether a staff member may start Login as Client on this client at all, before anything is
/// asked (mode, reason, store). The start button is disabled by exactly this rule, and
/// [`decide_start`] begins with it.
pub fn may_start(grants: &Grants, settings: &Settings, target: &TargetClient, now: i64) -> Result<(), Refusal> {
    if !grants.has(Permission::ClientsImpersonate) {
        Err(Refusal::NoPermission)
    } else if !settings.enabled {
        Err(Refusal::FeatureOff)
    } else if !target.active {
        Err(Refusal::ClientDisabled)
    } else if !target.consent.lets_staff_in(settings.consent, now) {
        Err(Refusal::NoConsent)
    } else {
        Ok(())
    }
}

/// Decides whether a staff member may start Login as Client, and how.
pub fn decide_start(
    grants: &Grants,
    settings: &Settings,
    target: &TargetClient,
    ask: &StartAsk,
    now: i64,
) -> Result<StartDecision, Refusal> {
    may_start(grants, settings, target, now)?;
    let can_write = grants.has(Permission::ClientsImpersonateWrite);
    let mode = match ask.mode.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => match Mode::parse(m) {
            Some(Mode::Full) if !can_write => return Err(Refusal::FullModeNotAllowed),
            Some(mode) => mode,
            None => return Err(Refusal::UnknownMode),
        },
        // A default of full quietly becomes read-only for staff who may not write.
        None if settings.default_mode == Mode::Full && can_write => Mode::Full,
        None => Mode::ReadOnly,
    };
    let reason = ask.reason.trim();
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(Refusal::ReasonTooLong);
    }
    if settings.require_reason && reason.chars().count() < MIN_REASON_CHARS {
        return Err(Refusal::ReasonRequired);
    }
    let store = match ask.store {
        Some(s) if target.stores.contains(&s) => Some(s),
        Some(_) => return Err(Refusal::StoreRequired),
        None if settings.manual_store && target.stores.len() > 1 => return Err(Refusal::StoreRequired),
        None => target.stores.first().copied(),
    };
    Ok(StartDecision { mode, store, reason: reason.to_string(), ends_by: now + settings.max_duration.seconds() })
}

/// What the Login as Client start form asks of this staff member for this client. The button
/// starts directly with the defaults unless something must be answered first
/// ([`StartQuestions::must_answer`]); what may be chosen is offered beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartQuestions {
    /// The staff member may choose full access, so the mode is offered.
    pub mode: bool,
    /// The client is in several stores, so a store is offered.
    pub store: bool,
    /// With several stores and `impersonation.store_selection = manual`, none is picked unasked.
    pub store_required: bool,
    /// `impersonation.require_reason`: a reason of at least [`MIN_REASON_CHARS`] characters.
    pub reason_required: bool,
}

impl StartQuestions {
    /// The questions for a client in `store_count` stores, by the same rules as [`decide_start`].
    pub fn new(grants: &Grants, settings: &Settings, store_count: usize) -> Self {
        let store = store_count > 1;
        StartQuestions {
            mode: grants.has(Permission::ClientsImpersonateWrite),
            store,
            store_required: store && settings.manual_store,
            reason_required: settings.require_reason,
        }
    }

    /// Whether a start cannot succeed until the form is answered.
    pub fn must_answer(self) -> bool {
        self.store_required || self.reason_required
    }
}

/// The state of a live impersonation as read on each portal request.
pub struct LiveState {
    pub started_at: i64,
    pub ends_by: i64,
    pub last_seen_at: i64,
    pub staff_active: bool,
    pub staff_may_impersonate: bool,
}

/// The time limits in force now; read live from the settings, so lowering one shortens the
/// sessions already running at their next request.
#[derive(Debug, Clone, Copy)]
pub struct LiveLimits {
    pub max_duration: i64,
    pub idle_timeout: i64,
}

impl LiveLimits {
    /// Whether a session that has not ended is live now: before its deadline and not idle. The
    /// store's "who is in this client's portal" read asks the same in SQL.
    pub fn is_live(self, started_at: i64, ends_by: i64, last_seen_at: i64, now: i64) -> bool {
        now < self.deadline(started_at, ends_by) && now - last_seen_at < self.idle_timeout
    }

    /// The limits the settings give now.
    pub fn from_settings(settings: &Settings) -> Self {
        LiveLimits { max_duration: settings.max_duration.seconds(), idle_timeout: settings.idle_timeout.seconds() }
    }

    /// The limits from the two stored values, as a portal request reads them with its session.
    pub fn from_stored(max_duration: Option<&str>, idle_timeout: Option<&str>) -> Self {
        LiveLimits {
            max_duration: duration_or_default("impersonation.max_duration", max_duration).seconds(),
            idle_timeout: duration_or_default("impersonation.idle_timeout", idle_timeout).seconds(),
        }
    }

    /// When a live impersonation must end: its recorded deadline, or the current maximum
    /// duration counted from its start, whichever is sooner.
    pub fn deadline(self, started_at: i64, ends_by: i64) -> i64 {
        ends_by.min(started_at.saturating_add(self.max_duration))
    }
}

/// Whether a live impersonation may serve this request, or the reason it must end now.
pub fn check_live(state: &LiveState, limits: LiveLimits, now: i64) -> Result<(), EndReason> {
    if !state.staff_active || !state.staff_may_impersonate {
        Err(EndReason::Revoked)
    } else if now >= limits.deadline(state.started_at, state.ends_by) {
        Err(EndReason::Expired)
    } else if !limits.is_live(state.started_at, state.ends_by, state.last_seen_at, now) {
        Err(EndReason::Idle)
    } else {
        Ok(())
    }
}

/// The mode a request of a live impersonation runs in: full access lasts only while the staff
/// member still holds `clients.impersonate.write`; without it every request is read-only.
pub fn live_mode(started: Mode, staff_may_write: bool) -> Mode {
    match started {
        Mode::Full if staff_may_write => Mode::Full,
        _ => Mode::ReadOnly,
    }
}

/// Whether "last seen" is stale enough to be written again; keeps page views free of writes.
pub fn should_touch(last_seen_at: i64, idle_timeout: i64, now: i64) -> bool {
    now - last_seen_at >= (idle_timeout / 4).clamp(1, 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::permissions::builtin_roles;

    fn grants(role: &str) -> Grants {
        builtin_roles().into_iter().find(|(r, _)| *r == role).unwrap().1
    }

    fn settings() -> Settings {
        Settings::from_pairs(&[])
    }

    const STORES: &[i64] = &[1];

    fn target() -> TargetClient<'static> {
        TargetClient { active: true, consent: Consent::Unset, stores: STORES }
    }

    fn ask() -> StartAsk<'static> {
        StartAsk { mode: None, reason: "", store: None }
    }

    #[test]
    fn the_button_and_the_start_share_the_first_refusal() {
        let mut off = settings();
        off.enabled = false;
        let disabled = TargetClient { active: false, ..target() };
        let cases = [
            (grants("support"), settings(), target()),
            (grants("admin"), off, target()),
            (grants("admin"), settings(), disabled),
        ];
        for (g, s, t) in &cases {
            let before_asking = may_start(g, s, t, 0).unwrap_err();
            assert_eq!(decide_start(g, s, t, &ask(), 0).unwrap_err(), before_asking);
        }
        assert_eq!(may_start(&grants("admin"), &settings(), &target(), 0), Ok(()));
        let mut reason_required = settings();
        reason_required.require_reason = true;
        // What must still be asked (a reason) does not disable the button.
        assert_eq!(may_start(&grants("admin"), &reason_required, &target(), 0), Ok(()));
        assert_eq!(
            decide_start(&grants("admin"), &reason_required, &target(), &ask(), 0),
            Err(Refusal::ReasonRequired)
        );
    }

    #[test]
    fn a_start_without_answers_succeeds_exactly_when_nothing_must_be_answered() {
        let two: &[i64] = &[1, 2];
        for role in ["admin", "manager"] {
            for (require_reason, manual_store) in [(false, false), (true, false), (false, true), (true, true)] {
                for stores in [STORES, two] {
                    let mut s = settings();
                    s.require_reason = require_reason;
                    s.manual_store = manual_store;
                    let q = StartQuestions::new(&grants(role), &s, stores.len());
                    let t = TargetClient { stores, ..target() };
                    let started = decide_start(&grants(role), &s, &t, &ask(), 0);
                    assert_eq!(started.is_ok(), !q.must_answer(), "{role} {require_reason} {manual_store} {stores:?}");
                    assert_eq!(q.mode, role == "admin");
                }
            }
        }
    }

    #[test]
    fn admin_starts_read_only_by_default() {
        let d = decide_start(&grants("admin"), &settings(), &target(), &ask(), 100).unwrap();
        assert_eq!(d.mode, Mode::ReadOnly);
        assert_eq!(d.ends_by, 100 + 3600);
        assert_eq!(d.store, Some(1));
    }

    #[test]
    fn support_and_billing_are_refused() {
        for role in ["support", "billing"] {
            assert_eq!(decide_start(&grants(role), &settings(), &target(), &ask(), 0), Err(Refusal::NoPermission));
        }
    }

    #[test]
    fn manager_cannot_ask_for_full_mode() {
        let a = StartAsk { mode: Some("full"), ..ask() };
        let r = decide_start(&grants("manager"), &settings(), &target(), &a, 0);
        assert_eq!(r, Err(Refusal::FullModeNotAllowed));
        assert_eq!(Refusal::FullModeNotAllowed.status(), 403);
        let d = decide_start(&grants("admin"), &settings(), &target(), &a, 0).unwrap();
        assert_eq!(d.mode, Mode::Full);
    }

    #[test]
    fn full_default_downgrades_for_managers() {
        let mut s = settings();
        s.default_mode = Mode::Full;
        assert_eq!(decide_start(&grants("manager"), &s, &target(), &ask(), 0).unwrap().mode, Mode::ReadOnly);
        assert_eq!(decide_start(&grants("admin"), &s, &target(), &ask(), 0).unwrap().mode, Mode::Full);
    }

    #[test]
    fn feature_off_and_disabled_client_are_refused() {
        let mut s = settings();
        s.enabled = false;
        assert_eq!(decide_start(&grants("admin"), &s, &target(), &ask(), 0), Err(Refusal::FeatureOff));
        let t = TargetClient { active: false, ..target() };
        assert_eq!(decide_start(&grants("admin"), &settings(), &t, &ask(), 0), Err(Refusal::ClientDisabled));
    }

    #[test]
    fn unknown_mode_is_unprocessable() {
        let a = StartAsk { mode: Some("god"), ..ask() };
        let r = decide_start(&grants("admin"), &settings(), &target(), &a, 0);
        assert_eq!(r, Err(Refusal::UnknownMode));
        assert_eq!(Refusal::UnknownMode.status(), 422);
    }

    #[test]
    fn consent_policies() {
        let now = 1000;
        let allowed_until_past = Consent::Allowed { until: Some(999) };
        let allowed_until_future = Consent::Allowed { until: Some(1001) };
        assert!(Consent::Unset.lets_staff_in(ConsentPolicy::NotRequired, now));
        assert!(!Consent::Unset.lets_staff_in(ConsentPolicy::OptIn, now));
        assert!(!allowed_until_past.lets_staff_in(ConsentPolicy::OptIn, now));
        assert!(allowed_until_future.lets_staff_in(ConsentPolicy::OptIn, now));
        assert!(Consent::Unset.lets_staff_in(ConsentPolicy::OptOut, now));
        assert!(!Consent::Refused.lets_staff_in(ConsentPolicy::OptOut, now));
    }

    #[test]
    fn reason_required_needs_ten_characters() {
        let mut s = settings();
        s.require_reason = true;
        let short = StartAsk { reason: "  too short", ..ask() };
        let short = StartAsk { reason: short.reason.trim_end_matches('t'), ..short };
        assert_eq!(decide_start(&grants("admin"), &s, &target(), &short, 0), Err(Refusal::ReasonRequired));
        let ok = StartAsk { reason: "Ticket #1234 invoice", ..ask() };
        assert_eq!(decide_start(&grants("admin"), &s, &target(), &ok, 0).unwrap().reason, "Ticket #1234 invoice");
    }

    #[test]
    fn overlong_reasons_are_refused() {
        let long = "x".repeat(100 * 1024);
        let a = StartAsk { reason: &long, ..ask() };
        assert_eq!(decide_start(&grants("admin"), &settings(), &target(), &a, 0), Err(Refusal::ReasonTooLong));
    }

    #[test]
    fn consent_choices() {
        assert_eq!(parse_consent_choice("allow", "24h", 10), Ok(Consent::Allowed { until: Some(86410) }));
        assert_eq!(parse_consent_choice("allow", "always", 10), Ok(Consent::Allowed { until: None }));
        assert_eq!(parse_consent_choice("refuse", "", 10), Ok(Consent::Refused));
        assert_eq!(parse_consent_choice("unset", "7d", 10), Ok(Consent::Unset));
        assert!(parse_consent_choice("maybe", "1y", 10).is_err());
        assert!(parse_consent_choice("allow", "1y", 10).is_err());
    }

    #[test]
    fn consent_is_stored_as_it_is_read_back() {
        for c in
            [Consent::Unset, Consent::Refused, Consent::Allowed { until: None }, Consent::Allowed { until: Some(5) }]
        {
            assert_eq!(Consent::from_stored(c.as_str(), c.until()), c);
        }
    }

    #[test]
    fn start_notice_tells_the_client_who_when_how_and_why() {
        let d = decide_start(&grants("admin"), &settings(), &target(), &ask(), 0).unwrap();
        let n = start_notice("Jane", "jane@example.com", "Alice Admin", &d, 86400);
        assert_eq!(n.to, "jane@example.com");
        assert_eq!(n.subject, "Support accessed your account");
        assert_eq!(
            n.body,
            "Hello Jane,\n\nAlice Admin from our support team logged in to your account on 1970-01-02 00:00 UTC \
             (read-only mode).\nReason: none given\n\nEvery access to your account is listed under Account > Who \
             has accessed my account, with what was done.\nYou can end support access at any time from your Account \
             page.\n"
        );
        let given = StartDecision { reason: "Ticket #1234".into(), ..d };
        assert!(start_notice("Jane", "j@x", "A", &given, 0).body.contains("\nReason: Ticket #1234\n"));
    }

    #[test]
    fn manual_store_selection() {
        let mut s = settings();
        s.manual_store = true;
        let stores = [1, 2];
        let t = TargetClient { stores: &stores, ..target() };
        assert_eq!(decide_start(&grants("admin"), &s, &t, &ask(), 0), Err(Refusal::StoreRequired));
        let a = StartAsk { store: Some(2), ..ask() };
        assert_eq!(decide_start(&grants("admin"), &s, &t, &a, 0).unwrap().store, Some(2));
        let a = StartAsk { store: Some(7), ..ask() };
        assert_eq!(decide_start(&grants("admin"), &s, &t, &a, 0), Err(Refusal::StoreRequired));
    }

    #[test]
    fn live_checks_in_order() {
        let live = LiveState {
            started_at: 0,
            ends_by: 1000,
            last_seen_at: 500,
            staff_active: true,
            staff_may_impersonate: true,
        };
        let limits = |max_duration, idle_timeout| LiveLimits { max_duration, idle_timeout };
        assert_eq!(check_live(&live, limits(1000, 900), 600), Ok(()));
        assert_eq!(check_live(&live, limits(1000, 900), 1000), Err(EndReason::Expired));
        assert_eq!(check_live(&live, limits(1000, 60), 600), Err(EndReason::Idle));
        let revoked = LiveState { staff_may_impersonate: false, ..live };
        assert_eq!(check_live(&revoked, limits(1000, 900), 600), Err(EndReason::Revoked));
        // A maximum lowered after the start ends the session at its next request.
        assert_eq!(check_live(&live, limits(600, 900), 600), Err(EndReason::Expired));
        assert_eq!(check_live(&live, limits(601, 900), 600), Ok(()));
        // Raising it never lengthens a session past the deadline it started with.
        assert_eq!(check_live(&live, limits(5000, 900), 1000), Err(EndReason::Expired));
    }

    #[test]
    fn full_mode_needs_the_write_permission_on_every_request() {
        assert_eq!(live_mode(Mode::Full, true), Mode::Full);
        assert_eq!(live_mode(Mode::Full, false), Mode::ReadOnly);
        assert_eq!(live_mode(Mode::ReadOnly, true), Mode::ReadOnly);
    }

    #[test]
    fn touch_is_rate_limited() {
        assert!(!should_touch(100, 900, 130));
        assert!(should_touch(100, 900, 160));
        assert!(should_touch(100, 8, 102));
    }

    #[test]
    fn end_reasons_round_trip() {
        for r in ALL_END_REASONS {
            assert_eq!(EndReason::parse(r.as_str()), Some(*r));
        }
    }
}
