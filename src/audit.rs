//! Signed checkpoints at work: key files, signing the activity log's head (on demand and in the
//! background of `serve`), and checking every checkpoint against the database.

use crate::config::SignerConfig;
use crate::domain::checkpoint::{
    Checkpoint, Note, NoteReader, PrivateKey, PublicKey, DEFAULT_KEY_NAME, DEFAULT_ORIGIN,
};
use crate::domain::duration::HumanDuration;
use crate::store::Store;
use anyhow::{anyhow, bail, Context};
use clap::Args;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `serve` options of the checkpoint signer.
#[derive(Debug, Args, Clone)]
pub struct SignerArgs {
    /// Sign checkpoints of the activity log with this private key (from `behalf audit keygen`)
    #[arg(long, env = "BEHALF_AUDIT_KEY")]
    pub audit_key: Option<PathBuf>,
    /// Also append every checkpoint to this file, to ship elsewhere
    #[arg(long, env = "BEHALF_AUDIT_CHECKPOINTS")]
    pub audit_checkpoints: Option<PathBuf>,
    /// Sign a checkpoint once this many entries were added since the last one
    #[arg(long, env = "BEHALF_AUDIT_CHECKPOINT_ENTRIES", default_value_t = 1000, value_parser = clap::value_parser!(i64).range(1..))]
    pub audit_checkpoint_entries: i64,
    /// Or once this long has passed since the last one (90s, 5m, 1h), when entries were added
    #[arg(long, env = "BEHALF_AUDIT_CHECKPOINT_INTERVAL", default_value = "5m", value_parser = HumanDuration::parse)]
    pub audit_checkpoint_interval: HumanDuration,
    /// The origin line of checkpoints: the name of this log
    #[arg(long, env = "BEHALF_AUDIT_ORIGIN", default_value = DEFAULT_ORIGIN)]
    pub audit_origin: String,
}

impl SignerArgs {
    /// The signer's configuration; `None` without `--audit-key`.
    pub fn config(&self) -> Option<SignerConfig> {
        Some(SignerConfig {
            key_file: self.audit_key.clone()?,
            checkpoints_file: self.audit_checkpoints.clone(),
            origin: self.audit_origin.clone(),
            every_entries: self.audit_checkpoint_entries,
            every_seconds: self.audit_checkpoint_interval.seconds(),
        })
    }
}

/// `behalf audit keygen`
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Write the private key here (mode 0600) and the public key to FILE.pub
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The key's name, shown in every signature line
    #[arg(long, default_value = DEFAULT_KEY_NAME)]
    pub name: String,
}

/// `behalf audit checkpoint`
#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// The private key (from `behalf audit keygen`)
    #[arg(long, env = "BEHALF_AUDIT_KEY", value_name = "FILE")]
    pub audit_key: PathBuf,
    /// Also append the checkpoint to this file
    #[arg(long, env = "BEHALF_AUDIT_CHECKPOINTS", value_name = "FILE")]
    pub audit_checkpoints: Option<PathBuf>,
    /// The origin line of checkpoints: the name of this log
    #[arg(long, env = "BEHALF_AUDIT_ORIGIN", default_value = DEFAULT_ORIGIN)]
    pub audit_origin: String,
}

/// `behalf audit verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Check checkpoint signatures with this public key (the FILE.pub of `behalf audit keygen`)
    #[arg(long, env = "BEHALF_AUDIT_PUBLIC_KEY", value_name = "FILE.pub")]
    pub public_key: Option<PathBuf>,
    /// Also check every checkpoint in this file (as `--audit-checkpoints` writes it)
    #[arg(long, env = "BEHALF_AUDIT_CHECKPOINTS", value_name = "FILE")]
    pub checkpoints: Option<PathBuf>,
    /// The origin line checkpoints must carry
    #[arg(long, env = "BEHALF_AUDIT_ORIGIN", default_value = DEFAULT_ORIGIN)]
    pub audit_origin: String,
}

