//! `cargo xtask setup`: idempotent installs, each skipped when already satisfied.

use crate::util::{self, output, step};
use std::path::Path;
use std::process::Command;

pub fn run() -> anyhow::Result<()> {
    wasm_target()?;
    wasm_bindgen_cli()?;
    chromium()?;
    postgresql()?;
    npm_tools()?;
    Ok(())
}

fn wasm_target() -> anyhow::Result<()> {
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    step("installing the wasm32-unknown-unknown target");
    util::run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

/// The wasm-bindgen version the lockfile pins: the CLI must match it exactly.
pub fn locked_wasm_bindgen_version() -> anyhow::Result<String> {
    let lock: toml::Value =
        toml::from_str(&std::fs::read_to_string(util::root().join("Cargo.lock"))?)?;
    lock.get("package")
        .and_then(|p| p.as_array())
        .and_then(|pkgs| {
            pkgs.iter()
                .find(|p| p.get("name").and_then(|n| n.as_str()) == Some("wasm-bindgen"))
        })
        .and_then(|p| p.get("version").and_then(|v| v.as_str()).map(String::from))
        .ok_or_else(|| anyhow::anyhow!("wasm-bindgen not found in Cargo.lock"))
}

fn wasm_bindgen_cli() -> anyhow::Result<()> {
    let wanted = locked_wasm_bindgen_version()?;
    // Not `--locked`: the CLI's own lockfile names a version this registry lacks (TOOLCHAIN.md).
    cargo_install(
        "wasm-bindgen",
        "wasm-bindgen-cli",
        &wanted,
        false,
        "matches Cargo.lock; takes a few minutes once",
    )
}

/// `cargo install {krate} --version {version}` unless `{binary} --version` already names it.
fn cargo_install(
    binary: &str,
    krate: &str,
    version: &str,
    locked: bool,
    why: &str,
) -> anyhow::Result<()> {
    let have = output(Command::new(binary).arg("--version")).unwrap_or_default();
    if have.split_whitespace().nth(1) == Some(version) {
        return Ok(());
    }
    step(&format!("installing {krate} {version} ({why})"));
    let mut install = util::cargo();
    install.args(["install", krate, "--version", version]);
    if locked {
        install.arg("--locked");
    }
    util::run(&mut install)
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).as_deref() == Some("0")
}

fn chromium() -> anyhow::Result<()> {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        return Ok(());
    }
    apt_install(
        "Chromium and ChromeDriver (browser tests)",
        &["chromium", "chromium-driver"],
    )
}

/// Debian's PostgreSQL server binaries: the test harness starts a throwaway cluster from them to run
/// the server suite on PostgreSQL (tests/src/postgres.rs). The package's own cluster is not used.
fn postgresql() -> anyhow::Result<()> {
    let installed = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| {
            dirs.filter_map(|d| d.ok())
                .any(|d| d.path().join("bin/initdb").exists())
        })
        .unwrap_or(false);
    if installed {
        return Ok(());
    }
    apt_install("PostgreSQL (server suite on PostgreSQL)", &["postgresql"])
}

/// `twiggy` (crates.io), which `cargo xtask bench` uses to show where the wasm bytes go; installed by
/// the bench when it runs (about a minute, once), like `wrk`.
pub fn twiggy() -> anyhow::Result<()> {
    cargo_install(
        "twiggy",
        "twiggy",
        "0.8.0",
        true,
        "wasm size profiler of the bench",
    )
}

/// Debian's `wrk`, the load generator of `cargo xtask bench`'s server figures; installed by the bench
/// when it runs (not by `setup`: nothing else needs it).
pub fn wrk() -> anyhow::Result<()> {
    if output(Command::new("sh").args(["-c", "command -v wrk"])).is_some() {
        return Ok(());
    }
    apt_install("wrk (load generator of the server benchmark)", &["wrk"])
}

pub fn apt_install(what: &str, packages: &[&str]) -> anyhow::Result<()> {
    anyhow::ensure!(
        is_root(),
        "{what} needed: run `sudo apt-get install -y {}`",
        packages.join(" ")
    );
    step(&format!("installing Debian {}", packages.join(" ")));
    util::run(
        Command::new("apt-get")
            .arg("update")
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    util::run(
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// Whether every `devDependencies` entry of `package.json` has a folder in `node_modules/`: the
/// timestamps alone miss a lock file merged or edited without reinstalling.
fn all_dev_dependencies_present(root: &std::path::Path) -> bool {
    let Ok(text) = std::fs::read_to_string(root.join("package.json")) else {
        return false;
    };
    let Ok(manifest) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    manifest["devDependencies"].as_object().is_some_and(|deps| {
        deps.keys().all(|name| {
            root.join("node_modules")
                .join(name)
                .join("package.json")
                .exists()
        })
    })
}

fn npm_tools() -> anyhow::Result<()> {
    let root = util::root();
    let marker = root.join("node_modules/.package-lock.json");
    let lock = root.join("package-lock.json");
    let fresh = match (
        marker.metadata().and_then(|m| m.modified()),
        lock.metadata().and_then(|m| m.modified()),
    ) {
        (Ok(installed), Ok(locked)) => installed >= locked,
        _ => false,
    };
    if fresh
        && root.join("node_modules/.bin/wasm-opt").exists()
        && all_dev_dependencies_present(&root)
    {
        return Ok(());
    }
    step("installing pinned npm tools (binaryen's wasm-opt, oidc-provider, @nangohq/node)");
    util::run(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&root),
    )
}
