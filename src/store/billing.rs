//! Billing: paying invoices through a payment provider (one row per attempt, idempotent per
//! form) and the client's saved payment methods (only the last four digits are stored).

use super::activity::{append, NewActivity};
use super::{changed, id_by_key, Store, StoreError, StoreResult, Tx};
use crate::db::query::{from_row, query, query_as};
use crate::domain::acting::Acting;
use crate::domain::activity::ActivityGroup;
use crate::domain::conflict::Conflict;
use crate::domain::payments::MAX_PAYMENT_METHODS;
use crate::domain::payments::{ChargeOutcome, ChargeRequest, ChargeStatus, PaymentProvider};

/// A saved payment method (a test card: provider, label and last four digits only).
#[derive(Debug, Clone)]
pub struct PaymentMethod {
    pub id: i64,
    pub client_id: i64,
    pub provider: String,
    pub label: String,
    pub last4: String,
    pub created_at: i64,
}
from_row!(PaymentMethod { id, client_id, provider, label, last4, created_at });

/// One charge attempt on an invoice, with the name of the staff member who made it, if any.
#[derive(Debug, Clone)]
pub struct Payment {
    pub id: i64,
    pub invoice_id: i64,
    pub provider: String,
    pub amount_cents: i64,
    pub currency: String,
    pub status: String,
    pub provider_reference: String,
    pub message: String,
    pub actor_staff_name: Option<String>,
    pub impersonation_id: Option<i64>,
    pub created_at: i64,
}
from_row!(Payment {
    id,
    invoice_id,
    provider,
    amount_cents,
    currency,
    status,
    provider_reference,
    message,
    actor_staff_name,
    impersonation_id,
    created_at
});

/// What paying an invoice did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayResult {
    /// A new charge attempt was made and recorded.
    Charged { payment_id: i64, outcome: ChargeOutcome },
    /// The form was already submitted: nothing was charged again.
    Existing { payment_id: i64 },
}

/// Longest label of a saved payment method.
pub const MAX_LABEL_CHARS: usize = 60;

impl Store {
    /// The client's saved payment methods, oldest first.
    pub async fn payment_methods(&self, client_id: i64) -> StoreResult<Vec<PaymentMethod>> {
        Ok(query_as(
            "SELECT id, client_id, provider, label, last4, created_at FROM payment_methods WHERE client_id = $1 ORDER BY id",
        )
        .bind(client_id)
        .fetch_all(&self.db)
        .await?)
    }

