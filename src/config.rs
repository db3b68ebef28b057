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
    /// Where shared files are kept; `None` means `behalf-files` beside the SQLite database
    /// (or in the working directory for PostgreSQL).
    pub files_dir: Option<std::path::PathBuf>,
    /// Signing of audit checkpoints; `None` without `--audit-key`.
    pub audit: Option<crate::audit::SignerConfig>,
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
            files_dir: None,
            audit: None,
        }
    }

    /// The files directory: the configured one, or `behalf-files` beside the database.
    pub fn files_dir(&self) -> std::path::PathBuf {
        if let Some(dir) = &self.files_dir {
            return dir.clone();
        }
        let sqlite = self.database_url.strip_prefix("sqlite://").or_else(|| self.database_url.strip_prefix("sqlite:"));
        let beside = sqlite
            .map(|p| p.split('?').next().unwrap_or(""))
            .and_then(|p| std::path::Path::new(p).parent())
            .filter(|p| !p.as_os_str().is_empty());
        beside.map(|p| p.join("behalf-files")).unwrap_or_else(|| std::path::PathBuf::from("behalf-files"))
    }
}

#[cfg(test)]
mod tests {
    use super::Config;
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
    }
}
