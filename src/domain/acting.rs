//! `Acting`: who is using the portal for which client, built once per portal request; and
//! `StaffActing`: who makes a staff-side write, from where.

use super::api::Channel;
use super::mode::Mode;
use super::modules::{Module, Modules};

/// The person behind a portal request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The client, signed in on their own.
    Client,
    /// A staff member using Login as Client.
    Staff { id: i64, name: String },
}

/// A live impersonation behind a portal request.
#[derive(Debug, Clone)]
pub struct ImpersonationInfo {
    pub id: i64,
    pub mode: Mode,
    pub ends_by: i64,
    pub reason: String,
    pub store_name: Option<String>,
    pub several_stores: bool,
    /// The button, or a token from the API: writes say which.
    pub channel: Channel,
}

/// The store (brand, storefront) a portal request is in: the one chosen when Login as Client
/// started, or the one the client is browsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreInfo {
    pub id: i64,
    pub name: String,
    pub color: String,
    pub currency: String,
}

/// Every portal read is scoped by `client_id`; every portal write takes `&Acting` and records
/// `actor` beside the client, so what staff did can never go unrecorded.
#[derive(Debug, Clone)]
pub struct Acting {
    pub client_id: i64,
    pub client_name: String,
    pub client_email: String,
    pub actor: Actor,
    pub impersonation: Option<ImpersonationInfo>,
    pub ip: String,
    /// The modules this client sees; hidden ones are absent from the sidebar and answer 404.
    pub modules: Modules,
    /// The current store; `None` only for a client who belongs to no store.
    pub store: Option<StoreInfo>,
}

/// The address recorded for writes made from the command line (`behalf staff …`, `behalf settings
/// set`, `behalf demo`), where there is no request to take one from.
pub const CLI_ADDRESS: &str = "cli";

/// The address recorded for writes the server makes on its own, with no request behind them: the
/// sweep of expired Login as Client sessions and the demo data loaded at start.
pub const SERVER_ADDRESS: &str = "server";

/// Every staff-side write takes `&StaffActing`, as every portal write takes `&Acting`: who acts and
/// from where, recorded with each entry. The staff guard builds it once per admin request; the
/// command line and the server's own jobs use [`StaffActing::cli`] and [`StaffActing::server`], so
/// no entry is ever written without an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffActing {
    /// The staff member acting; `None` when no person is behind the write (the system).
    pub staff_id: Option<i64>,
    pub ip: String,
    pub user_agent: String,
}

impl StaffActing {
    /// A staff member acting from a request with this address and user agent.
    pub fn staff(staff_id: i64, ip: &str, user_agent: &str) -> Self {
        StaffActing { staff_id: Some(staff_id), ip: ip.to_string(), user_agent: user_agent.to_string() }
    }

    /// The system, acting on something it noticed while serving a request from this address.
    pub fn system_at(ip: &str, user_agent: &str) -> Self {
        StaffActing { staff_id: None, ip: ip.to_string(), user_agent: user_agent.to_string() }
    }

    /// The command line.
    pub fn cli() -> Self {
        StaffActing::system_at(CLI_ADDRESS, "")
    }

    /// The server's own jobs.
    pub fn server() -> Self {
        StaffActing::system_at(SERVER_ADDRESS, "")
    }
}

/// How much a portal write touches the client's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// Replies, orders, profile edits: allowed in full mode.
    Ordinary,
    /// Password, e-mail, security, payment methods, consent, deletion: the client's own only.
    Sensitive,
}

/// Why a portal write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteRefusal {
    ReadOnly,
    Sensitive,
}

