//! Delivers the e-mail outbox through SMTP when one is configured: plain SMTP to a local relay,
//! or STARTTLS / implicit TLS (rustls) with AUTH. Failures stay queued and are retried with backoff.

use crate::config::{Config, Secret};
use crate::domain::mail::retry_delay;
use crate::store::Store;
use anyhow::{bail, Context};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://`: no TLS, for a relay on this machine or network that does the rest.
    Plain,
    /// `smtp+starttls://`: STARTTLS, required (no fallback to plain text).
    StartTls,
    /// `smtps://`: TLS from the first byte.
    ImplicitTls,
}

/// The SMTP server named by `--smtp-url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    pub security: Security,
    /// Host name or IP address (without brackets), also the name the certificate must carry.
    pub host: String,
    pub port: u16,
    /// Whether the host is this machine (`localhost`, 127.0.0.0/8, `::1`).
    pub loopback: bool,
}

/// The URL as it may be shown in messages: any `user:password@` part replaced by `***@`.
fn shown(raw: &str) -> String {
    let Some((scheme, rest)) = raw.split_once("://") else {
        return if raw.contains('@') { "(hidden: it contains '@')".into() } else { raw.to_string() };
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => raw.to_string(),
    }
}

/// Parses `smtp://HOST[:25]`, `smtp+starttls://HOST[:587]` or `smtps://HOST[:465]`.
pub fn parse_smtp_url(raw: &str) -> anyhow::Result<SmtpTarget> {
    const USE: &str = "use smtp://HOST:PORT (plain, local relay), smtp+starttls://HOST:PORT or smtps://HOST:PORT";
    let url = url::Url::parse(raw.trim())
        .map_err(|e| anyhow::anyhow!("the SMTP URL '{}' is not valid ({e}): {USE}", shown(raw)))?;
    let (security, default_port) = match url.scheme() {
        "smtp" => (Security::Plain, 25),
        "smtp+starttls" => (Security::StartTls, 587),
        "smtps" => (Security::ImplicitTls, 465),
        other => bail!("the SMTP URL scheme '{other}' is not supported: {USE}"),
    };
    if !url.username().is_empty() || url.password().is_some() {
        bail!(
            "the SMTP URL '{}' carries credentials: give them with --smtp-username and --smtp-password-file \
             (or BEHALF_SMTP_USERNAME and BEHALF_SMTP_PASSWORD) instead",
            shown(raw)
        );
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        bail!("the SMTP URL '{}' has a path or query; {USE}", shown(raw));
    }
    let (host, loopback) = match url.host() {
        // These schemes are not "special" to the URL standard, so an IPv4 address arrives as a name.
        Some(url::Host::Domain(d)) if !d.is_empty() => match d.parse::<std::net::IpAddr>() {
            Ok(ip) => (ip.to_string(), ip.is_loopback()),
            Err(_) => (d.to_string(), d.eq_ignore_ascii_case("localhost")),
        },
        Some(url::Host::Ipv4(ip)) => (ip.to_string(), ip.is_loopback()),
        Some(url::Host::Ipv6(ip)) => (ip.to_string(), ip.is_loopback()),
        _ => bail!("the SMTP URL '{}' has no host; {USE}", shown(raw)),
    };
    Ok(SmtpTarget { security, host, port: url.port().unwrap_or(default_port), loopback })
}

/// The first line of a password file (as Docker and systemd secrets are written).
fn read_password_file(path: &std::path::Path) -> anyhow::Result<Secret> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the SMTP password file {}", path.display()))?;
    match text.lines().next() {
        Some(line) if !line.is_empty() => Ok(Secret::new(line)),
        _ => bail!("the SMTP password file {} is empty", path.display()),
    }
}

/// A checked mail configuration: the transport is built and the CA file read, so a mistake
/// stops the server at start rather than at the first message.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// Kept to scrub it from error texts before they are logged or stored.
    password: Option<Secret>,
    target: SmtpTarget,
}

