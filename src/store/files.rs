//! Shared files: the rows of files staff and clients share, scoped by client, each written with
//! its activity entry in one transaction. The bytes live on disk (`crate::files`).

use super::activity::NewActivity;
use super::{ClientTable, Page, Store, StoreError, StoreResult, Tx};
use crate::db::query::{from_row, query};
use crate::domain::acting::{Acting, StaffActing};
use crate::domain::activity::ActivityGroup;
use crate::domain::files::{demo_key, Direction, DEMO_FILES};
use sha2::{Digest, Sha256};

/// A shared file with the names needed to say who shared it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct FileRow {
    pub id: i64,
    pub client_id: i64,
    pub direction: String,
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// Where the bytes are on disk: never shown.
    #[serde(skip)]
    pub storage_key: String,
    /// The staff member who shared a `to_client` file from the admin side.
    pub uploaded_by_name: Option<String>,
    /// The staff member who uploaded a `from_client` file through Login as Client.
    pub actor_staff_name: Option<String>,
    pub impersonation_id: Option<i64>,
    pub created_at: i64,
}
from_row!(FileRow {
    id,
    client_id,
    direction,
    name,
    content_type,
    size_bytes,
    sha256,
    storage_key,
    uploaded_by_name,
    actor_staff_name,
    impersonation_id,
    created_at
});

impl FileRow {
    /// Which way the file was shared.
    pub fn direction(&self) -> Direction {
        Direction::parse(&self.direction).unwrap_or(Direction::ToClient)
    }
}

/// What is known about a file once its bytes are on disk.
#[derive(Debug, Clone)]
pub struct NewFile<'a> {
    pub name: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a str,
    pub storage_key: &'a str,
}

const FILE_COLS: &str =
    "SELECT f.id, f.client_id, f.direction, f.name, f.content_type, f.size_bytes, f.sha256, f.storage_key,
        u.name AS uploaded_by_name, x.name AS actor_staff_name, f.impersonation_id, f.created_at
    FROM files f LEFT JOIN staff u ON u.id = f.uploaded_by_staff_id LEFT JOIN staff x ON x.id = f.actor_staff_id";

const FILES: ClientTable =
    ClientTable { select: FILE_COLS, table: "files", client_col: "f.client_id", id_col: "f.id", sort: "f.created_at" };

impl Store {
    /// A client's files, both directions, newest first, paged.
    pub async fn files(&self, client_id: i64, page: i64, per_page: i64) -> StoreResult<Page<FileRow>> {
        self.client_page(&FILES, client_id, page, per_page).await
    }

    /// [`Store::files`] after a cursor's position (the API).
    pub async fn files_after(
        &self,
        client_id: i64,
        after: Option<super::Position>,
        limit: i64,
    ) -> StoreResult<Vec<FileRow>> {
        self.client_slice_where(&FILES, None, client_id, after, limit).await
    }

    /// One file; `client_id` scopes it (None for staff). Another client's file is `NotFound`.
    pub async fn file(&self, id: i64, client_id: Option<i64>) -> StoreResult<FileRow> {
        self.client_row(&FILES, id, client_id).await
    }

    /// Records a file the acting client shared with staff; staff acting through Login as Client
    /// are recorded as the actor. The row and its activity entry commit together.
    pub async fn add_client_file(&self, acting: &Acting, f: &NewFile<'_>) -> StoreResult<i64> {
        self.record(|mut tx| async move {
            let id = insert(
                &mut tx,
                acting.client_id,
                Direction::FromClient,
                f,
                SharedBy { uploaded_by: None, actor: acting.staff_id(), impersonation: acting.impersonation_id() },
                crate::domain::now(),
            )
            .await?;
            let entry = NewActivity::from_acting(
                acting,
                ActivityGroup::Files,
                "Shared a file with staff",
                format!("file #{id}"),
            );
            Ok((tx, id, entry.with_detail(f.name.to_string())))
        })
        .await
    }

