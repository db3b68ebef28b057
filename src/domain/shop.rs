//! Shop rules: what a placed order records beside its lines (the notes, who placed it), how its
//! order and invoice are numbered, how a line is described, and when the invoice falls due.

use super::acting::Actor;

/// Note shown to the client on an order placed through Login as Client.
pub const CLIENT_NOTE_BY_STAFF: &str = "Placed by support staff on your behalf";

/// Days between an invoice from checkout and its due date.
pub const PAYMENT_TERM_DAYS: i64 = 14;

/// The notes an order records: one the client reads, one only staff read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderNotes {
    pub client: String,
    pub internal: String,
}

/// The notes of an order placed by `actor`: none when the client placed it themselves.
pub fn order_notes(actor: &Actor) -> OrderNotes {
    match actor {
        Actor::Staff { name, .. } => OrderNotes {
            client: CLIENT_NOTE_BY_STAFF.to_string(),
            internal: format!("Placed by {name} using Login as Client"),
        },
        Actor::Client => OrderNotes { client: String::new(), internal: String::new() },
    }
}

/// Number shown for the order with row id `id` placed at `at`.
pub fn order_number(id: i64, at: i64) -> String {
    document_number("ORD", id, at)
}

/// Number shown for the invoice with row id `id` issued at `at`.
pub fn invoice_number(id: i64, at: i64) -> String {
    document_number("INV", id, at)
}

/// The date and the row id, so a number is unique by construction.
fn document_number(prefix: &str, id: i64, at: i64) -> String {
    format!("{prefix}-{}-{id}", super::format_date(at).replace('-', ""))
}

/// When an invoice issued at `issued_at` falls due.
pub fn invoice_due_at(issued_at: i64) -> i64 {
    issued_at + PAYMENT_TERM_DAYS * 86400
}

/// How an order or invoice line names a product: a recurring one says how often it bills.
pub fn line_description(product_name: &str, billing_interval: &str) -> String {
    match billing_interval {
        "" => product_name.to_string(),
        interval => format!("{product_name} ({interval})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_orders_say_so_and_client_orders_have_no_notes() {
        let staff = Actor::Staff { id: 1, name: "Alice Admin".into() };
        assert_eq!(
            order_notes(&staff),
            OrderNotes {
                client: "Placed by support staff on your behalf".into(),
                internal: "Placed by Alice Admin using Login as Client".into(),
            }
        );
        assert_eq!(order_notes(&Actor::Client), OrderNotes { client: String::new(), internal: String::new() });
    }

    #[test]
    fn numbers_carry_the_date_and_the_row_id() {
        assert_eq!(order_number(42, 86400), "ORD-19700102-42");
        assert_eq!(invoice_number(7, 0), "INV-19700101-7");
    }

    #[test]
    fn invoices_fall_due_after_fourteen_days() {
        assert_eq!(invoice_due_at(1000), 1000 + 14 * 86400);
    }

    #[test]
    fn recurring_products_show_their_interval() {
        assert_eq!(line_description("Hosting M", "monthly"), "Hosting M (monthly)");
        assert_eq!(line_description("Domain", ""), "Domain");
    }
}
