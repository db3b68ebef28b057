//! The files directory on disk: uploads stream into a temporary file that is removed on every
//! failure, then are synced and renamed to a random storage key; downloads open by key only.

use crate::domain::files::{demo_file, is_storage_key};
use sha2::{Digest, Sha256};
use std::io;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// Where shared files are kept.
#[derive(Debug, Clone)]
pub struct FileStorage {
    dir: PathBuf,
}

/// A file being received. Dropping it before `keep` removes what was written (temporary or
/// final), so an upload that fails, is refused or is cut off halfway leaves nothing behind,
/// even when the request future is simply dropped.
pub struct PendingFile {
    file: Option<tokio::fs::File>,
    path: Option<PathBuf>,
    hasher: Sha256,
    size: u64,
}

/// A fully written, synced and renamed file whose row is not yet committed.
pub struct StoredFile {
    pub storage_key: String,
    pub size: u64,
    pub sha256: String,
    guard: PendingFile,
}

impl FileStorage {
    /// Files kept in `dir` (created when the first file is written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileStorage { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts receiving a file into a fresh temporary file in the files directory (the same
    /// filesystem as the final name, so the rename is atomic).
    pub async fn begin(&self) -> io::Result<PendingFile> {
        tokio::fs::create_dir_all(&self.dir).await?;
        let path = self.dir.join(format!(".upload-{}.tmp", new_key()));
        let file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&path).await?;
        Ok(PendingFile { file: Some(file), path: Some(path), hasher: Sha256::new(), size: 0 })
    }

    /// Syncs the file and renames it to a new random storage key.
    pub async fn finish(&self, mut pending: PendingFile) -> io::Result<StoredFile> {
        let mut file = pending.file.take().ok_or_else(|| io::Error::other("upload already finished"))?;
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        let key = new_key();
        let to = self.dir.join(&key);
        // Until the rename succeeds the guard still owns (and on failure removes) the temporary file.
        let from = pending.path.clone().ok_or_else(|| io::Error::other("upload already finished"))?;
        tokio::fs::rename(&from, &to).await?;
        pending.path = Some(to);
        sync_dir(&self.dir).await;
        let sha256 = hex::encode(std::mem::take(&mut pending.hasher).finalize());
        Ok(StoredFile { storage_key: key, size: pending.size, sha256, guard: pending })
    }

    /// Opens a stored file for streaming, with its length. Demo files are written on first use.
    pub async fn open(&self, storage_key: &str) -> io::Result<(tokio::fs::File, u64)> {
        if !is_storage_key(storage_key) {
            return Err(io::Error::new(io::ErrorKind::NotFound, "not a storage key"));
        }
        let path = self.dir.join(storage_key);
        match tokio::fs::File::open(&path).await {
            Ok(f) => {
                let len = f.metadata().await?.len();
                Ok((f, len))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let demo = demo_file(storage_key).ok_or(e)?;
                let mut pending = self.begin().await?;
                pending.write(demo.bytes).await?;
                let stored = self.finish(pending).await?;
                // Another request may have materialised it meanwhile; either copy is identical.
                let from = self.dir.join(&stored.storage_key);
                tokio::fs::rename(&from, &path).await?;
                stored.keep();
                let f = tokio::fs::File::open(&path).await?;
                let len = f.metadata().await?.len();
                Ok((f, len))
            }
            Err(e) => Err(e),
        }
    }

    /// Removes a stored file after its row is gone; a missing file is not an error.
    pub async fn remove(&self, storage_key: &str) {
        if !is_storage_key(storage_key) {
            return;
        }
        match tokio::fs::remove_file(self.dir.join(storage_key)).await {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(error = %e, storage_key, "could not remove a deleted file"),
        }
    }
}

impl PendingFile {
    /// Appends a chunk, hashing and counting it.
    pub async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        let file = self.file.as_mut().ok_or_else(|| io::Error::other("upload already finished"))?;
        file.write_all(chunk).await?;
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        drop(self.file.take());
        if let Some(path) = self.path.take() {
            if let Err(e) = std::fs::remove_file(&path) {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(error = %e, path = %path.display(), "could not remove an unfinished upload");
                }
            }
        }
    }
}

impl StoredFile {
    /// Keeps the file for good: call only once its row has committed.
    pub fn keep(mut self) {
        self.guard.path = None;
    }
}

/// A random 128-bit key as 32 lowercase hex digits.
fn new_key() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Makes a rename durable; some platforms cannot open directories, which is harmless here.
async fn sync_dir(dir: &Path) {
    if let Ok(d) = tokio::fs::File::open(dir).await {
        let _ = d.sync_all().await;
    }
}
