//! The signing keys of Login as Client tokens: the key file, signing and checking EdDSA JWTs
//! (through `jsonwebtoken`), the public keys as a JWKS, and key rotation.
//!
//! The key file holds one key per line, newest first; the first signs, the others only verify
//! until the time written after them, so tokens signed before a rotation keep working until
//! they expire:
//!
//! ```text
//! # Behalf token signing keys
//! ed25519 <kid> <base64 of the 32-byte secret>
//! ed25519 <kid> <base64 of the 32-byte secret> until <unix seconds>
//! ```

use crate::domain::api::{TokenClaims, AUDIENCE};
use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use std::path::Path;

/// The longest a token signed by a retired key can still be live: a Login as Client session
/// never outlasts the longest `impersonation.max_duration` (7 days), and no token outlasts its
/// session.
pub const RETIRED_KEY_LIFETIME: i64 = 7 * 86400;

/// One key of the file.
struct Key {
    kid: String,
    signing: SigningKey,
    /// Verify-only after a rotation, until then.
    until: Option<i64>,
}

impl Key {
    fn new() -> Key {
        let signing = SigningKey::generate(&mut rand::rngs::OsRng);
        Key { kid: kid_of(&signing), signing, until: None }
    }

    fn line(&self) -> String {
        let secret = STANDARD.encode(self.signing.to_bytes());
        match self.until {
            Some(t) => format!("ed25519 {} {secret} until {t}", self.kid),
            None => format!("ed25519 {} {secret}", self.kid),
        }
    }

    fn public_x(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.signing.verifying_key().to_bytes())
    }
}

/// A key id: the first 12 bytes of the public key's SHA-256, base64url.
fn kid_of(key: &SigningKey) -> String {
    use sha2::{Digest, Sha256};
    URL_SAFE_NO_PAD.encode(&Sha256::digest(key.verifying_key().to_bytes())[..12])
}

/// Why a token was not accepted; each becomes a 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejected {
    #[error("The token is malformed.")]
    Malformed,
    #[error("The token was not signed by a key of this server.")]
    UnknownKey,
    #[error("The token's signature does not verify.")]
    BadSignature,
    #[error("The token has expired.")]
    Expired,
    #[error("The token is not meant for this server.")]
    WrongAudience,
}

/// The keys `serve` signs and checks tokens with, and the issuer it names in them.
pub struct TokenKeys {
    keys: Vec<Key>,
    encoding: EncodingKey,
    /// `iss` of every token, and the issuer of the metadata document.
    pub issuer: String,
    /// Tokens whose signature verified, by the SHA-256 of the token, with the key that signed
    /// them: checking an Ed25519 signature was a fifth of an API request's time, and a token is
    /// used many times. Only the signature check is remembered: every request still opens the
    /// token's session in the database, so an ended session stops it at once.
    verified: std::sync::Mutex<std::collections::HashMap<[u8; 32], (TokenClaims, String)>>,
}

/// Verified tokens remembered at most; the memory is emptied when full.
const VERIFIED_CAPACITY: usize = 10_000;

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("TokenKeys").field("kids", &kids).field("issuer", &self.issuer).finish()
    }
}

