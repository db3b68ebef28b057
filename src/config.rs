//! Runtime configuration from flags and environment.

/// Default database when none is given.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://behalf.db";
/// Default listen address.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// Default sender of outgoing mail.
pub const DEFAULT_MAIL_FROM: &str = "Behalf <no-reply@localhost>";

/// Settings the server needs at start.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: String,
    pub database_url: String,
    pub secure_cookies: bool,
    pub demo: bool,
    /// How many generated clients `--demo` adds beside the named ones.
    pub demo_generated_clients: usize,
    /// `smtp://HOST:PORT` to deliver the outbox; without it, mail stays queued.
    pub smtp_url: Option<String>,
    /// Sender of outgoing mail.
    pub mail_from: String,
}

impl Config {
    /// A configuration for tests and tools: SQLite at `url`, port 0, no demo.
    pub fn for_url(url: &str) -> Self {
        Config {
            bind: "127.0.0.1:0".into(),
            database_url: url.into(),
            secure_cookies: false,
            demo: false,
            demo_generated_clients: 200,
            smtp_url: None,
            mail_from: DEFAULT_MAIL_FROM.into(),
        }
    }
}
