//! Staff pages, one file per feature: sign-in, dashboard, clients, Login as Client (button,
//! start, log, end), tickets, orders and invoices, files, subscriptions and tasks, the activity
//! log, staff and roles, settings, stores, two-factor and the mail outbox.

pub mod activity;
pub mod api_keys;
pub mod billing;
pub mod client_header;
pub mod clients;
pub mod dashboard;
pub mod files;
pub mod impersonation_views;
pub mod impersonations;
pub mod outbox;
pub mod roles;
pub mod session;
pub mod settings;
pub mod staff;
pub mod step_up;
pub mod stores;
pub mod subscriptions;
pub mod tasks;
pub mod tickets;
pub mod two_factor;
pub mod two_factor_sign_in;
pub mod webhooks;
