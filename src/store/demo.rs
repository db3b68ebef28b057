//! Demo data (SPEC §5): the named staff and clients, plus generated clients with data.

use super::{Store, StoreResult, Tx};
use crate::db::query::query;
use crate::domain::acting::StaffActing;
use crate::domain::permissions::builtin_roles;

/// Password of every demo account.
pub const DEMO_PASSWORD: &str = "behalf-demo";

const STAFF: &[(&str, &str, &str)] = &[
    ("superadmin@example.com", "Sam Super", "super_admin"),
    ("admin@example.com", "Alice Admin", "admin"),
    ("manager@example.com", "Max Manager", "manager"),
    ("support@example.com", "Sue Support", "support"),
    ("billing@example.com", "Bill Billing", "billing"),
];

/// (email, name, company, active, consent)
const CLIENTS: &[(&str, &str, &str, bool, &str)] = &[
    ("jane@example.com", "Jane Smith", "Smith Design", true, "allowed"),
    ("bob@example.com", "Bob Jones", "Jones Bakery", true, "unset"),
    ("ivan@example.com", "Ivan Inactive", "", false, "unset"),
    ("rita@example.com", "Rita Refuser", "Refuser Ltd", true, "refused"),
];

const FIRST: &[&str] = &[
    "Ada", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ira", "Joy", "Kai", "Lea", "Milo", "Nia", "Omar", "Pia",
];
const LAST: &[&str] = &[
    "Archer", "Baker", "Carter", "Dalton", "Evans", "Foster", "Garcia", "Hughes", "Iqbal", "Jensen", "Khan", "Lopez",
    "Moreau",
];
const PRODUCTS: &[(&str, i64)] = &[
    ("Shared Hosting Basic", 499),
    ("Shared Hosting Pro", 1299),
    ("VPS 2 GB", 2400),
    ("Domain .com", 1200),
    ("SSL Certificate", 4900),
];
const SUBJECTS: &[&str] =
    &["Cannot see my invoice", "Website is slow", "Email not delivering", "Renewal question", "DNS change help"];

/// Small deterministic generator so the demo is the same on every machine.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

impl Store {
    /// Whether the database has no staff yet (demo data loads only into an empty database).
    pub async fn is_empty(&self) -> StoreResult<bool> {
        let n: i64 = query("SELECT COUNT(*) FROM staff").fetch_scalar(&self.db).await?;
        Ok(n == 0)
    }

