//! Signed checkpoints of the activity log: Ed25519 keys and notes in the C2SP signed-note and
//! tlog-checkpoint text formats, so standard tools can read them.
//!
//! - Private key file: `PRIVATE+KEY+<name>+<key id, 8 hex>+<base64(0x01 || 32-byte seed)>`.
//! - Public key file: `<name>+<key id, 8 hex>+<base64(0x01 || 32-byte public key)>`.
//! - The key id is the first 4 bytes of SHA-256(`<name>` `\n` 0x01 public key).
//! - A checkpoint is the body `<origin>\n<size>\n<base64(head hash)>\n`, a blank line, and one
//!   line per signature, `— <name> <base64(key id || 64-byte signature of the body)>`.
//! - A checkpoints file holds notes one after another, each followed by a blank line.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::io::BufRead;

/// The origin line of checkpoints when none is configured.
pub const DEFAULT_ORIGIN: &str = "behalf activity log";
/// The key name `keygen` uses when none is given.
pub const DEFAULT_KEY_NAME: &str = "behalf-audit";

const ALG_ED25519: u8 = 1;
const SIG_PREFIX: &str = "\u{2014} ";

/// A key name must be non-empty and hold no `+` and no whitespace (signed-note rules).
pub fn check_key_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 200 || name.chars().any(|c| c == '+' || c.is_whitespace() || c.is_control()) {
        return Err(format!("'{name}' is not a key name: use letters, digits and punctuation other than '+'"));
    }
    Ok(())
}

fn key_id(name: &str, public: &VerifyingKey) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(public.as_bytes());
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Splits `name+id+key` and checks the name and the id's form; returns the name, id and key bytes.
fn split_key<'a>(text: &'a str, what: &str) -> Result<(&'a str, u32, Vec<u8>), String> {
    let bad = |why: &str| format!("not a valid {what}: {why}");
    // The base64 key may itself hold '+': only the first two separate fields.
    let mut parts = text.trim().splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("expected NAME+KEYID+KEY"));
    };
    check_key_name(name).map_err(|e| bad(&e))?;
    if id.len() != 8 {
        return Err(bad("the key id must be 8 hex digits"));
    }
    let id = u32::from_str_radix(id, 16).map_err(|_| bad("the key id must be 8 hex digits"))?;
    let key = B64.decode(key).map_err(|_| bad("the key is not base64"))?;
    if key.len() != 33 || key[0] != ALG_ED25519 {
        return Err(bad("the key is not an Ed25519 key"));
    }
    Ok((name, id, key[1..].to_vec()))
}

/// A private signing key with its name.
#[derive(Clone)]
pub struct PrivateKey {
    pub name: String,
    key: SigningKey,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey").field("name", &self.name).finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// A new random key.
    pub fn generate(name: &str) -> Result<Self, String> {
        check_key_name(name)?;
        Ok(PrivateKey { name: name.to_string(), key: SigningKey::generate(&mut rand::rngs::OsRng) })
    }

    /// Reads the text of a private key file.
    pub fn parse(text: &str) -> Result<Self, String> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or("not a private key: it must start with PRIVATE+KEY+ (make one with `behalf audit keygen`)")?;
        let (name, id, seed) = split_key(rest, "private key")?;
        let seed: [u8; 32] = seed.try_into().map_err(|_| "not a valid private key".to_string())?;
        let key = PrivateKey { name: name.to_string(), key: SigningKey::from_bytes(&seed) };
        if key.public().id != id {
            return Err("not a valid private key: the key id does not match the key".into());
        }
        Ok(key)
    }

    /// The text of the private key file.
    pub fn to_text(&self) -> String {
        let mut bytes = vec![ALG_ED25519];
        bytes.extend_from_slice(self.key.as_bytes());
        format!("PRIVATE+KEY+{}+{:08x}+{}\n", self.name, self.public().id, B64.encode(bytes))
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        let key = self.key.verifying_key();
        PublicKey { name: self.name.clone(), id: key_id(&self.name, &key), key }
    }

    /// Signs a checkpoint: the full note text.
    pub fn sign(&self, c: &Checkpoint) -> String {
        self.sign_text(&c.body())
    }

    fn sign_text(&self, body: &str) -> String {
        let sig = self.key.sign(body.as_bytes());
        let mut bytes = self.public().id.to_be_bytes().to_vec();
        bytes.extend_from_slice(&sig.to_bytes());
        format!("{body}\n{SIG_PREFIX}{} {}\n", self.name, B64.encode(bytes))
    }
}

