//! Runtime configuration from flags and environment.

use ipnet::IpNet;
use std::net::IpAddr;
use std::path::PathBuf;

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
    /// `smtp://HOST:PORT` (plain, to a local relay), `smtp+starttls://HOST:PORT` or
    /// `smtps://HOST:PORT` to deliver the outbox; without it, mail stays queued.
    pub smtp_url: Option<String>,
    /// User name for SMTP AUTH.
    pub smtp_username: Option<String>,
    /// Password for SMTP AUTH; prints as `***`.
    pub smtp_password: Option<Secret>,
    /// File whose first line is the SMTP password (instead of `smtp_password`).
    pub smtp_password_file: Option<std::path::PathBuf>,
    /// PEM file of extra trusted roots for the SMTP server's certificate.
    pub smtp_ca_file: Option<std::path::PathBuf>,
    /// Sender of outgoing mail.
    pub mail_from: String,
    /// Where shared files are kept; `None` means `behalf-files` beside the SQLite database
    /// (or in the working directory for PostgreSQL).
    pub files_dir: Option<std::path::PathBuf>,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-*` headers are believed.
    pub trusted_proxies: TrustedProxies,
    /// Where `/metrics` is served apart from the public port (`None`: only on the main port, to
    /// loopback callers that came through no proxy).
    pub metrics_bind: Option<String>,
    /// Limits that keep slow or hanging peers from exhausting the server.
    pub limits: Limits,
    /// Signing of audit checkpoints; `None` without `--audit-key`.
    pub audit: Option<SignerConfig>,
    /// The key file Login as Client tokens are signed with; `None` means `behalf-token.key`
    /// beside the SQLite database (or in the working directory for PostgreSQL), made if missing.
    pub token_key: Option<PathBuf>,
    /// The address clients reach this server at (`https://portal.example.com`): the `iss` of
    /// tokens and the base of the API's metadata. `None` means `http://` and the bound address.
    /// Every node behind one name needs the same value and the same token key.
    pub public_url: Option<String>,
    /// How webhooks are delivered.
    pub webhooks: WebhookConfig,
}

/// Webhook delivery: how long a receiver may take, and the first retry's delay.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// A receiver that has not answered in this time fails the attempt.
    pub timeout: std::time::Duration,
    /// Seconds before the first retry; each further one waits twice as long, at most an hour.
    pub retry_base_seconds: i64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig { timeout: std::time::Duration::from_secs(10), retry_base_seconds: 5 }
    }
}

/// Timeouts and caps on connections and the database.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Open connections at most; more are answered 503 and closed at once.
    pub max_connections: usize,
    /// Time a client has to send a request's headers.
    pub header_timeout: std::time::Duration,
    /// Time a request body may go without sending anything.
    pub body_timeout: std::time::Duration,
    /// Time a whole request may take until its answer starts (a body trickled in byte by byte
    /// included); then 408.
    pub request_timeout: std::time::Duration,
    /// PostgreSQL `statement_timeout`: a query running longer is cancelled and the request answers 503.
    pub statement_timeout: std::time::Duration,
    /// Time to open a database connection, and to wait for one from the pool.
    pub connect_timeout: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 4096,
            header_timeout: std::time::Duration::from_secs(10),
            body_timeout: std::time::Duration::from_secs(15),
            request_timeout: std::time::Duration::from_secs(120),
            statement_timeout: std::time::Duration::from_secs(5),
            connect_timeout: std::time::Duration::from_secs(3),
        }
    }
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
            smtp_username: None,
            smtp_password: None,
            smtp_password_file: None,
            smtp_ca_file: None,
            mail_from: DEFAULT_MAIL_FROM.into(),
            files_dir: None,
            trusted_proxies: Default::default(),
            metrics_bind: None,
            limits: Limits::default(),
            audit: None,
            token_key: None,
            public_url: None,
            webhooks: WebhookConfig::default(),
        }
    }

    /// The files directory: the configured one, or `behalf-files` beside the database.
    pub fn files_dir(&self) -> std::path::PathBuf {
        self.files_dir.clone().unwrap_or_else(|| self.beside_database("behalf-files"))
    }

    /// The token signing key file: the configured one, or `behalf-token.key` beside the database.
    pub fn token_key(&self) -> std::path::PathBuf {
        self.token_key.clone().unwrap_or_else(|| self.beside_database("behalf-token.key"))
    }

    /// `name` in the SQLite database's folder, or in the working directory.
    fn beside_database(&self, name: &str) -> std::path::PathBuf {
        let sqlite = self.database_url.strip_prefix("sqlite://").or_else(|| self.database_url.strip_prefix("sqlite:"));
        let beside = sqlite
            .map(|p| p.split('?').next().unwrap_or(""))
            .and_then(|p| std::path::Path::new(p).parent())
            .filter(|p| !p.as_os_str().is_empty());
        beside.map(|p| p.join(name)).unwrap_or_else(|| std::path::PathBuf::from(name))
    }
}

