//! The `sequencer` binary: parses flags, sets up logging, optionally rebuilds its
//! database from L1 (`--sync-from-l1`), runs the node until SIGTERM or Ctrl-C.

use clap::Parser;
use rollup_sequencer::config::{SequencerArgs, launch, sync_store};
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
    let exit_after_sync = args.exit_after_sync;
    let mut config = args.into_config()?;
    if exit_after_sync {
        if let Some(report) = sync_store(&config).await? {
            println!(
                "{}",
                serde_json::json!({
                    "synced_head": report.head,
                    "head_hash": report.head_hash,
                    "state_root": report.state_root,
                    "commitments": report.commitments,
                    "blocks_derived": report.blocks_derived,
                    "blocks_written": report.blocks_written,
                })
            );
        }
        return Ok(());
    }
    // Synced here so that a stopped sync ends the process before anything listens.
    sync_store(&config).await?;
    config.sync = None;
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
