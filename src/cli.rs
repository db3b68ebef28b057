//! The `behalf` command line: `serve` (the default) and the admin subcommands beside it.

use crate::app::{prepare, Server};
use crate::config::{Config, DEFAULT_BIND, DEFAULT_DATABASE_URL};
use crate::domain::acting::StaffActing;
use crate::store::{Store, StoreError};
use crate::web::export::{activity_csv, activity_json, ACTIVITY_CSV_HEADER};
use anyhow::{anyhow, bail, Context};
use clap::{Args, Parser, Subcommand};
use std::io::{IsTerminal, Read, Write};

/// Behalf: a client portal with governed, recorded Login as Client.
#[derive(Debug, Parser)]
#[command(name = "behalf", version, about)]
pub struct Cli {
    /// sqlite://PATH (created if missing) or postgres://USER@HOST:PORT/DB
    #[arg(long, global = true, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options of `serve`.
#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, env = "BEHALF_BIND", default_value = DEFAULT_BIND)]
    pub bind: String,
    /// Load the demo data into an empty database
    #[arg(long)]
    pub demo: bool,
    /// Mark cookies Secure (use behind HTTPS)
    #[arg(long, env = "BEHALF_SECURE_COOKIES", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub secure_cookies: bool,
    /// Deliver queued e-mail through this SMTP server: smtp://HOST:PORT (plain, local relay),
    /// smtp+starttls://HOST[:587] or smtps://HOST[:465]; without it mail stays queued
    #[arg(long, env = "BEHALF_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// User name for SMTP AUTH
    #[arg(long, env = "BEHALF_SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    /// Password for SMTP AUTH (prefer --smtp-password-file)
    #[arg(long, env = "BEHALF_SMTP_PASSWORD", hide_env_values = true, conflicts_with = "smtp_password_file")]
    pub smtp_password: Option<crate::config::Secret>,
    /// File holding the password for SMTP AUTH (its first line)
    #[arg(long, env = "BEHALF_SMTP_PASSWORD_FILE")]
    pub smtp_password_file: Option<std::path::PathBuf>,
    /// PEM file of extra trusted root certificates for the SMTP server (e.g. a private CA)
    #[arg(long, env = "BEHALF_SMTP_CA_FILE")]
    pub smtp_ca_file: Option<std::path::PathBuf>,
    /// Sender address of outgoing e-mail
    #[arg(long, env = "BEHALF_MAIL_FROM", default_value = crate::config::DEFAULT_MAIL_FROM)]
    pub mail_from: String,
    /// Directory for shared files (default: behalf-files beside the SQLite database)
    #[arg(long, env = "BEHALF_FILES_DIR")]
    pub files_dir: Option<std::path::PathBuf>,
    /// Reverse proxies (CIDR,...) whose Forwarded / X-Forwarded-For / X-Forwarded-Proto are believed
    #[arg(long, env = "BEHALF_TRUSTED_PROXIES", default_value = "", value_parser = parse_trusted_proxies)]
    pub trusted_proxies: crate::config::TrustedProxies,
    /// Which headers the trusted proxies write: x-forwarded-for (with X-Forwarded-Proto) or forwarded (RFC 7239)
    #[arg(long, env = "BEHALF_PROXY_HEADER", default_value = "x-forwarded-for", value_parser = crate::config::ProxyHeader::parse)]
    pub proxy_header: crate::config::ProxyHeader,
    /// Serve /metrics on this separate address (e.g. 127.0.0.1:9090) instead of the main port
    #[arg(long, env = "BEHALF_METRICS_BIND")]
    pub metrics_bind: Option<String>,
    /// Open connections at most; beyond it new ones get a 503 and are closed
    #[arg(long, env = "BEHALF_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,
    /// Time a client has to send a request's headers (e.g. 10s)
    #[arg(long, env = "BEHALF_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_timeout)]
    pub header_timeout: std::time::Duration,
    /// Time a request body may go without sending anything (e.g. 15s)
    #[arg(long, env = "BEHALF_BODY_TIMEOUT", default_value = "15s", value_parser = parse_timeout)]
    pub body_timeout: std::time::Duration,
    /// Time a whole request may take until its answer starts, body included (e.g. 120s); then 408
    #[arg(long, env = "BEHALF_REQUEST_TIMEOUT", default_value = "120s", value_parser = parse_timeout)]
    pub request_timeout: std::time::Duration,
    /// PostgreSQL statement_timeout: longer statements are cancelled and answer 503 (e.g. 5s)
    #[arg(long, env = "BEHALF_DB_STATEMENT_TIMEOUT", default_value = "5s", value_parser = parse_timeout)]
    pub db_statement_timeout: std::time::Duration,
    /// Time to open a database connection or wait for a free one (e.g. 3s)
    #[arg(long, env = "BEHALF_DB_CONNECT_TIMEOUT", default_value = "3s", value_parser = parse_timeout)]
    pub db_connect_timeout: std::time::Duration,
    #[command(flatten)]
    pub audit: crate::audit::SignerArgs,
    /// Sign Login as Client tokens with this key file (default: behalf-token.key beside the SQLite
    /// database, made if missing); every node behind one name needs the same file
    #[arg(long, env = "BEHALF_TOKEN_KEY")]
    pub token_key: Option<std::path::PathBuf>,
    /// The address clients reach this server at, e.g. https://portal.example.com: the issuer of
    /// tokens and the base of the API's metadata (default: http:// and the bound address)
    #[arg(long, env = "BEHALF_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
    /// A webhook receiver that has not answered in this time fails the attempt (e.g. 10s)
    #[arg(long, env = "BEHALF_WEBHOOK_TIMEOUT", default_value = "10s", value_parser = parse_timeout)]
    pub webhook_timeout: std::time::Duration,
    /// Seconds before a failed webhook delivery is tried again; doubled each time, at most an hour
    #[arg(long, env = "BEHALF_WEBHOOK_RETRY_BASE", default_value_t = 5, value_parser = clap::value_parser!(i64).range(1..=3600))]
    pub webhook_retry_base: i64,
}

