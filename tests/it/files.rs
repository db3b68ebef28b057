//! Shared files: streaming upload and download, limits, type allow-list, path tricks, isolation,
//! Login as Client attribution and refusal, and interrupted uploads leaving nothing behind.

use crate::support::*;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

const MAX: usize = 25 * 1024 * 1024;
const BOUNDARY: &str = "----behalf-test-boundary-7d1f";

/// The files directory of a test app.
fn files_dir(app: &TestApp) -> PathBuf {
    app.files_dir.clone()
}

/// Names of everything in the files directory (none if it does not exist yet).
fn on_disk(app: &TestApp) -> Vec<String> {
    match std::fs::read_dir(files_dir(app)) {
        Ok(rd) => rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    }
}

/// A multipart body: the CSRF token first (if given), then the file part.
fn body(token: Option<&str>, name: &str, content_type: Option<&str>, bytes: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    if let Some(t) = token {
        b.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{t}\r\n").as_bytes(),
        );
    }
    b.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"").as_bytes(),
    );
    b.extend_from_slice(name.as_bytes());
    b.extend_from_slice(b"\"\r\n");
    if let Some(ct) = content_type {
        b.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
    }
    b.extend_from_slice(b"\r\n");
    b.extend_from_slice(bytes);
    b.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    b
}

/// Posts a raw multipart body with this browser's cookies.
async fn post_multipart(b: &Browser, path: &str, body: Vec<u8>) -> Result<Page, reqwest::Error> {
    let r = b
        .http
        .post(format!("{}{path}", b.base))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(body)
        .send()
        .await?;
    let status = r.status();
    let headers = r.headers().clone();
    let body = r.text().await?;
    assert!(status.as_u16() < 500, "server error {status}: {body}");
    Ok(Page { status, headers, body })
}

/// Uploads a file from `page` (whose CSRF token is used) to `path`.
async fn upload(b: &mut Browser, page: &str, path: &str, name: &str, ct: Option<&str>, bytes: &[u8]) -> Page {
    let token = b.get(page).await.csrf().expect("a CSRF token on the page");
    post_multipart(b, path, body(Some(&token), name, ct, bytes)).await.unwrap()
}

/// Downloads raw bytes with headers.
async fn download(b: &Browser, path: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let r = b.http.get(format!("{}{path}", b.base)).send().await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.unwrap().to_vec())
}

