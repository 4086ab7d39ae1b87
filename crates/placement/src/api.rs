//! `placement-api`: the HTTP service.
//!
//! Startup does, in order: read configuration; open the database pool; make
//! sure the schema is one we can serve (creating or upgrading it only when
//! `[placement_database] sync_on_startup` allows); insert any missing standard
//! resource classes and traits (idempotent and safe with many processes
//! starting at once); then serve until SIGTERM or SIGINT, finishing in-flight
//! requests before exiting.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use placement_http::keystone::{
    KeystoneSettings, PasswordCredentials, ServiceScope, TlsSettings, TokenValidator,
};
use placement_http::policy::{Enforcer, PolicySettings};
use placement_http::{AppState, HealthSettings, HttpSettings, UrlPrefix};
use placement_store::ops::schema::{self, SchemaState};
use placement_store::ops::standard;
use placement_store::Database;
use tracing::{info, warn};

use crate::cli::ConfigArgs;
use crate::config::{AuthStrategy, Config, EMBEDDED_SQLITE};
use crate::logging::LogHandle;

/// Command line of `placement-api`.
#[derive(Debug, Parser)]
#[command(
    name = "placement-api",
    version,
    about = "The Placement HTTP API service"
)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArgs,
    /// Address and port to listen on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8778")]
    bind: SocketAddr,
    /// Mount the API under this URL path prefix (for example `/placement`).
    #[arg(long, value_name = "PATH", default_value = "")]
    url_prefix: String,
}

/// Entry point of the `placement-api` binary.
pub fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let config = match args.config.load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("placement-api: configuration error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let logs = match crate::logging::init(config.debug, &config.logging, "placement-api") {
        Ok(handle) => handle,
        Err(e) => {
            eprintln!("placement-api: cannot open the log file: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("placement-api: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args, config, logs)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("placement-api failed: {e:#}");
            eprintln!("placement-api: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Opens the database and brings it to a state the API can serve.
///
/// # Errors
/// When the database cannot be reached, or its schema is missing, older than
/// this code (without `sync_on_startup`), or from an unknown revision.
pub async fn prepare_database(config: &Config) -> anyhow::Result<Database> {
    let db = crate::cli::open_database(config).await?;
    let state = schema::current_state(&db)
        .await
        .context("cannot inspect the schema")?;
    match &state {
        SchemaState::Unversioned => {
            info!("placement tables without alembic_version: serving the schema as found");
        }
        _ if !state.is_known() => bail!(
            "the database is at unknown schema revision {:?} (a newer placement?); \
             refusing to serve it",
            state.revision().unwrap_or_default()
        ),
        _ if config.database.sync_on_startup => {
            let report = schema::sync(&db)
                .await
                .context("schema sync on startup failed")?;
            if !report.applied.is_empty() {
                info!(applied = ?report.applied, "schema synced on startup");
            }
        }
        SchemaState::Empty => bail!(
            "the database has no placement schema: run `placement-manage db sync` \
             or set [placement_database] sync_on_startup = True"
        ),
        _ if !state.is_current() => bail!(
            "the database schema is at revision {:?}, older than this placement-api needs: \
             run `placement-manage db sync`",
            state.revision().unwrap_or_default()
        ),
        _ => {}
    }
    let report = standard::sync(&db)
        .await
        .context("cannot sync standard resource classes and traits")?;
    tracing::debug!(?report, "standard resource classes and traits synced");
    Ok(db)
}

async fn run(args: Args, config: Config, logs: LogHandle) -> anyhow::Result<()> {
    if config.embedded_default {
        info!(
            "no configuration file found: serving the embedded default \
             (SQLite ./{EMBEDDED_SQLITE}, schema created on start, auth_strategy noauth2)"
        );
    }
    if config.workarounds.optimize_for_wide_provider_trees {
        info!(
            "[workarounds] optimize_for_wide_provider_trees is accepted and has no \
             effect: allocation candidates are always pruned during generation"
        );
    }
    let keystone = keystone_validator(&config)?;
    let db = prepare_database(&config).await?;
    let settings = HttpSettings {
        auth_strategy: match config.auth_strategy {
            AuthStrategy::Keystone => placement_http::AuthStrategy::Keystone,
            AuthStrategy::NoAuth2 => placement_http::AuthStrategy::NoAuth2,
        },
        url_prefix: UrlPrefix::new(&args.url_prefix)
            .map_err(|e| anyhow::anyhow!("--url-prefix: {e}"))?,
        incomplete_consumer_project_id: config.placement.incomplete_consumer_project_id.clone(),
        incomplete_consumer_user_id: config.placement.incomplete_consumer_user_id.clone(),
        allocation_conflict_retry_count: config.placement.allocation_conflict_retry_count,
        candidates: placement_http::CandidatesSettings {
            max_allocation_candidates: config.placement.max_allocation_candidates,
            strategy: config.placement.allocation_candidates_generation_strategy,
            randomize: config.placement.randomize_allocation_candidates,
        },
        cors: config.cors.clone(),
        keystone,
        healthcheck: HealthSettings {
            path: config.healthcheck.path.clone(),
            detailed: config.healthcheck.detailed,
            backends: config.healthcheck.backends.clone(),
            server_port: Some(args.bind.port()),
            database_timeout: config.healthcheck.database_timeout,
            ..HealthSettings::default()
        },
    };
    let policy = Enforcer::load(policy_settings(&config)).context("policy")?;
    let mut state = AppState::with_policy(settings, db.clone(), policy);
    if config.metrics.bind.is_some() {
        state = state.with_metrics();
    }
    let metrics = state.metrics.clone();
    let app = placement_http::router(state);
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let local = listener.local_addr().unwrap_or(args.bind);
    if let (Some(bind), Some(metrics)) = (config.metrics.bind, metrics) {
        serve_metrics(bind, metrics).await?;
    }
    tokio::spawn(reopen_logs_on_sighup(logs));
    info!(
        address = %local,
        database = %config.database.connection.as_ref().map(ToString::to_string).unwrap_or_default(),
        auth_strategy = ?config.auth_strategy,
        "placement-api listening"
    );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("server error")?;
    info!("placement-api stopped");
    db.close().await;
    Ok(())
}

/// Serves `[metrics]` on their own listener, in the background, until the
/// process exits.
///
/// # Errors
/// When the address cannot be listened on.
async fn serve_metrics(
    bind: SocketAddr,
    metrics: placement_http::metrics::Metrics,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("[metrics] bind: cannot listen on {bind}"))?;
    info!(address = %listener.local_addr().unwrap_or(bind), "metrics listening on /metrics");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, placement_http::metrics::router(metrics)).await {
            tracing::error!("metrics listener failed: {e}");
        }
    });
    Ok(())
}

