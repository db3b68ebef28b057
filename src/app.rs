//! Building the application: connect, migrate, seed, and serve the router.

use crate::config::Config;
use crate::db::Db;
use crate::store::Store;
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;

/// Shared state handed to every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
}

/// Connects to the database, applies migrations, makes sure built-in roles exist, and loads the
/// demo data into an empty database when asked.
pub async fn prepare(config: &Config) -> anyhow::Result<Store> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    let store = Store::new(db);
    store.ensure_builtin_roles().await?;
    if config.demo {
        load_demo(&store, config.demo_generated_clients).await?;
    }
    Ok(store)
}

/// Loads the demo data if the database has no staff yet; returns whether it loaded.
pub async fn load_demo(store: &Store, generated: usize) -> anyhow::Result<bool> {
    if !store.is_empty().await? {
        tracing::info!("database already has data; demo data not loaded");
        return Ok(false);
    }
    let hash = crate::auth::hash_password(crate::store::demo::DEMO_PASSWORD.to_string()).await?;
    store.load_demo(&hash, generated).await?;
    tracing::info!(generated, "demo data loaded");
    Ok(true)
}

/// A bound, ready server: its address and the future that runs it.
pub struct Server {
    pub addr: SocketAddr,
    pub store: Store,
    config: Arc<Config>,
    listener: tokio::net::TcpListener,
    router: axum::Router,
    signer: Option<Arc<crate::audit::Signer>>,
}

impl Server {
    /// Prepares the store and binds the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Server> {
        let store = prepare(&config).await?;
        let signer = match &config.audit {
            Some(a) => Some(Arc::new(crate::audit::Signer::load(&a.key_file, a.checkpoints_file.clone(), &a.origin)?)),
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(&config.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let addr = listener.local_addr()?;
        let config = Arc::new(config);
        let state = AppState { store: store.clone(), config: config.clone() };
        Ok(Server { addr, store, config, listener, router: crate::router::router(state), signer })
    }

    /// Serves until the process is told to stop.
    pub async fn run(self) -> anyhow::Result<()> {
        if let Some(url) = self.config.smtp_url.clone() {
            crate::mailer::spawn(self.store.clone(), url, self.config.mail_from.clone())?;
        }
        if let (Some(signer), Some(audit)) = (self.signer.clone(), &self.config.audit) {
            crate::audit::spawn(self.store.clone(), signer, audit);
        }
        let store = self.store.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
            loop {
                tick.tick().await;
                let idle = match store.settings().await {
                    Ok(s) => s.idle_timeout.seconds(),
                    Err(_) => continue,
                };
                if let Err(e) = store.sweep(idle).await {
                    tracing::warn!(error = %e, "sweeping ended impersonations failed");
                }
            }
        });
        axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    }
}
