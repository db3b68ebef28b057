//! What people download or pipe out: CSV cells that spreadsheets cannot run as formulas, and the
//! activity log as CSV or JSON Lines (for `behalf export`).

use crate::store::activity::ActivityRow;
use serde::Serialize;

/// Quotes a CSV cell, and defuses spreadsheet formulas.
pub fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// One CSV line (without its line break) from already-formatted cells.
pub fn csv_row<S: AsRef<str>>(cells: &[S]) -> String {
    cells.iter().map(|c| csv_cell(c.as_ref())).collect::<Vec<_>>().join(",")
}

/// The header line of the activity log export.
pub const ACTIVITY_CSV_HEADER: &str =
    "id,at,subject_client_id,actor_kind,actor_staff_id,impersonation_id,group,action,target,detail,ip";

/// One activity entry as a CSV line, in [`ACTIVITY_CSV_HEADER`]'s order.
pub fn activity_csv(r: &ActivityRow) -> String {
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    csv_row(&[
        r.id.to_string(),
        r.at.to_string(),
        opt(r.subject_client_id),
        r.actor_kind.clone(),
        opt(r.actor_staff_id),
        opt(r.impersonation_id),
        r.group.clone(),
        r.action.clone(),
        r.target.clone(),
        r.detail.clone(),
        r.ip.clone(),
    ])
}

/// The fields of one exported activity entry, in the order they are written.
#[derive(Serialize)]
struct ActivityLine<'a> {
    id: i64,
    at: i64,
    subject_client_id: Option<i64>,
    actor_kind: &'a str,
    actor_staff_id: Option<i64>,
    impersonation_id: Option<i64>,
    group: &'a str,
    action: &'a str,
    target: &'a str,
    detail: &'a str,
    ip: &'a str,
}

/// One activity entry as a JSON object on one line.
pub fn activity_json(r: &ActivityRow) -> serde_json::Result<String> {
    serde_json::to_string(&ActivityLine {
        id: r.id,
        at: r.at,
        subject_client_id: r.subject_client_id,
        actor_kind: &r.actor_kind,
        actor_staff_id: r.actor_staff_id,
        impersonation_id: r.impersonation_id,
        group: &r.group,
        action: &r.action,
        target: &r.target,
        detail: &r.detail,
        ip: &r.ip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_row(&["1", "-2"]), "1,'-2");
    }
}