fn pseudo_random(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn new_id(p: &Page) -> i64 {
    let loc = p.location().unwrap_or_else(|| panic!("a redirect, got {}: {}", p.status, p.body));
    loc.rsplit('=').next().unwrap().parse().unwrap()
}

async fn count_files(app: &TestApp) -> i64 {
    app.count(Table::Files).await
}

/// How many activity entries the files group holds.
async fn files_entries(app: &TestApp) -> usize {
    app.activity_in_group("files").await.len()
}

#[tokio::test]
async fn upload_and_download_round_trip_both_ways() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let bytes = pseudo_random(300_000);
    let p = upload(&mut jane, "/files", "/files", "Quarterly report.pdf", Some("application/pdf"), &bytes).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let id = new_id(&p);
    let row = app.file(id).await.expect("the file's row");
    let sha = hex::encode(Sha256::digest(&bytes));
    assert_eq!(
        (row.client_id, row.direction.as_str(), row.name.as_str(), row.content_type.as_str()),
        (JANE, "from_client", "Quarterly report.pdf", "application/pdf")
    );
    assert_eq!((row.size_bytes, row.sha256.as_str(), row.actor_staff_id), (300000, sha.as_str(), None));
    // The bytes sit under a random key, never under the client's name; no temporary file is left.
    let key = row.storage_key;
    assert_eq!(key.len(), 32);
    assert_eq!(on_disk(&app), vec![key.clone()]);
    assert_eq!(std::fs::read(files_dir(&app).join(&key)).unwrap(), bytes);

    let list = jane.get("/files?shared=1").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.has("files-notice"));
    let row_text = list.text_of(&format!("file-{id}")).unwrap();
    assert!(row_text.contains("Quarterly report.pdf") && row_text.contains("You"), "{row_text}");
    assert!(!row_text.contains("on your behalf"), "{row_text}");

    let (status, headers, got) = download(&jane, &format!("/files/{id}/download")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, bytes, "identical bytes");
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(headers["content-length"], "300000");
    assert_eq!(headers["content-disposition"], "attachment; filename=\"Quarterly report.pdf\"");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let target = format!("file #{id}");
    assert_eq!(
        app.activity_rows("Shared a file with staff")
            .await
            .iter()
            .filter(|r| r.group == "files" && r.actor_kind == "client" && r.target == target)
            .count(),
        1
    );

    // Staff see it on the client's files page and download the same bytes.
    let mut admin = app.staff("admin@example.com").await;
    let page = admin.get(&format!("/admin/clients/{JANE}/files")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Quarterly report.pdf"));
    assert!(page.body.contains("login-as-client"), "the Login as Client button is on the page");
    let (status, _, got) = download(&admin, &format!("/admin/files/{id}/download")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, bytes);

    // Staff share a file with Jane; she sees who shared it, downloads it, and cannot delete it.
    let csv = b"date,amount\n2024-01-01,12.00\n".to_vec();
    let files_page = format!("/admin/clients/{JANE}/files");
    let p = upload(&mut admin, &files_page, &files_page, "statement.csv", Some("text/csv"), &csv).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let staff_file = new_id(&p);
    let shared = app.file(staff_file).await.expect("the shared file's row");
    assert_eq!(shared.direction, "to_client");
    assert_eq!(shared.uploaded_by_staff_id, Some(app.staff_id("admin@example.com").await));
    let list = jane.get("/files").await;
    assert!(list.text_of(&format!("file-{staff_file}")).unwrap().contains("Alice Admin (support)"));
    let (status, headers, got) = download(&jane, &format!("/files/{staff_file}/download")).await;
    assert_eq!((status, got), (StatusCode::OK, csv));
    assert_eq!(headers["content-type"], "text/csv");
    assert_eq!(jane.portal_post(&format!("/files/{staff_file}/delete"), &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(count_files(&app).await, 2 + 2 * 4, "two uploads beside the demo files");

    // Jane deletes her own file: the row and the bytes go, and the deletion is recorded.
    let p = jane.portal_post(&format!("/files/{id}/delete"), &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(app.file(id).await.is_none());
    assert!(!on_disk(&app).contains(&key));
    assert_eq!(app.activity_count_of("Deleted a shared file").await, 1);
    assert_eq!(download(&jane, &format!("/files/{id}/download")).await.0, StatusCode::NOT_FOUND);

    // Staff may delete any file of the client.
    let token = admin.get(&files_page).await.csrf().unwrap();
    let p = admin.post_raw(&format!("/admin/files/{staff_file}/delete"), &[("csrf_token", token.as_str())]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(app.file(staff_file).await.is_none());
    assert!(on_disk(&app).is_empty(), "{:?}", on_disk(&app));
}

#[tokio::test]
async fn demo_files_download_before_the_directory_exists() {
    let app = TestApp::spawn().await;
    assert!(!files_dir(&app).exists(), "loading the demo writes nothing to disk");
    let mut jane = app.client("jane@example.com").await;
    let list = jane.get("/files").await;
    assert!(list.body.contains("Welcome pack.pdf") && list.body.contains("server-access-notes.txt"));
    let pack = app.files().await.into_iter().find(|f| f.client_id == JANE && f.name == "Welcome pack.pdf");
    let pack = pack.expect("the demo's welcome pack");
    let id = pack.id;
    let (status, headers, got) = download(&jane, &format!("/files/{id}/download")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(got.starts_with(b"%PDF-"));
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(hex::encode(Sha256::digest(&got)), pack.sha256, "the stored hash matches the bytes served");
    assert_eq!(on_disk(&app), vec![format!("demo-{JANE}-0")]);
    // A second download serves the same file from disk.
    assert_eq!(download(&jane, &format!("/files/{id}/download")).await.2, got);
}

#[tokio::test]
async fn over_the_limit_is_413_and_leaves_nothing() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let before = count_files(&app).await;
    let big = vec![b'a'; MAX + 200 * 1024];
    let p = upload(&mut jane, "/files", "/files", "big.txt", Some("text/plain"), &big).await;
    assert_eq!(p.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(p.body.contains("too large"), "{}", p.body);
    assert!(p.has("upload-form"), "the page offers the form again");
    // Exactly at the limit is accepted.
    let exact = vec![b'b'; MAX];
    let p = upload(&mut jane, "/files", "/files", "exact.txt", Some("text/plain"), &exact).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let id = new_id(&p);
    assert_eq!(app.file(id).await.map(|f| f.size_bytes), Some(MAX as i64));
    app.forget_file(id).await;
    let kept = on_disk(&app);
    assert_eq!(kept.len(), 1);
    std::fs::remove_file(files_dir(&app).join(&kept[0])).unwrap();
    // Far beyond the route's body limit: refused (413, or the connection is cut), nothing kept.
    let huge = vec![b'c'; MAX + 5 * 1024 * 1024];
    let token = jane.get("/files").await.csrf().unwrap();
    if let Ok(p) = post_multipart(&jane, "/files", body(Some(&token), "huge.txt", Some("text/plain"), &huge)).await {
        assert_eq!(p.status, StatusCode::PAYLOAD_TOO_LARGE);
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(count_files(&app).await, before);
    assert_eq!(files_entries(&app).await, 1, "only the accepted one");
    assert!(on_disk(&app).is_empty(), "{:?}", on_disk(&app));
}

#[tokio::test]
async fn bad_types_and_bad_forms_are_refused_and_store_nothing() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let before = count_files(&app).await;
    for (name, ct, code) in [
        ("setup.exe", Some("application/x-msdownload"), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("page.html", Some("text/html"), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("picture.png", Some("text/html"), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("no-extension", None, StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("../../etc/passwd", None, StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("", Some("text/plain"), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let p = upload(&mut jane, "/files", "/files", name, ct, b"<script>alert(1)</script>").await;
        assert_eq!(p.status, code, "{name}");
        assert!(p.body.contains("class=\"message\""), "{name} explains itself");
    }
    let p = upload(&mut jane, "/files", "/files", "empty.txt", Some("text/plain"), b"").await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("The file is empty."));
    // A form without a file part, and a body that is not multipart at all.
    let token = jane.get("/files").await.csrf().unwrap();
    let only_token = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n--{BOUNDARY}--\r\n"
    );
    let p = post_multipart(&jane, "/files", only_token.into_bytes()).await.unwrap();
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("Choose a file"));
    let p = jane.post_raw("/files", &[("csrf_token", token.as_str())]).await;
    assert_eq!(p.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // CSRF: missing, wrong, or after the file (it must come first) is refused before the file is read.
    for b in [
        body(None, "a.txt", Some("text/plain"), b"hello"),
        body(Some("not-the-token"), "a.txt", Some("text/plain"), b"hello"),
    ] {
        assert_eq!(post_multipart(&jane, "/files", b).await.unwrap().status, StatusCode::FORBIDDEN);
    }
    let mut late = body(None, "a.txt", Some("text/plain"), b"hello");
    late.truncate(late.len() - format!("--{BOUNDARY}--\r\n").len());
    late.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n--{BOUNDARY}--\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(post_multipart(&jane, "/files", late).await.unwrap().status, StatusCode::FORBIDDEN);
    assert_eq!(count_files(&app).await, before);
    assert!(on_disk(&app).is_empty(), "{:?}", on_disk(&app));
}

#[tokio::test]
async fn path_tricks_are_neutralised_and_downloads_still_work() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let long = format!("{}.pdf", "n".repeat(5000));
    for (raw, stored) in [
        ("../../etc/passwd.txt", "passwd.txt".to_string()),
        ("..\\..\\windows\\win.ini.txt", "win.ini.txt".to_string()),
        ("/abs/path/.hidden.csv", "hidden.csv".to_string()),
        ("Résumé 2024.pdf", "Résumé 2024.pdf".to_string()),
        (long.as_str(), format!("{}.pdf", "n".repeat(196))),
    ] {
        let ct = if raw.ends_with(".csv") {
            "text/csv"
        } else if raw.ends_with(".pdf") {
            "application/pdf"
        } else {
            "text/plain"
        };
        let p = upload(&mut jane, "/files", "/files", raw, Some(ct), raw.as_bytes()).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{raw}: {}", p.body);
        let id = new_id(&p);
        assert_eq!(app.file(id).await.expect("the file's row").name, stored);
        let (status, headers, got) = download(&jane, &format!("/files/{id}/download")).await;
        assert_eq!(status, StatusCode::OK, "{raw}");
        assert_eq!(got, raw.as_bytes());
        let cd = headers["content-disposition"].to_str().unwrap();
        assert!(cd.starts_with("attachment; filename=\""), "{cd}");
        assert!(!cd.contains('/') && !cd.contains('\\'), "{cd}");
        if raw.starts_with("Résumé") {
            assert!(cd.contains("filename*=UTF-8''R%C3%A9sum%C3%A9%202024.pdf"), "{cd}");
        }
    }
    // A NUL in the name: either the multipart parser refuses it, or it is stripped.
    let token = jane.get("/files").await.csrf().unwrap();
    let before = count_files(&app).await;
    let p = post_multipart(&jane, "/files", body(Some(&token), "a\0b.txt", Some("text/plain"), b"nul")).await.unwrap();
    if p.status == StatusCode::SEE_OTHER {
        assert_eq!(app.file(new_id(&p)).await.map(|f| f.name).as_deref(), Some("ab.txt"));
    } else {
        assert_eq!(p.status, StatusCode::BAD_REQUEST);
        assert_eq!(count_files(&app).await, before);
    }
    // Nothing was written outside the files directory, and every stored key is random.
    let parent = files_dir(&app).parent().unwrap().to_path_buf();
    for e in std::fs::read_dir(&parent).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        // The token signing key the test app keeps beside its database.
        assert!(n.starts_with("behalf.db") || n == "behalf-files" || n == "token.key", "unexpected {n}");
    }
    for name in on_disk(&app) {
        assert!(name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
    }
}

#[tokio::test]
async fn other_clients_files_hidden_module_and_bad_ids() {
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let p = upload(&mut jane, "/files", "/files", "mine.txt", Some("text/plain"), b"jane only").await;
    let id = new_id(&p);
    let mut bob = app.client("bob@example.com").await;
    assert_eq!(bob.get("/files").await.status, StatusCode::OK);
    assert!(!bob.get("/files").await.body.contains("mine.txt"));
    let (status, _, got) = download(&bob, &format!("/files/{id}/download")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another client's file is the same as a missing one");
    assert!(!String::from_utf8_lossy(&got).contains("jane only"));
    assert_eq!(bob.portal_post(&format!("/files/{id}/delete"), &[]).await.status, StatusCode::NOT_FOUND);
    assert!(app.file(id).await.is_some());
    for (path, code) in [
        ("/files/abc/download", StatusCode::BAD_REQUEST),
        ("/files/-1/download", StatusCode::BAD_REQUEST),
        ("/files/99999999999999999999999/download", StatusCode::BAD_REQUEST),
        ("/files/999999/download", StatusCode::NOT_FOUND),
        ("/files/..%2F..%2Fetc%2Fpasswd/download", StatusCode::BAD_REQUEST),
        ("/files?page=abc", StatusCode::BAD_REQUEST),
    ] {
        let p = bob.get(path).await;
        assert_eq!(p.status, code, "{path}");
        assert!(p.body.contains("class=\"message\""), "{path}");
    }
    let mut admin = app.staff("admin@example.com").await;
    assert_eq!(admin.get("/admin/files/999999/download").await.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.get("/admin/clients/999999/files").await.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.get("/admin/files/x/download").await.status, StatusCode::BAD_REQUEST);

    // Hidden module: pages, downloads and uploads answer 404 and store nothing.
    app.hide_modules(JANE, "files").await;
    assert_eq!(jane.get("/files").await.status, StatusCode::NOT_FOUND);
    assert_eq!(download(&jane, &format!("/files/{id}/download")).await.0, StatusCode::NOT_FOUND);
    let token = jane.get("/dashboard").await.csrf().unwrap();
    let before = count_files(&app).await;
    let p = post_multipart(&jane, "/files", body(Some(&token), "x.txt", Some("text/plain"), b"x")).await.unwrap();
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert_eq!(count_files(&app).await, before);
}

#[tokio::test]
async fn login_as_client_full_mode_records_the_actor() {
    let app = TestApp::spawn().await;
    let mut admin = app.staff("admin@example.com").await;
    admin.impersonate(JANE, &[("mode", "full"), ("reason", "Upload the logs for the client")]).await;
    let page = admin.get("/files").await;
    assert!(page.has("impersonation-banner"));
    let p = upload(&mut admin, "/files", "/files", "server.log", Some("text/plain"), b"log lines").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let id = new_id(&p);
    let imp = app.latest_impersonation().await.id;
    let alice = app.staff_id("admin@example.com").await;
    let row = app.file(id).await.expect("the file's row");
    assert_eq!((row.client_id, row.direction.as_str()), (JANE, "from_client"));
    assert_eq!((row.actor_staff_id, row.impersonation_id, row.uploaded_by_staff_id), (Some(alice), Some(imp), None));
    assert_eq!(
        app.activity_rows("Shared a file with staff")
            .await
            .iter()
            .filter(|r| r.group == "files"
                && r.actor_staff_id == Some(alice)
                && r.impersonation_id == Some(imp)
                && r.subject_client_id == Some(JANE))
            .count(),
        1
    );
    // The download is the file itself: no page, so no banner.
    let (status, _, got) = download(&admin, &format!("/files/{id}/download")).await;
    assert_eq!((status, got.as_slice()), (StatusCode::OK, &b"log lines"[..]));
    assert!(admin
        .get("/files")
        .await
        .text_of(&format!("file-{id}"))
        .unwrap()
        .contains("(by Alice Admin on your behalf)"));
    admin.return_to_admin().await;
    let staff_view = admin.get(&format!("/admin/clients/{JANE}/files")).await;
    assert!(
        staff_view.text_of(&format!("file-{id}")).unwrap().contains("Jane Smith (by Alice Admin via Login as Client)"),
        "{}",
        staff_view.body
    );
    let log = admin.get("/admin/activity?group=files").await;
    assert!(log.body.contains("Jane Smith (by Alice Admin via Login as Client)"));
    let mut jane = app.client("jane@example.com").await;
    assert!(jane
        .get("/files")
        .await
        .text_of(&format!("file-{id}"))
        .unwrap()
        .contains("(by Alice Admin on your behalf)"));
}

#[tokio::test]
async fn read_only_mode_and_missing_permissions_refuse_and_store_nothing() {
    let app = TestApp::spawn().await;
    let mut manager = app.staff("manager@example.com").await;
    manager.impersonate(JANE, &[]).await;
    let before = (count_files(&app).await, app.activity_count().await);
    let p = upload(&mut manager, "/files", "/files", "x.txt", Some("text/plain"), b"should not land").await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("read-only"));
    assert!(p.has("impersonation-banner"));
    let demo = app.files().await.into_iter().find(|f| f.client_id == JANE && f.direction == "from_client");
    let demo = demo.expect("a demo file Jane shared").id;
    assert_eq!(manager.portal_post(&format!("/files/{demo}/delete"), &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!((count_files(&app).await, app.activity_count().await), before);
    assert!(on_disk(&app).is_empty(), "{:?}", on_disk(&app));

    // Support may look and download but not share or delete.
    let mut support = app.staff("support@example.com").await;
    let files_page = format!("/admin/clients/{JANE}/files");
    let page = support.get(&files_page).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.has("upload-form"));
    assert_eq!(download(&support, &format!("/admin/files/{demo}/download")).await.0, StatusCode::OK);
    let p = upload(&mut support, &files_page, &files_page, "x.txt", Some("text/plain"), b"nope").await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let token = support.get(&files_page).await.csrf().unwrap();
    let p = support.post_raw(&format!("/admin/files/{demo}/delete"), &[("csrf_token", token.as_str())]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(count_files(&app).await, before.0);
    // A signed-out browser is sent to sign in.
    let p = app.browser().get(&format!("/admin/files/{demo}/download")).await;
    assert_eq!(p.location(), Some("/admin/login"));
    assert_eq!(app.browser().get(&format!("/files/{demo}/download")).await.location(), Some("/login"));
}

#[tokio::test]
async fn an_interrupted_upload_leaves_no_file_and_no_row() {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn().await;
    let mut jane = app.client("jane@example.com").await;
    let token = jane.get("/files").await.csrf().unwrap();
    let cookie = jane.cookie("behalf_client").unwrap();
    let before = count_files(&app).await;
    let full = body(Some(&token), "partial.pdf", Some("application/pdf"), &vec![b'z'; 2_000_000]);
    let addr = app.base.strip_prefix("http://").unwrap().to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /files HTTP/1.1\r\nHost: {addr}\r\nCookie: behalf_client={cookie}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        full.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // Send the first megabyte, give the server time to start writing it, then vanish.
    s.write_all(&full[..1_000_000]).await.unwrap();
    s.flush().await.unwrap();
    let mut started = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        if on_disk(&app).iter().any(|n| n.starts_with(".upload-")) {
            started = true;
            break;
        }
    }
    assert!(started, "the upload was being written to a temporary file");
    drop(s);
    let mut clean = false;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        if on_disk(&app).is_empty() {
            clean = true;
            break;
        }
    }
    assert!(clean, "left behind: {:?}", on_disk(&app));
    assert_eq!(count_files(&app).await, before);
    assert_eq!(files_entries(&app).await, 0);
}
