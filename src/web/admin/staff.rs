//! `/admin/staff` and `/admin/roles` (permission `staff.manage`): staff accounts and the
//! editable roles × permissions matrix. Changes apply from the next request.

use crate::auth::guards::StaffAuth;
use crate::domain::permissions::Permission;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::people::{Role, Staff};
use crate::store::StoreError;
use crate::web::extract::Id;
use crate::web::forms::{CsrfOnly, Post};
use crate::web::layout::{admin_page, alert, csrf};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

/// What the add-staff form held, to show it again.
#[derive(Debug, Deserialize, Default)]
pub struct NewStaffForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

fn staff_page(
    auth: &StaffAuth,
    staff: &[Staff],
    roles: &[Role],
    typed: &NewStaffForm,
    message: Option<&str>,
) -> Markup {
    admin_page(
        auth,
        "Staff",
        html! {
            h1 { "Staff" }
            @if let Some(m) = message { (alert(m)) }
            table #staff tabindex="0" {
                thead { tr { th { "Name" } th { "E-mail" } th { "Role" } th { "Status" } th { span.visually-hidden { "Change" } } } }
                tbody {
                    @for s in staff {
                        tr {
                            td { (s.name) }
                            td { (s.email) }
                            td {
                                form.inline method="post" action=(format!("/admin/staff/{}/role", s.id)) {
                                    (csrf(&auth.csrf_token))
                                    select name="role" aria-label="Role" {
                                        @for r in roles { option value=(r.name) selected[r.id == s.role_id] { (r.name) } }
                                    }
                                    button type="submit" { "Change" }
                                }
                            }
                            td { @if s.active { "active" } @else { "disabled" } }
                            td {
                                @if s.active && s.id != auth.staff.id {
                                    form.inline method="post" action=(format!("/admin/staff/{}/disable", s.id)) {
                                        (csrf(&auth.csrf_token))
                                        button.danger type="submit" { "Disable" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Add a staff member" }
            form #add-staff method="post" action="/admin/staff" {
                (csrf(&auth.csrf_token))
                label for="staff-email" { "E-mail" }
                input #staff-email type="email" name="email" value=(typed.email) required;
                label for="staff-name" { "Name" }
                input #staff-name type="text" name="name" value=(typed.name) maxlength="200" required;
                label for="staff-role" { "Role" }
                select #staff-role name="role" { @for r in roles { option value=(r.name) selected[r.name == typed.role] { (r.name) } } }
                label for="staff-password" { "Password (at least 10 characters)" }
                input #staff-password type="password" name="password" autocomplete="new-password" required;
                p { button #add-staff-button type="submit" { "Add staff member" } }
            }
        },
    )
}

/// `GET /admin/staff`.
pub async fn list(State(state): State<AppState>, auth: StaffAuth) -> AppResult<Markup> {
    auth.require(Permission::StaffManage)?;
    let (staff, roles) = (state.store.list_staff().await?, state.store.list_roles().await?);
    Ok(staff_page(&auth, &staff, &roles, &NewStaffForm::default(), None))
}

/// `POST /admin/staff`: adds a staff member.
pub async fn add(
    State(state): State<AppState>,
    Post { auth, form: f }: Post<StaffAuth, NewStaffForm>,
) -> AppResult<Response> {
    auth.require(Permission::StaffManage)?;
    let email = f.email.trim().to_lowercase();
    let name = f.name.trim();
    let role = state.store.role_id(&f.role).await.ok();
    let problem = if email.len() > 254 || !email.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.'))
    {
        Some("Enter a valid e-mail address.".to_string())
    } else if name.is_empty() || name.chars().count() > 200 {
        Some("The name must have 1 to 200 characters.".to_string())
    } else if role.is_none() {
        Some("Choose one of the roles.".to_string())
    } else if !(10..=200).contains(&f.password.chars().count()) {
        Some("The password must have 10 to 200 characters.".to_string())
    } else {
        None
    };
    let result = match (problem, role) {
        (Some(m), _) => Err(m),
        (None, Some(role_id)) => {
            let hash = crate::auth::hash_password(f.password.clone()).await?;
            match state.store.add_staff(&email, name, &hash, role_id, &auth.acting).await {
                Ok(_) => Ok(()),
                Err(StoreError::Conflict(c)) => Err(c.to_string()),
                Err(e) => return Err(e.into()),
            }
        }
        (None, None) => Err("Choose one of the roles.".to_string()),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/admin/staff").into_response()),
        Err(m) => {
            let (staff, roles) = (state.store.list_staff().await?, state.store.list_roles().await?);
            Err(AppError::Page(StatusCode::UNPROCESSABLE_ENTITY, staff_page(&auth, &staff, &roles, &f, Some(&m))))
        }
    }
}

/// The role-change form.
#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

/// `POST /admin/staff/{id}/role`.
pub async fn set_role(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: f }: Post<StaffAuth, RoleForm>,
) -> AppResult<Response> {
    auth.require(Permission::StaffManage)?;
    let role_id = state
        .store
        .role_id(&f.role)
        .await
        .map_err(|_| AppError::Status(StatusCode::UNPROCESSABLE_ENTITY, "Choose one of the roles.".into()))?;
    if id == auth.staff.id {
        return Err(AppError::Status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "You cannot change your own role; ask another staff manager.".into(),
        ));
    }
    state.store.set_staff_role(id, role_id, &auth.acting).await?;
    Ok(Redirect::to("/admin/staff").into_response())
}

/// `POST /admin/staff/{id}/disable`: ends the member's sessions and Login as Client sessions.
pub async fn disable(
    State(state): State<AppState>,
    Id(id): Id,
    Post { auth, form: _ }: Post<StaffAuth, CsrfOnly>,
) -> AppResult<Response> {
    auth.require(Permission::StaffManage)?;
    if id == auth.staff.id {
        return Err(AppError::Status(StatusCode::UNPROCESSABLE_ENTITY, "You cannot disable your own account.".into()));
    }
    state.store.disable_staff(id, &auth.acting).await?;
    Ok(Redirect::to("/admin/staff").into_response())
}
