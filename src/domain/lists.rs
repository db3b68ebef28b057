//! The status filters of the portal's invoice and ticket lists, as their addresses spell them
//! (`/invoices?status=unpaid`, `/tickets?status=open`), and how a count is worded.

/// A status a list may be filtered by.
pub trait StatusFilter: Copy + Sized + 'static {
    /// Every value, in the order the list page offers them.
    const ALL: &'static [Self];
    /// What the filter is called in a refusal: "invoice status".
    const WHAT: &'static str;

    /// The value as the address spells it.
    fn as_str(self) -> &'static str;

    /// The value of a query's `status`: none or empty is every row; an unknown value is
    /// refused with the sentence to show.
    fn from_query(raw: Option<&str>) -> Result<Option<Self>, String> {
        let raw = raw.map(str::trim).unwrap_or("");
        if raw.is_empty() {
            return Ok(None);
        }
        Self::ALL.iter().copied().find(|f| f.as_str() == raw).map(Some).ok_or_else(|| {
            let known: Vec<&str> = Self::ALL.iter().map(|f| f.as_str()).collect();
            format!("There is no {} \"{raw}\"; use one of: {}.", Self::WHAT, known.join(", "))
        })
    }
}

/// Which invoices a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceStatus {
    Unpaid,
    Paid,
    Cancelled,
}

impl StatusFilter for InvoiceStatus {
    const ALL: &'static [Self] = &[InvoiceStatus::Unpaid, InvoiceStatus::Paid, InvoiceStatus::Cancelled];
    const WHAT: &'static str = "invoice status";

    fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Unpaid => "unpaid",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Cancelled => "cancelled",
        }
    }
}

/// Which tickets a list shows: `open` is every ticket not closed (answered ones included), the
/// same tickets the dashboard counts as open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketStatus {
    Open,
    Closed,
}

impl StatusFilter for TicketStatus {
    const ALL: &'static [Self] = &[TicketStatus::Open, TicketStatus::Closed];
    const WHAT: &'static str = "ticket status";

    fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Open => "open",
            TicketStatus::Closed => "closed",
        }
    }
}

/// The noun for `n` things: `one` for exactly one, `many` otherwise ("1 unpaid invoice",
/// "0 unpaid invoices", "2 unpaid invoices").
pub fn noun<'a>(n: i64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_is_read_from_the_query_or_refused() {
        assert_eq!(InvoiceStatus::from_query(None), Ok(None));
        assert_eq!(InvoiceStatus::from_query(Some("")), Ok(None));
        assert_eq!(InvoiceStatus::from_query(Some("unpaid")), Ok(Some(InvoiceStatus::Unpaid)));
        assert_eq!(TicketStatus::from_query(Some("closed")), Ok(Some(TicketStatus::Closed)));
        let refused = TicketStatus::from_query(Some("lost")).unwrap_err();
        assert_eq!(refused, "There is no ticket status \"lost\"; use one of: open, closed.");
    }

    #[test]
    fn one_is_singular_and_everything_else_plural() {
        assert_eq!(noun(1, "unpaid invoice", "unpaid invoices"), "unpaid invoice");
        assert_eq!(noun(0, "unpaid invoice", "unpaid invoices"), "unpaid invoices");
        assert_eq!(noun(2, "unpaid invoice", "unpaid invoices"), "unpaid invoices");
    }
}