/// The public key file beside a private key file: `FILE.pub`.
pub fn public_key_path(private: &Path) -> PathBuf {
    let mut p = private.as_os_str().to_owned();
    p.push(".pub");
    PathBuf::from(p)
}

/// `behalf audit keygen`: a new key pair, never over an existing file. Returns the public key.
pub fn keygen(args: &KeygenArgs) -> anyhow::Result<PublicKey> {
    let key = PrivateKey::generate(&args.name).map_err(|e| anyhow!(e))?;
    let public = public_key_path(&args.out);
    for path in [&args.out, &public] {
        if path.exists() {
            bail!("{} already exists: not overwriting a key", path.display());
        }
    }
    write_new(&args.out, &key.to_text(), 0o600)?;
    write_new(&public, &key.public().to_text(), 0o644)?;
    Ok(key.public())
}

fn write_new(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes()).and_then(|()| f.sync_all()).with_context(|| format!("cannot write {}", path.display()))
}

fn read_key_file(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read the {what} {}", path.display()))
}

/// Signs checkpoints of the activity log's head with one key.
#[derive(Debug)]
pub struct Signer {
    key: PrivateKey,
    public: PublicKey,
    file: Option<PathBuf>,
    origin: String,
}

impl Signer {
    /// Reads the key; a missing or malformed key file is an error here, before anything runs.
    pub fn load(key_file: &Path, checkpoints_file: Option<PathBuf>, origin: &str) -> anyhow::Result<Signer> {
        let key = PrivateKey::parse(&read_key_file(key_file, "audit key")?)
            .map_err(|e| anyhow!("the audit key {}: {e}", key_file.display()))?;
        if origin.is_empty() || origin.chars().any(char::is_control) {
            bail!("the checkpoint origin must be one non-empty line");
        }
        Ok(Signer { public: key.public(), key, file: checkpoints_file, origin: origin.to_string() })
    }

    /// The newest checkpoint this key signed for this log, and when it was stored: the database's
    /// newest, or with `with_file` the larger of it and the checkpoints file's last, so deleting
    /// the database's checkpoints cannot make the signer bless a rewritten log from scratch.
    async fn last_signed(&self, store: &Store, with_file: bool) -> anyhow::Result<Option<(Checkpoint, i64)>> {
        let mut newest: Option<(Checkpoint, i64)> = None;
        for c in store.newest_checkpoints(10).await? {
            if let Ok(note) = Note::parse(&c.note) {
                if note.checkpoint.origin == self.origin && self.public.verify(&note).is_ok() {
                    newest = Some((note.checkpoint, c.created_at));
                    break;
                }
            }
        }
        let shipped = if with_file { self.last_in_file().await? } else { None };
        if let Some(shipped) = shipped {
            if newest.as_ref().is_none_or(|(c, _)| shipped.size > c.size) {
                newest = Some((shipped, crate::domain::now()));
            }
        }
        Ok(newest)
    }

