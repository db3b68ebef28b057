//! Who wrote or did something, said the same way on every page: a write made through Login as
//! Client names the staff member, "on your behalf" to the client and "via Login as Client" to staff.

use crate::store::portal::Reply;
use maud::{html, Markup};

/// Who wrote or did something: staff from their own side, or the client, possibly through a
/// staff member using Login as Client.
#[derive(Debug, Clone, Copy)]
pub enum Who<'a> {
    /// A staff member on the admin side, named when known.
    Staff(Option<&'a str>),
    /// The client; `actor` is the staff member who acted for them through Login as Client.
    Client { actor: Option<&'a str> },
}

impl<'a> Who<'a> {
    /// The author of a ticket reply or task comment (`author_kind` is `staff` or `client`).
    pub fn of_reply(r: &'a Reply) -> Self {
        if r.author_kind == "staff" {
            Who::Staff(r.author_staff_name.as_deref())
        } else {
            Who::Client { actor: r.actor_staff_name.as_deref() }
        }
    }

    /// As the client reads it: "Sam (support)" with `team` = ("Support", "support") naming staff
    /// without a name, or `you` ("You") followed by " (by Alice Admin on your behalf)".
    pub fn portal(self, you: &str, team: (&str, &str)) -> Markup {
        match self {
            Who::Staff(name) => html! { (name.unwrap_or(team.0)) " (" (team.1) ")" },
            Who::Client { actor } => html! { (you) (on_your_behalf(actor)) },
        }
    }

    /// As staff read it: "Sam (staff)", or "Jane Smith (by Alice Admin via Login as Client)".
    pub fn admin(self, client_name: &str) -> Markup {
        match self {
            Who::Staff(name) => html! { (name.unwrap_or("Staff")) " (staff)" },
            Who::Client { actor } => html! { (client_name) (via_login_as_client(actor)) },
        }
    }
}

/// Staff of the client's support desk, for [`Who::portal`].
pub const SUPPORT: (&str, &str) = ("Support", "support");
/// Staff of the agency doing the client's tasks, for [`Who::portal`].
pub const AGENCY: (&str, &str) = ("The agency", "agency");

/// " (by Alice Admin on your behalf)" when a staff member acted for the client, else nothing.
pub fn on_your_behalf(actor: Option<&str>) -> Markup {
    html! { @if let Some(a) = actor { span.actor { " (by " (a) " on your behalf)" } } }
}

/// " (by Alice Admin via Login as Client)" when a staff member acted for the client, else nothing.
pub fn via_login_as_client(actor: Option<&str>) -> Markup {
    html! { @if let Some(a) = actor { span.actor { " (by " (a) " via Login as Client)" } } }
}

/// Who wrote a ticket reply, as the client sees it.
pub fn reply_author_portal(r: &Reply) -> Markup {
    Who::of_reply(r).portal("You", SUPPORT)
}

/// Who wrote a ticket reply or task comment, as staff see it.
pub fn reply_author_admin(client_name: &str, r: &Reply) -> Markup {
    Who::of_reply(r).admin(client_name)
}
