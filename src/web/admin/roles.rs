//! Roles and what each may do: the permission matrix and adding a role.

use crate::auth::guards::StaffAuth;
use crate::domain::permissions::{Permission, SUPER_ADMIN};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::people::Role;
use crate::store::StoreError;
use crate::web::forms::Post;
use crate::web::layout::{admin_page, alert, csrf};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

fn roles_page(auth: &StaffAuth, roles: &[Role], message: Option<&str>) -> Markup {
    admin_page(
        auth,
        "Roles",
        html! {
            h1 { "Roles and permissions" }
            @if let Some(m) = message { (alert(m)) }
            p.muted { "super_admin always holds every permission. Changes apply from each staff member's next request; staff who lose clients.impersonate are returned from Login as Client at once." }
            form #roles-form method="post" action="/admin/roles" {
                (csrf(&auth.csrf_token))
                table #roles tabindex="0" {
                    thead { tr { th { "Permission" } @for r in roles { th { (r.name) } } } }
                    tbody {
                        @for p in Permission::ALL {
                            tr {
                                td { code { (p.as_str()) } }
                                @for r in roles {
                                    td {
                                        input type="checkbox" name="grant" value=(format!("{}:{}", r.id, p.as_str()))
                                            id=(format!("grant-{}-{}", r.name, p.as_str().replace('.', "-")))
                                            checked[r.grants.has(p)]
                                            disabled[r.name == SUPER_ADMIN];
                                    }
                                }
                            }
                        }
                    }
                }
                p { button #save-roles type="submit" { "Save permissions" } }
            }
            h2 { "New role" }
            form.actions method="post" action="/admin/roles/new" {
                (csrf(&auth.csrf_token))
                div { label for="role-name" { "Name" } input #role-name type="text" name="name" maxlength="40" required; }
                button #add-role type="submit" { "Add role" }
            }
        },
    )
}

/// `GET /admin/roles`.
pub async fn roles(State(state): State<AppState>, auth: StaffAuth) -> AppResult<Markup> {
    auth.require(Permission::StaffManage)?;
    Ok(roles_page(&auth, &state.store.list_roles().await?, None))
}

/// `POST /admin/roles`: the whole matrix; super_admin is never reduced, whatever is sent.
pub async fn save_roles(
    State(state): State<AppState>,
    Post { auth, form: fields }: Post<StaffAuth, Vec<(String, String)>>,
) -> AppResult<Response> {
    auth.require(Permission::StaffManage)?;
    let roles = state.store.list_roles().await?;
    let mut grants: Vec<(i64, Permission)> = Vec::new();
    for (k, v) in &fields {
        if k != "grant" {
            continue;
        }
        let parsed = v.split_once(':').and_then(|(r, p)| Some((r.parse::<i64>().ok()?, Permission::parse(p)?)));
        match parsed {
            Some((role, p)) if roles.iter().any(|r| r.id == role) => grants.push((role, p)),
            _ => {
                return Err(AppError::Status(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("Unknown role or permission '{}'.", v.chars().take(60).collect::<String>()),
                ))
            }
        }
    }
    for role in roles.iter().filter(|r| r.name != SUPER_ADMIN) {
        let perms: Vec<&str> = grants.iter().filter(|(r, _)| *r == role.id).map(|(_, p)| p.as_str()).collect();
        state.store.set_role_permissions(role.id, &perms, &auth.acting).await?;
    }
    Ok(Redirect::to("/admin/roles").into_response())
}

/// The new-role form.
#[derive(Debug, Deserialize)]
pub struct NewRoleForm {
    #[serde(default)]
    name: String,
}

/// `POST /admin/roles/new`.
pub async fn add_role(
    State(state): State<AppState>,
    Post { auth, form: f }: Post<StaffAuth, NewRoleForm>,
) -> AppResult<Response> {
    auth.require(Permission::StaffManage)?;
    let name = f.name.trim().to_lowercase();
    let valid = (2..=40).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    let problem = if !valid {
        Some("A role name has 2 to 40 characters: lower-case letters, digits and _.".to_string())
    } else {
        match state.store.add_role(&name, &auth.acting).await {
            Ok(_) => None,
            Err(StoreError::Conflict(c)) => Some(c.to_string()),
            Err(e) => return Err(e.into()),
        }
    };
    match problem {
        None => Ok(Redirect::to("/admin/roles").into_response()),
        Some(m) => Err(AppError::Page(
            StatusCode::UNPROCESSABLE_ENTITY,
            roles_page(&auth, &state.store.list_roles().await?, Some(&m)),
        )),
    }
}
