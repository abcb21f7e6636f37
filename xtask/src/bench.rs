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

fn report(title: &str, dir: &Path, files: &[&str]) -> anyhow::Result<usize> {
    println!("{title}");
    let mut total = 0;
    for f in files {
        let path = dir.join(f);
        let raw = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let gz = gzip_len(&path)?;
        total += gz;
        println!("  {f:<28} {raw:>9} B raw {gz:>8} B gzip");
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
    Ok(())
}
