//! The shape of the code, checked: layers import only downward, sibling files form no circle, and the route table matches its reviewed snapshot (method, path and the guard each route needs).

use crate::support::{TestApp, JANE};
use reqwest::StatusCode;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules of `src/`, lowest layer first. A module may import its own files and
/// modules of a lower layer, never one of its own layer or above.
const LAYERS: &[&[&str]] = &[
    // Pure rules and types: nothing of ours.
    &["domain"],
    // What the process is started with.
    &["config"],
    // Connections, file bytes on disk, and the token signing keys.
    &["db", "files", "tokens"],
    // All SQL.
    &["store"],
    // What runs beside the store: mail delivery, audit signing; the state handlers share; the
    // document shell errors render into.
    &["mailer", "audit", "webhooks", "state", "page"],
    // Errors as HTTP answers.
    &["error"],
    // Sessions, cookies, CSRF and the guards.
    &["auth"],
    // Handlers, one file per feature.
    &["web"],
    // The route table.
    &["router"],
    // The process: accept loop, server, command line.
    &["listener"],
    &["app"],
    &["cli", "lib", "main"],
];

/// Modules under `web` that are features of one side and so must not import each other.
const SIDES: &[&str] = &["admin", "portal", "api"];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file: `src/web/admin/mod.rs` is `["web", "admin"]`, `src/lib.rs` is `["lib"]`.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src_dir()).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// One `crate::…` (or `super::…`) path found in a file, outside comments and the test module.
struct Import {
    line: usize,
    target: Vec<String>,
}

/// Every path into our own crate that `file` names, resolved to the module it points at (the
/// longest prefix that is a file of ours).
fn imports(file: &Path, modules: &BTreeSet<Vec<String>>) -> Vec<Import> {
    let text = std::fs::read_to_string(file).unwrap();
    let me = module_of(file);
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with("#[cfg(test)]") {
            break;
        }
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        for (prefix, base) in [("crate::", Vec::new()), ("super::", parent_of(&me))] {
            let mut rest = code;
            while let Some(i) = rest.find(prefix) {
                let before = rest[..i].chars().last();
                rest = &rest[i + prefix.len()..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                let mut path = base.clone();
                path.extend(
                    rest.split("::")
                        .map(|seg| seg.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>())
                        .take_while(|seg| !seg.is_empty()),
                );
                while !path.is_empty() && !modules.contains(&path) {
                    path.pop();
                }
                if !path.is_empty() && path != me {
                    found.push(Import { line: n + 1, target: path });
                }
            }
        }
    }
    found
}

/// What `super` names inside module `me` (the same for `a/b.rs` and `a/b/mod.rs`).
fn parent_of(me: &[String]) -> Vec<String> {
    me[..me.len().saturating_sub(1)].to_vec()
}

fn layer_of(top: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&top))
        .unwrap_or_else(|| panic!("src/{top} is in no layer: add it to LAYERS in tests/it/architecture.rs"))
}

fn all_imports() -> Vec<(PathBuf, Vec<String>, Import)> {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    files.sort();
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(f)).collect();
    let mut out = Vec::new();
    for f in &files {
        let me = module_of(f);
        for i in imports(f, &modules) {
            out.push((f.clone(), me.clone(), i));
        }
    }
    out
}

fn shown(file: &Path) -> String {
    file.strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap().display().to_string()
}

