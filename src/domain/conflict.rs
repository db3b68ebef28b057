//! Why a write could not be done as asked: the store answers with one of these, and the words a
//! person reads are written here, once, not in the SQL layer.

use super::format_date;
use super::money::{MoneyError, MAX_QUANTITY};
use super::payments::MAX_PAYMENT_METHODS;
use std::fmt;

/// A write refused because of the state it found (answered 409 or 422 with [`Conflict`]'s words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// Taking a client out of its last store.
    ClientNeedsAStore,
    /// A store id that does not exist.
    NoSuchStore(i64),
    /// Adding to a cart line that would then hold more than [`MAX_QUANTITY`].
    CartLineFull { current: i64 },
    /// Checking out an empty cart.
    CartEmpty,
    /// Checking out a product that is no longer sold.
    ProductGone,
    /// A quantity or total the money rules refuse.
    Money(MoneyError),
    /// Resuming a subscription that is not set to cancel.
    NothingToResume,
    /// Resuming a subscription whose period is over.
    EndedCannotResume,
    /// Cancelling a subscription that has ended.
    SubscriptionEnded,
    /// Cancelling a subscription already set to cancel at `on`.
    AlreadyCancelling { on: i64 },
    /// Cancelling a subscription that cannot be cancelled.
    NotCancellable,
    /// The client completing a task that is done or is not theirs to complete.
    TaskNotCompletable,
    /// Staff marking a done task done.
    TaskAlreadyDone,
    /// Staff reopening a task that is not done.
    TaskNotDone,
    /// Retrying a message that was sent meanwhile.
    MailAlreadySent,
    /// Saving a card beyond [`MAX_PAYMENT_METHODS`].
    TooManyPaymentMethods,
    /// Paying an invoice that is paid.
    InvoicePaid { number: String },
    /// Paying an invoice in another state (`void`, …).
    InvoiceNotPayable { number: String, status: String },
    /// Paying an invoice whose total is zero.
    InvoiceNothingToPay { number: String },
    /// Changing to an e-mail address another account has.
    EmailInUse,
    /// Two Login as Client starts for one staff member at the same moment.
    ImpersonationStarting,
    /// Ending a Login as Client session that has ended already.
    ImpersonationEnded,
    /// Adding a role whose name is taken.
    RoleExists { name: String },
    /// Adding a staff member whose e-mail address is taken.
    StaffExists { email: String },
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::ClientNeedsAStore => f.write_str("A client belongs to at least one store."),
            Conflict::NoSuchStore(id) => write!(f, "There is no store #{id}."),
            Conflict::CartLineFull { current } => {
                write!(f, "You already have {current} of this in your cart; a line may hold at most {MAX_QUANTITY}.")
            }
            Conflict::CartEmpty => f.write_str("Your cart is empty: add something from the shop first."),
            Conflict::ProductGone => f.write_str("A product in your cart is no longer sold; remove it and try again."),
            Conflict::Money(e) => f.write_str(&e.message()),
            Conflict::NothingToResume => {
                f.write_str("This subscription is not set to cancel, so there is nothing to resume.")
            }
            Conflict::EndedCannotResume => f.write_str("This subscription has already ended and cannot be resumed."),
            Conflict::SubscriptionEnded => f.write_str("This subscription has already ended."),
            Conflict::AlreadyCancelling { on } => {
                write!(f, "This subscription is already set to cancel on {}.", format_date(*on))
            }
            Conflict::NotCancellable => f.write_str("This subscription cannot be cancelled."),
            Conflict::TaskNotCompletable => f.write_str("This task was already done or cannot be completed here."),
            Conflict::TaskAlreadyDone => f.write_str("This task is already done."),
            Conflict::TaskNotDone => f.write_str("This task is not done, so it cannot be reopened."),
            Conflict::MailAlreadySent => f.write_str("That message has already been sent."),
            Conflict::TooManyPaymentMethods => {
                write!(f, "You can keep at most {MAX_PAYMENT_METHODS} payment methods; remove one first.")
            }
            Conflict::InvoicePaid { number } => write!(f, "Invoice {number} is already paid."),
            Conflict::InvoiceNotPayable { number, status } => {
                write!(f, "Invoice {number} is {status} and cannot be paid.")
            }
            Conflict::InvoiceNothingToPay { number } => write!(f, "Invoice {number} has nothing to pay."),
            Conflict::EmailInUse => f.write_str("That e-mail address is already in use."),
            Conflict::ImpersonationStarting => f.write_str("another Login as Client session is starting; try again"),
            Conflict::ImpersonationEnded => f.write_str("That Login as Client session has already ended."),
            Conflict::RoleExists { name } => write!(f, "a role named {name} already exists"),
            Conflict::StaffExists { email } => write!(f, "a staff member with e-mail {email} already exists"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_carry_their_values() {
        assert_eq!(
            Conflict::CartLineFull { current: 999 }.to_string(),
            format!("You already have 999 of this in your cart; a line may hold at most {MAX_QUANTITY}.")
        );
        assert_eq!(
            Conflict::AlreadyCancelling { on: 86400 }.to_string(),
            "This subscription is already set to cancel on 1970-01-02."
        );
        assert_eq!(
            Conflict::InvoiceNotPayable { number: "INV-7".into(), status: "void".into() }.to_string(),
            "Invoice INV-7 is void and cannot be paid."
        );
        assert_eq!(Conflict::Money(MoneyError::Overflow).to_string(), MoneyError::Overflow.message());
    }
}
