//! The `challenger` binary: checks every state root posted to the Rollup
//! contract, serves its status as JSON, until SIGTERM or Ctrl-C.

use clap::Parser;
use eyre::WrapErr;
use rollup_challenger::{
    config::ChallengerArgs,
    games::{GameClient, GamePlayer},
    service::Challenger,
    status::serve_status,
    store::Store,
    watcher::Watcher,
};
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
    let config = args.watcher_config()?;
    let poll = config.poll;
    let watcher = Watcher::new(config)?;
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
    let store = Store::connect(&args.db_url)
        .await
        .wrap_err_with(|| format!("opening the challenger database {}", args.db_url))?;
    let player = match args.player()? {
        None => {
            tracing::info!("no --games.address: watching only");
            None
        }
        Some((games, signer)) => {
            let client = GameClient::connect(&args.l1_rpc_url, games, signer)
                .await
                .wrap_err("connecting to the DisputeGames contract")?;
            tracing::info!(%games, player = %client.address(), "playing dispute games");
            Some(
                GamePlayer::new(client, store.clone(), watcher.cases())
                    .await
                    .wrap_err("reading our games from the database")?,
            )
        }
    };
    let challenger = Challenger::new(watcher, player, store, poll);
    let cancel = CancellationToken::new();
    let (addr, server) = serve_status(args.status_addr, challenger.status(), cancel.clone())
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
    challenger.run(cancel).await;
    let _ = server.await;
    Ok(())
}