impl WriteRefusal {
    /// What the person reads on the page.
    pub fn message(self) -> &'static str {
        match self {
            WriteRefusal::ReadOnly => "This Login as Client session is read-only, so changes are not allowed.",
            WriteRefusal::Sensitive => {
                "This action is only available to the client themselves, never through Login as Client."
            }
        }
    }

    /// The short note beside a form whose controls this refusal disables: read-only mode points
    /// at full access; a sensitive action names the client whose own it is.
    pub fn control_note(self, client_name: &str) -> String {
        match self {
            WriteRefusal::ReadOnly => "Read-only access: changes need full access".to_string(),
            WriteRefusal::Sensitive => {
                let who = client_name.split_whitespace().next().unwrap_or("the client");
                format!("Only {who} can change this")
            }
        }
    }
}

impl Acting {
    /// The staff member acting, if this is an impersonation.
    pub fn staff_id(&self) -> Option<i64> {
        match &self.actor {
            Actor::Staff { id, .. } => Some(*id),
            Actor::Client => None,
        }
    }

    /// The impersonation id, if any.
    pub fn impersonation_id(&self) -> Option<i64> {
        self.impersonation.as_ref().map(|i| i.id)
    }

    /// Whether the client sees this module.
    pub fn shows(&self, m: Module) -> bool {
        self.modules.shows(m)
    }

    /// Whether the write may go through in this session.
    pub fn authorize(&self, kind: WriteKind) -> Result<(), WriteRefusal> {
        match (&self.impersonation, kind) {
            (None, _) => Ok(()),
            (Some(_), WriteKind::Sensitive) => Err(WriteRefusal::Sensitive),
            (Some(i), WriteKind::Ordinary) if i.mode == Mode::ReadOnly => Err(WriteRefusal::ReadOnly),
            (Some(_), WriteKind::Ordinary) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acting(mode: Option<Mode>) -> Acting {
        Acting {
            client_id: 1,
            client_name: "Jane".into(),
            client_email: "jane@example.com".into(),
            actor: if mode.is_some() { Actor::Staff { id: 2, name: "Alice".into() } } else { Actor::Client },
            impersonation: mode.map(|mode| ImpersonationInfo {
                id: 9,
                mode,
                ends_by: 0,
                reason: String::new(),
                store_name: None,
                several_stores: false,
                channel: Channel::Page,
            }),
            ip: String::new(),
            modules: Modules::all(),
            store: None,
        }
    }

    #[test]
    fn system_contexts_have_an_address() {
        for s in [StaffActing::cli(), StaffActing::server()] {
            assert_eq!(s.staff_id, None);
            assert!(!s.ip.is_empty());
        }
        assert_ne!(StaffActing::cli().ip, StaffActing::server().ip);
        assert_eq!(StaffActing::staff(3, "10.0.0.1", "ua").staff_id, Some(3));
    }

    #[test]
    fn client_may_do_everything() {
        let a = acting(None);
        assert_eq!(a.authorize(WriteKind::Ordinary), Ok(()));
        assert_eq!(a.authorize(WriteKind::Sensitive), Ok(()));
    }

    #[test]
    fn read_only_refuses_writes() {
        let a = acting(Some(Mode::ReadOnly));
        assert_eq!(a.authorize(WriteKind::Ordinary), Err(WriteRefusal::ReadOnly));
        assert_eq!(a.authorize(WriteKind::Sensitive), Err(WriteRefusal::Sensitive));
    }

    #[test]
    fn full_mode_never_allows_sensitive() {
        let a = acting(Some(Mode::Full));
        assert_eq!(a.authorize(WriteKind::Ordinary), Ok(()));
        assert_eq!(a.authorize(WriteKind::Sensitive), Err(WriteRefusal::Sensitive));
        assert_eq!(a.staff_id(), Some(2));
        assert_eq!(a.impersonation_id(), Some(9));
    }

    #[test]
    fn control_notes_name_the_way_to_a_write() {
        assert_eq!(WriteRefusal::ReadOnly.control_note("Jane Smith"), "Read-only access: changes need full access");
        assert_eq!(WriteRefusal::Sensitive.control_note("Jane Smith"), "Only Jane can change this");
        assert_eq!(WriteRefusal::Sensitive.control_note("  "), "Only the client can change this");
    }
}
