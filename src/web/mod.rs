//! HTTP handlers: thin functions that extract, call the store or domain, and render.

pub mod admin;
pub mod api;
pub mod attribution;
pub mod export;
pub mod extract;
pub mod filters;
pub mod forms;
pub mod layout;
pub mod login;
pub mod ops;
pub mod portal;
pub mod uploads;
pub mod views;
