//! Session kinds, and whose sessions or impersonations a call is about: plain values that the
//! store turns into columns only at the database boundary.

/// What a session row opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// A signed-in staff member: the admin side.
    Staff,
    /// A staff member who gave the right password and still owes the code. Every staff query
    /// reads the `Staff` kind, so such a session opens no admin page by construction.
    StaffPending,
    /// A portal session: the client's own, or one of Login as Client.
    Client,
    /// A Login as Client session started through the API: its token hash is that of the
    /// token's `jti`, so a cookie can never open it, nor an API token a cookie's session.
    Api,
}

impl SessionKind {
    /// Stored form (`sessions.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Staff => "staff",
            SessionKind::StaffPending => "staff_2fa",
            SessionKind::Client => "client",
            SessionKind::Api => "api",
        }
    }
}

/// A staff member or a client, by id: the one whose sessions or impersonations a call is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose {
    Staff(i64),
    Client(i64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_stored_as_the_queries_read_them() {
        assert_eq!(SessionKind::Staff.as_str(), "staff");
        assert_eq!(SessionKind::StaffPending.as_str(), "staff_2fa");
        assert_eq!(SessionKind::Client.as_str(), "client");
        assert_eq!(SessionKind::Api.as_str(), "api");
    }
}
