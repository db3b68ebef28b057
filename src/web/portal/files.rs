//! Portal files: the client's list of files shared both ways, uploading a file for staff,
//! downloading and deleting; plus the streaming upload and download shared with the admin side.

use crate::auth::guards::PortalAuth;
use crate::auth::guards::SessionCsrf;
use crate::domain::acting::WriteKind;
use crate::domain::files::{format_size, Direction};
use crate::domain::format_time;
use crate::domain::modules::Module;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::files::FileRow;
use crate::web::attribution::SUPPORT;
use crate::web::extract::{page_number, Id, Query};
use crate::web::forms::{CsrfOnly, FilesQuery, Post};
use crate::web::layout::{alert, pager, portal_page};
use crate::web::portal::authorize;
use crate::web::portal::controls::{controls, page_note, row_controls};
use crate::web::uploads::{
    accept_list, download_response, limits_note, receive_upload, shared_by, storage, UploadFailure,
};
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};

/// Says who shared a file, as the client sees it: staff acting for them are named.
fn shared_by_portal(f: &FileRow) -> Markup {
    shared_by(f).portal("You", SUPPORT)
}

async fn files_page(
    state: &AppState,
    auth: &PortalAuth,
    page: i64,
    notice: Option<&str>,
    error: Option<&str>,
) -> AppResult<Markup> {
    let page = state.store.files(auth.acting.client_id, page, 25).await?;
    Ok(portal_page(
        auth,
        "Files",
        html! {
            h1 { "Files" }
            p { "Files your support team shared with you, and files you shared with them." }
            @if let Some(n) = notice { p.notice role="status" #files-notice { (n) } }
            @if let Some(e) = error { (alert(e)) }
            (page_note(auth, WriteKind::Ordinary))
            @if page.items.is_empty() { p #no-files { "No files have been shared yet." } } @else {
                table #files tabindex="0" {
                    thead { tr { th { "Name" } th { "Shared by" } th { "Size" } th { "Shared" } th { "" } } }
                    tbody { @for f in &page.items {
                        tr id=(format!("file-{}", f.id)) {
                            td { a.download href=(format!("/files/{}/download", f.id)) { (f.name) } }
                            td.shared-by { (shared_by_portal(f)) }
                            td { (format_size(f.size_bytes)) }
                            td { (format_time(f.created_at)) }
                            td { @if f.direction() == Direction::FromClient {
                                form.inline method="post" action=(format!("/files/{}/delete", f.id)) {
                                    (row_controls(auth, WriteKind::Ordinary, html! { button.danger type="submit" { "Delete" } }))
                                }
                            } }
                        }
                    } }
                }
            }
            (pager("/files", page.page, page.pages()))
            h2 { "Share a file with support" }
            form #upload-form method="post" action="/files" enctype="multipart/form-data" {
                (controls(auth, WriteKind::Ordinary, html! {
                    label for="file" { "File" }
                    input #file type="file" name="file" accept=(accept_list()) required;
                    (limits_note())
                    p { button #upload-file type="submit" { "Share file" } }
                }))
            }
        },
    ))
}

/// `GET /files`.
pub async fn list(State(state): State<AppState>, auth: PortalAuth, Query(q): Query<FilesQuery>) -> AppResult<Markup> {
    auth.require_module(Module::Files)?;
    let notice = if q.shared.is_some() {
        Some("Your file was shared with support.")
    } else if q.deleted.is_some() {
        Some("The file was deleted.")
    } else {
        None
    };
    files_page(&state, &auth, page_number(&q.page)?, notice, None).await
}

/// `POST /files` (multipart: `csrf_token` first, then `file`): shares a file with staff.
pub async fn upload(
    State(state): State<AppState>,
    auth: PortalAuth,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<Response> {
    auth.require_module(Module::Files)?;
    let storage = storage(&state);
    let received = match receive_upload(multipart, &storage, |t| {
        auth.check_csrf(t).and_then(|()| authorize(&auth, WriteKind::Ordinary))
    })
    .await
    {
        Ok(r) => r,
        Err(UploadFailure::Refused(e)) => return Err(e),
        Err(UploadFailure::Invalid(code, msg)) => {
            return Err(AppError::Page(code, files_page(&state, &auth, 1, None, Some(&msg)).await?));
        }
    };
    let id = state.store.add_client_file(&auth.acting, &received.new_file()).await?;
    received.stored.keep();
    Ok(Redirect::to(&format!("/files?shared={id}")).into_response())
}

/// `GET /files/{id}/download`: only the acting client's own files; any other id is 404.
pub async fn download(State(state): State<AppState>, auth: PortalAuth, Id(id): Id) -> AppResult<Response> {
    auth.require_module(Module::Files)?;
    let f = state.store.file(id, Some(auth.acting.client_id)).await?;
    download_response(&state, &f).await
}

/// `POST /files/{id}/delete`: the client deletes a file they shared (not one staff shared).
pub async fn delete(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: _ }: Post<PortalAuth, CsrfOnly>,
) -> AppResult<Response> {
    auth.require_module(Module::Files)?;
    authorize(&auth, WriteKind::Ordinary)?;
    let key = state.store.delete_client_file(&auth.acting, id).await?;
    storage(&state).remove(&key).await;
    Ok(Redirect::to("/files?deleted=1").into_response())
}
