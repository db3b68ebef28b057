//! The one integration-test binary: drives Behalf over HTTP as a browser would.

mod bad_input;
mod browser;
mod cli;
mod durability;
mod environment;
mod governance;
mod login_as_client;
mod sign_in;
mod support;
