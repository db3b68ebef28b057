//! The HTML document every response shares: its head, the page for people not signed in, and the
//! one-message page that errors render. It sits below `auth` and `web` so an error can render
//! itself without importing the handlers' layouts.

use axum::http::StatusCode;
use maud::{html, Markup, PreEscaped, DOCTYPE};

/// The document's start and head with the stylesheets; every layout starts with it. The `html`
/// element opens here with the page's language and closes implicitly at the end of the document
/// (HTML allows its end tag to be left out), so each layout need only add its `body`.
pub fn head(title: &str) -> Markup {
    html! {
        (DOCTYPE)
        (PreEscaped("<html lang=\"en\">"))
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Behalf" }
            link rel="stylesheet" href="/static/app.css";
            link rel="stylesheet" href="/static/stores.css";
        }
    }
}

/// A page for people who are not signed in (sign-in forms, errors).
pub fn public_page(title: &str, body: Markup) -> Markup {
    html! {
        (head(title))
        body.public {
            main.narrow { (body) }
        }
    }
}

/// A simple page that shows one message with its status.
pub fn message_page(code: StatusCode, msg: &str) -> Markup {
    public_page(
        code.canonical_reason().unwrap_or("Error"),
        html! {
            h1 { (code.as_u16()) " " (code.canonical_reason().unwrap_or("")) }
            p.message role="alert" { (msg) }
            p { a href="/" { "Home" } }
        },
    )
}
