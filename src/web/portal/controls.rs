//! Write controls on portal pages. One rule decides, from who is acting and the kind of write a
//! form makes, whether its controls are live or disabled and which note explains why: the same
//! `Acting::authorize` the handler applies on submit, so a page never offers what the server
//! refuses. The server keeps refusing on its own; this only makes the page honest.

use crate::auth::guards::PortalAuth;
use crate::domain::acting::{WriteKind, WriteRefusal};
use crate::web::layout::csrf;
use maud::{html, Markup};

/// Why a form's controls are disabled for this session, if they are.
fn refusal(auth: &PortalAuth, kind: WriteKind) -> Option<WriteRefusal> {
    auth.acting.authorize(kind).err()
}

/// The short note beside a disabled form, or `None` when its controls are live.
pub fn note(auth: &PortalAuth, kind: WriteKind) -> Option<String> {
    refusal(auth, kind).map(|r| r.control_note(&auth.acting.client_name))
}

/// The inside of a write form: its CSRF field, its controls in a fieldset that is `disabled` when
/// this session may not make this kind of write, and then the note saying why.
pub fn controls(auth: &PortalAuth, kind: WriteKind, inner: Markup) -> Markup {
    let note = note(auth, kind);
    html! {
        (csrf(&auth.csrf_token))
        fieldset.controls disabled[note.is_some()] { (inner) }
        @if let Some(n) = &note { span.control-note { (n) } }
    }
}

/// The inside of a small form repeated on every row of a table (remove, delete, quantity): as
/// [`controls`], but the note is the fieldset's title; put [`page_note`] once above the table.
pub fn row_controls(auth: &PortalAuth, kind: WriteKind, inner: Markup) -> Markup {
    let note = note(auth, kind);
    html! {
        (csrf(&auth.csrf_token))
        fieldset.controls disabled[note.is_some()] title=[note.as_deref()] { (inner) }
    }
}

/// The note once for a page whose row forms use [`row_controls`]; nothing when they are live.
pub fn page_note(auth: &PortalAuth, kind: WriteKind) -> Markup {
    html! { @if let Some(n) = note(auth, kind) { p.control-note { (n) } } }
}
