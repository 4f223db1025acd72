//! `loadgen --soak-secs N`: a long steady run against a sequencer this process starts:
//! every worker keeps one transfer in flight (signed just before it is sent), a watcher
//! times each transaction from its send to the block that includes it, and the node's
//! resident memory is sampled; one line per window, then a table and, last, one JSON line.
//!
//! Closed loop: the rate is the highest the node sustains with `--concurrency` senders in
//! flight (a refused send is retried with the same nonce). Every acknowledged transfer must
//! be included by the end; `missing` counts those that were not.

use super::{Args, Rpc, Senders, TempDir, fund_senders, hex_u64, sign_transfer};
use alloy_primitives::{B256, U256};
use dashmap::DashMap;
use eyre::{WrapErr, bail};
use serde_json::{Value, json};
use std::{
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

/// What the watcher and the senders share.
struct Shared {
    t0: Instant,
    /// Acknowledged, not yet seen in a block: hash → send time (µs since `t0`).
    pending: DashMap<B256, u64>,
    sent: AtomicUsize,
    refused: AtomicUsize,
    first_refusals: parking_lot::Mutex<Vec<String>>,
    stop: AtomicBool,
}

impl Shared {
    fn micros(&self) -> u64 {
        self.t0.elapsed().as_micros() as u64
    }
}

/// One window's figures.
struct Window {
    end_secs: f64,
    included: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    rss_mb: f64,
    pending: usize,
}

/// The node's resident memory in MiB (Linux `/proc`), or NaN.
fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Percentile `q` of sorted microseconds, in milliseconds.
fn percentile_ms(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize] as f64 / 1e3
}

