//! `cargo xtask bench`: the figures the issues track, measured on the real build output.

use crate::budgets::{self, Figure};
use crate::{build, publish, util};
use std::path::{Path, PathBuf};

/// Sizes against `budgets.toml` and their peers: the official `@nangohq/frontend` (npm, what its
/// `index.js` imports) and Nango's own Connect UI build (what its `index.html` loads to first render).
fn sizes() -> anyhow::Result<()> {
    let root = util::root();
    let sdk_peer = root.join("node_modules/@nangohq/frontend/dist");
    let sdk_peer: Vec<PathBuf> = ["index.js", "connectUI.js", "authModal.js", "types.js"]
        .iter()
        .map(|f| sdk_peer.join(f))
        .collect();
    let ui_peer = nango_connect_ui().map(|dist| {
        let mut files = vec![dist.join("index.html")];
        for entry in std::fs::read_dir(dist.join("assets"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            // First render (its README): the entry, its CSS, the runtime and the English texts.
            if ["index-", "rolldown-runtime-", "lang-en-"]
                .iter()
                .any(|p| name.starts_with(p))
            {
                files.push(entry.path());
            }
        }
        files
    });
    let [sdk, ui, dashboard] = budgets::measure()?;
    print_figure(
        &sdk,
        "@nangohq/frontend 0.71.10",
        gzip_total(&sdk_peer).ok(),
    )?;
    print_figure(
        &ui,
        "Nango's Connect UI",
        ui_peer.and_then(|f| gzip_total(&f).ok()),
    )?;
    // No peer: Nango's dashboard is not published as a standalone build.
    print_figure(&dashboard, "Nango's dashboard", None)?;
    where_the_bytes_go()
}

/// The largest functions and data of the SDK's and the Connect UI's wasm (`twiggy top`), to show where
/// their bytes go. Read from cargo's output, which still has its function names: raw bytes before
/// wasm-bindgen and wasm-opt, so larger than what ships; the proportions are what matter.
fn where_the_bytes_go() -> anyhow::Result<()> {
    crate::setup::twiggy()?;
    for (what, wasm) in [
        (
            "SDK",
            build::cargo_wasm(&build::sdk_target_dir(), "latchkey_sdk"),
        ),
        (
            "Connect UI",
            build::cargo_wasm(&util::target_dir(), "connect_ui"),
        ),
    ] {
        let out = std::process::Command::new("twiggy")
            .args(["top", "-f", "json"])
            .arg(&wasm)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "twiggy top {}: {}",
            wasm.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let items: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)?;
        // Custom sections (names, wasm-bindgen's data) and wasm-bindgen's describe functions, which
        // it runs and removes, do not ship; everything else does.
        let shipped: Vec<(&str, u64)> = items
            .iter()
            .filter_map(|i| Some((i["name"].as_str()?, i["shallow_size"].as_u64()?)))
            .filter(|(name, _)| {
                !name.starts_with("custom section")
                    && !name.contains("subsection")
                    && !name.contains("wbindgen_describe")
                    && !name.contains("describe::")
            })
            .collect();
        let total: u64 = shipped.iter().map(|(_, size)| size).sum();
        println!(
            "\nWhere the {what}'s wasm bytes go (twiggy top: {total} B raw, before wasm-bindgen and wasm-opt)"
        );
        for (name, size) in shipped.iter().take(12) {
            let name: String = name.chars().take(90).collect();
            println!(
                "  {size:>7} B {:>5.1} %  {name}",
                100.0 * *size as f64 / total as f64
            );
        }
    }
    Ok(())
}