    /// Creates the built-in roles if they are missing.
    pub async fn ensure_builtin_roles(&self) -> StoreResult<()> {
        for (name, grants) in builtin_roles() {
            let perms: Vec<&str> = grants.iter().map(|p| p.as_str()).collect();
            if self.role_id(name).await.is_err() {
                if let Err(e) = self.create_role(name, true, &perms).await {
                    // Several nodes starting at once on one database race here; the loser finds
                    // the role the winner created, which is all it wanted.
                    if self.role_id(name).await.is_err() {
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }

    /// Loads the demo data with `generated` extra clients; `password_hash` is the hash of
    /// [`DEMO_PASSWORD`]. The staff accounts it adds are recorded as added by `by`.
    pub async fn load_demo(&self, password_hash: &str, generated: usize, by: &StaffActing) -> StoreResult<()> {
        self.ensure_builtin_roles().await?;
        for (email, name, role) in STAFF {
            let role_id = self.role_id(role).await?;
            self.add_staff(email, name, password_hash, role_id, by).await?;
        }
        let support_id: i64 = self.staff_by_email("support@example.com").await?.map(|s| s.id).unwrap_or(0);
        let now = crate::domain::now();
        let mut rng = Lcg(42);
        let mut tx = self.begin().await?;
        let store_id: i64 = query(
            "INSERT INTO stores (name, color, currency) VALUES ('Behalf Hosting', '#2b5797', 'USD') RETURNING id",
        )
        .fetch_scalar(&mut *tx)
        .await?;
        let second_store: i64 = query(
            "INSERT INTO stores (name, color, currency) VALUES ('Behalf Studio EU', '#1e7145', 'EUR') RETURNING id",
        )
        .fetch_scalar(&mut *tx)
        .await?;
        for (store, sku, name, description, price, interval) in CATALOGUE {
            query(
                "INSERT INTO products (store_id, sku, name, description, price_cents, billing_interval) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(if *store == 0 { store_id } else { second_store })
            .bind(*sku)
            .bind(*name)
            .bind(*description)
            .bind(*price)
            .bind(*interval)
            .execute(&mut *tx)
            .await?;
        }
        let mut people: Vec<(String, String, String, bool, &str)> =
            CLIENTS.iter().map(|(e, n, c, a, k)| (e.to_string(), n.to_string(), c.to_string(), *a, *k)).collect();
        for i in 0..generated {
            let first = FIRST[i % FIRST.len()];
            let last = LAST[(i / FIRST.len()) % LAST.len()];
            let consent = ["unset", "allowed", "refused"][i % 3];
            people.push((
                format!("client{:04}@example.com", i + 1),
                format!("{first} {last} {}", i + 1),
                format!("{last} & Co"),
                true,
                consent,
            ));
        }
        // (client, invoices, orders): numbered once every client exists, oldest first.
        let mut documents: Vec<(i64, usize, usize)> = Vec::new();
        for (idx, (email, name, company, active, consent)) in people.iter().enumerate() {
            let client_id: i64 = query(
                "INSERT INTO clients (email, name, company, phone, password_hash, active, consent, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(email)
            .bind(name)
            .bind(company)
            .bind(format!("+1 555 01{:02}", idx % 100))
            .bind(password_hash)
            .bind(*active as i64)
            .bind(*consent)
            .bind(now - 86400 * 400)
            .fetch_scalar(&mut *tx)
            .await?;
            query("INSERT INTO client_stores (client_id, store_id) VALUES ($1, $2)")
                .bind(client_id)
                .bind(store_id)
                .execute(&mut *tx)
                .await?;
            // Jane shops in both stores; every fifth generated client does too.
            if idx == 0 || (idx >= CLIENTS.len() && idx % 5 == 0) {
                query("INSERT INTO client_stores (client_id, store_id) VALUES ($1, $2)")
                    .bind(client_id)
                    .bind(second_store)
                    .execute(&mut *tx)
                    .await?;
            }
            // Jane and the generated clients get the whole environment; the other named accounts a little.
            let full_set = idx == 0 || idx >= CLIENTS.len();
            super::shop::seed_demo_shop(&mut tx, client_id, store_id, full_set, idx == 0).await?;
            super::files::seed_demo_files(&mut tx, client_id, full_set, support_id, now).await?;
            if full_set {
                super::subscriptions::seed_demo_subscriptions(&mut tx, client_id, now).await?;
                super::tasks::seed_demo_tasks(&mut tx, client_id, support_id, now).await?;
            }
            // Bob and the disabled and refusing accounts get a little data; Jane and generated clients the full set.
            let (n_services, n_invoices, n_tickets, n_orders) =
                if idx == 0 || idx >= CLIENTS.len() { (3, 20, 5, 3) } else { (1, 2, 1, 1) };
            for s in 0..n_services {
                let (product, price) = PRODUCTS[(rng.next(PRODUCTS.len() as u64)) as usize];
                query(
                    "INSERT INTO services (client_id, name, product, status, price_cents, billing_cycle, next_due_at, created_at)
                     VALUES ($1, $2, $3, $4, $5, 'monthly', $6, $7)",
                )
                .bind(client_id)
                .bind(format!("{}-{}.example.net", name.split(' ').next().unwrap_or("site").to_lowercase(), s + 1))
                .bind(product)
                .bind(if s == 2 { "suspended" } else { "active" })
                .bind(price)
                .bind(now + 86400 * (5 + s as i64 * 10))
                .bind(now - 86400 * 300)
                .execute(&mut *tx)
                .await?;
            }
            for t in 0..n_tickets {
                seed_ticket(&mut tx, client_id, support_id, SUBJECTS[(idx + t) % SUBJECTS.len()], t, now).await?;
            }
            documents.push((client_id, n_invoices, n_orders));
        }
        seed_documents(&mut tx, &mut rng, &documents, store_id, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The demo catalogue: (store 0 = Behalf Hosting / 1 = Behalf Studio EU, sku, name, description,
/// price in minor units, billing interval: '' one-off, 'monthly' or 'yearly' starts a subscription).
const CATALOGUE: &[(usize, &str, &str, &str, i64, &str)] = &[
    (0, "HOST-S", "Shared Hosting S", "10 GB SSD, 1 site, free TLS", 499, "monthly"),
    (0, "HOST-M", "Shared Hosting M", "50 GB SSD, 10 sites, daily backups", 999, "monthly"),
    (0, "VPS-2", "VPS 2 GB", "2 vCPU, 2 GB RAM, 40 GB NVMe", 1999, "monthly"),
    (0, "DOM-COM", "Domain .com", "One year of registration", 1299, "yearly"),
    (0, "SSL-EV", "EV Certificate", "Extended validation, one year", 14900, "yearly"),
    (0, "MIGRATE", "Site migration", "We move one site for you", 4900, ""),
    (0, "SETUP", "Setup fee", "One-off server setup", 2500, ""),
    (1, "LOGO", "Logo design", "Three concepts, two rounds of changes", 39000, ""),
    (1, "SEO-AUDIT", "SEO audit", "A written audit of one site", 24900, ""),
    (1, "CARE", "Website care plan", "Updates, backups and monitoring", 4900, "monthly"),
    (1, "HOURS-5", "Design hours (5)", "Five hours of design work", 35000, ""),
];

/// The demo invoices and orders of every client, numbered in the order of their dates: the
/// oldest of all clients' documents first, so numbers (and ids) rise with dates. The document
/// `i` of a client is `i` months old (orders: `i` months and three days).
async fn seed_documents(
    tx: &mut Tx,
    rng: &mut Lcg,
    documents: &[(i64, usize, usize)],
    store_id: i64,
    now: i64,
) -> StoreResult<()> {
    let oldest = documents.iter().map(|&(_, i, o)| i.max(o)).max().unwrap_or(0);
    let (mut invoice_no, mut order_no) = (1000, 5000);
    for i in (0..oldest).rev() {
        for &(client_id, n_invoices, _) in documents {
            if i < n_invoices {
                invoice_no += 1;
                seed_invoice(tx, rng, client_id, invoice_no, i, now).await?;
            }
        }
    }
    for o in (0..oldest).rev() {
        for &(client_id, _, n_orders) in documents {
            if o < n_orders {
                order_no += 1;
                query("INSERT INTO orders (client_id, number, status, total_cents, created_at, store_id) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(client_id)
                    .bind(format!("ORD-{order_no}"))
                    .bind(if o == 0 { "pending" } else { "completed" })
                    .bind(1200 + rng.next(9000) as i64)
                    .bind(now - 86400 * (30 * o as i64 + 3))
                    .bind(store_id)
                    .execute(&mut **tx)
                    .await?;
            }
        }
    }
    Ok(())
}

async fn seed_invoice(tx: &mut Tx, rng: &mut Lcg, client_id: i64, number: i64, i: usize, now: i64) -> StoreResult<()> {
    let lines = 1 + rng.next(3) as i64;
    let mut items = Vec::new();
    for _ in 0..lines {
        let (product, price) = PRODUCTS[rng.next(PRODUCTS.len() as u64) as usize];
        let qty = 1 + rng.next(2) as i64;
        items.push((product, qty, price));
    }
    let total: i64 = items.iter().map(|(_, q, p)| q * p).sum();
    let issued = now - 86400 * 30 * i as i64;
    let status = if i == 0 {
        "unpaid"
    } else if i == 7 {
        "cancelled"
    } else {
        "paid"
    };
    let id: i64 = query(
        "INSERT INTO invoices (client_id, number, status, currency, total_cents, issued_at, due_at) VALUES ($1, $2, $3, 'USD', $4, $5, $6) RETURNING id",
    )
    .bind(client_id)
    .bind(format!("INV-{number}"))
    .bind(status)
    .bind(total)
    .bind(issued)
    .bind(crate::domain::shop::invoice_due_at(issued))
    .fetch_scalar(&mut **tx).await?;
    for (product, qty, price) in items {
        query("INSERT INTO invoice_lines (invoice_id, description, quantity, unit_cents, amount_cents) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(product)
            .bind(qty)
            .bind(price)
            .bind(qty * price)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

async fn seed_ticket(
    tx: &mut Tx,
    client_id: i64,
    support_id: i64,
    subject: &str,
    t: usize,
    now: i64,
) -> StoreResult<()> {
    let at = now - 86400 * (7 * t as i64 + 1);
    let status = if t >= 3 {
        "closed"
    } else if t == 1 {
        "answered"
    } else {
        "open"
    };
    let id: i64 = query("INSERT INTO tickets (client_id, subject, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id")
        .bind(client_id)
        .bind(subject)
        .bind(status)
        .bind(at)
        .fetch_scalar(&mut **tx).await?;
    query("INSERT INTO ticket_replies (ticket_id, author_kind, body, created_at) VALUES ($1, 'client', $2, $3)")
        .bind(id)
        .bind(format!("Hello, I need help: {}.", subject.to_lowercase()))
        .bind(at)
        .execute(&mut **tx)
        .await?;
    if status != "open" && support_id > 0 {
        query("INSERT INTO ticket_replies (ticket_id, author_kind, author_staff_id, body, created_at) VALUES ($1, 'staff', $2, $3, $4)")
            .bind(id)
            .bind(support_id)
            .bind("Thanks for reaching out, we are looking into it.")
            .bind(at + 3600)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
