//! Activity groups: which part of the product an activity entry belongs to, as stored in its
//! `action_group` column and bound into its hash.

/// The group an activity entry is filed under; the admin activity page filters by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivityGroup {
    LoginAsClient,
    Tickets,
    Account,
    Security,
    Settings,
    Staff,
    Billing,
    Shop,
    Files,
    Tasks,
}

impl ActivityGroup {
    /// Every group, in the order the activity page lists them.
    pub const ALL: [ActivityGroup; 10] = [
        ActivityGroup::LoginAsClient,
        ActivityGroup::Tickets,
        ActivityGroup::Account,
        ActivityGroup::Security,
        ActivityGroup::Settings,
        ActivityGroup::Staff,
        ActivityGroup::Billing,
        ActivityGroup::Shop,
        ActivityGroup::Files,
        ActivityGroup::Tasks,
    ];

    /// The stored name. Entries already written hash these exact bytes, so a name never changes.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityGroup::LoginAsClient => "login_as_client",
            ActivityGroup::Tickets => "tickets",
            ActivityGroup::Account => "account",
            ActivityGroup::Security => "security",
            ActivityGroup::Settings => "settings",
            ActivityGroup::Staff => "staff",
            ActivityGroup::Billing => "billing",
            ActivityGroup::Shop => "shop",
            ActivityGroup::Files => "files",
            ActivityGroup::Tasks => "tasks",
        }
    }

    /// The group with this stored name.
    pub fn parse(s: &str) -> Option<ActivityGroup> {
        ActivityGroup::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_are_the_ones_the_log_was_written_with() {
        let names: Vec<&str> = ActivityGroup::ALL.iter().map(|g| g.as_str()).collect();
        assert_eq!(
            names,
            [
                "login_as_client",
                "tickets",
                "account",
                "security",
                "settings",
                "staff",
                "billing",
                "shop",
                "files",
                "tasks"
            ]
        );
        for g in ActivityGroup::ALL {
            assert_eq!(ActivityGroup::parse(g.as_str()), Some(g));
        }
        assert_eq!(ActivityGroup::parse("Tickets"), None);
        assert_eq!(ActivityGroup::parse(""), None);
    }
}