#[test]
fn layers_import_only_downward() {
    let mut wrong = Vec::new();
    for (file, me, import) in all_imports() {
        let (from, to) = (me.first().map(String::as_str).unwrap_or("lib"), import.target[0].as_str());
        if from == to {
            // Inside `web`, the admin side and the portal side share only `web`'s own modules.
            if from == "web" && me.len() > 1 && import.target.len() > 1 {
                let (a, b) = (me[1].as_str(), import.target[1].as_str());
                if a != b && SIDES.contains(&a) && SIDES.contains(&b) {
                    wrong.push(format!(
                        "{}:{}: web::{a} imports web::{b}; move what both need into a shared web module",
                        shown(&file),
                        import.line
                    ));
                }
            }
            continue;
        }
        if layer_of(to) >= layer_of(from) {
            wrong.push(format!(
                "{}:{}: {from} imports {} against the layers (domain < config < db, files < store < \
                 mailer, audit, state, page < error < auth < web < router < listener < app < cli)",
                shown(&file),
                import.line,
                import.target.join("::")
            ));
        }
    }
    assert!(wrong.is_empty(), "imports against the direction of the layers:\n{}", wrong.join("\n"));
}

#[test]
fn sibling_files_form_no_import_circle() {
    // Files of one folder (not counting its mod.rs, which declares them) may depend on each other
    // only one way round.
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    let mut lines: BTreeMap<(Vec<String>, Vec<String>), (PathBuf, usize)> = BTreeMap::new();
    for (file, me, import) in all_imports() {
        let t = import.target;
        let is_mod_rs = |f: &Path| f.file_name().is_some_and(|n| n == "mod.rs");
        if me.len() == t.len() && me.len() > 1 && me[..me.len() - 1] == t[..t.len() - 1] && !is_mod_rs(&file) {
            graph.entry(me.clone()).or_default().insert(t.clone());
            lines.entry((me, t)).or_insert((file, import.line));
        }
    }
    let mut circles = Vec::new();
    for (a, targets) in &graph {
        for b in targets {
            if a < b && reaches(&graph, b, a) {
                let (fa, la) = &lines[&(a.clone(), b.clone())];
                circles.push(format!("{}:{la}: {} and {} import each other", shown(fa), a.join("::"), b.join("::")));
            }
        }
    }
    assert!(circles.is_empty(), "import circles between sibling files:\n{}", circles.join("\n"));
}

fn reaches(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>, from: &[String], to: &[String]) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_vec()];
    while let Some(n) = todo.pop() {
        if n == to {
            return true;
        }
        if seen.insert(n.clone()) {
            todo.extend(graph.get(&n).into_iter().flatten().cloned());
        }
    }
    false
}

/// Every `.route("PATH", get(..).post(..))` of `src/router.rs`, as (method, path).
pub(crate) fn route_table() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(src_dir().join("router.rs")).unwrap();
    let mut routes = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find(".route(") {
        rest = &rest[i + ".route(".len()..];
        let start = rest.find('"').unwrap() + 1;
        let end = start + rest[start..].find('"').unwrap();
        let path = rest[start..end].to_string();
        // The method router runs to the parenthesis that closes `.route(`.
        let mut depth = 1;
        let mut close = end;
        for (k, c) in rest[end..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                close = end + k;
                break;
            }
        }
        let expr = &rest[end + 1..close];
        for method in ["get", "post", "put", "patch", "delete"] {
            let needle = format!("{method}(");
            let mut from = 0;
            while let Some(k) = expr[from..].find(&needle) {
                let at = from + k;
                let before = expr[..at].trim_end().chars().last();
                if before.is_none_or(|c| c == '.' || c == ',') {
                    routes.push((method.to_uppercase(), path.clone()));
                }
                from = at + needle.len();
            }
        }
    }
    routes
}

/// What a route asks of a visitor with no session, which is the guard it sits behind.
fn guard(status: StatusCode, location: Option<&str>) -> String {
    match (status, location) {
        (StatusCode::SEE_OTHER, Some(l)) if l.starts_with("/admin/login") => "staff session".into(),
        (StatusCode::SEE_OTHER, Some(l)) if l.starts_with("/login") => "client session".into(),
        (s, _) => format!("public ({})", s.as_u16()),
    }
}