/// Sends from the senders `mine` (indices into `senders`) until stopped, one at a time.
async fn send_loop(
    rpc: Rpc,
    senders: Arc<Senders>,
    mine: Vec<usize>,
    shared: Arc<Shared>,
) -> eyre::Result<()> {
    let mut nonces: Vec<u64> = mine.iter().map(|&s| senders.nonces[s]).collect();
    let k = senders.keys.len();
    let mut turn = 0;
    while !shared.stop.load(Ordering::Relaxed) {
        let slot = turn % mine.len();
        turn += 1;
        let s = mine[slot];
        let (hash, raw) = sign_transfer(
            &senders.keys[s],
            senders.chain_id,
            nonces[slot],
            senders.addrs[(s + 1) % k],
            U256::from(1),
            &senders.fees,
        )?;
        let sent = shared.micros();
        shared.pending.insert(hash, sent);
        match rpc
            .call(
                "eth_sendRawTransaction",
                json!([format!("0x{}", hex::encode(&raw))]),
            )
            .await
        {
            Ok(_) => {
                nonces[slot] += 1;
                shared.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                // Not acknowledged: not waited for; the nonce is tried again.
                shared.pending.remove(&hash);
                shared.refused.fetch_add(1, Ordering::Relaxed);
                {
                    let mut first = shared.first_refusals.lock();
                    if first.len() < 5 {
                        first.push(e.to_string());
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    Ok(())
}

/// Runs the soak and prints its report.
pub(crate) async fn soak(args: &Args, secs: u64) -> eyre::Result<()> {
    let tmp = TempDir::new(args.keep_tmp)?;
    let window = Duration::from_secs(args.soak_window_secs.clamp(1, secs.max(1)));
    eprintln!(
        "soak: {secs} s, {} senders, {} in flight, block time {} ms, windows of {} s",
        args.senders,
        args.concurrency,
        args.block_time_ms,
        window.as_secs()
    );
    let (guard, url) = super::start_sequencer(args, &tmp.path).await?;
    let pid = guard.child.id();
    let rpc = Rpc::new(&url, args.concurrency + 2)?;
    // Funds for 20,000 transfers at the full fee cap each: a transfer pays the base fee
    // and the tip, a small part of the cap, so this lasts for millions of transfers (and
    // stays within what the dev accounts hold).
    let senders = Arc::new(fund_senders(&rpc, args, 20_000).await?);
    let mut head = hex_u64(&rpc.call("eth_blockNumber", json!([])).await?)?;

    let shared = Arc::new(Shared {
        t0: Instant::now(),
        pending: DashMap::new(),
        sent: AtomicUsize::new(0),
        refused: AtomicUsize::new(0),
        first_refusals: Default::default(),
        stop: AtomicBool::new(false),
    });
    let workers = args.concurrency.clamp(1, senders.keys.len());
    let mut tasks = Vec::with_capacity(workers);
    for w in 0..workers {
        let mine: Vec<usize> = (w..senders.keys.len()).step_by(workers).collect();
        tasks.push(tokio::spawn(send_loop(
            rpc.clone(),
            senders.clone(),
            mine,
            shared.clone(),
        )));
    }

    // The watcher: new blocks, hashes only; a transaction is included when its block is seen.
    let poll = Duration::from_millis(args.poll_ms.max(1));
    let deadline = shared.t0 + Duration::from_secs(secs);
    let mut windows: Vec<Window> = Vec::new();
    let mut all: Vec<u32> = Vec::new();
    let mut current: Vec<u32> = Vec::new();
    let mut window_end = shared.t0 + window;
    let mut last_progress = Instant::now();
    let stall = Duration::from_secs(args.stall_secs);
    let mut stopped = false;
    loop {
        let now = Instant::now();
        if !stopped && now >= deadline {
            shared.stop.store(true, Ordering::Relaxed);
            stopped = true;
            last_progress = now;
        }
        if stopped && (shared.pending.is_empty() || last_progress.elapsed() > stall) {
            break;
        }
        let latest = hex_u64(&rpc.call("eth_blockNumber", json!([])).await?)?;
        for number in head + 1..=latest {
            let block = rpc
                .call(
                    "eth_getBlockByNumber",
                    json!([format!("{number:#x}"), false]),
                )
                .await?;
            let seen = shared.micros();
            for hash in block["transactions"].as_array().into_iter().flatten() {
                let Some(hash) = hash.as_str().and_then(|h| B256::from_str(h).ok()) else {
                    continue;
                };
                if let Some((_, sent)) = shared.pending.remove(&hash) {
                    current.push(seen.saturating_sub(sent).min(u32::MAX as u64) as u32);
                    last_progress = Instant::now();
                }
            }
            head = number;
        }
        if Instant::now() >= window_end || (stopped && shared.pending.is_empty()) {
            current.sort_unstable();
            let w = Window {
                end_secs: shared.t0.elapsed().as_secs_f64(),
                included: current.len(),
                p50_ms: percentile_ms(&current, 0.5),
                p99_ms: percentile_ms(&current, 0.99),
                max_ms: current.last().map_or(f64::NAN, |&m| m as f64 / 1e3),
                rss_mb: rss_mb(pid),
                pending: shared.pending.len(),
            };
            let span = w.end_secs - windows.last().map_or(0.0, |p| p.end_secs);
            eprintln!(
                "  {:>7.1} s: {:>7.0} tx/s, p50 {:>6.1} ms, p99 {:>6.1} ms, max {:>7.1} ms, node RSS {:>6.1} MiB, in flight {}",
                w.end_secs,
                w.included as f64 / span.max(1e-9),
                w.p50_ms,
                w.p99_ms,
                w.max_ms,
                w.rss_mb,
                w.pending
            );
            all.append(&mut current);
            windows.push(w);
            window_end += window;
        }
        tokio::time::sleep(poll).await;
    }
    for task in tasks {
        task.await.wrap_err("sender task")??;
    }
    drop(guard);
    if windows.is_empty() {
        bail!("the soak ended before its first window");
    }

    all.sort_unstable();
    let sent = shared.sent.load(Ordering::Relaxed);
    let refused = shared.refused.load(Ordering::Relaxed);
    let missing = shared.pending.len();
    let elapsed = windows.last().map_or(0.0, |w| w.end_secs);
    let tps = all.len() as f64 / elapsed.max(1e-9);
    // Memory after the first window (warm caches) against the end.
    let rss_start = windows[0].rss_mb;
    let rss_end = windows.last().map_or(f64::NAN, |w| w.rss_mb);
    let rss_max = windows.iter().map(|w| w.rss_mb).fold(f64::NAN, f64::max);
    let growth_span_h = (elapsed - windows[0].end_secs) / 3600.0;
    let growth_per_hour = if growth_span_h > 0.0 {
        (rss_end - rss_start) / growth_span_h
    } else {
        f64::NAN
    };
    let worst_window_p99 = windows.iter().map(|w| w.p99_ms).fold(f64::NAN, f64::max);
    let (p50, p99, max) = (
        percentile_ms(&all, 0.5),
        percentile_ms(&all, 0.99),
        percentile_ms(&all, 1.0),
    );
    for e in shared.first_refusals.lock().iter() {
        eprintln!("  refused: {e}");
    }
    println!();
    println!(
        "| seconds | included | tx/s | p50 ms | p99 ms | worst window p99 ms | max ms | refused | missing | RSS first window MiB | RSS end MiB | RSS max MiB | growth MiB/h |"
    );
    println!(
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    println!(
        "| {elapsed:.0} | {} | {tps:.0} | {p50:.1} | {p99:.1} | {worst_window_p99:.1} | {max:.1} | {refused} | {missing} | {rss_start:.1} | {rss_end:.1} | {rss_max:.1} | {growth_per_hour:.1} |",
        all.len()
    );
    let num = |x: f64, scale: f64| {
        if x.is_finite() {
            json!((x * scale).round() / scale)
        } else {
            Value::Null
        }
    };
    println!(
        "{}",
        json!({
            "soak_secs": num(elapsed, 1.0),
            "sent": sent,
            "included": all.len(),
            "missing": missing,
            "refused": refused,
            "tps": num(tps, 1.0),
            "p50_ms": num(p50, 10.0),
            "p99_ms": num(p99, 10.0),
            "worst_window_p99_ms": num(worst_window_p99, 10.0),
            "max_ms": num(max, 10.0),
            "rss_first_window_mb": num(rss_start, 10.0),
            "rss_end_mb": num(rss_end, 10.0),
            "rss_max_mb": num(rss_max, 10.0),
            "rss_growth_mb_per_hour": num(growth_per_hour, 10.0),
        })
    );
    if missing > 0 {
        bail!("{missing} acknowledged transfers were never included");
    }
    Ok(())
}
