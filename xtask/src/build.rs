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
pub fn web() -> anyhow::Result<()> {
    let root = util::root();
    wasm_crate(
        "latchkey-sdk",
        "latchkey_sdk",
        &root.join("pkg"),
        "latchkey_sdk",
    )?;
    let dist = root.join("dist/connect-ui");
    wasm_crate("connect-ui", "connect_ui", &dist, "connect_ui")?;
    for entry in std::fs::read_dir(root.join("connect-ui/static"))? {
        let entry = entry?;
        std::fs::copy(entry.path(), dist.join(entry.file_name()))?;
    }
    Ok(())
}

fn wasm_crate(package: &str, lib: &str, out_dir: &Path, out_name: &str) -> anyhow::Result<()> {
    let root = util::root();
    step(&format!("building {package} for the browser"));
    // The Connect UI depends on the SDK crate without its `js` feature, and cargo writes a cdylib
    // dependency to the same unhashed `deps/latchkey_sdk.wasm`: after a Connect UI build, a "fresh" SDK
    // build would hand wasm-bindgen that JS-less module (an 814-byte package). The SDK builds in its
    // own target directory so the two never share that file.
    let target_dir = if package == "latchkey-sdk" {
        util::target_dir().join("sdk")
    } else {
        util::target_dir()
    };
    run(util::cargo()
        .env("CARGO_TARGET_DIR", &target_dir)
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
        .current_dir(&root))?;
    std::fs::create_dir_all(out_dir)?;
    let wasm = target_dir.join(format!("wasm32-unknown-unknown/wasm-release/{lib}.wasm"));
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
    let bg = out_dir.join(format!("{out_name}_bg.wasm"));
    let wasm_opt = root.join("node_modules/.bin/wasm-opt");
    run(Command::new(&wasm_opt)
        .args(WASM_FEATURES)
        .args(["-Oz", "--strip-debug", "--strip-producers", "-o"])
        .arg(&bg)
        .arg(&bg))
}