/// A secret (a password): `Debug` and `Display` print `***`, so it never reaches a log, an
/// error message or a `{:?}` of the configuration; only [`Secret::expose`] reads it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    /// Never fails, so clap has no error message that could quote the value.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

/// Which forwarding headers the proxies write. Only that family is read: a proxy passes the other
/// one through from the client untouched, so reading both would let a client choose its address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProxyHeader {
    /// `X-Forwarded-For` and `X-Forwarded-Proto`, as nginx and Caddy write them.
    #[default]
    XForwardedFor,
    /// `Forwarded` (RFC 7239), with `for=` and `proto=`.
    Forwarded,
}

impl ProxyHeader {
    /// `x-forwarded-for` or `forwarded`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(ProxyHeader::XForwardedFor),
            "forwarded" => Ok(ProxyHeader::Forwarded),
            other => Err(format!("'{other}' is not a proxy header: use x-forwarded-for or forwarded")),
        }
    }
}

/// The networks whose forwarding headers are believed, and which headers those are. Empty by
/// default: nothing is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    header: ProxyHeader,
}

impl TrustedProxies {
    /// Parses `CIDR,CIDR,…`; a bare address means that one host. Empty text means none.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let net = match part.parse::<IpNet>() {
                Ok(n) => n,
                Err(_) => match part.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => return Err(format!("'{part}' is not an address or CIDR range (e.g. 10.0.0.0/8)")),
                },
            };
            nets.push(net);
        }
        Ok(TrustedProxies { nets, header: ProxyHeader::default() })
    }

    /// The same proxies, writing `header`.
    pub fn with_header(self, header: ProxyHeader) -> Self {
        TrustedProxies { header, ..self }
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// Which header family the proxies write.
    pub fn header(&self) -> ProxyHeader {
        self.header
    }

    /// Whether any proxy is trusted at all.
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }
}

/// How `serve` signs checkpoints.
#[derive(Debug, Clone)]
pub struct SignerConfig {
    pub key_file: PathBuf,
    pub checkpoints_file: Option<PathBuf>,
    pub origin: String,
    /// Sign once this many entries were added since the last checkpoint…
    pub every_entries: i64,
    /// …or once this many seconds passed since it, whichever comes first.
    pub every_seconds: i64,
}

#[cfg(test)]
mod tests {
    use super::{Config, Secret};

    #[test]
    fn secrets_never_print() {
        let mut c = Config::for_url("sqlite://x.db");
        c.smtp_password = Some(Secret::new("hunter2-very-secret"));
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(Secret::new("x").to_string(), "***");
        assert_eq!(Secret::new("hunter2").expose(), "hunter2");
    }
    use std::path::PathBuf;

    #[test]
    fn files_dir_defaults_beside_the_database() {
        assert_eq!(
            Config::for_url("sqlite:///var/lib/behalf/b.db").files_dir(),
            PathBuf::from("/var/lib/behalf/behalf-files")
        );
        assert_eq!(Config::for_url("sqlite://behalf.db").files_dir(), PathBuf::from("behalf-files"));
        assert_eq!(Config::for_url("postgres://u@h/db").files_dir(), PathBuf::from("behalf-files"));
        let mut c = Config::for_url("sqlite://x.db");
        c.files_dir = Some("/srv/files".into());
        assert_eq!(c.files_dir(), PathBuf::from("/srv/files"));
        assert_eq!(Config::for_url("sqlite:///var/lib/b.db").token_key(), PathBuf::from("/var/lib/behalf-token.key"));
    }
}