impl TokenKeys {
    /// Keys read from the text of a key file.
    pub fn parse(text: &str, issuer: &str) -> anyhow::Result<TokenKeys> {
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || anyhow!("line {} is not `ed25519 KID SECRET [until UNIX-SECONDS]`", n + 1);
            let parts: Vec<&str> = line.split_whitespace().collect();
            let until = match parts.as_slice() {
                ["ed25519", _, _] => None,
                ["ed25519", _, _, "until", t] => Some(t.parse::<i64>().map_err(|_| bad())?),
                _ => return Err(bad()),
            };
            let bytes: [u8; 32] = STANDARD.decode(parts[2]).ok().and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
            let signing = SigningKey::from_bytes(&bytes);
            let kid = kid_of(&signing);
            if kid != parts[1] {
                bail!("line {}: the key id {} does not match its key ({kid})", n + 1, parts[1]);
            }
            keys.push(Key { kid, signing, until });
        }
        let first = keys.first().ok_or_else(|| anyhow!("it holds no key"))?;
        if first.until.is_some() {
            bail!("its first key, the one that signs, is retired (has `until`)");
        }
        let der = first.signing.to_pkcs8_der().map_err(|e| anyhow!("cannot encode the key: {e}"))?;
        let encoding = EncodingKey::from_ed_der(der.as_bytes());
        Ok(TokenKeys { keys, encoding, issuer: issuer.trim_end_matches('/').to_string(), verified: Default::default() })
    }

    /// Reads the key file at `path`, making it (mode 0600) with one new key when it is missing.
    /// Nodes that start together on one missing file all end up with the one key the first made:
    /// the file appears whole or not at all.
    pub fn load_or_create(path: &Path, issuer: &str) -> anyhow::Result<TokenKeys> {
        if !path.exists() && create_whole(path, &[Key::new()])? {
            tracing::info!(path = %path.display(), "made a new token signing key");
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the token signing key file {}", path.display()))?;
        TokenKeys::parse(&text, issuer).with_context(|| format!("the token key file {} is not usable", path.display()))
    }

    /// The key id that signs new tokens.
    pub fn signing_kid(&self) -> &str {
        &self.keys[0].kid
    }

    /// Signs the claims with the current key.
    pub fn sign(&self, claims: &TokenClaims) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.signing_kid().to_string());
        header.typ = Some("at+jwt".into());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| anyhow!("cannot sign a token: {e}"))
    }

    /// Checks a token's signature (by the key its `kid` names, if that key is still served), its
    /// expiry, audience and issuer, and answers its claims.
    pub fn verify(&self, token: &str, now: i64) -> Result<TokenClaims, TokenRejected> {
        use sha2::{Digest, Sha256};
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let remembered = self.verified.lock().ok().and_then(|m| m.get(&digest).cloned());
        if let Some((claims, kid)) = remembered {
            if claims.exp <= now {
                return Err(TokenRejected::Expired);
            }
            if self.served().any(|k| k.kid == kid) {
                return Ok(claims);
            }
        }
        let (claims, kid) = self.check_signature(token, now)?;
        if let Ok(mut m) = self.verified.lock() {
            if m.len() >= VERIFIED_CAPACITY {
                m.clear();
            }
            m.insert(digest, (claims.clone(), kid));
        }
        Ok(claims)
    }

    /// [`TokenKeys::verify`] without the memory of verified tokens; answers the claims and the
    /// signing key's id.
    fn check_signature(&self, token: &str, now: i64) -> Result<(TokenClaims, String), TokenRejected> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenRejected::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenRejected::Malformed);
        }
        let kid = header.kid.ok_or(TokenRejected::UnknownKey)?;
        let key = self.served().find(|k| k.kid == kid).ok_or(TokenRejected::UnknownKey)?;
        let decoding = DecodingKey::from_ed_components(&key.public_x()).map_err(|_| TokenRejected::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = 0;
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        let data = jsonwebtoken::decode::<TokenClaims>(token, &decoding, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidSignature => TokenRejected::BadSignature,
                ErrorKind::ExpiredSignature => TokenRejected::Expired,
                ErrorKind::InvalidAudience | ErrorKind::InvalidIssuer => TokenRejected::WrongAudience,
                _ => TokenRejected::Malformed,
            }
        })?;
        if data.claims.exp <= now {
            return Err(TokenRejected::Expired);
        }
        Ok((data.claims, kid))
    }

    /// The keys still served: the signing key and retired ones until their time.
    fn served(&self) -> impl Iterator<Item = &Key> {
        let now = crate::domain::now();
        self.keys.iter().filter(move |k| k.until.is_none_or(|t| t > now))
    }

    /// `GET /.well-known/jwks.json`: the public half of every served key.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .served()
            .map(|k| {
                serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "x": k.public_x(), "kid": k.kid, "use": "sig", "alg": "EdDSA",
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

/// Writes a new key file; never overwrites one.
fn write_new(path: &Path, keys: &[Key]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file =
        options.open(path).with_context(|| format!("cannot create the token key file {}", path.display()))?;
    file.write_all(file_text(keys).as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// Makes the key file at `path` unless it exists, so that no reader ever sees it half written:
/// the keys go to a file of this process's own beside it, which is then hard-linked into place
/// (a link never replaces an existing file). Answers whether this call made it.
fn create_whole(path: &Path, keys: &[Key]) -> anyhow::Result<bool> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("token.key");
    let tmp = path.with_file_name(format!(".{name}.{}.{}.new", std::process::id(), crate::domain::token::new_token()));
    write_new(&tmp, keys)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(anyhow!("cannot create the token key file {}: {e}", path.display())),
    }
}

fn file_text(keys: &[Key]) -> String {
    let mut text = String::from(
        "# Behalf token signing keys (behalf api rotate-key). The first signs; a key with `until`\n\
         # only verifies the tokens it signed, until then.\n",
    );
    for k in keys {
        text.push_str(&k.line());
        text.push('\n');
    }
    text
}

/// `behalf api keygen --out FILE`: a new key file with one key; never overwrites a file.
pub fn keygen(path: &Path) -> anyhow::Result<String> {
    let key = Key::new();
    let kid = key.kid.clone();
    write_new(path, &[key])?;
    Ok(kid)
}

/// `behalf api rotate-key`: a new signing key goes first; the one that signed until now keeps
/// verifying for [`RETIRED_KEY_LIFETIME`], and keys retired before that time are dropped. The
/// file is replaced whole (written beside it, then renamed), so a crash leaves the old one.
/// Every node must be restarted with the new file.
pub fn rotate(path: &Path, now: i64) -> anyhow::Result<(String, String)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let old = TokenKeys::parse(&text, "")?;
    let retired = old.keys[0].kid.clone();
    let new = Key::new();
    let kid = new.kid.clone();
    let mut keys = vec![new];
    for (i, k) in old.keys.into_iter().enumerate() {
        let until = if i == 0 { Some(now + RETIRED_KEY_LIFETIME) } else { k.until };
        if until.is_some_and(|t| t > now) {
            keys.push(Key { until, ..k });
        }
    }
    let tmp = path.with_extension("rotating");
    let _ = std::fs::remove_file(&tmp);
    write_new(&tmp, &keys)?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok((kid, retired))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::api::ActorClaim;

    fn claims(exp: i64, issuer: &str) -> TokenClaims {
        TokenClaims {
            iss: issuer.into(),
            aud: AUDIENCE.into(),
            sub: "3".into(),
            act: ActorClaim { sub: "staff:2".into(), email: "a@example.com".into() },
            imp: 7,
            scope: "portal:read".into(),
            iat: 0,
            exp,
            jti: "j".into(),
        }
    }

    fn keys() -> TokenKeys {
        TokenKeys::parse(&file_text(&[Key::new()]), "http://portal.example/").unwrap()
    }

    #[test]
    fn signs_and_verifies_with_its_key_only() {
        let k = keys();
        let now = crate::domain::now();
        let token = k.sign(&claims(now + 60, "http://portal.example")).unwrap();
        assert_eq!(k.verify(&token, now).unwrap().imp, 7);
        assert_eq!(k.verify(&token, now).unwrap().imp, 7, "remembered");
        assert_eq!(keys().verify(&token, now), Err(TokenRejected::UnknownKey));
        assert_eq!(k.verify(&token, now + 61), Err(TokenRejected::Expired), "remembered, then expired");
        let other_issuer = k.sign(&claims(now + 60, "http://evil.example")).unwrap();
        assert_eq!(k.verify(&other_issuer, now), Err(TokenRejected::WrongAudience));
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let forged = serde_json::to_vec(&claims(now + 3600, "http://portal.example")).unwrap();
        parts[1] = URL_SAFE_NO_PAD.encode(forged);
        assert_eq!(k.verify(&parts.join("."), now), Err(TokenRejected::BadSignature));
        assert_eq!(k.verify("not a token", now), Err(TokenRejected::Malformed));
    }

    #[test]
    fn nodes_starting_together_share_the_first_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token.key");
        let kids: Vec<String> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || TokenKeys::load_or_create(&path, "i").unwrap().signing_kid().to_string())
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        assert!(kids.iter().all(|k| k == &kids[0]), "{kids:?}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("token.key")], "no temporary file is left behind");
    }

    #[test]
    fn key_files_are_checked() {
        assert!(TokenKeys::parse("", "x").is_err());
        assert!(TokenKeys::parse("ed25519 abc c2VjcmV0", "x").is_err());
        let k = Key::new();
        let wrong_kid = k.line().replacen(&k.kid, "AAAAAAAAAAAAAAAA", 1);
        assert!(TokenKeys::parse(&wrong_kid, "x").is_err());
        let retired_first = Key { until: Some(1), ..Key::new() };
        assert!(TokenKeys::parse(&file_text(&[retired_first]), "x").is_err());
    }

    #[test]
    fn rotation_keeps_the_old_key_served_until_its_tokens_expire() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token.key");
        let first = keygen(&path).unwrap();
        assert!(keygen(&path).is_err(), "keygen never overwrites");
        let before = TokenKeys::load_or_create(&path, "i").unwrap();
        let now = crate::domain::now();
        let token = before.sign(&claims(now + 600, "i")).unwrap();
        let (second, retired) = rotate(&path, now).unwrap();
        assert_eq!(retired, first);
        let after = TokenKeys::load_or_create(&path, "i").unwrap();
        assert_eq!(after.signing_kid(), second);
        assert!(after.verify(&token, now).is_ok(), "a token of the retired key still verifies");
        assert_eq!(after.jwks()["keys"].as_array().unwrap().len(), 2);
        // Long after: the retired key is dropped at the next rotation.
        rotate(&path, now + RETIRED_KEY_LIFETIME + 1).unwrap();
        let later = TokenKeys::load_or_create(&path, "i").unwrap();
        assert_eq!(later.keys.len(), 2, "the newest and the one just retired");
        assert!(later.keys.iter().all(|k| k.kid != first));
    }
}
