//! `cargo xtask build`: wasm crates → wasm-bindgen → pinned wasm-opt, and the server binary.

use crate::util::{self, run, step};
use std::path::Path;
use std::process::Command;

/// Features Rust's wasm32 target emits by default; wasm-opt must be told to accept them.
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-reference-types",
    "--enable-multivalue",
];

pub fn server_release() -> anyhow::Result<()> {
    step("building the server (release)");
    run(util::cargo()
        .args([
            "build",
            "--release",
            "-p",
            "latchkey-server",
            "-p",
            "latchkey-demo",
        ])
        .current_dir(util::root()))
}

/// The SDK into `pkg/` and the Connect UI into `dist/connect-ui/`.
///
/// The SDK is built in a target directory of its own: the Connect UI links it without its `js`
/// feature, and cargo names a cdylib's artefact without a feature hash, so in one target directory
/// each build overwrote the other's `latchkey_sdk.wasm` and every `build`/`serve` rebuilt both
/// crates (about 20 s); apart, a built tree rebuilds nothing.
pub fn web() -> anyhow::Result<()> {
    let root = util::root();
    wasm_crate(
        "latchkey-sdk",
        "latchkey_sdk",
        &util::target_dir().join("sdk"),
        &root.join("pkg"),
        "latchkey_sdk",
    )?;
    let dist = root.join("dist/connect-ui");
    wasm_crate(
        "connect-ui",
        "connect_ui",
        &util::target_dir(),
        &dist,
        "connect_ui",
    )?;
    for entry in std::fs::read_dir(root.join("connect-ui/static"))? {
        let entry = entry?;
        std::fs::copy(entry.path(), dist.join(entry.file_name()))?;
    }
    Ok(())
}

fn wasm_crate(
    package: &str,
    lib: &str,
    target_dir: &Path,
    out_dir: &Path,
    out_name: &str,
) -> anyhow::Result<()> {
    let root = util::root();
    step(&format!("building {package} for the browser"));
    run(util::cargo()
        .args([
            "build",
            "-p",
            package,
            "--lib",
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "wasm-release",
        ])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(&root))?;
    std::fs::create_dir_all(out_dir)?;
    let wasm = target_dir.join(format!("wasm32-unknown-unknown/wasm-release/{lib}.wasm"));
    let bg = out_dir.join(format!("{out_name}_bg.wasm"));
    if is_newer(&bg, &wasm) && out_dir.join(format!("{out_name}.js")).is_file() {
        eprintln!("    {} is up to date", bg.display());
        return Ok(());
    }
    let mut bindgen = Command::new("wasm-bindgen");
    bindgen
        .args(["--target", "web", "--out-name", out_name, "--out-dir"])
        .arg(out_dir)
        .arg(&wasm);
    if package != "latchkey-sdk" {
        // Only the SDK ships declarations (its index.d.ts imports the generated ones).
        bindgen.arg("--no-typescript");
    }
    run(&mut bindgen)?;
    let wasm_opt = root.join("node_modules/.bin/wasm-opt");
    run(Command::new(&wasm_opt)
        .args(WASM_FEATURES)
        .args(["-Oz", "--strip-debug", "--strip-producers", "-o"])
        .arg(&bg)
        .arg(&bg))
}

/// `output` exists and was written after `input` (wasm-bindgen and wasm-opt take seconds each: they
/// run only when cargo produced a new module).
fn is_newer(output: &Path, input: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(output), modified(input)), (Some(out), Some(inp)) if out > inp)
}
