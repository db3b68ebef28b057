//! Rules for shared files: upload size limit, the type allow-list, display-name sanitising and
//! the download headers. No disk, no SQL, no HTTP types.

/// Largest file accepted, in bytes (25 MiB).
pub const MAX_UPLOAD_BYTES: u64 = 25 * 1024 * 1024;

/// Longest stored display name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Longest extension kept when a long name is shortened.
const MAX_EXT_CHARS: usize = 16;

/// Who shared a file with whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Staff shared it with the client (admin side).
    ToClient,
    /// The client (or staff acting as the client) shared it with staff.
    FromClient,
}

impl Direction {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ToClient => "to_client",
            Direction::FromClient => "from_client",
        }
    }

    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Direction> {
        match s {
            "to_client" => Some(Direction::ToClient),
            "from_client" => Some(Direction::FromClient),
            _ => None,
        }
    }
}

/// One allowed type: extensions, the content type stored and served, and other declared types
/// that browsers and operating systems commonly send for it.
struct AllowedType {
    extensions: &'static [&'static str],
    content_type: &'static str,
    also_declared_as: &'static [&'static str],
}

const ALLOWED: &[AllowedType] = &[
    AllowedType { extensions: &["pdf"], content_type: "application/pdf", also_declared_as: &["application/x-pdf"] },
    AllowedType { extensions: &["png"], content_type: "image/png", also_declared_as: &[] },
    AllowedType {
        extensions: &["jpg", "jpeg"],
        content_type: "image/jpeg",
        also_declared_as: &["image/pjpeg", "image/jpg"],
    },
    AllowedType { extensions: &["gif"], content_type: "image/gif", also_declared_as: &[] },
    AllowedType { extensions: &["txt", "log"], content_type: "text/plain", also_declared_as: &[] },
    AllowedType {
        extensions: &["csv"],
        content_type: "text/csv",
        also_declared_as: &["text/plain", "application/csv", "application/vnd.ms-excel", "text/x-csv"],
    },
    AllowedType {
        extensions: &["zip"],
        content_type: "application/zip",
        also_declared_as: &["application/x-zip-compressed", "application/x-zip", "multipart/x-zip"],
    },
    AllowedType {
        extensions: &["docx"],
        content_type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        also_declared_as: &["application/zip"],
    },
    AllowedType {
        extensions: &["xlsx"],
        content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        also_declared_as: &["application/zip"],
    },
];

/// The extensions accepted, for messages and the upload form's `accept` attribute.
pub fn allowed_extensions() -> Vec<&'static str> {
    ALLOWED.iter().flat_map(|t| t.extensions.iter().copied()).collect()
}

/// Why a file's type was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeRefusal {
    /// The extension is not on the allow-list.
    Extension,
    /// The declared content type contradicts the extension.
    Mismatch(String),
}

impl TypeRefusal {
    /// What the person reads.
    pub fn message(&self) -> String {
        let list = allowed_extensions().join(", ");
        match self {
            TypeRefusal::Extension => format!("This type of file cannot be shared. Allowed types: {list}."),
            TypeRefusal::Mismatch(declared) => {
                format!("The file says it is {declared}, which does not match its name. Allowed types: {list}.")
            }
        }
    }
}

/// Checks a (sanitised) name and the declared content type against the allow-list and returns
/// the content type to store. The stored type always comes from the list, never from the upload,
/// so a file can never be served as HTML or script.
pub fn check_type(name: &str, declared: Option<&str>) -> Result<&'static str, TypeRefusal> {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).ok_or(TypeRefusal::Extension)?;
    let t = ALLOWED.iter().find(|t| t.extensions.contains(&ext.as_str())).ok_or(TypeRefusal::Extension)?;
    let declared = declared.map(|d| d.split(';').next().unwrap_or("").trim().to_ascii_lowercase()).unwrap_or_default();
    let generic = declared.is_empty() || declared == "application/octet-stream";
    if generic || declared == t.content_type || t.also_declared_as.contains(&declared.as_str()) {
        Ok(t.content_type)
    } else {
        Err(TypeRefusal::Mismatch(declared.chars().take(100).collect()))
    }
}

/// Characters that reorder or hide text (bidirectional overrides and marks, zero-width marks):
/// used to make `evil<U+202E>txt.exe` look like `evilexe.txt`.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// The display name kept for an uploaded file: only the last path segment (so `../` and `..\`
/// lead nowhere), without control or invisible formatting characters, without leading or trailing
/// dots and spaces, at most `MAX_NAME_CHARS` characters with the extension kept; `file` if
/// nothing is left. The name is only ever shown and sent back; storage uses a random key.
pub fn sanitize_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last.chars().filter(|c| !c.is_control() && !is_invisible_format(*c)).collect();
    let trimmed = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    if trimmed.is_empty() {
        return "file".to_string();
    }
    if trimmed.chars().count() <= MAX_NAME_CHARS {
        return trimmed.to_string();
    }
    match trimmed.rsplit_once('.') {
        Some((stem, ext)) if !ext.is_empty() && ext.chars().count() <= MAX_EXT_CHARS => {
            let keep = MAX_NAME_CHARS - ext.chars().count() - 1;
            let stem: String = stem.chars().take(keep).collect();
            format!("{}.{ext}", stem.trim_end_matches(|c: char| c == '.' || c.is_whitespace()))
        }
        _ => trimmed.chars().take(MAX_NAME_CHARS).collect(),
    }
}