    /// The largest checkpoint of this key and origin in the checkpoints file, if there is one.
    async fn last_in_file(&self) -> anyhow::Result<Option<Checkpoint>> {
        let Some(path) = self.file.clone() else { return Ok(None) };
        let (public, origin) = (self.public.clone(), self.origin.clone());
        tokio::task::spawn_blocking(move || {
            let file = match std::fs::File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(anyhow!("cannot read the checkpoints file {}: {e}", path.display())),
            };
            let mut reader = crate::domain::checkpoint::NoteReader::new(std::io::BufReader::new(file));
            let mut best: Option<Checkpoint> = None;
            while let Some((_, text)) = reader.next_note().map_err(|e| anyhow!("{}: {e}", path.display()))? {
                if let Ok(note) = Note::parse(&text) {
                    if note.checkpoint.origin == origin
                        && public.verify(&note).is_ok()
                        && best.as_ref().is_none_or(|b| note.checkpoint.size > b.size)
                    {
                        best = Some(note.checkpoint);
                    }
                }
            }
            Ok(best)
        })
        .await?
    }

    /// Signs the current head, stores the checkpoint, appends it to the file; returns the note.
    ///
    /// Only a head that extends `since` (the last checkpoint this key signed, or the start of a
    /// log whose whole chain verifies) is signed, so a log rewritten or cut inside the database
    /// is refused rather than blessed.
    pub async fn sign_head(&self, store: &Store, since: Option<&Checkpoint>) -> anyhow::Result<(Checkpoint, String)> {
        let (size, head) = store.audit_head().await?;
        if size == 0 {
            bail!("the activity log is empty: there is nothing to sign");
        }
        let walked = match since {
            Some(prev) if prev.size > size => bail!(
                "the log holds {size} entries, fewer than the {} of the last checkpoint: it was cut or rolled back; not signing",
                prev.size
            ),
            Some(prev) => {
                if store.activity_hash(prev.size).await?.as_deref() != Some(prev.head_hex().as_str()) {
                    bail!("entry {} no longer matches the last checkpoint: the log was rewritten; not signing", prev.size);
                }
                store.verify_activity_range(prev.size, &prev.head_hex(), Some(size)).await?
            }
            None => store.verify_activity_range(0, "", Some(size)).await?,
        };
        match walked {
            Ok((id, hash)) if id == size && hash == head => {}
            Ok(_) => bail!("the head of the log does not match entry {size}; not signing"),
            Err(problem) => bail!("the activity log does not verify ({problem}); not signing"),
        }
        let cp = Checkpoint::new(&self.origin, size, &head).map_err(|e| anyhow!(e))?;
        let note = self.key.sign(&cp);
        store.add_checkpoint(size, &head, &note).await?;
        if let Some(file) = &self.file {
            append(file, &note).await?;
        }
        metrics::counter!("behalf_audit_checkpoints_total").increment(1);
        Ok((cp, note))
    }

    /// `behalf audit checkpoint`: signs the current head now.
    pub async fn sign_now(&self, store: &Store) -> anyhow::Result<String> {
        let since = self.last_signed(store, true).await?;
        Ok(self.sign_head(store, since.as_ref().map(|(c, _)| c)).await?.1)
    }

    /// One round of the background signer: signs when enough entries or time have passed.
    async fn round(
        &self,
        store: &Store,
        every: (i64, i64),
        last: &mut Option<(Checkpoint, i64)>,
    ) -> anyhow::Result<()> {
        // Another node may have signed meanwhile: the largest checkpoint under this key counts.
        // The file is read once, to start from; after that this task appends to it itself.
        if let Some(stored) = self.last_signed(store, last.is_none()).await? {
            if last.as_ref().is_none_or(|(c, _)| stored.0.size > c.size) {
                *last = Some(stored);
            }
        }
        let (size, _) = store.audit_head().await?;
        let due = match last {
            None => size > 0,
            Some((c, at)) => size > c.size && (size - c.size >= every.0 || crate::domain::now() - *at >= every.1),
        };
        if due {
            let (cp, _) = self.sign_head(store, last.as_ref().map(|(c, _)| c)).await?;
            tracing::info!(size = cp.size, "signed an audit checkpoint");
            *last = Some((cp, crate::domain::now()));
        }
        Ok(())
    }
}

/// Appends a note and its separating blank line in one write, so concurrent writers never
/// interleave inside a note.
async fn append(file: &Path, note: &str) -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut f = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .await
        .with_context(|| format!("cannot open the checkpoints file {}", file.display()))?;
    f.write_all(format!("{note}\n").as_bytes()).await?;
    f.sync_data().await.with_context(|| format!("cannot write the checkpoints file {}", file.display()))
}

