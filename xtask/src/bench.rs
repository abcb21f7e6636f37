//! `cargo xtask bench`: the figures the issues track, measured on the real build output.

use crate::util;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;
use std::path::Path;

fn gzip_len(path: &Path) -> anyhow::Result<usize> {
    let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    enc.write_all(&bytes)?;
    Ok(enc.finish()?.len())
}

/// JS modules wasm-bindgen emits under `snippets/` (inline JS of the crate); they ship too.
fn snippets(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, base, out);
            } else if path.extension().is_some_and(|e| e == "js") {
                out.push(
                    path.strip_prefix(base)
                        .unwrap_or(&path)
                        .display()
                        .to_string(),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(&dir.join("snippets"), dir, &mut out);
    out.sort();
    out
}

fn report(title: &str, dir: &Path, files: &[&str]) -> anyhow::Result<usize> {
    println!("{title}");
    let mut total = 0;
    let extra = snippets(dir);
    let files: Vec<&str> = files
        .iter()
        .copied()
        .chain(extra.iter().map(String::as_str))
        .collect();
    for f in files {
        let path = dir.join(f);
        let raw = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let gz = gzip_len(&path)?;
        total += gz;
        let name = if f.len() > 28 {
            format!("…{}", &f[f.len() - 27..])
        } else {
            f.to_string()
        };
        println!("  {name:<28} {raw:>9} B raw {gz:>8} B gzip");
    }
    println!(
        "  {:<28} {:>27} B gzip ({:.1} KB)",
        "total",
        total,
        total as f64 / 1024.0
    );
    Ok(total)
}

pub fn run() -> anyhow::Result<()> {
    let root = util::root();
    report(
        "SDK (pkg/): wasm + JS glue",
        &root.join("pkg"),
        &["latchkey_sdk_bg.wasm", "latchkey_sdk.js", "index.js"],
    )?;
    report(
        "Connect UI (dist/connect-ui/): everything needed to first render",
        &root.join("dist/connect-ui"),
        &[
            "index.html",
            "boot.js",
            "connect_ui.js",
            "connect_ui_bg.wasm",
            "style.css",
        ],
    )?;
    connect_ui_ready()?;
    server_throughput()?;
    activity_log_overhead()?;
    proxy_overhead()
}

/// `/proxy/*` against the same local upstream called directly (requests per second and their ratio),
/// and peak memory for a 200 MB download and upload through it (tests/src/bin/bench-proxy.rs).
fn proxy_overhead() -> anyhow::Result<()> {
    println!("\nProxy: overhead and memory on loopback (release build)");
    let output = util::cargo()
        .args([
            "run",
            "-q",
            "--release",
            "-p",
            "latchkey-tests",
            "--bin",
            "bench-proxy",
        ])
        .current_dir(util::root())
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<_> = stdout
        .lines()
        .filter(|l| l.starts_with("proxy: "))
        .collect();
    anyhow::ensure!(
        output.status.success() && lines.len() == 2,
        "bench-proxy did not measure:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in lines {
        println!("  {}", line.trim_start_matches("proxy: "));
    }
    Ok(())
}

/// Latchkey's hottest calls against a bare axum handler, loaded by `wrk` in alternating rounds, on
/// SQLite, PostgreSQL and two replicas (tests/src/bin/bench-server.rs, release build).
fn server_throughput() -> anyhow::Result<()> {
    println!("\nServer: throughput on loopback against a bare axum handler (release build, wrk)");
    crate::setup::wrk()?;
    let args = [
        "run",
        "-q",
        "--release",
        "-p",
        "latchkey-tests",
        "--bin",
        "bench-server",
    ];
    let output = util::cargo()
        .args(args)
        .current_dir(util::root())
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<_> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("server: "))
        .collect();
    anyhow::ensure!(
        output.status.success() && !lines.is_empty(),
        "bench-server did not measure:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in lines {
        println!("  {line}");
    }
    Ok(())
}

/// Flows per second with the activity log on versus off, and their ratio (goal ≥ 0.9;
/// tests/src/bin/bench-activity.rs).
fn activity_log_overhead() -> anyhow::Result<()> {
    println!("\nActivity log: flow throughput with recording on versus off (release build)");
    measured_line(
        &[
            "run",
            "-q",
            "--release",
            "-p",
            "latchkey-tests",
            "--bin",
            "bench-activity",
        ],
        "activity: ",
    )
}

/// Time from the iframe's insertion to the Connect UI's `ready` event in headless Chromium (median of
/// several loads): runs the `connect_ui_ready` e2e test, which measures it, and prints its figure.
fn connect_ui_ready() -> anyhow::Result<()> {
    println!("\nConnect UI: iframe insertion → `ready` (headless Chromium, real server)");
    measured_line(
        &[
            "test",
            "-p",
            "latchkey-tests",
            "--test",
            "connect_ui_ready",
            "--",
            "--nocapture",
        ],
        "connect-ui ready: ",
    )
}

/// Runs `cargo <args>` and prints the figure from its output line starting with `prefix`.
fn measured_line(args: &[&str], prefix: &str) -> anyhow::Result<()> {
    let output = util::cargo()
        .args(args)
        .current_dir(util::root())
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().find(|l| l.starts_with(prefix)) {
        Some(line) if output.status.success() => {
            println!("  {}", line.trim_start_matches(prefix));
            Ok(())
        }
        _ => anyhow::bail!(
            "`cargo {}` did not measure:\n{stdout}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}