#[tokio::test]
async fn the_route_table_matches_its_snapshot() {
    let app = TestApp::spawn().await;
    let mut lines = Vec::new();
    for (method, path) in route_table() {
        // Path parameters get an id of a demo row; the guard answers before the row is read.
        let url = path.replace("{id}", "1").replace("{product_id}", "1");
        let mut browser = app.browser();
        let page = match method.as_str() {
            "GET" => browser.get(&url).await,
            _ => browser.post_raw(&url, &[("csrf_token", "")]).await,
        };
        lines.push(format!("{method:<6} {path:<48} {}", guard(page.status, page.location())));
    }
    let got = lines.join("\n") + "\n";
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/routes.snapshot");
    let want = std::fs::read_to_string(&file).unwrap_or_default();
    if got != want {
        if std::env::var_os("BEHALF_UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&file, &got).unwrap();
            return;
        }
        std::fs::write(file.with_extension("snapshot.new"), &got).unwrap();
        panic!(
            "the route table changed; review tests/it/routes.snapshot.new and, if it is right, run \
             BEHALF_UPDATE_SNAPSHOTS=1 cargo test --test it architecture to accept it.\nnow:\n{got}"
        );
    }
}

/// Routes whose POST is not an ordinary form post, and what they answer a signed-in session
/// with a wrong token instead of 403.
const NOT_PLAIN_FORMS: &[(&str, &str)] = &[
    // Sign-in forms carry the pre-session token of their own cookie, checked by the sign-in flow.
    ("/admin/login", "sign-in"),
    ("/login", "sign-in"),
    // The second sign-in step needs a half-signed-in session, which a full one is not.
    ("/admin/login/2fa", "half session"),
    ("/admin/login/2fa/cancel", "half session"),
    // Uploads are multipart: the token is the first part, checked before the file is read.
    ("/files", "multipart"),
    ("/admin/clients/{id}/files", "multipart"),
];

/// Routes that take no cookie at all: the API and its OAuth endpoints authenticate with a bearer
/// token in `Authorization`, which a browser never sends on its own, so a cross-site form cannot
/// ride on them (`api::a_portal_cookie_opens_no_api_route` checks a cookie opens nothing there).
const BEARER_PREFIXES: &[&str] = &["/api/", "/oauth/"];

#[tokio::test]
async fn every_post_checks_the_csrf_token_of_its_session() {
    let app = TestApp::spawn().await;
    let mut staff = app.staff("superadmin@example.com").await;
    let mut client = app.client("jane@example.com").await;
    let mut unchecked = Vec::new();
    for (method, path) in route_table() {
        if method != "POST"
            || NOT_PLAIN_FORMS.iter().any(|(p, _)| *p == path)
            || BEARER_PREFIXES.iter().any(|p| path.starts_with(p))
        {
            continue;
        }
        let url = path.replace("{id}", "1").replace("{product_id}", "1");
        let browser = if path.starts_with("/admin") { &mut staff } else { &mut client };
        let page = browser.post_raw(&url, &[("csrf_token", "not-the-session-token")]).await;
        if page.status != StatusCode::FORBIDDEN {
            unchecked.push(format!("POST {path}: {}", page.status));
        }
    }
    assert!(unchecked.is_empty(), "posts that a wrong CSRF token did not stop:\n{}", unchecked.join("\n"));
    // And the sessions used are alive: the check refused the token, not a missing session.
    assert_eq!(staff.get("/admin").await.status, StatusCode::OK);
    assert_eq!(client.get("/dashboard").await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_multipart_uploads_check_the_csrf_token_too() {
    let app = TestApp::spawn().await;
    let staff = app.staff("superadmin@example.com").await;
    let client = app.client("jane@example.com").await;
    let boundary = "behalf-architecture";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nnot-the-session-token\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"note.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n"
    );
    for (browser, path) in [(&client, "/files".to_string()), (&staff, format!("/admin/clients/{JANE}/files"))] {
        let r = browser
            .http
            .post(format!("{}{path}", browser.base))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "POST {path}");
    }
}
