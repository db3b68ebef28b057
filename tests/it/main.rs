//! The one integration-test binary: drives Behalf over HTTP as a browser would.

mod activity_addresses;
mod api;
mod architecture;
mod bad_input;
mod browser;
mod checkpoints;
mod cli;
mod client_record;
mod durability;
mod environment;
mod files;
mod governance;
mod honest_controls;
mod lists;
mod login_as_client;
mod mail;
mod nodes;
mod payments;
mod production;
mod shop;
mod sign_in;
mod stored_types;
mod subscriptions;
mod support;
mod tasks;
mod two_factor;
