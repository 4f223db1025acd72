//! The soak mode of the load generator (`loadgen --soak-secs`), briefly: it starts the
//! sequencer binary, keeps transfers in flight, and every acknowledged transfer is included
//! (its report's `missing` is 0), with latency and the node's memory reported. `make soak`
//! and `make chaos` run it for 30 minutes.

use serde_json::Value;
use std::process::Command;

#[test]
fn a_short_soak_includes_every_acknowledged_transfer_and_reports_memory() {
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["--soak-secs", "4", "--soak-window-secs", "1"])
        .args([
            "--block-time-ms",
            "0",
            "--senders",
            "16",
            "--concurrency",
            "8",
        ])
        .args(["--sequencer-bin", env!("CARGO_BIN_EXE_sequencer")])
        .output()
        .expect("run loadgen");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "loadgen failed:\n{stdout}\n{stderr}");
    let line = stdout.lines().last().expect("a report");
    let report: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let count = |key: &str| {
        report[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{key} in {report}"))
    };
    assert!(count("included") > 0, "{report}");
    assert_eq!(count("missing"), 0, "{report}");
    assert_eq!(count("included"), count("sent"), "{report}");
    for key in ["p50_ms", "p99_ms", "rss_first_window_mb", "rss_end_mb"] {
        assert!(report[key].as_f64().is_some(), "{key} missing in {report}");
    }
    // One line per window on stderr, then the table.
    assert!(stderr.matches(" tx/s, p50 ").count() >= 3, "{stderr}");
    assert!(stdout.contains("| seconds | included |"), "{stdout}");
}
