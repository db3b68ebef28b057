//! HTTP handlers: thin functions that extract, call the store or domain, and render.

pub mod admin;
pub mod attribution;
pub mod extract;
pub mod layout;
pub mod login;
pub mod ops;
pub mod portal;
