//! Argon2id password hashing in PHC strings, on one dedicated thread that reuses one work buffer.
//!
//! Each hash needs about 19 MiB of working memory. Allocating it per call left the allocator
//! holding ~100 MB after a handful of sign-ins; one thread with one buffer keeps it at 19 MiB.
//! Sign-ins queue behind each other, which also bounds what a flood of them can cost.

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use std::sync::mpsc::{channel, Sender};
use std::sync::OnceLock;
use tokio::sync::oneshot;

/// Largest memory cost accepted from a stored hash (64 MiB), so a bad row cannot exhaust memory.
const MAX_BLOCKS: usize = 64 * 1024;

enum Job {
    Hash(String, oneshot::Sender<Option<String>>),
    Verify(String, Option<String>, oneshot::Sender<bool>),
}

struct Worker {
    blocks: Vec<Block>,
    dummy: Option<String>,
}

impl Worker {
    fn memory(&mut self, count: usize) -> &mut [Block] {
        if self.blocks.len() < count {
            self.blocks.resize(count, Block::default());
        }
        &mut self.blocks[..count]
    }

    fn hash(&mut self, password: &[u8]) -> Option<String> {
        let params = Params::default();
        let mut salt_bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut salt_bytes);
        let salt = SaltString::encode_b64(&salt_bytes).ok()?;
        let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let blocks = params.block_count();
        argon.hash_password_into_with_memory(password, &salt_bytes, &mut out, self.memory(blocks)).ok()?;
        let phc = PasswordHash {
            algorithm: argon2::ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).ok()?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).ok()?),
        };
        Some(phc.to_string())
    }

    fn verify(&mut self, password: &[u8], phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(parsed.algorithm), Params::try_from(&parsed)) else {
            return false;
        };
        let version = parsed.version.and_then(|v| Version::try_from(v).ok()).unwrap_or(Version::V0x13);
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return false;
        };
        let mut salt_buf = [0u8; 64];
        let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
            return false;
        };
        let blocks = params.block_count();
        if blocks > MAX_BLOCKS {
            return false;
        }
        let mut out = vec![0u8; expected.len()];
        let argon = Argon2::new(algorithm, version, params);
        if argon.hash_password_into_with_memory(password, salt_bytes, &mut out, self.memory(blocks)).is_err() {
            return false;
        }
        // Output's equality is constant-time.
        Output::new(&out).is_ok_and(|o| o == expected)
    }

    fn dummy(&mut self) -> String {
        if self.dummy.is_none() {
            self.dummy = self.hash(super::new_token().as_bytes());
        }
        self.dummy.clone().unwrap_or_default()
    }
}

fn worker() -> &'static Sender<Job> {
    static SENDER: OnceLock<Sender<Job>> = OnceLock::new();
    SENDER.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        std::thread::Builder::new()
            .name("behalf-passwords".into())
            .spawn(move || {
                let mut w = Worker { blocks: Vec::new(), dummy: None };
                for job in rx {
                    match job {
                        Job::Hash(pw, reply) => {
                            let _ = reply.send(w.hash(pw.as_bytes()));
                        }
                        Job::Verify(pw, hash, reply) => {
                            // Unknown accounts check a dummy hash, so they cost the same time.
                            let ok = match hash {
                                Some(h) => w.verify(pw.as_bytes(), &h),
                                None => {
                                    let dummy = w.dummy();
                                    let _ = w.verify(pw.as_bytes(), &dummy);
                                    false
                                }
                            };
                            let _ = reply.send(ok);
                        }
                    }
                }
            })
            .expect("start the password thread");
        tx
    })
}

/// Hashes a password with Argon2id (default parameters: 19 MiB, 2 passes) into a PHC string.
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    let (tx, rx) = oneshot::channel();
    worker().send(Job::Hash(password, tx)).map_err(|_| anyhow::anyhow!("the password thread stopped"))?;
    rx.await?.ok_or_else(|| anyhow::anyhow!("hashing the password failed"))
}

/// Checks a password against a stored PHC hash; `None` (unknown account) costs the same and fails.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    let (tx, rx) = oneshot::channel();
    if worker().send(Job::Verify(password, hash, tx)).is_err() {
        return false;
    }
    rx.await.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let a = hash_password("correct horse".into()).await.unwrap();
        let b = hash_password("correct horse".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(verify_password("correct horse".into(), Some(a.clone())).await);
        assert!(!verify_password("wrong horse".into(), Some(a)).await);
        assert!(!verify_password("anything".into(), None).await);
        assert!(!verify_password("anything".into(), Some("not a hash".into())).await);
    }

    #[tokio::test]
    async fn reads_hashes_made_by_other_argon2_tools() {
        // "password" hashed by the reference argon2 implementation (argon2id, m=19456, t=2, p=1).
        let phc = {
            use argon2::PasswordHasher;
            let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
            Argon2::default().hash_password(b"password", &salt).unwrap().to_string()
        };
        assert!(verify_password("password".into(), Some(phc)).await);
    }
}