    /// Records a file staff shared with a client from the admin side.
    pub async fn add_staff_file(&self, by: &StaffActing, client_id: i64, f: &NewFile<'_>) -> StoreResult<i64> {
        self.record(|mut tx| async move {
            super::client_exists(&mut tx, client_id).await?;
            let id = insert(
                &mut tx,
                client_id,
                Direction::ToClient,
                f,
                SharedBy { uploaded_by: by.staff_id, ..Default::default() },
                crate::domain::now(),
            )
            .await?;
            let entry = staff_entry(by, client_id, "Shared a file with the client", id);
            Ok((tx, id, entry.with_detail(f.name.to_string())))
        })
        .await
    }

    /// Deletes a file the acting client shared with staff; files staff shared, and other
    /// clients' files, are `NotFound`. Returns the storage key, to remove once committed.
    pub async fn delete_client_file(&self, acting: &Acting, id: i64) -> StoreResult<String> {
        self.record(|mut tx| async move {
            let row = query(
                "DELETE FROM files WHERE id = $1 AND client_id = $2 AND direction = 'from_client' RETURNING storage_key, name",
            )
            .bind(id)
            .bind(acting.client_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
            let key: String = row.get(0)?;
            let entry =
                NewActivity::from_acting(acting, ActivityGroup::Files, "Deleted a shared file", format!("file #{id}"));
            Ok((tx, key, entry.with_detail(row.get(1)?)))
        })
        .await
    }

    /// Deletes any file of a client from the admin side. Returns (client id, storage key).
    pub async fn delete_file_as_staff(&self, by: &StaffActing, id: i64) -> StoreResult<(i64, String)> {
        self.record(|mut tx| async move {
            let row = query("DELETE FROM files WHERE id = $1 RETURNING client_id, storage_key, name")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
            let client_id: i64 = row.get(0)?;
            let key: String = row.get(1)?;
            let entry = staff_entry(by, client_id, "Deleted a shared file", id);
            Ok((tx, (client_id, key), entry.with_detail(row.get(2)?)))
        })
        .await
    }
}

fn staff_entry(by: &StaffActing, client_id: i64, action: &'static str, file_id: i64) -> NewActivity {
    NewActivity::by_staff(by, Some(client_id), ActivityGroup::Files, action, format!("file #{file_id}"))
}

/// Who shared a file: staff from the admin side (`uploaded_by`), or the client, with the staff
/// member and impersonation when it was done through Login as Client.
#[derive(Default)]
struct SharedBy {
    uploaded_by: Option<i64>,
    actor: Option<i64>,
    impersonation: Option<i64>,
}

async fn insert(
    tx: &mut Tx,
    client_id: i64,
    direction: Direction,
    f: &NewFile<'_>,
    by: SharedBy,
    at: i64,
) -> StoreResult<i64> {
    Ok(query(
        "INSERT INTO files (client_id, direction, name, content_type, size_bytes, sha256, storage_key,
            uploaded_by_staff_id, actor_staff_id, impersonation_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(client_id)
    .bind(direction.as_str())
    .bind(f.name)
    .bind(f.content_type)
    .bind(f.size_bytes)
    .bind(f.sha256)
    .bind(f.storage_key)
    .bind(by.uploaded_by)
    .bind(by.actor)
    .bind(by.impersonation)
    .bind(at)
    .fetch_scalar(&mut **tx)
    .await?)
}

/// Demo rows for a full-set client: the `DEMO_FILES`, shared by `staff_id` or by the client.
/// Rows only; the bytes are written on first download, so seeding stays fast and needs no directory.
pub(crate) async fn seed_demo_files(
    tx: &mut Tx,
    client_id: i64,
    full_set: bool,
    staff_id: i64,
    now: i64,
) -> StoreResult<()> {
    if !full_set {
        return Ok(());
    }
    for (n, d) in DEMO_FILES.iter().enumerate() {
        let key = demo_key(client_id, n);
        let sha = hex::encode(Sha256::digest(d.bytes));
        let f = NewFile {
            name: d.name,
            content_type: d.content_type,
            size_bytes: d.bytes.len() as i64,
            sha256: &sha,
            storage_key: &key,
        };
        let by =
            SharedBy { uploaded_by: (d.direction == Direction::ToClient).then_some(staff_id), ..Default::default() };
        insert(tx, client_id, d.direction, &f, by, now - 86400 * (10 - 3 * n as i64)).await?;
    }
    Ok(())
}

impl super::Positioned for FileRow {
    fn position(&self) -> super::Position {
        super::Position { at: self.created_at, id: self.id }
    }
}
