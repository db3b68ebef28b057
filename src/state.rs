//! The state every handler and guard receives: the store, the configuration and the token keys. It sits below
//! `auth` and `web`, so both can take it without importing the application that builds it.

use crate::config::Config;
use crate::store::Store;
use crate::tokens::TokenKeys;
use std::sync::Arc;

/// Shared state handed to every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    /// The keys Login as Client tokens are signed and checked with.
    pub tokens: Arc<TokenKeys>,
}