impl Mailer {
    /// The mailer `config` asks for, `None` without `--smtp-url`, or a clear error.
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Mailer>> {
        let Some(raw) = &config.smtp_url else {
            if config.smtp_username.is_some()
                || config.smtp_password.is_some()
                || config.smtp_password_file.is_some()
                || config.smtp_ca_file.is_some()
            {
                bail!("SMTP credentials or a CA file were given without --smtp-url (BEHALF_SMTP_URL)");
            }
            return Ok(None);
        };
        let target = parse_smtp_url(raw)?;
        let password = match (&config.smtp_password, &config.smtp_password_file) {
            (Some(_), Some(_)) => bail!("give the SMTP password either directly or in a file, not both"),
            (_, Some(path)) => Some(read_password_file(path)?),
            (password, None) => password.clone(),
        };
        let credentials = match (&config.smtp_username, &password) {
            (None, None) => None,
            (Some(user), Some(password)) if !user.is_empty() => Some((user.clone(), password.clone())),
            _ => bail!("SMTP AUTH needs both --smtp-username and a password (--smtp-password or --smtp-password-file)"),
        };
        if target.security == Security::Plain && credentials.is_some() && !target.loopback {
            bail!(
                "refusing to send the SMTP password in clear text to {}:{}: use smtp+starttls:// or smtps:// \
                 (plain smtp:// with credentials is allowed only to this machine)",
                target.host,
                target.port
            );
        }
        let tls = match target.security {
            Security::Plain => {
                if config.smtp_ca_file.is_some() {
                    bail!("--smtp-ca-file applies only to smtp+starttls:// and smtps://");
                }
                None
            }
            Security::StartTls | Security::ImplicitTls => {
                let mut params = TlsParameters::builder(target.host.clone());
                if let Some(path) = &config.smtp_ca_file {
                    let pem = std::fs::read(path)
                        .with_context(|| format!("cannot read the SMTP CA file {}", path.display()))?;
                    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                        bail!("the SMTP CA file {} holds no PEM certificate", path.display());
                    }
                    let cert = Certificate::from_pem(&pem)
                        .with_context(|| format!("the SMTP CA file {} is not valid PEM", path.display()))?;
                    params = params.add_root_certificate(cert);
                }
                Some(params.build_rustls().context("cannot set up TLS for SMTP")?)
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(target.host.as_str())
            .port(target.port)
            .timeout(Some(Duration::from_secs(10)));
        builder = match (target.security, tls) {
            (Security::StartTls, Some(p)) => builder.tls(Tls::Required(p)),
            (Security::ImplicitTls, Some(p)) => builder.tls(Tls::Wrapper(p)),
            _ => builder,
        };
        let password = credentials.as_ref().map(|(_, p)| p.clone());
        if let Some((user, password)) = credentials {
            builder = builder.credentials(Credentials::new(user, password.expose().to_string()));
        }
        let from: Mailbox = config
            .mail_from
            .parse()
            .with_context(|| format!("the sender '{}' is not a valid address", config.mail_from))?;
        Ok(Some(Mailer { transport: builder.build(), from, password, target }))
    }

    /// Starts the delivery loop: every two seconds, sends what is due and records the outcome.
    pub fn spawn(self, store: Store) {
        tracing::info!(
            host = %self.target.host,
            port = self.target.port,
            security = ?self.target.security,
            auth = self.password.is_some(),
            "delivering mail through SMTP"
        );
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            loop {
                tick.tick().await;
                if let Err(e) = self.deliver(&store).await {
                    tracing::warn!(error = %self.scrub(&format!("{e:#}")), "mail delivery round failed");
                }
            }
        });
    }

    /// An error text with the password taken out, should a server or library ever echo it.
    fn scrub(&self, text: &str) -> String {
        match &self.password {
            Some(p) if !p.expose().is_empty() => text.replace(p.expose(), "***"),
            _ => text.to_string(),
        }
    }

    async fn deliver(&self, store: &Store) -> anyhow::Result<()> {
        // A minute is far longer than sending 20 messages takes; a node that dies holding a claim
        // only delays those messages by that much.
        for mail in store.claim_mail(20, 60).await? {
            let built = mail.to_email.parse::<Mailbox>().map_err(anyhow::Error::from).and_then(|to| {
                Ok(Message::builder().from(self.from.clone()).to(to).subject(&mail.subject).body(mail.body.clone())?)
            });
            let outcome = match built {
                Ok(message) => self.transport.send(message).await.map(|_| ()).map_err(anyhow::Error::from),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => {
                    store.mail_sent(mail.id).await?;
                    metrics::counter!("behalf_mail_sent_total").increment(1);
                }
                Err(e) => {
                    let attempts = mail.attempts + 1;
                    let delay = retry_delay(attempts, rand::random::<f64>());
                    let error = self.scrub(&format!("{e:#}"));
                    tracing::warn!(mail = mail.id, attempts, retry_in_seconds = delay, error = %error, "sending mail failed");
                    store.mail_failed(mail.id, &error, crate::domain::now() + delay).await?;
                    metrics::counter!("behalf_mail_failures_total").increment(1);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str, user: Option<&str>, password: Option<&str>) -> Config {
        let mut c = Config::for_url("sqlite://x.db");
        c.smtp_url = Some(url.into());
        c.smtp_username = user.map(str::to_string);
        c.smtp_password = password.map(Secret::new);
        c
    }

    fn refusal(c: &Config) -> String {
        match Mailer::from_config(c) {
            Ok(_) => panic!("accepted {:?}", c.smtp_url),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn schemes_and_default_ports() {
        let t = parse_smtp_url("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((t.security, t.host.as_str(), t.port, t.loopback), (Security::Plain, "127.0.0.1", 2525, true));
        let t = parse_smtp_url("smtp+starttls://smtp.example.com").unwrap();
        assert_eq!((t.security, t.port, t.loopback), (Security::StartTls, 587, false));
        let t = parse_smtp_url("smtps://smtp.example.com").unwrap();
        assert_eq!((t.security, t.port), (Security::ImplicitTls, 465));
        assert_eq!(parse_smtp_url("smtp://relay").unwrap().port, 25);
        let t = parse_smtp_url("smtp://[::1]:25").unwrap();
        assert_eq!((t.host.as_str(), t.loopback), ("::1", true));
        assert!(parse_smtp_url("smtp://localhost").unwrap().loopback);
        assert!(format!("{:#}", parse_smtp_url("http://x").unwrap_err()).contains("not supported"));
        assert!(parse_smtp_url("smtp://").is_err());
        assert!(parse_smtp_url("smtps://host/path").is_err());
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_echoing_them() {
        let e = format!("{:#}", parse_smtp_url("smtps://user:hunter2@smtp.example.com").unwrap_err());
        assert!(e.contains("--smtp-username") && !e.contains("hunter2") && e.contains("***@smtp.example.com"), "{e}");
        let e = format!("{:#}", parse_smtp_url("bogus:hunter2@x").unwrap_err());
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[tokio::test]
    async fn a_password_in_clear_text_off_this_machine_is_refused() {
        let e = refusal(&config("smtp://mail.example.com:25", Some("u"), Some("hunter2")));
        assert!(e.contains("clear text") && !e.contains("hunter2"), "{e}");
        let e = refusal(&config("smtp://10.0.0.5", Some("u"), Some("hunter2")));
        assert!(e.contains("clear text"), "{e}");
        // To a relay on this machine, or without credentials, plain SMTP is fine.
        assert!(Mailer::from_config(&config("smtp://127.0.0.1:25", Some("u"), Some("p"))).unwrap().is_some());
        assert!(Mailer::from_config(&config("smtp://mail.example.com:25", None, None)).unwrap().is_some());
        assert!(Mailer::from_config(&config("smtp+starttls://mail.example.com", Some("u"), Some("p")))
            .unwrap()
            .is_some());
    }

    #[tokio::test]
    async fn half_credentials_and_bad_ca_files_are_refused() {
        assert!(refusal(&config("smtps://mail.example.com", Some("u"), None)).contains("needs both"));
        assert!(refusal(&config("smtps://mail.example.com", None, Some("p"))).contains("needs both"));
        let mut c = config("smtps://mail.example.com", None, None);
        c.smtp_ca_file = Some("/nonexistent/ca.pem".into());
        assert!(refusal(&c).contains("cannot read the SMTP CA file /nonexistent/ca.pem"));
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        c.smtp_ca_file = Some(junk);
        assert!(refusal(&c).contains("holds no PEM certificate"));
        let mut c = config("smtp://127.0.0.1", None, None);
        c.smtp_ca_file = Some("/etc/hostname".into());
        assert!(refusal(&c).contains("applies only to"));
        let mut c = Config::for_url("sqlite://x.db");
        c.smtp_username = Some("u".into());
        assert!(refusal(&c).contains("without --smtp-url"));
        let mut c = config("smtps://mail.example.com", Some("u"), None);
        c.smtp_password_file = Some(dir.path().join("missing"));
        assert!(refusal(&c).contains("cannot read the SMTP password file"));
        let file = dir.path().join("password");
        std::fs::write(&file, "").unwrap();
        c.smtp_password_file = Some(file.clone());
        assert!(refusal(&c).contains("is empty"));
        std::fs::write(&file, "s3cret\n").unwrap();
        assert!(Mailer::from_config(&c).unwrap().unwrap().password.unwrap().expose() == "s3cret");
    }

    #[test]
    fn shown_hides_userinfo() {
        assert_eq!(shown("smtps://u:p@h:465"), "smtps://***@h:465");
        assert_eq!(shown("smtp://h:25"), "smtp://h:25");
        assert_eq!(shown("smtp://h/a@b"), "smtp://h/a@b");
    }
}
