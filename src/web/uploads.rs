//! Shared files as both sides handle them: receiving an upload, serving a download, and the notes
//! beside the upload form.

use crate::domain::files::{allowed_extensions, content_disposition, Direction, MAX_UPLOAD_BYTES};
use crate::domain::files::{check_type, sanitize_name};
use crate::error::{AppError, AppResult};
use crate::files::{FileStorage, StoredFile};
use crate::state::AppState;
use crate::store::files::FileRow;
use crate::store::files::NewFile;
use crate::web::attribution::Who;
use axum::body::Body;
use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::Multipart;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use std::time::Duration;

/// Who shared a file: staff sharing it with the client, or the client (perhaps through Login as Client).
pub fn shared_by(f: &FileRow) -> Who<'_> {
    match f.direction() {
        Direction::ToClient => Who::Staff(f.uploaded_by_name.as_deref()),
        Direction::FromClient => Who::Client { actor: f.actor_staff_name.as_deref() },
    }
}

/// A line saying which types and size are accepted.
pub(crate) fn limits_note() -> Markup {
    html! {
        p.muted { "Up to " (MAX_UPLOAD_BYTES / (1024 * 1024)) " MB; allowed types: " (allowed_extensions().join(", ")) "." }
    }
}

/// The `accept` attribute of upload inputs.
pub(crate) fn accept_list() -> String {
    allowed_extensions().iter().map(|e| format!(".{e}")).collect::<Vec<_>>().join(",")
}

/// Streams a stored file from disk as an attachment with its stored type and exact length.
/// No page layout, so no banner (downloads are not pages).
pub(crate) async fn download_response(state: &AppState, f: &FileRow) -> AppResult<Response> {
    let (file, len) = match storage(state).open(&f.storage_key).await {
        Ok(v) => v,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(file = f.id, "a shared file's bytes are missing from the files directory");
            return Err(AppError::not_found());
        }
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024));
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&f.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&content_disposition(&f.name))
            .unwrap_or(HeaderValue::from_static("attachment; filename=\"file\"")),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(r)
}

/// Reads and discards the fields after a refused file (bounded by the route's body limit and a
/// time limit), so the browser reads the 413 page rather than a reset connection.
async fn drain_rest(multipart: &mut Multipart) {
    while let Ok(Some(mut f)) = multipart.next_field().await {
        while let Ok(Some(_)) = f.chunk().await {}
    }
}

async fn read_token(mut field: Field<'_>) -> Option<String> {
    let mut buf = Vec::new();
    while let Ok(Some(chunk)) = field.chunk().await {
        buf.extend_from_slice(&chunk);
        if buf.len() > MAX_TOKEN_BYTES {
            return None;
        }
    }
    String::from_utf8(buf).ok()
}

/// Reads a multipart upload: the first field must be `csrf_token`, checked by `check` before
/// anything else is read; then the `file` field is checked against the allow-list by name and
/// declared type, and streamed to a temporary file (hashed and counted as it goes, never held in
/// memory) that is synced and renamed to a random key. Any failure leaves nothing on disk.
pub(crate) async fn receive_upload(
    multipart: Result<Multipart, MultipartRejection>,
    storage: &FileStorage,
    check: impl FnOnce(&str) -> AppResult<()>,
) -> Result<Received, UploadFailure> {
    let mut multipart = multipart.map_err(|_| {
        invalid(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Files must be sent from the upload form (multipart/form-data).")
    })?;
    let token = match multipart.next_field().await {
        Ok(Some(field)) if field.name() == Some("csrf_token") => read_token(field).await,
        Ok(_) => None,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
        Err(_) => return Err(unreadable()),
    };
    check(token.as_deref().unwrap_or(""))?;
    let mut field = loop {
        match multipart.next_field().await {
            Ok(Some(f)) if f.name() == Some("file") => break f,
            Ok(Some(_)) => continue,
            Ok(None) => return Err(invalid(StatusCode::UNPROCESSABLE_ENTITY, "Choose a file to share.")),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(_) => return Err(unreadable()),
        }
    };
    let raw_name = field.file_name().unwrap_or("").to_string();
    if raw_name.trim().is_empty() {
        return Err(invalid(StatusCode::UNPROCESSABLE_ENTITY, "Choose a file to share."));
    }
    let name = sanitize_name(&raw_name);
    let content_type = check_type(&name, field.content_type())
        .map_err(|r| invalid(StatusCode::UNSUPPORTED_MEDIA_TYPE, r.message()))?;
    let mut pending = storage.begin().await.map_err(|e| AppError::Internal(e.into()))?;
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                if pending.size() + chunk.len() as u64 > MAX_UPLOAD_BYTES {
                    drop(pending);
                    let deadline = tokio::time::Instant::now() + DRAIN_FOR;
                    let _ = tokio::time::timeout_at(
                        deadline,
                        async move { while let Ok(Some(_)) = field.chunk().await {} },
                    )
                    .await;
                    let _ = tokio::time::timeout_at(deadline, drain_rest(&mut multipart)).await;
                    return Err(too_large());
                }
                pending.write(&chunk).await.map_err(|e| AppError::Internal(e.into()))?;
            }
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(_) => return Err(unreadable()),
        }
    }
    if pending.size() == 0 {
        return Err(invalid(StatusCode::UNPROCESSABLE_ENTITY, "The file is empty."));
    }
    let stored = storage.finish(pending).await.map_err(|e| AppError::Internal(e.into()))?;
    Ok(Received { name, content_type, stored })
}

fn unreadable() -> UploadFailure {
    invalid(StatusCode::BAD_REQUEST, "The upload was interrupted or could not be read. Nothing was kept.")
}

fn too_large() -> UploadFailure {
    invalid(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("The file is too large: the limit is {} MB. Nothing was kept.", MAX_UPLOAD_BYTES / (1024 * 1024)),
    )
}

fn invalid(code: StatusCode, msg: impl Into<String>) -> UploadFailure {
    UploadFailure::Invalid(code, msg.into())
}

/// Why an upload did not arrive.
pub(crate) enum UploadFailure {
    /// Refused before reading the file (CSRF, read-only mode) or a server fault: answer as is.
    Refused(AppError),
    /// Bad input: show the upload page again with this status and message.
    Invalid(StatusCode, String),
}

impl From<AppError> for UploadFailure {
    fn from(e: AppError) -> Self {
        UploadFailure::Refused(e)
    }
}

/// A received upload: its sanitised name, allowed content type and the file on disk, which is
/// removed if this is dropped before `stored.keep()`.
pub(crate) struct Received {
    pub name: String,
    pub content_type: &'static str,
    pub stored: StoredFile,
}

impl Received {
    /// The row values.
    pub(crate) fn new_file(&self) -> NewFile<'_> {
        NewFile {
            name: &self.name,
            content_type: self.content_type,
            size_bytes: self.stored.size as i64,
            sha256: &self.stored.sha256,
            storage_key: &self.stored.storage_key,
        }
    }
}

/// The files directory of this server.
pub(crate) fn storage(state: &AppState) -> FileStorage {
    FileStorage::new(state.config.files_dir())
}

/// How long a refused upload's remaining body is read and discarded, so the browser gets the
/// answer instead of a reset connection.
const DRAIN_FOR: Duration = Duration::from_secs(20);

/// Longest CSRF field read before the file.
const MAX_TOKEN_BYTES: usize = 256;

/// The request body limit of the upload routes: the largest file plus room for the CSRF field
/// and the multipart framing. Everything else keeps the router's 1 MiB form limit.
pub const UPLOAD_BODY_LIMIT: usize = MAX_UPLOAD_BYTES as usize + 1024 * 1024;
