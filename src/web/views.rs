//! Page pieces both sides show: invoice and order lines, prices, and task status and completion.

use crate::domain::format_money;
use crate::store::portal::{Invoice, InvoiceLine};
use crate::store::shop::{OrderDetail, OrderLine};
use crate::store::subscriptions::Subscription;
use crate::store::tasks::Task;
use crate::web::attribution::Who;
use maud::{html, Markup};
/// The lines table of an invoice or order with its total; `table_id` and `total_id` are the
/// element ids the pages (and tests) look for.
pub(crate) fn lines_table(
    lines: &[InvoiceLine],
    currency: &str,
    total_cents: i64,
    table_id: Option<&str>,
    total_id: &str,
) -> Markup {
    html! {
        table.lines id=[table_id] tabindex="0" { thead { tr { th { "Description" } th { "Qty" } th { "Unit" } th { "Amount" } } }
            tbody { @for l in lines { tr { td { (l.description) } td { (l.quantity) } td { (format_money(l.unit_cents, currency)) } td { (format_money(l.amount_cents, currency)) } } } }
            tfoot { tr { th colspan="3" { "Total" } th id=(total_id) { (format_money(total_cents, currency)) } } } }
    }
}

/// The lines table of an invoice, shared by the portal and admin pages.
pub fn invoice_lines(inv: &Invoice, lines: &[InvoiceLine]) -> Markup {
    lines_table(lines, &inv.currency, inv.total_cents, None, "invoice-total")
}

/// The lines table of an order, shared by the portal and admin pages.
pub fn order_lines(o: &OrderDetail, lines: &[OrderLine]) -> Markup {
    lines_table(lines, &o.currency, o.total_cents, Some("order-lines"), "order-total")
}

/// "4.99 USD / monthly".
pub fn price_label(s: &Subscription) -> String {
    format!("{} / {}", format_money(s.price_cents, &s.currency), interval_label(&s.billing_interval))
}

/// Who completed a task (None while it is not), the staff member acting for the client named.
pub fn completed_by(t: &Task) -> Option<Who<'_>> {
    let name = t.completed_by_staff_name.as_deref();
    t.completed_by_kind.as_deref().map(|kind| match kind {
        "client" => Who::Client { actor: name },
        _ => Who::Staff(name),
    })
}

/// A status as people read it.
pub fn status_label(status: &str) -> &str {
    match status {
        "open" => "open",
        "in_progress" => "in progress",
        "done" => "done",
        other => other,
    }
}

fn interval_label(interval: &str) -> &str {
    match interval {
        "monthly" => "month",
        "yearly" => "year",
        other => other,
    }
}
