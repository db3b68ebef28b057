//! Admin files: a client's shared files in both directions, sharing a file with the client,
//! downloading and deleting (`clients.view` to see, `clients.manage` to share and delete).

use crate::auth::guards::SessionCsrf;
use crate::auth::guards::StaffAuth;
use crate::domain::files::{format_size, Direction};
use crate::domain::format_time;
use crate::domain::permissions::Permission;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::files::FileRow;
use crate::web::admin::impersonation_views::quick_login_for;
use crate::web::extract::{page_number, Id, Query};
use crate::web::forms::{CsrfOnly, FilesQuery, Post};
use crate::web::layout::{admin_page, alert, csrf, pager};
use crate::web::uploads::{
    accept_list, download_response, limits_note, receive_upload, shared_by, storage, UploadFailure,
};
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};

/// Says who shared a file, as staff see it: a Login as Client upload names the staff member.
fn shared_by_admin(f: &FileRow, client_name: &str) -> Markup {
    shared_by(f).admin(client_name)
}

async fn files_page(
    state: &AppState,
    auth: &StaffAuth,
    client_id: i64,
    page: i64,
    notice: Option<&str>,
    error: Option<&str>,
) -> AppResult<Markup> {
    let c = state.store.client(client_id).await?;
    let page = state.store.files(client_id, page, 25).await?;
    let quick = quick_login_for(state, auth, client_id, "/files").await?;
    let manage = auth.grants.has(Permission::ClientsManage);
    Ok(admin_page(
        auth,
        &format!("Files of {}", c.name),
        html! {
            p { a href=(format!("/admin/clients/{client_id}")) { "← " (c.name) } }
            h1 { "Files of " (c.name) }
            (quick)
            @if let Some(n) = notice { p.notice role="status" #files-notice { (n) } }
            @if let Some(e) = error { (alert(e)) }
            @if page.items.is_empty() { p #no-files { "No files have been shared with or by this client." } } @else {
                table #files tabindex="0" {
                    thead { tr { th { "Name" } th { "Direction" } th { "Shared by" } th { "Size" } th { "SHA-256" } th { "Shared" } @if manage { th { "" } } } }
                    tbody { @for f in &page.items {
                        tr id=(format!("file-{}", f.id)) {
                            td { a.download href=(format!("/admin/files/{}/download", f.id)) { (f.name) } }
                            td { @if f.direction() == Direction::ToClient { "to the client" } @else { "from the client" } }
                            td.shared-by { (shared_by_admin(f, &c.name)) }
                            td { (format_size(f.size_bytes)) }
                            td.muted title=(f.sha256) { (f.sha256.get(..12).unwrap_or(&f.sha256)) "…" }
                            td { (format_time(f.created_at)) }
                            @if manage { td {
                                form.inline method="post" action=(format!("/admin/files/{}/delete", f.id)) {
                                    (csrf(&auth.csrf_token))
                                    button.danger type="submit" { "Delete" }
                                }
                            } }
                        }
                    } }
                }
            }
            (pager(&format!("/admin/clients/{client_id}/files"), page.page, page.pages()))
            @if manage {
                h2 { "Share a file with " (c.name) }
                form #upload-form method="post" action=(format!("/admin/clients/{client_id}/files")) enctype="multipart/form-data" {
                    (csrf(&auth.csrf_token))
                    label for="file" { "File" }
                    input #file type="file" name="file" accept=(accept_list()) required;
                    (limits_note())
                    p { button #upload-file type="submit" { "Share with the client" } }
                }
            }
        },
    ))
}

/// `GET /admin/clients/{id}/files`.
pub async fn client_files(
    State(state): State<AppState>,
    auth: StaffAuth,
    Id(id): Id,
    Query(q): Query<FilesQuery>,
) -> AppResult<Markup> {
    auth.require(Permission::ClientsView)?;
    let notice = if q.shared.is_some() {
        Some("The file was shared with the client.")
    } else if q.deleted.is_some() {
        Some("The file was deleted.")
    } else {
        None
    };
    files_page(&state, &auth, id, page_number(&q.page)?, notice, None).await
}

/// `POST /admin/clients/{id}/files` (multipart: `csrf_token` first, then `file`).
pub async fn upload(
    State(state): State<AppState>,
    auth: StaffAuth,
    Id(id): Id,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<Response> {
    auth.require(Permission::ClientsManage)?;
    // An unknown client is refused before any byte of the file is read.
    state.store.client(id).await?;
    let storage = storage(&state);
    let received = match receive_upload(multipart, &storage, |t| auth.check_csrf(t)).await {
        Ok(r) => r,
        Err(UploadFailure::Refused(e)) => return Err(e),
        Err(UploadFailure::Invalid(code, msg)) => {
            return Err(AppError::Page(code, files_page(&state, &auth, id, 1, None, Some(&msg)).await?));
        }
    };
    let file_id = state.store.add_staff_file(&auth.acting, id, &received.new_file()).await?;
    received.stored.keep();
    Ok(Redirect::to(&format!("/admin/clients/{id}/files?shared={file_id}")).into_response())
}

/// `GET /admin/files/{id}/download`.
pub async fn download(State(state): State<AppState>, auth: StaffAuth, Id(id): Id) -> AppResult<Response> {
    auth.require(Permission::ClientsView)?;
    let f = state.store.file(id, None).await?;
    download_response(&state, &f).await
}

/// `POST /admin/files/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: _ }: Post<StaffAuth, CsrfOnly>,
) -> AppResult<Response> {
    auth.require(Permission::ClientsManage)?;
    let (client_id, key) = state.store.delete_file_as_staff(&auth.acting, id).await?;
    storage(&state).remove(&key).await;
    Ok(Redirect::to(&format!("/admin/clients/{client_id}/files?deleted=1")).into_response())
}
