//! The `sequencer` binary: parses flags, sets up logging, runs the node until
//! SIGTERM or Ctrl-C.

use clap::Parser;
use rollup_sequencer::config::{SequencerArgs, launch};
use tracing_subscriber::{EnvFilter, fmt};

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let args = SequencerArgs::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    if args.log_format == "json" {
        fmt().json().with_env_filter(filter).init();
    } else {
        fmt().with_env_filter(filter).init();
    }
    let config = args.into_config()?;
    let running = launch(config).await?;
    println!("sequencer listening on {}", running.http_url());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}