/// An http(s) URL with a host and nothing after the path.
fn parse_public_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text.trim())
        .map_err(|_| format!("'{text}' is not a URL such as https://portal.example.com"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || url.query().is_some() {
        return Err(format!("'{text}' must be an http:// or https:// address with a host and no query"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

fn parse_trusted_proxies(text: &str) -> Result<crate::config::TrustedProxies, String> {
    crate::config::TrustedProxies::parse(text)
}

/// A duration such as `500ms`, `10s` or `2m`, more than zero.
fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    if let Some(ms) = t.strip_suffix("ms") {
        return ms
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=3_600_000).contains(n))
            .map(std::time::Duration::from_millis)
            .ok_or_else(|| format!("'{text}' is not a duration from 1ms to 1h"));
    }
    crate::domain::duration::HumanDuration::parse(t)
        .ok()
        .filter(|d| (1..=3600).contains(&d.seconds()))
        .map(|d| std::time::Duration::from_secs(d.seconds() as u64))
        .ok_or_else(|| format!("'{text}' is not a duration such as 500ms, 10s or 2m (at most 1h)"))
}

/// Subcommands.
// Parsed once at start, so the size of `Serve` costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default)
    Serve(ServeArgs),
    /// Apply database migrations and exit
    Migrate,
    /// Load the demo data into an empty database
    Demo,
    /// Read or change a setting
    #[command(subcommand)]
    Settings(SettingsCmd),
    /// Manage staff accounts
    #[command(subcommand)]
    Staff(StaffCmd),
    /// Check or export the activity log
    #[command(subcommand)]
    Audit(AuditCmd),
    /// The signing keys of Login as Client tokens
    #[command(subcommand)]
    Api(ApiCmd),
}

/// `behalf api …`
#[derive(Debug, Subcommand)]
pub enum ApiCmd {
    /// Write a new token signing key file (mode 0600); never overwrites one
    Keygen {
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
    },
    /// Put a new signing key first in the file; the old one keeps verifying its tokens for 7
    /// days. Restart every node with the new file
    RotateKey {
        #[arg(long, env = "BEHALF_TOKEN_KEY", value_name = "FILE")]
        token_key: std::path::PathBuf,
    },
}

/// `behalf settings …`
#[derive(Debug, Subcommand)]
pub enum SettingsCmd {
    /// Print a setting's value
    Get { key: String },
    /// Change a setting
    Set {
        key: String,
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
}

/// `behalf staff …`
#[derive(Debug, Subcommand)]
pub enum StaffCmd {
    /// Add a staff member; the password is read from standard input
    Add {
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: String,
    },
    /// Disable a staff member, ending their sessions
    Disable { email: String },
    /// Change a staff member's role
    SetRole { email: String, role: String },
    /// Turn off a staff member's two-factor (lost device): clears it and the recovery codes and
    /// ends their sessions; they set it up again at their next sign-in
    #[command(name = "reset-2fa")]
    Reset2fa { email: String },
    /// Make an API key for a staff member and print it (alone) on standard output; it acts
    /// with the staff member's role and is shown only this once
    ApiKey {
        email: String,
        #[arg(long)]
        name: String,
        /// Last day the key works (YYYY-MM-DD, UTC); without it the key works until revoked
        #[arg(long)]
        expires: Option<String>,
    },
}

/// `behalf audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Verify the activity log's hash chain and its signed checkpoints; exits non-zero if either fails
    Verify(crate::audit::VerifyArgs),
    /// Write the activity log to standard output
    Export {
        #[arg(long, value_parser = ["csv", "jsonl"], default_value = "csv")]
        format: String,
    },
    /// Write a new Ed25519 key pair for signing checkpoints: FILE and FILE.pub
    Keygen(crate::audit::KeygenArgs),
    /// Sign a checkpoint of the activity log's current head now, store it and print it
    Checkpoint(crate::audit::CheckpointArgs),
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let url = cli.database_url.clone();
    let base = |demo: bool, args: &ServeArgs| Config {
        bind: args.bind.clone(),
        database_url: url.clone(),
        secure_cookies: args.secure_cookies,
        demo,
        demo_generated_clients: 200,
        smtp_url: args.smtp_url.clone(),
        smtp_username: args.smtp_username.clone(),
        smtp_password: args.smtp_password.clone(),
        smtp_password_file: args.smtp_password_file.clone(),
        smtp_ca_file: args.smtp_ca_file.clone(),
        mail_from: args.mail_from.clone(),
        files_dir: args.files_dir.clone(),
        trusted_proxies: args.trusted_proxies.clone().with_header(args.proxy_header),
        metrics_bind: args.metrics_bind.clone(),
        limits: crate::config::Limits {
            max_connections: args.max_connections as usize,
            header_timeout: args.header_timeout,
            body_timeout: args.body_timeout,
            request_timeout: args.request_timeout,
            statement_timeout: args.db_statement_timeout,
            connect_timeout: args.db_connect_timeout,
        },
        audit: args.audit.config(),
        token_key: args.token_key.clone(),
        public_url: args.public_url.clone(),
        webhooks: crate::config::WebhookConfig {
            timeout: args.webhook_timeout,
            retry_base_seconds: args.webhook_retry_base,
        },
    };
    match cli.command {
        None => serve(base(cli.serve.demo, &cli.serve)).await,
        Some(Command::Serve(args)) => serve(base(args.demo || cli.serve.demo, &args)).await,
        Some(Command::Migrate) => {
            prepare(&Config::for_url(&url)).await?;
            println!("migrations applied");
            Ok(())
        }
        Some(Command::Demo) => {
            let store = prepare(&Config::for_url(&url)).await?;
            if crate::app::load_demo(&store, 200, &StaffActing::cli()).await? {
                println!("demo data loaded");
                Ok(())
            } else {
                bail!("the database already has data; demo data loads only into an empty database")
            }
        }
        Some(Command::Settings(cmd)) => settings(&prepare(&Config::for_url(&url)).await?, cmd).await,
        Some(Command::Staff(cmd)) => staff(&prepare(&Config::for_url(&url)).await?, cmd).await,
        // Making a key needs no database.
        Some(Command::Audit(AuditCmd::Keygen(args))) => keygen(&args),
        Some(Command::Api(ApiCmd::Keygen { out })) => {
            let kid = crate::tokens::keygen(&out)?;
            println!("wrote token signing key {kid} to {}", out.display());
            Ok(())
        }
        Some(Command::Api(ApiCmd::RotateKey { token_key })) => {
            let (kid, retired) = crate::tokens::rotate(&token_key, crate::domain::now())?;
            println!("key {kid} now signs; {retired} verifies its tokens for 7 more days. Restart every node.");
            Ok(())
        }
        Some(Command::Audit(cmd)) => audit(&prepare(&Config::for_url(&url)).await?, cmd).await,
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let server = Server::build(config).await?;
    tracing::info!(addr = %server.addr, "Behalf is listening");
    println!("Behalf is listening on http://{}", server.addr);
    server.run().await
}

async fn settings(store: &Store, cmd: SettingsCmd) -> anyhow::Result<()> {
    match cmd {
        SettingsCmd::Get { key } => {
            crate::domain::settings::DEFS
                .iter()
                .find(|d| d.key == key)
                .ok_or_else(|| anyhow!("unknown setting '{key}'"))?;
            let pairs = store.setting_pairs().await?;
            let value = pairs
                .into_iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v)
                .or_else(|| crate::domain::settings::DEFS.iter().find(|d| d.key == key).map(|d| d.default.to_string()))
                .unwrap_or_default();
            println!("{value}");
        }
        SettingsCmd::Set { key, value } => {
            let value = crate::domain::settings::validate(&key, &value).map_err(|e| anyhow!(e))?;
            store.set_setting(&key, &value, &StaffActing::cli()).await?;
            println!("{key} = {value}");
        }
    }
    Ok(())
}

async fn staff(store: &Store, cmd: StaffCmd) -> anyhow::Result<()> {
    let find = |email: String| async move {
        store.staff_by_email(&email).await?.ok_or_else(|| anyhow!("no staff member with e-mail {email}"))
    };
    match cmd {
        StaffCmd::Add { email, name, role } => {
            let role_id = store.role_id(&role).await.map_err(|_| anyhow!("unknown role '{role}'"))?;
            if !email.contains('@') || name.trim().is_empty() {
                bail!("give a valid e-mail address and a name");
            }
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password).context("cannot read the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']).to_string();
            if password.chars().count() < 10 {
                bail!("the password (read from standard input) must have at least 10 characters");
            }
            let hash = crate::auth::hash_password(password).await?;
            let id =
                store.add_staff(&email, name.trim(), &hash, role_id, &StaffActing::cli()).await.map_err(
                    |e| match e {
                        StoreError::Conflict(c) => anyhow!(c.to_string()),
                        e => e.into(),
                    },
                )?;
            println!("staff member #{id} added");
        }
        StaffCmd::Disable { email } => {
            let s = find(email).await?;
            store.disable_staff(s.id, &StaffActing::cli()).await?;
            println!("{} disabled", s.email);
        }
        StaffCmd::SetRole { email, role } => {
            let s = find(email).await?;
            let role_id = store.role_id(&role).await.map_err(|_| anyhow!("unknown role '{role}'"))?;
            store.set_staff_role(s.id, role_id, &StaffActing::cli()).await?;
            println!("{} is now {role}", s.email);
        }
        StaffCmd::Reset2fa { email } => {
            let s = find(email).await?;
            store.reset_two_factor(s.id, &StaffActing::cli()).await?;
            println!("two-factor of {} reset; their sessions ended", s.email);
        }
        StaffCmd::ApiKey { email, name, expires } => {
            let s = find(email).await?;
            if !s.active {
                bail!("{} is disabled; a key of theirs would open nothing", s.email);
            }
            let key = crate::auth::api_keys::issue_api_key(
                store,
                s.id,
                &name,
                expires.as_deref().unwrap_or(""),
                &StaffActing::cli(),
            )
            .await
            .map_err(|e| anyhow!("{e}"))?;
            println!("{key}");
        }
    }
    Ok(())
}

async fn audit(store: &Store, cmd: AuditCmd) -> anyhow::Result<()> {
    match cmd {
        AuditCmd::Verify(args) => match crate::audit::verify(store, &args).await {
            Ok(r) => {
                print!("activity log verified: {} entries, chain intact", r.entries);
                if r.checkpoints > 0 {
                    print!("; {} checkpoints hold, the newest covering {} entries", r.checkpoints, r.largest);
                }
                println!();
                if r.checkpoints > 0 && !r.signatures_checked {
                    eprintln!("warning: checkpoint signatures were not checked: give --public-key FILE.pub");
                }
                Ok(())
            }
            Err(problem) => bail!("activity log verification FAILED: {problem:#}"),
        },
        AuditCmd::Checkpoint(args) => {
            let signer = crate::audit::Signer::load(&args.audit_key, args.audit_checkpoints, &args.audit_origin)?;
            print!("{}", signer.sign_now(store).await?);
            Ok(())
        }
        AuditCmd::Keygen(args) => keygen(&args),
        AuditCmd::Export { format } => match export(store, &format).await {
            // A reader that stops early (`| head`) is not an error of the export.
            Err(e)
                if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
            {
                Ok(())
            }
            other => other,
        },
    }
}

fn keygen(args: &crate::audit::KeygenArgs) -> anyhow::Result<()> {
    let key = crate::audit::keygen(args)?;
    let public = crate::audit::public_key_path(&args.out);
    println!("private key written to {} (keep it secret, ideally off the database host)", args.out.display());
    println!("public key written to {}: {}", public.display(), key.to_text().trim_end());
    Ok(())
}

/// Rows fetched per query by `audit export`.
const EXPORT_BATCH: i64 = 1000;

/// `behalf audit export`: every entry, oldest first, as CSV or JSON lines on standard output.
///
/// Keyset pages (`id > last seen`) keep each query as cheap on the millionth row as on the first,
/// and only one batch is held at a time, so memory stays flat however long the log is. The export
/// stops at the newest entry that existed when it began, so a busy server cannot keep it running.
async fn export(store: &Store, format: &str) -> anyhow::Result<()> {
    let csv = format == "csv";
    let upto = store.last_activity_id().await?;
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(u64::try_from(upto).unwrap_or(0)),
            indicatif::ProgressDrawTarget::stderr(),
        );
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {human_pos}/{human_len} entries, {elapsed} elapsed, about {eta} left",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    if csv {
        writeln!(out, "{ACTIVITY_CSV_HEADER}")?;
    }
    let mut after = 0;
    loop {
        let rows = store.activity_batch(after, upto, EXPORT_BATCH).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for r in &rows {
            let line = if csv { activity_csv(r) } else { activity_json(r)? };
            writeln!(out, "{line}")?;
        }
        bar.inc(rows.len() as u64);
        if (rows.len() as i64) < EXPORT_BATCH {
            break;
        }
    }
    out.flush()?;
    bar.finish_and_clear();
    Ok(())
}
