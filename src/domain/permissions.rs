//! Permissions, the set one staff member holds, and the built-in roles' default grants (SPEC §1).

/// One thing a role may allow. The dotted name from [`Permission::as_str`] is what the database
/// stores, what the roles form submits and what the 403 message names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    ClientsView,
    ClientsManage,
    ClientsImpersonate,
    ClientsImpersonateWrite,
    ClientsConsentManage,
    ImpersonationLogView,
    ImpersonationSessionsEnd,
    TicketsManage,
    OrdersManage,
    BillingManage,
    SettingsManage,
    StaffManage,
}

impl Permission {
    /// Every permission, in the order of the roles matrix.
    pub const ALL: [Permission; 12] = [
        Permission::ClientsView,
        Permission::ClientsManage,
        Permission::ClientsImpersonate,
        Permission::ClientsImpersonateWrite,
        Permission::ClientsConsentManage,
        Permission::ImpersonationLogView,
        Permission::ImpersonationSessionsEnd,
        Permission::TicketsManage,
        Permission::OrdersManage,
        Permission::BillingManage,
        Permission::SettingsManage,
        Permission::StaffManage,
    ];

    /// What a staff member without it reads when a page or an API route refuses them.
    pub fn missing(self) -> String {
        format!("You do not have the {} permission needed here.", self.as_str())
    }

    /// The stored and submitted name, such as `clients.impersonate.write`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ClientsView => "clients.view",
            Permission::ClientsManage => "clients.manage",
            Permission::ClientsImpersonate => "clients.impersonate",
            Permission::ClientsImpersonateWrite => "clients.impersonate.write",
            Permission::ClientsConsentManage => "clients.consent.manage",
            Permission::ImpersonationLogView => "impersonation.log.view",
            Permission::ImpersonationSessionsEnd => "impersonation.sessions.end",
            Permission::TicketsManage => "tickets.manage",
            Permission::OrdersManage => "orders.manage",
            Permission::BillingManage => "billing.manage",
            Permission::SettingsManage => "settings.manage",
            Permission::StaffManage => "staff.manage",
        }
    }

    /// Parses a stored or submitted name; `None` for a name this build does not know.
    pub fn parse(s: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

// The set is one bit per permission.
const _: () = assert!(Permission::ALL.len() <= u32::BITS as usize);

/// The role that always holds every permission.
pub const SUPER_ADMIN: &str = "super_admin";

/// The built-in roles with their default grants.
pub fn builtin_roles() -> Vec<(&'static str, Grants)> {
    use Permission::*;
    vec![
        (SUPER_ADMIN, Grants::all()),
        ("admin", Permission::ALL.into_iter().filter(|p| *p != StaffManage).collect()),
        (
            "manager",
            Grants::from_iter([
                ClientsView,
                ClientsManage,
                ClientsImpersonate,
                ImpersonationLogView,
                TicketsManage,
                OrdersManage,
            ]),
        ),
        ("support", Grants::from_iter([ClientsView, TicketsManage])),
        ("billing", Grants::from_iter([ClientsView, BillingManage])),
    ]
}

/// The set of permissions one staff member holds through their role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grants(u32);

impl Grants {
    /// Every permission.
    pub fn all() -> Self {
        Permission::ALL.into_iter().collect()
    }

    /// Builds the set from stored names. Names this build does not know are ignored, so a row
    /// written by a newer build grants nothing here rather than failing the request.
    pub fn from_stored<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        names.into_iter().filter_map(Permission::parse).collect()
    }

    /// Adds one permission.
    pub fn insert(&mut self, perm: Permission) {
        self.0 |= perm.bit();
    }

    /// Whether the permission is held.
    pub fn has(self, perm: Permission) -> bool {
        self.0 & perm.bit() != 0
    }

    /// The permissions held, in [`Permission::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.into_iter().filter(move |p| self.has(*p))
    }
}

impl FromIterator<Permission> for Grants {
    fn from_iter<I: IntoIterator<Item = Permission>>(perms: I) -> Self {
        Grants(perms.into_iter().fold(0, |acc, p| acc | p.bit()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(role: &str) -> Grants {
        builtin_roles().into_iter().find(|(r, _)| *r == role).unwrap().1
    }

    #[test]
    fn builtin_grants_follow_the_spec() {
        use Permission::*;
        assert!(grants("super_admin").has(StaffManage));
        assert!(grants("admin").has(ClientsImpersonateWrite));
        assert!(!grants("admin").has(StaffManage));
        assert!(grants("manager").has(ClientsImpersonate));
        assert!(!grants("manager").has(ClientsImpersonateWrite));
        assert!(!grants("support").has(ClientsImpersonate));
        assert!(grants("support").has(TicketsManage));
        assert!(!grants("billing").has(ClientsImpersonate));
        assert!(grants("billing").has(BillingManage));
    }

    #[test]
    fn builtin_roles_keep_their_stored_names() {
        let names = |role: &str| grants(role).iter().map(Permission::as_str).collect::<Vec<_>>();
        assert_eq!(names("super_admin").len(), 12);
        assert_eq!(names("admin").len(), 11);
        assert_eq!(
            names("manager"),
            [
                "clients.view",
                "clients.manage",
                "clients.impersonate",
                "impersonation.log.view",
                "tickets.manage",
                "orders.manage"
            ]
        );
        assert_eq!(names("support"), ["clients.view", "tickets.manage"]);
        assert_eq!(names("billing"), ["clients.view", "billing.manage"]);
    }

    #[test]
    fn every_name_round_trips() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p), "{p:?}");
        }
        let mut names: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Permission::ALL.len(), "names are distinct");
        assert_eq!(Permission::ClientsImpersonateWrite.as_str(), "clients.impersonate.write");
    }

    #[test]
    fn unknown_names_are_ignored() {
        assert_eq!(Permission::parse("clients.teleport"), None);
        assert_eq!(Permission::parse("Clients.View"), None);
        assert_eq!(Permission::parse(""), None);
        let g = Grants::from_stored(["clients.teleport", "tickets.manage", ""]);
        assert_eq!(g.iter().collect::<Vec<_>>(), [Permission::TicketsManage]);
        assert_eq!(Grants::from_stored([]), Grants::default());
    }

    #[test]
    fn sets_hold_exactly_what_was_put_in() {
        for p in Permission::ALL {
            let one = Grants::from_iter([p]);
            assert!(Permission::ALL.into_iter().all(|q| one.has(q) == (q == p)));
            assert!(Grants::all().has(p));
            assert!(!Grants::default().has(p));
        }
        assert_eq!(Grants::all().iter().collect::<Vec<_>>(), Permission::ALL);
        let mut g = Grants::default();
        g.insert(Permission::StaffManage);
        g.insert(Permission::StaffManage);
        assert_eq!(g, Grants::from_iter([Permission::StaffManage]));
    }
}
