//! `cargo xtask build`: wasm crates → wasm-bindgen → pinned wasm-opt, and the server binary.

use crate::util::{self, run, step};
use crate::{budgets, publish};
use std::path::{Path, PathBuf};
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

/// The SDK into `pkg/`, the Connect UI into `dist/connect-ui/` and the dashboard into `dist/dashboard/`
/// (content-hashed assets, see
/// [`publish`]), both with precompressed copies; then the size budgets.
///
/// The SDK is built in a target directory of its own: the Connect UI links it without its `js`
/// feature, and cargo names a cdylib's artefact without a feature hash, so in one target directory
/// each build overwrote the other's `latchkey_sdk.wasm` and every `build`/`serve` rebuilt both
/// crates (about 20 s); apart, a built tree rebuilds nothing.
pub fn web() -> anyhow::Result<()> {
    let root = util::root();
    let pkg = root.join("pkg");
    // wasm-bindgen writes the SDK into a staging folder too; `publish` bundles it into `pkg/`.
    let stage = util::target_dir().join("sdk-bindgen");
    wasm_crate(
        "latchkey-sdk",
        "latchkey_sdk",
        &sdk_target_dir(),
        &stage,
        "latchkey_sdk",
    )?;
    publish::sdk_package(&stage, &root.join("sdk-wasm/js/index.js"), &pkg)?;
    // wasm-bindgen writes the Connect UI into a staging folder; `publish` names and rewrites it.
    let stage = util::target_dir().join("connect-ui-bindgen");
    wasm_crate(
        "connect-ui",
        "connect_ui",
        &util::target_dir(),
        &stage,
        "connect_ui",
    )?;
    let dist = root.join("dist/connect-ui");
    publish::web_app("connect_ui", &stage, &root.join("connect-ui/static"), &dist)?;
    publish::precompress(&dist)?;
    // The dashboard likewise, into `dist/dashboard/` (served at `/dashboard/`).
    let stage = util::target_dir().join("dashboard-bindgen");
    wasm_crate(
        "latchkey-dashboard",
        "latchkey_dashboard",
        &util::target_dir(),
        &stage,
        "dashboard",
    )?;
    let dist = root.join("dist/dashboard");
    publish::web_app("dashboard", &stage, &root.join("dashboard/static"), &dist)?;
    publish::precompress(&dist)?;
    publish::precompress(&pkg)?;
    budgets::check()
}

/// `RUSTFLAGS` of the browser builds: the registry's source folders are cut from the panic locations
/// the wasm keeps (`/root/.cargo/registry/src/index.crates.io-…/reactive_graph-0.2.16/src/…` becomes
/// `reactive_graph-0.2.16/src/…`), so the sizes do not depend on where cargo lives on the machine
/// and the Connect UI is some 100 bytes (gzip) smaller. Only target crates see `RUSTFLAGS` here
/// (`--target` is given), so build scripts and proc macros stay cached.
fn remapped_rustflags() -> String {
    let mut flags = std::env::var("RUSTFLAGS").unwrap_or_default();
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    let sources = home
        .and_then(|h| std::fs::read_dir(h.join("registry/src")).ok())
        .into_iter()
        .flatten()
        .flatten();
    for dir in sources {
        flags.push_str(&format!(" --remap-path-prefix={}/=", dir.path().display()));
    }
    flags.trim().to_string()
}

/// The SDK's own target folder (apart from the Connect UI's: see [`web`]).
pub fn sdk_target_dir() -> PathBuf {
    util::target_dir().join("sdk")
}

/// The wasm cargo writes for `lib` under `target_dir`: before wasm-bindgen and wasm-opt, with its
/// function names.
pub fn cargo_wasm(target_dir: &Path, lib: &str) -> PathBuf {
    target_dir.join(format!("wasm32-unknown-unknown/wasm-release/{lib}.wasm"))
}

/// wasm-bindgen, then wasm-opt: the module optimised for size, then its import and export names
/// minified, with the glue rewritten to match ([`crate::minify`]).
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
        .env("RUSTFLAGS", remapped_rustflags())
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
    let wasm = cargo_wasm(target_dir, lib);
    let bg = out_dir.join(format!("{out_name}_bg.wasm"));
    // Stale too when xtask itself changed since (how the output is made may have).
    let xtask = std::env::current_exe()?;
    if is_newer(&bg, &wasm)
        && is_newer(&bg, &xtask)
        && out_dir.join(format!("{out_name}.js")).is_file()
    {
        eprintln!("    {} is up to date", bg.display());
        return Ok(());
    }
    // No generated declarations: the SDK's `pkg/index.d.ts` is written by hand (it mirrors
    // `@nangohq/frontend`'s surface; sdk-wasm/tests/declarations.rs keeps it true to the code).
    run(Command::new("wasm-bindgen")
        .args([
            "--target",
            "web",
            "--no-typescript",
            "--out-name",
            out_name,
            "--out-dir",
        ])
        .arg(out_dir)
        .arg(&wasm))?;
    let wasm_opt = root.join("node_modules/.bin/wasm-opt");
    // `--converge` repeats -Oz while it still shrinks the module (a few hundred bytes, seconds).
    // Browsers ignore the custom sections stripped here (`target_features`: about 110 B gzip).
    run(Command::new(&wasm_opt)
        .args(WASM_FEATURES)
        .args([
            "-Oz",
            "--converge",
            "--strip-debug",
            "--strip-producers",
            "--strip-target-features",
            "-o",
        ])
        .arg(&bg)
        .arg(&bg))?;
    // A failed rewrite leaves a module whose names the glue does not match: removed, so that the
    // next build makes both again instead of finding them up to date.
    crate::minify::names(out_dir, out_name, &wasm_opt, WASM_FEATURES).inspect_err(|_| {
        let _ = std::fs::remove_file(&bg);
    })
}

/// `output` exists and was written after `input` (wasm-bindgen and wasm-opt take seconds each: they
/// run only when cargo produced a new module).
fn is_newer(output: &Path, input: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(output), modified(input)), (Some(out), Some(inp)) if out > inp)
}