/// The `Content-Disposition` value for downloading `name`: always an attachment, with an ASCII
/// fallback `filename` and the exact name as RFC 5987 `filename*` when it is not plain ASCII.
pub fn content_disposition(name: &str) -> String {
    let fallback: String = name.chars().map(|c| if header_safe(c) { c } else { '_' }).collect();
    let plain = name.chars().all(header_safe);
    if plain {
        format!("attachment; filename=\"{fallback}\"")
    } else {
        format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{}", rfc5987(name))
    }
}

/// Characters kept as they are inside a quoted `filename`.
fn header_safe(c: char) -> bool {
    c == ' ' || (c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '%'))
}

/// Percent-encodes everything but RFC 5987 `attr-char`.
fn rfc5987(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether a storage key has the shape this product generates (`[0-9a-f]{32}`, or a demo key),
/// checked before a key is joined to the files directory.
pub fn is_storage_key(key: &str) -> bool {
    let random = key.len() == 32 && key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    random || demo_file(key).is_some()
}

/// Human size such as `12.3 KB`.
pub fn format_size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b < 1000.0 {
        format!("{bytes} B")
    } else if b < 1_000_000.0 {
        format!("{:.1} KB", b / 1000.0)
    } else {
        format!("{:.1} MB", b / 1_000_000.0)
    }
}

/// A demo file: display name, content type, direction and bytes.
pub struct DemoFile {
    pub name: &'static str,
    pub content_type: &'static str,
    pub direction: Direction,
    pub bytes: &'static [u8],
}

/// The demo files every full-set demo client has. Their rows are seeded with the demo data and
/// their bytes written to the files directory the first time they are downloaded, so loading the
/// demo writes nothing to disk and works before the directory exists.
pub const DEMO_FILES: &[DemoFile] = &[
    DemoFile {
        name: "Welcome pack.pdf",
        content_type: "application/pdf",
        direction: Direction::ToClient,
        bytes: b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >> endobj\n4 0 obj << /Length 60 >> stream\nBT /F1 24 Tf 72 700 Td (Welcome to Behalf Hosting) Tj ET\nendstream endobj\n5 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    },
    DemoFile {
        name: "server-access-notes.txt",
        content_type: "text/plain",
        direction: Direction::FromClient,
        bytes: b"Notes for support\n\nSFTP works from the office but not from home.\nThe site is example-site.example.net; the error started last Tuesday.\n",
    },
];

/// The storage key of demo file `n` of a client.
pub fn demo_key(client_id: i64, n: usize) -> String {
    format!("demo-{client_id}-{n}")
}

/// The demo file a demo storage key stands for.
pub fn demo_file(key: &str) -> Option<&'static DemoFile> {
    let rest = key.strip_prefix("demo-")?;
    let (client, n) = rest.split_once('-')?;
    client.parse::<u64>().ok()?;
    DEMO_FILES.get(n.parse::<usize>().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_directories_and_control_characters() {
        assert_eq!(sanitize_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_name("..\\..\\windows\\win.ini"), "win.ini");
        assert_eq!(sanitize_name("a\0b.txt"), "ab.txt");
        assert_eq!(sanitize_name("line\r\nbreak.txt"), "linebreak.txt");
        assert_eq!(sanitize_name("evil\u{202E}txt.exe"), "eviltxt.exe");
        assert_eq!(sanitize_name(".."), "file");
        assert_eq!(sanitize_name("../"), "file");
        assert_eq!(sanitize_name(""), "file");
        assert_eq!(sanitize_name("  .hidden.txt. "), "hidden.txt");
        assert_eq!(sanitize_name("Résumé 2024.pdf"), "Résumé 2024.pdf");
    }

    #[test]
    fn long_names_keep_their_extension() {
        let long = format!("{}.pdf", "x".repeat(5000));
        let s = sanitize_name(&long);
        assert_eq!(s.chars().count(), MAX_NAME_CHARS);
        assert!(s.ends_with(".pdf"));
        let no_ext = "y".repeat(300);
        assert_eq!(sanitize_name(&no_ext).chars().count(), MAX_NAME_CHARS);
    }

    #[test]
    fn types_come_from_the_allow_list() {
        assert_eq!(check_type("a.PDF", Some("application/pdf")), Ok("application/pdf"));
        assert_eq!(check_type("a.txt", None), Ok("text/plain"));
        assert_eq!(check_type("a.csv", Some("application/vnd.ms-excel")), Ok("text/csv"));
        assert_eq!(check_type("a.png", Some("application/octet-stream")), Ok("image/png"));
        assert_eq!(check_type("a.exe", None), Err(TypeRefusal::Extension));
        assert_eq!(check_type("noext", None), Err(TypeRefusal::Extension));
        assert_eq!(check_type("a.html", Some("text/html")), Err(TypeRefusal::Extension));
        assert_eq!(check_type("a.png", Some("text/html")), Err(TypeRefusal::Mismatch("text/html".into())));
    }

    #[test]
    fn disposition_is_always_an_attachment_and_encodes_unicode() {
        assert_eq!(content_disposition("report.pdf"), "attachment; filename=\"report.pdf\"");
        assert_eq!(
            content_disposition("Résumé \"1\".pdf"),
            "attachment; filename=\"R_sum_ _1_.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%221%22.pdf"
        );
    }

    #[test]
    fn storage_keys_are_checked() {
        assert!(is_storage_key("0123456789abcdef0123456789abcdef"));
        assert!(is_storage_key(&demo_key(7, 1)));
        assert!(!is_storage_key("../etc/passwd"));
        assert!(!is_storage_key("demo-1-9"));
        assert!(!is_storage_key("0123456789ABCDEF0123456789ABCDEF"));
        assert_eq!(Direction::parse("to_client"), Some(Direction::ToClient));
        assert_eq!(format_size(1500), "1.5 KB");
    }
}