/// Reopens the log file on each SIGHUP, as logrotate's `postrotate` asks
/// (oslo services reload their logging on SIGHUP too).
async fn reopen_logs_on_sighup(logs: LogHandle) {
    #[cfg(unix)]
    {
        let mut hangups =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
                Ok(signal) => signal,
                Err(e) => {
                    warn!("cannot listen for SIGHUP: {e}");
                    return;
                }
            };
        while hangups.recv().await.is_some() {
            match logs.reopen() {
                Ok(true) => info!(
                    path = %logs.path().map(|p| p.display().to_string()).unwrap_or_default(),
                    "SIGHUP received: log file reopened"
                ),
                Ok(false) => info!("SIGHUP received: no log file to reopen"),
                Err(e) => warn!("SIGHUP received: cannot reopen the log file: {e}"),
            }
        }
    }
    #[cfg(not(unix))]
    drop(logs);
}

/// The Keystone token validator `auth_strategy = keystone` needs, from
/// `[keystone_authtoken]`; `None` under noauth2. Keystone is not contacted
/// here: the service user logs in on the first request that needs it, so
/// placement-api starts while Keystone is down.
///
/// # Errors
/// When `[keystone_authtoken]` lacks what the password plugin needs, or a
/// TLS file cannot be used.
pub fn keystone_validator(config: &Config) -> anyhow::Result<Option<Arc<TokenValidator>>> {
    if config.auth_strategy != AuthStrategy::Keystone {
        return Ok(None);
    }
    let section = config.keystone_password_auth()?;
    let credentials = PasswordCredentials {
        user_id: section.user_id.clone(),
        username: section.username.clone(),
        user_domain_id: section.user_domain_id.clone(),
        user_domain_name: section.user_domain_name.clone(),
        password: section.password.clone().unwrap_or_default(),
    };
    let scope = if let Some(system) = &section.system_scope {
        ServiceScope::System(system.clone())
    } else if section.project_id.is_some() || section.project_name.is_some() {
        ServiceScope::Project {
            id: section.project_id.clone(),
            name: section.project_name.clone(),
            domain_id: section.project_domain_id.clone(),
            domain_name: section.project_domain_name.clone(),
        }
    } else {
        warn!("[keystone_authtoken] names no project or system scope: the service user's token is unscoped and Keystone will likely refuse it validation rights");
        ServiceScope::Unscoped
    };
    let settings = KeystoneSettings {
        scope,
        www_authenticate_uri: section.www_authenticate_uri.clone(),
        interface: section.interface.clone(),
        region_name: section.region_name.clone(),
        tls: TlsSettings {
            cafile: section.cafile.clone(),
            certfile: section.certfile.clone(),
            keyfile: section.keyfile.clone(),
            insecure: section.insecure,
        },
        http_connect_timeout: section
            .http_connect_timeout
            .map(|seconds| Duration::from_secs(seconds.into())),
        http_request_max_retries: section.http_request_max_retries,
        delay_auth_decision: section.delay_auth_decision,
        include_service_catalog: section.include_service_catalog,
        token_cache_time: section
            .token_cache_time
            .map(|seconds| Duration::from_secs(seconds.into())),
        service_token_roles: section.service_token_roles.clone(),
        service_token_roles_required: section.service_token_roles_required,
        service_type: section.service_type.clone(),
        ..KeystoneSettings::new(section.auth_url.clone().unwrap_or_default(), credentials)
    };
    let validator = TokenValidator::new(settings).context("[keystone_authtoken]")?;
    Ok(Some(Arc::new(validator)))
}

/// `[oslo_policy]` for the enforcer, with relative names found where
/// oslo.config finds them.
pub fn policy_settings(config: &Config) -> PolicySettings {
    PolicySettings {
        policy_file: config.oslo_policy.policy_file.clone(),
        policy_dirs: config.oslo_policy.policy_dirs.clone(),
        search_dirs: config.search_dirs(),
        enforce_new_defaults: config.oslo_policy.enforce_new_defaults,
        default_rule: config.oslo_policy.policy_default_rule.clone(),
        // A look at the files costs ~15 us (several times the evaluation);
        // once a second is enough for an edit to apply promptly.
        reload_check_interval: std::time::Duration::from_secs(1),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            warn!("cannot listen for SIGINT: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => info!("SIGINT received, shutting down"),
        () = terminate => info!("SIGTERM received, shutting down"),
    }
}