/// Runs the background signer of `serve`: it looks at the head every second and signs every
/// `every_entries` entries or `every_seconds`, whichever comes first. Nodes sharing one database
/// see each other's checkpoints, and two signing the same head store one row.
pub fn spawn(store: Store, signer: Arc<Signer>, config: &SignerConfig) {
    let every = (config.every_entries, config.every_seconds);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last = None;
        let mut last_problem: Option<String> = None;
        loop {
            tick.tick().await;
            match signer.round(&store, every, &mut last).await {
                Ok(()) => last_problem = None,
                Err(e) => {
                    let problem = format!("{e:#}");
                    // Once per distinct problem, not every second.
                    if last_problem.as_deref() != Some(problem.as_str()) {
                        tracing::error!(error = %problem, "signing an audit checkpoint failed");
                    }
                    metrics::counter!("behalf_audit_checkpoint_failures_total").increment(1);
                    last_problem = Some(problem);
                }
            }
        }
    });
}

/// What `behalf audit verify` found when everything held.
#[derive(Debug)]
pub struct VerifyReport {
    pub entries: i64,
    pub checkpoints: u64,
    pub largest: i64,
    pub signatures_checked: bool,
}

/// `behalf audit verify`: the chain, then every checkpoint of the database and of the file.
/// `Err` says what does not hold.
pub async fn verify(store: &Store, args: &VerifyArgs) -> anyhow::Result<VerifyReport> {
    let key = match &args.public_key {
        Some(path) => Some(
            PublicKey::parse(&read_key_file(path, "public key")?)
                .map_err(|e| anyhow!("the public key {}: {e}", path.display()))?,
        ),
        None => None,
    };
    // Opened before the walk so a wrong path fails at once.
    let file = match &args.checkpoints {
        Some(path) => Some(
            std::fs::File::open(path)
                .with_context(|| format!("cannot read the checkpoints file {}", path.display()))?,
        ),
        None => None,
    };
    let entries = store.verify_activity_chain().await?.map_err(|problem| anyhow!(problem))?;
    let mut report = VerifyReport { entries, checkpoints: 0, largest: 0, signatures_checked: key.is_some() };
    let check = Check { store, key: key.as_ref(), origin: &args.audit_origin, entries };
    let mut after = 0;
    loop {
        let batch = store.checkpoint_batch(after, 1000).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for c in &batch {
            let size = check.one(&c.note, || format!("checkpoint #{} in the database", c.id)).await?;
            report.checkpoints += 1;
            report.largest = report.largest.max(size);
        }
    }
    if let (Some(f), Some(path)) = (file, &args.checkpoints) {
        let mut notes = NoteReader::new(std::io::BufReader::new(f));
        while let Some((line, text)) =
            notes.next_note().map_err(|e| anyhow!("the checkpoints file {}: {e}", path.display()))?
        {
            let size = check.one(&text, || format!("the checkpoint at line {line} of {}", path.display())).await?;
            report.checkpoints += 1;
            report.largest = report.largest.max(size);
        }
    }
    Ok(report)
}

struct Check<'a> {
    store: &'a Store,
    key: Option<&'a PublicKey>,
    origin: &'a str,
    entries: i64,
}

impl Check<'_> {
    /// Checks one checkpoint against the key and the (already verified) chain; returns its size.
    async fn one(&self, text: &str, label: impl Fn() -> String) -> anyhow::Result<i64> {
        let note = Note::parse(text).map_err(|e| anyhow!("{} is malformed: {e}", label()))?;
        let cp = &note.checkpoint;
        if cp.origin != self.origin {
            bail!("{} is for the log '{}', not '{}' (see --audit-origin)", label(), cp.origin, self.origin);
        }
        if let Some(key) = self.key {
            key.verify(&note).map_err(|e| anyhow!("{}: {e}", label()))?;
        }
        if cp.size > self.entries {
            bail!(
                "{} signed {} entries but the database holds only {}: the log was cut, or the whole database rolled back",
                label(),
                cp.size,
                self.entries
            );
        }
        let stored = self.store.activity_hash(cp.size).await?.unwrap_or_default();
        if stored != cp.head_hex() {
            bail!(
                "{} signed entry {} with hash {}, but the database's entry {} hashes to {stored}: the log was rewritten",
                label(),
                cp.size,
                cp.head_hex(),
                cp.size
            );
        }
        Ok(cp.size)
    }
}