    /// Saves a payment method for the acting client (a sensitive write: the caller has refused it
    /// during Login as Client). `Conflict` when the client already has the most allowed.
    pub async fn add_payment_method(
        &self,
        acting: &Acting,
        provider: &str,
        label: &str,
        last4: &str,
    ) -> StoreResult<i64> {
        self.record(|mut tx| async move {
            let count: i64 = query("SELECT COUNT(*) FROM payment_methods WHERE client_id = $1")
                .bind(acting.client_id)
                .fetch_scalar(&mut *tx).await?;
            if count >= MAX_PAYMENT_METHODS {
                return Err(StoreError::Conflict(Conflict::TooManyPaymentMethods));
            }
            let id: i64 = query(
                "INSERT INTO payment_methods (client_id, provider, label, last4, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(acting.client_id)
            .bind(provider)
            .bind(label)
            .bind(last4)
            .bind(crate::domain::now())
            .fetch_scalar(&mut *tx).await?;
            let target = format!("payment method #{id}");
            let entry = NewActivity::from_acting(acting, ActivityGroup::Billing, "Saved a payment method", target);
            Ok((tx, id, entry.with_detail(format!("card ending {last4}"))))
        })
        .await
    }

    /// Removes one of the acting client's saved payment methods (sensitive).
    pub async fn delete_payment_method(&self, acting: &Acting, id: i64) -> StoreResult<()> {
        self.change(
            query("DELETE FROM payment_methods WHERE id = $1 AND client_id = $2").bind(id).bind(acting.client_id),
            NewActivity::from_acting(
                acting,
                ActivityGroup::Billing,
                "Removed a payment method",
                format!("payment method #{id}"),
            ),
        )
        .await
    }

    /// Every charge attempt on an invoice, oldest first (callers have already scoped the invoice).
    pub async fn invoice_payments(&self, invoice_id: i64) -> StoreResult<Vec<Payment>> {
        Ok(query_as(
            "SELECT p.id, p.invoice_id, p.provider, p.amount_cents, p.currency, p.status, p.provider_reference, p.message,
                    s.name AS actor_staff_name, p.impersonation_id, p.created_at
             FROM payments p LEFT JOIN staff s ON s.id = p.actor_staff_id WHERE p.invoice_id = $1 ORDER BY p.id",
        )
        .bind(invoice_id)
        .fetch_all(&self.db)
        .await?)
    }

    /// When an invoice was paid, if it was.
    pub async fn invoice_paid_at(&self, invoice_id: i64) -> StoreResult<Option<i64>> {
        Ok(query("SELECT paid_at FROM invoices WHERE id = $1")
            .bind(invoice_id)
            .fetch_optional(&self.db)
            .await?
            .map(|r| r.get::<Option<i64>>(0))
            .transpose()?
            .flatten())
    }

    /// Pays one of the acting client's unpaid invoices through `provider`, optionally with a
    /// saved card. The payment row (succeeded or declined), the invoice marked paid when approved
    /// (and its order), and the activity entry commit together. The invoice row is locked first,
    /// so two attempts never both charge it; a key already used returns its payment
    /// (`PayResult::Existing`). `NotFound` for an invoice or card not the client's; `Conflict`
    /// for an invoice that is not unpaid.
    pub async fn pay_invoice(
        &self,
        acting: &Acting,
        invoice_id: i64,
        payment_method_id: Option<i64>,
        key: &str,
        provider: &dyn PaymentProvider,
    ) -> StoreResult<PayResult> {
        let now = crate::domain::now();
        let mut tx = self.begin().await?;
        // A no-op update that takes the invoice's row lock for the rest of the transaction.
        changed(
            query("UPDATE invoices SET status = status WHERE id = $1 AND client_id = $2")
                .bind(invoice_id)
                .bind(acting.client_id)
                .execute(&mut *tx)
                .await?,
        )?;
        if let Some(payment_id) = id_by_key(&mut *tx, "payments", acting.client_id, key).await? {
            return Ok(PayResult::Existing { payment_id });
        }
        let inv = query("SELECT status, total_cents, currency, number FROM invoices WHERE id = $1")
            .bind(invoice_id)
            .fetch_one(&mut *tx)
            .await?;
        let (status, total, currency, number): (String, i64, String, String) =
            (inv.get(0)?, inv.get(1)?, inv.get(2)?, inv.get(3)?);
        match status.as_str() {
            "unpaid" => {}
            "paid" => return Err(StoreError::Conflict(Conflict::InvoicePaid { number })),
            other => {
                return Err(StoreError::Conflict(Conflict::InvoiceNotPayable { number, status: other.to_string() }))
            }
        }
        if total <= 0 {
            return Err(StoreError::Conflict(Conflict::InvoiceNothingToPay { number }));
        }
        let card: Option<String> = match payment_method_id {
            None => None,
            Some(pm) => Some(
                query("SELECT last4 FROM payment_methods WHERE id = $1 AND client_id = $2")
                    .bind(pm)
                    .bind(acting.client_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?
                    .get(0)?,
            ),
        };
        let outcome = provider.charge(&ChargeRequest {
            amount_cents: total,
            currency: &currency,
            description: &number,
            card_last4: card.as_deref(),
            idempotency_key: key,
        });
        let inserted = query(
            "INSERT INTO payments (client_id, invoice_id, provider, amount_cents, currency, status, provider_reference,
                                   message, idempotency_key, actor_staff_id, impersonation_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (client_id, idempotency_key) DO NOTHING RETURNING id",
        )
        .bind(acting.client_id)
        .bind(invoice_id)
        .bind(provider.name())
        .bind(total)
        .bind(&currency)
        .bind(outcome.status.as_str())
        .bind(&outcome.reference)
        .bind(&outcome.message)
        .bind(key)
        .bind(acting.staff_id())
        .bind(acting.impersonation_id())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = inserted else {
            // The key was used on another invoice by a racing submit: nothing is recorded twice.
            tx.rollback().await?;
            let id = id_by_key(self.db.writer(), "payments", acting.client_id, key).await?;
            return Ok(PayResult::Existing { payment_id: id.ok_or(sqlx::Error::RowNotFound)? });
        };
        let payment_id: i64 = row.get(0)?;
        let action = if outcome.status == ChargeStatus::Approved {
            query("UPDATE invoices SET status = 'paid', paid_at = $1 WHERE id = $2")
                .bind(now)
                .bind(invoice_id)
                .execute(&mut *tx)
                .await?;
            query("UPDATE orders SET status = 'paid' WHERE invoice_id = $1 AND client_id = $2 AND status = 'pending'")
                .bind(invoice_id)
                .bind(acting.client_id)
                .execute(&mut *tx)
                .await?;
            "Paid an invoice"
        } else {
            "Payment declined"
        };
        append(
            &mut tx,
            NewActivity::from_acting(acting, ActivityGroup::Billing, action, format!("invoice #{invoice_id}"))
                .with_detail(format!(
                    "payment #{payment_id}: {} {}, reference {}",
                    crate::domain::format_money(total, &currency),
                    outcome.status.as_str(),
                    outcome.reference
                )),
        )
        .await?;
        tx.commit().await?;
        Ok(PayResult::Charged { payment_id, outcome })
    }
}

/// Demo data: one saved test card.
pub(crate) async fn seed_demo_card(tx: &mut Tx, client_id: i64) -> StoreResult<()> {
    query(
        "INSERT INTO payment_methods (client_id, provider, label, last4, created_at) VALUES ($1, 'test', 'Visa', '4242', $2)",
    )
    .bind(client_id)
    .bind(crate::domain::now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