/// A public key that checks checkpoints (a signed-note verifier key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub name: String,
    pub id: u32,
    key: VerifyingKey,
}

impl PublicKey {
    /// Reads the text of a public key file.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().starts_with("PRIVATE+KEY+") {
            return Err("this is a private key; give the public key (the .pub file)".into());
        }
        let (name, id, key) = split_key(text, "public key")?;
        let bytes: [u8; 32] = key.try_into().map_err(|_| "not a valid public key".to_string())?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| "not a valid public key: not an Ed25519 point")?;
        if key_id(name, &key) != id {
            return Err("not a valid public key: the key id does not match the key".into());
        }
        Ok(PublicKey { name: name.to_string(), id, key })
    }

    /// The text of the public key file.
    pub fn to_text(&self) -> String {
        let mut bytes = vec![ALG_ED25519];
        bytes.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}\n", self.name, self.id, B64.encode(bytes))
    }

    /// Checks that this key signed the note; the note may carry other signatures beside it.
    pub fn verify(&self, note: &Note) -> Result<(), String> {
        let mine = note.signatures.iter().find(|s| s.name == self.name && s.key_id == self.id);
        let Some(sig) = mine else {
            let by: Vec<String> = note.signatures.iter().map(|s| format!("{}+{:08x}", s.name, s.key_id)).collect();
            return Err(format!("it is not signed by key {}+{:08x} (signed by {})", self.name, self.id, by.join(", ")));
        };
        let signature = ed25519_dalek::Signature::from_bytes(&sig.signature);
        self.key
            .verify_strict(note.body.as_bytes(), &signature)
            .map_err(|_| format!("its signature by key {} does not verify: the checkpoint was altered", self.name))
    }
}

/// What a checkpoint says: the log's origin, its number of entries, and the newest entry's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: i64,
    pub head_hash: [u8; 32],
}

impl Checkpoint {
    /// A checkpoint of `size` entries whose newest entry has the hex hash `head_hex`.
    pub fn new(origin: &str, size: i64, head_hex: &str) -> Result<Self, String> {
        if origin.is_empty() || origin.contains('\n') || origin.chars().any(char::is_control) {
            return Err("the checkpoint origin must be one non-empty line".into());
        }
        if size < 1 {
            return Err("the activity log is empty: there is nothing to sign".into());
        }
        let head_hash = hex::decode(head_hex)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| format!("entry {size} has no valid hash"))?;
        Ok(Checkpoint { origin: origin.to_string(), size, head_hash })
    }

    /// The head hash in hex, as the activity table stores it.
    pub fn head_hex(&self) -> String {
        hex::encode(self.head_hash)
    }

    /// The signed text.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, B64.encode(self.head_hash))
    }

    fn parse_body(body: &str) -> Result<Self, String> {
        let mut lines = body.strip_suffix('\n').ok_or("the body does not end with a newline")?.split('\n');
        let (Some(origin), Some(size), Some(hash)) = (lines.next(), lines.next(), lines.next()) else {
            return Err("the body needs an origin, a size and a head hash line".into());
        };
        // Further lines are extensions: signed, kept in `body`, and not interpreted here.
        let size_ok =
            !size.is_empty() && size.bytes().all(|b| b.is_ascii_digit()) && (size == "0" || !size.starts_with('0'));
        let size: i64 = size.parse().ok().filter(|_| size_ok).ok_or_else(|| format!("'{size}' is not a size"))?;
        let hash = B64
            .decode(hash)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or("the head hash is not 32 bytes of base64")?;
        if origin.is_empty() {
            return Err("the origin line is empty".into());
        }
        Ok(Checkpoint { origin: origin.to_string(), size, head_hash: hash })
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: u32,
    pub signature: [u8; 64],
}