fn print_figure(figure: &Figure, peer: &str, peer_gzip: Option<usize>) -> anyhow::Result<()> {
    println!("\n{}", figure.what);
    for (file, raw, gz) in &figure.files {
        let name = if file.chars().count() > 44 {
            let tail: String = file.chars().skip(file.chars().count() - 43).collect();
            format!("…{tail}")
        } else {
            file.clone()
        };
        println!("  {name:<44} {raw:>9} B raw {gz:>8} B gzip");
    }
    let total = figure.gzip();
    println!(
        "  {:<44} {total:>27} B gzip ({:.1} KB), budget {} B{}",
        "total",
        total as f64 / 1024.0,
        figure.budget,
        if figure.over_budget() { " OVER" } else { "" }
    );
    match peer_gzip {
        Some(p) => println!(
            "  {peer}: {p} B gzip ({:.1} KB); ratio {:.2}",
            p as f64 / 1024.0,
            total as f64 / p as f64
        ),
        None => println!("  {peer}: not found, no ratio"),
    }
    Ok(())
}

fn gzip_total(files: &[PathBuf]) -> anyhow::Result<usize> {
    files.iter().try_fold(0, |sum, path| {
        let body = std::fs::read(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(sum + publish::gzip(&body)?.len())
    })
}

/// Nango's Connect UI build (a benchmark peer only): `LATCHKEY_NANGO_CONNECT_UI`, else
/// `shared/reference/nango-connect-ui/dist` beside the workspace or its parent.
fn nango_connect_ui() -> Option<PathBuf> {
    let root = util::root();
    std::env::var_os("LATCHKEY_NANGO_CONNECT_UI")
        .map(|d| vec![PathBuf::from(d)])
        .unwrap_or_else(|| {
            ["..", "../.."]
                .iter()
                .map(|up| root.join(up).join("shared/reference/nango-connect-ui/dist"))
                .collect()
        })
        .into_iter()
        .find(|d: &PathBuf| Path::new(d).join("index.html").is_file())
}

pub fn run() -> anyhow::Result<()> {
    sizes()?;
    connect_ui_load()?;
    server_throughput()?;
    activity_log_overhead()?;
    proxy_overhead()
}

/// `/proxy/*` against the same local upstream called directly (requests per second and their ratio),
/// and peak memory for a 200 MB download and upload through it (tests/src/bin/bench-proxy.rs).
fn proxy_overhead() -> anyhow::Result<()> {
    println!("\nProxy: overhead and memory on loopback (release build)");
    bench_bin("bench-proxy", "proxy: ", Some(3))
}

/// Latchkey's hottest calls against a bare axum handler, loaded by `wrk` in alternating rounds, on
/// SQLite, PostgreSQL and two replicas (tests/src/bin/bench-server.rs, release build).
fn server_throughput() -> anyhow::Result<()> {
    println!("\nServer: throughput on loopback against a bare axum handler (release build, wrk)");
    crate::setup::wrk()?;
    bench_bin("bench-server", "server: ", None)
}

/// Flows per second with the activity log on versus off, and their ratio (goal ≥ 0.9;
/// tests/src/bin/bench-activity.rs).
fn activity_log_overhead() -> anyhow::Result<()> {
    println!("\nActivity log: flow throughput with recording on versus off (release build)");
    bench_bin("bench-activity", "activity: ", Some(1))
}

/// Our Connect UI against Nango's, cold loads in one Chromium run (tests/src/bin/bench-connect-ui.rs):
/// first paint, `ready` and bytes on the wire, medians and ratios.
fn connect_ui_load() -> anyhow::Result<()> {
    println!("\nConnect UI: cold loads against Nango's (headless Chromium, real server)");
    bench_bin("bench-connect-ui", "connect-ui: ", None)
}

/// Runs the release bench binary `bin` of the e2e crate and prints its figures: the output lines
/// starting with `prefix`. Fails unless it succeeded and printed `lines` of them (at least one when
/// `None`).
fn bench_bin(bin: &str, prefix: &str, lines: Option<usize>) -> anyhow::Result<()> {
    let args = [
        "run",
        "-q",
        "--release",
        "-p",
        "latchkey-tests",
        "--bin",
        bin,
    ];
    let output = util::cargo()
        .args(args)
        .current_dir(util::root())
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let figures: Vec<_> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .collect();
    anyhow::ensure!(
        output.status.success() && !figures.is_empty() && lines.is_none_or(|n| figures.len() == n),
        "`cargo {}` did not measure:\n{stdout}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    for figure in figures {
        println!("  {figure}");
    }
    Ok(())
}
