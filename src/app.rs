//! Building the application: connect, migrate, seed, and serve the router.

use crate::config::Config;
use crate::db::Db;
use crate::domain::acting::StaffActing;
use crate::domain::impersonation::LiveLimits;
use crate::state::AppState;
use crate::store::Store;
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;

/// Connects to the database, applies migrations, makes sure built-in roles exist, and loads the
/// demo data into an empty database when asked.
pub async fn prepare(config: &Config) -> anyhow::Result<Store> {
    let db = Db::connect_with(&config.database_url, &config.limits).await?;
    db.migrate().await?;
    let store = Store::new(db);
    store.ensure_builtin_roles().await?;
    if config.demo {
        load_demo(&store, config.demo_generated_clients, &StaffActing::server()).await?;
    }
    Ok(store)
}

/// Loads the demo data if the database has no staff yet, recorded as done by `by`; returns
/// whether it loaded.
pub async fn load_demo(store: &Store, generated: usize, by: &StaffActing) -> anyhow::Result<bool> {
    if !store.is_empty().await? {
        tracing::info!("database already has data; demo data not loaded");
        return Ok(false);
    }
    let hash = crate::auth::hash_password(crate::store::demo::DEMO_PASSWORD.to_string()).await?;
    store.load_demo(&hash, generated, by).await?;
    tracing::info!(generated, "demo data loaded");
    Ok(true)
}

/// Completes on Ctrl-C or SIGTERM (what service managers send), so open requests can finish.
async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A bound, ready server: its address and the future that runs it.
pub struct Server {
    pub addr: SocketAddr,
    pub store: Store,
    config: Arc<Config>,
    listener: tokio::net::TcpListener,
    router: axum::Router,
    mailer: Option<crate::mailer::Mailer>,
    signer: Option<Arc<crate::audit::Signer>>,
    tokens: Arc<crate::tokens::TokenKeys>,
}

impl Server {
    /// Prepares the store and binds the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Server> {
        let mailer = crate::mailer::Mailer::from_config(&config)?;
        let store = prepare(&config).await?;
        let signer = match &config.audit {
            Some(a) => Some(Arc::new(crate::audit::Signer::load(&a.key_file, a.checkpoints_file.clone(), &a.origin)?)),
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(&config.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let addr = listener.local_addr()?;
        let issuer = config.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
        let tokens = Arc::new(crate::tokens::TokenKeys::load_or_create(&config.token_key(), &issuer)?);
        let config = Arc::new(config);
        crate::web::ops::prometheus();
        let state = AppState { store: store.clone(), config: config.clone(), tokens: tokens.clone() };
        Ok(Server { addr, store, config, listener, router: crate::router::router(state), mailer, signer, tokens })
    }

    /// Serves until the process is told to stop.
    pub async fn run(self) -> anyhow::Result<()> {
        if let Some(mailer) = self.mailer {
            mailer.spawn(self.store.clone());
        } else if self.config.smtp_url.is_none() {
            tracing::info!("no SMTP server configured (--smtp-url): e-mail stays queued in the outbox");
        }
        crate::webhooks::spawn(self.store.clone(), self.config.webhooks.clone());
        if let (Some(signer), Some(audit)) = (self.signer.clone(), &self.config.audit) {
            crate::audit::spawn(self.store.clone(), signer, audit);
        }
        let store = self.store.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
            loop {
                tick.tick().await;
                let limits = match store.settings().await {
                    Ok(s) => LiveLimits::from_settings(&s),
                    Err(_) => continue,
                };
                if let Err(e) = store.sweep(limits).await {
                    tracing::warn!(error = %e, "sweeping ended impersonations failed");
                }
            }
        });
        if let Some(bind) = self.config.metrics_bind.clone() {
            let listener = tokio::net::TcpListener::bind(&bind)
                .await
                .with_context(|| format!("cannot listen for metrics on {bind}"))?;
            let state =
                AppState { store: self.store.clone(), config: self.config.clone(), tokens: self.tokens.clone() };
            let metrics =
                axum::Router::new().route("/metrics", axum::routing::get(crate::web::ops::metrics)).with_state(state);
            tracing::info!(addr = %bind, "metrics are served here");
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, metrics).await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            });
        }
        crate::listener::serve(self.listener, self.router, &self.config.limits, stop_signal()).await
    }
}