/// A parsed signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The exact signed text.
    pub body: String,
    pub checkpoint: Checkpoint,
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a note's text (body, blank line, signature lines). Says what is wrong, never panics.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (body, sigs) = text.split_once("\n\n").ok_or("no blank line between the body and the signatures")?;
        let body = format!("{body}\n");
        let checkpoint = Checkpoint::parse_body(&body)?;
        let sigs = sigs.strip_suffix('\n').ok_or("the signatures do not end with a newline")?;
        let mut signatures = Vec::new();
        for line in sigs.split('\n') {
            let rest = line.strip_prefix(SIG_PREFIX).ok_or_else(|| format!("'{line}' is not a signature line"))?;
            let (name, sig) = rest.split_once(' ').ok_or_else(|| format!("'{line}' is not a signature line"))?;
            check_key_name(name)?;
            let bytes = B64.decode(sig).map_err(|_| format!("the signature of {name} is not base64"))?;
            // Only Ed25519 signatures (4 + 64 bytes) are understood; others are another key's.
            if bytes.len() != 68 {
                continue;
            }
            let mut signature = [0u8; 64];
            signature.copy_from_slice(&bytes[4..]);
            signatures.push(NoteSignature {
                name: name.to_string(),
                key_id: u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
                signature,
            });
        }
        if signatures.is_empty() {
            return Err("the checkpoint carries no Ed25519 signature".into());
        }
        Ok(Note { body, checkpoint, signatures })
    }
}

/// Reads the notes of a checkpoints file one at a time, so memory stays flat however long it is.
pub struct NoteReader<R> {
    lines: std::io::Lines<R>,
    line_no: usize,
}

impl<R: BufRead> NoteReader<R> {
    /// Reads notes from `reader`.
    pub fn new(reader: R) -> Self {
        NoteReader { lines: reader.lines(), line_no: 0 }
    }

