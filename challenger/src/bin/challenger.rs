//! The `challenger` binary: checks every state root posted to the Rollup
//! contract, serves its status as JSON, until SIGTERM or Ctrl-C.

use clap::Parser;
use eyre::WrapErr;
use rollup_challenger::{config::ChallengerArgs, status::serve_status, watcher::Watcher};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::{EnvFilter, fmt};

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let args = ChallengerArgs::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    if args.log_format == "json" {
        fmt().json().with_env_filter(filter).init();
    } else {
        fmt().with_env_filter(filter).init();
    }
    let watcher = Watcher::new(args.watcher_config()?)?;
    // L1 may come up after us: retry the genesis check until it answers.
    let mut backoff = std::time::Duration::from_millis(500);
    loop {
        match watcher.check_genesis().await {
            Ok(()) => break,
            Err(error @ rollup_challenger::watcher::WatchError::GenesisMismatch { .. }) => {
                return Err(error).wrap_err("checking the genesis against the Rollup contract");
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?backoff, "cannot read the Rollup contract yet");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(std::time::Duration::from_secs(30));
            }
        }
    }
    let cancel = CancellationToken::new();
    let (addr, server) = serve_status(args.status_addr, watcher.status(), cancel.clone())
        .await
        .wrap_err_with(|| format!("binding the status endpoint {}", args.status_addr))?;
    tracing::info!(rollup = %args.rollup, status = %format!("http://{addr}/status"), "challenger running");
    let stop = cancel.clone();
    tokio::spawn(async move {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
        tracing::info!("shutting down");
        stop.cancel();
    });
    watcher.run(cancel).await;
    let _ = server.await;
    Ok(())
}
