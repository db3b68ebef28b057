//! The two modes of Login as Client: look only, or act as the client.

/// What staff may do while logged in as a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Look only: every portal write is refused.
    ReadOnly,
    /// Act as the client (reply, order, pay); needs `clients.impersonate.write`.
    Full,
}

impl Mode {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadOnly => "read_only",
            Mode::Full => "full",
        }
    }

    /// Parses the stored or submitted form.
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "read_only" => Some(Mode::ReadOnly),
            "full" => Some(Mode::Full),
            _ => None,
        }
    }

    /// Words for pages.
    pub fn label(self) -> &'static str {
        match self {
            Mode::ReadOnly => "read-only",
            Mode::Full => "full access",
        }
    }
}