    /// The next note's text and the line it starts on, `None` at the end. A note ends at the
    /// first blank line after its signature lines.
    pub fn next_note(&mut self) -> Result<Option<(usize, String)>, String> {
        let mut text = String::new();
        let mut start = 0;
        let mut in_signatures = false;
        loop {
            let line = match self.lines.next() {
                None => break,
                Some(Ok(line)) => line,
                Some(Err(e)) => return Err(format!("line {}: {e}", self.line_no + 1)),
            };
            self.line_no += 1;
            if line.is_empty() {
                if text.is_empty() {
                    continue;
                }
                if in_signatures {
                    return Ok(Some((start, text)));
                }
                in_signatures = true;
                text.push('\n');
                continue;
            }
            if text.is_empty() {
                start = self.line_no;
            }
            text.push_str(&line);
            text.push('\n');
        }
        if text.is_empty() {
            Ok(None)
        } else if in_signatures {
            Ok(Some((start, text)))
        } else {
            Err(format!("line {start}: the last checkpoint has no signature (the file is cut short)"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(size: i64) -> Checkpoint {
        Checkpoint::new(DEFAULT_ORIGIN, size, &"ab".repeat(32)).unwrap()
    }

    #[test]
    fn keys_round_trip_and_bad_keys_say_why() {
        let k = PrivateKey::generate("ops-2025").unwrap();
        let again = PrivateKey::parse(&k.to_text()).unwrap();
        assert_eq!(again.public(), k.public());
        assert_eq!(PublicKey::parse(&k.public().to_text()).unwrap(), k.public());
        assert!(k.public().to_text().starts_with("ops-2025+"));
        assert!(format!("{k:?}").contains("ops-2025") && !format!("{k:?}").contains(&B64.encode(k.key.as_bytes())));

        assert!(PrivateKey::generate("a+b").is_err());
        assert!(PrivateKey::generate("a b").is_err());
        assert!(PrivateKey::generate("").is_err());
        assert!(PrivateKey::parse(&k.public().to_text()).unwrap_err().contains("PRIVATE+KEY+"));
        assert!(PublicKey::parse(&k.to_text()).unwrap_err().contains("private key"));
        assert!(PublicKey::parse("").is_err());
        assert!(PublicKey::parse("x+zz+AAAA").is_err());
        // A renamed key no longer matches its id.
        let renamed = k.public().to_text().replacen("ops-2025", "ops-2026", 1);
        assert!(PublicKey::parse(&renamed).unwrap_err().contains("key id"));
        let cut = &k.to_text()[..40];
        assert!(PrivateKey::parse(cut).is_err());
    }

    #[test]
    fn keys_and_signatures_match_the_signed_note_reference() {
        // The example of golang.org/x/mod/sumdb/note, which C2SP signed-note describes.
        let k = PrivateKey::parse("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
            .unwrap();
        assert_eq!(k.public().to_text(), "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n");
        let text =
            "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
        assert_eq!(
            k.sign_text(text),
            format!("{text}\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")
        );
    }

    #[test]
    fn notes_round_trip_and_verify_only_under_their_key() {
        let k = PrivateKey::generate("a").unwrap();
        let other = PrivateKey::generate("a").unwrap();
        let text = k.sign(&cp(42));
        assert!(text.starts_with("behalf activity log\n42\n"), "{text}");
        assert!(text.contains("\n\n\u{2014} a "), "{text}");
        let note = Note::parse(&text).unwrap();
        assert_eq!(note.checkpoint, cp(42));
        assert_eq!(note.body, cp(42).body());
        k.public().verify(&note).unwrap();
        // Same name, another key: a different id, so "not signed by".
        assert!(other.public().verify(&note).unwrap_err().contains("not signed by key a+"));
        // Signatures are deterministic: the same head signs to the same note.
        assert_eq!(k.sign(&cp(42)), text);

        // Change the size, keep the signature.
        let forged = text.replacen("\n42\n", "\n43\n", 1);
        assert!(k.public().verify(&Note::parse(&forged).unwrap()).unwrap_err().contains("does not verify"));

        // A co-signature by another key beside ours is fine.
        let cosigned = format!("{}{}", text, other.sign(&cp(42)).split_once("\n\n").unwrap().1);
        let note = Note::parse(&cosigned).unwrap();
        assert_eq!(note.signatures.len(), 2);
        k.public().verify(&note).unwrap();
        other.public().verify(&note).unwrap();
    }

    #[test]
    fn malformed_notes_are_refused() {
        let k = PrivateKey::generate("a").unwrap();
        let good = k.sign(&cp(7));
        for bad in [
            "",
            "behalf activity log\n7\n",
            &good.replacen("\n7\n", "\n07\n", 1),
            &good.replacen("\n7\n", "\n-7\n", 1),
            &good.replacen("\n7\n", "\nseven\n", 1),
            &good.replacen("\u{2014}", "-", 1),
            good.trim_end(),
            "behalf activity log\n7\nAAAA\n\n\u{2014} a AAAA\n",
        ] {
            assert!(Note::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Checkpoint::new(DEFAULT_ORIGIN, 0, &"ab".repeat(32)).is_err());
        assert!(Checkpoint::new(DEFAULT_ORIGIN, 1, "xyz").is_err());
        assert!(Checkpoint::new("two\nlines", 1, &"ab".repeat(32)).is_err());
    }

    #[test]
    fn a_file_of_notes_reads_one_note_at_a_time() {
        let k = PrivateKey::generate("a").unwrap();
        let file = format!("{}\n\n{}\n{}", k.sign(&cp(1)), k.sign(&cp(2)), k.sign(&cp(3)));
        let mut r = NoteReader::new(file.as_bytes());
        let mut seen = Vec::new();
        while let Some((line, text)) = r.next_note().unwrap() {
            seen.push((line, Note::parse(&text).unwrap().checkpoint.size));
        }
        assert_eq!(seen, vec![(1, 1), (8, 2), (14, 3)]);
        // A file cut after a body, before its signature, says so.
        let cut = file.rsplit_once("\n\n").unwrap().0;
        let mut r = NoteReader::new(cut.as_bytes());
        assert!(r.next_note().unwrap().is_some() && r.next_note().unwrap().is_some());
        assert!(r.next_note().unwrap_err().contains("line 14"));
    }
}
