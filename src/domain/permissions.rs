//! Permission strings and the built-in roles' default grants (SPEC §1).

/// Every permission the product knows, as stable strings.
pub const ALL: &[&str] = &[
    CLIENTS_VIEW,
    CLIENTS_MANAGE,
    CLIENTS_IMPERSONATE,
    CLIENTS_IMPERSONATE_WRITE,
    CLIENTS_CONSENT_MANAGE,
    IMPERSONATION_LOG_VIEW,
    IMPERSONATION_SESSIONS_END,
    TICKETS_MANAGE,
    ORDERS_MANAGE,
    BILLING_MANAGE,
    SETTINGS_MANAGE,
    STAFF_MANAGE,
];

pub const CLIENTS_VIEW: &str = "clients.view";
pub const CLIENTS_MANAGE: &str = "clients.manage";
pub const CLIENTS_IMPERSONATE: &str = "clients.impersonate";
pub const CLIENTS_IMPERSONATE_WRITE: &str = "clients.impersonate.write";
pub const CLIENTS_CONSENT_MANAGE: &str = "clients.consent.manage";
pub const IMPERSONATION_LOG_VIEW: &str = "impersonation.log.view";
pub const IMPERSONATION_SESSIONS_END: &str = "impersonation.sessions.end";
pub const TICKETS_MANAGE: &str = "tickets.manage";
pub const ORDERS_MANAGE: &str = "orders.manage";
pub const BILLING_MANAGE: &str = "billing.manage";
pub const SETTINGS_MANAGE: &str = "settings.manage";
pub const STAFF_MANAGE: &str = "staff.manage";

/// The role that always holds every permission.
pub const SUPER_ADMIN: &str = "super_admin";

/// The built-in roles with their default grants.
pub fn builtin_roles() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        (SUPER_ADMIN, ALL.to_vec()),
        ("admin", ALL.iter().copied().filter(|p| *p != STAFF_MANAGE).collect()),
        (
            "manager",
            vec![
                CLIENTS_VIEW,
                CLIENTS_MANAGE,
                CLIENTS_IMPERSONATE,
                IMPERSONATION_LOG_VIEW,
                TICKETS_MANAGE,
                ORDERS_MANAGE,
            ],
        ),
        ("support", vec![CLIENTS_VIEW, TICKETS_MANAGE]),
        ("billing", vec![CLIENTS_VIEW, BILLING_MANAGE]),
    ]
}

/// The set of permissions one staff member holds through their role.
#[derive(Debug, Clone, Default)]
pub struct Grants(Vec<String>);

impl Grants {
    /// Builds the set from the role's permission strings.
    pub fn new(perms: Vec<String>) -> Self {
        Grants(perms)
    }

    /// Whether the permission is held.
    pub fn has(&self, perm: &str) -> bool {
        self.0.iter().any(|p| p == perm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(role: &str) -> Grants {
        let (_, perms) = builtin_roles().into_iter().find(|(r, _)| *r == role).unwrap();
        Grants::new(perms.into_iter().map(String::from).collect())
    }

    #[test]
    fn builtin_grants_follow_the_spec() {
        assert!(grants("super_admin").has(STAFF_MANAGE));
        assert!(grants("admin").has(CLIENTS_IMPERSONATE_WRITE));
        assert!(!grants("admin").has(STAFF_MANAGE));
        assert!(grants("manager").has(CLIENTS_IMPERSONATE));
        assert!(!grants("manager").has(CLIENTS_IMPERSONATE_WRITE));
        assert!(!grants("support").has(CLIENTS_IMPERSONATE));
        assert!(grants("support").has(TICKETS_MANAGE));
        assert!(!grants("billing").has(CLIENTS_IMPERSONATE));
        assert!(grants("billing").has(BILLING_MANAGE));
    }
}
