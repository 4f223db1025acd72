//! The `batcher` binary: parses flags, sets up logging, posts batches until
//! SIGTERM or Ctrl-C (or a fatal error, with a non-zero exit).

use clap::Parser;
use eyre::WrapErr;
use rollup_batcher::{config::BatcherArgs, service::Batcher};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::{EnvFilter, fmt};

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let args = BatcherArgs::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    if args.log_format == "json" {
        fmt().json().with_env_filter(filter).init();
    } else {
        fmt().with_env_filter(filter).init();
    }
    let config = args.into_config()?;
    if let Some(path) = config.db_url.strip_prefix("sqlite://")
        && let Some(parent) = std::path::Path::new(path.split('?').next().unwrap_or(path)).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .wrap_err_with(|| format!("creating {}", parent.display()))?;
    }
    // L1, the sequencer or the database may come up after us: retry with backoff.
    let mut backoff = std::time::Duration::from_millis(500);
    let batcher = loop {
        match Batcher::new(config.clone()).await {
            Ok(batcher) => break batcher,
            Err(error) if error.is_transient() => {
                tracing::warn!(%error, retry_in = ?backoff, "cannot start the batcher yet");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(std::time::Duration::from_secs(30));
            }
            Err(error) => return Err(error).wrap_err("starting the batcher"),
        }
    };
    tracing::info!(
        rollup = %config.rollup,
        batcher = %config.signer.address(),
        kind = config.data_kind.as_str(),
        l1 = %config.l1_rpc_url,
        l2 = %config.l2_rpc_url,
        "batcher running"
    );
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
        tracing::info!("shutting down");
        stop.cancel();
    });
    batcher.run(cancel).await?;
    Ok(())
}
