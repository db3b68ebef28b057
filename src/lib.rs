//! Behalf: a client portal with governed, recorded Login as Client. The library holds everything;
//! `main.rs` only parses the command line.

#![forbid(unsafe_code)]

pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod files;
pub mod listener;
pub mod mailer;
pub mod page;
pub mod router;
pub mod state;
pub mod store;
pub mod tokens;
pub mod web;
pub mod webhooks;
