//! `cargo xtask`: the project's own commands, so a fresh machine needs only Rust and Node.
//!
//! - `setup`  installs what the build and tests need, skipping what is present (wasm32 target,
//!   wasm-bindgen-cli at the exact version in Cargo.lock, Debian chromium + chromedriver, npm tools).
//! - `build`  builds the server, the SDK into `pkg/`, the Connect UI into `dist/connect-ui/` and the
//!   dashboard into `dist/dashboard/`,
//!   every wasm through the pinned `wasm-opt -Oz` (npm binaryen; Debian's breaks modules), and fails
//!   over a size budget (`budgets.toml`); `web` does the same without the server.
//! - `serve`  runs the local OAuth provider, the server and the demo app (and prints how to sign in
//!   to the dashboard).
//! - `test`   runs every test: unit, server integration, wasm in headless Chromium, end-to-end.
//! - `image`  builds the static (musl) server, smoke-tests it and builds the container image.
//! - `bench`  prints the figures we track with their budgets, peers and ratios.
//!
//! Nothing here downloads from outside the package registries.

mod bench;
mod budgets;
mod build;
mod image;
mod minify;
mod publish;
mod serve;
mod setup;
mod util;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install the toolchain pieces the build and the tests need (idempotent).
    Setup,
    /// Build the server, the SDK package and the Connect UI.
    Build,
    /// Build only the SDK package and the Connect UI (and check their size budgets).
    Web,
    /// Run the demo: local OAuth provider, server on :3003, demo app on :3010.
    Serve,
    /// Run the whole test suite.
    Test {
        /// Run one part only: `native` (unit and server tests on SQLite, the Connect UI's logic),
        /// `postgres` (the server suite on a throwaway PostgreSQL), `wasm` (SDK and Connect UI in
        /// headless Chromium), `e2e` (the whole product in a real browser) or `image` (the static
        /// server, its smoke test and the container image, even without a container builder).
        #[arg(long, value_enum)]
        only: Option<Part>,
    },
    /// Build the static Linux server (musl), smoke-test it, and build the container image from
    /// `deploy/Containerfile` when podman is present.
    Image,
    /// Print sizes (and, later, timings) we track.
    Bench,
}

/// The parts of the test suite, in the order `cargo xtask test` runs them.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    Native,
    Postgres,
    Wasm,
    E2e,
    /// The static (musl) server, its smoke test and the container image: part of the whole suite only
    /// where a container builder (podman) is installed, since the musl release build costs several
    /// minutes cold and the image is what it is for.
    Image,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Setup => setup::run(),
        Command::Build => {
            setup::run()?;
            build::web()?;
            build::server_release()
        }
        Command::Web => {
            setup::run()?;
            build::web()
        }
        Command::Serve => {
            serve::check_ports()?;
            setup::run()?;
            build::web()?;
            build::server_release()?;
            serve::run()
        }
        Command::Test { only } => test(only),
        Command::Image => {
            setup::run()?;
            build::web()?;
            image::run(&mut util::TestTally::default())
        }
        Command::Bench => {
            setup::run()?;
            build::web()?;
            bench::run()
        }
    }
}

fn test(only: Option<Part>) -> anyhow::Result<()> {
    let runs = |part| only.is_none_or(|o| o == part);
    setup::run()?;
    build::web()?;
    let root = util::root();
    let mut tally = util::TestTally::default();
    if runs(Part::Native) {
        util::step("cargo test (native: protocol, server, SDK core, demo)");
        tally.run(
            util::cargo()
                .args([
                    "test",
                    "--workspace",
                    "--exclude",
                    "latchkey-tests",
                    "--exclude",
                    "connect-ui",
                    // Browser-only like the Connect UI; it has no native tests (its API is tested
                    // in server/tests/dashboard_auth.rs, its screens in tests/tests/dashboard.rs).
                    "--exclude",
                    "latchkey-dashboard",
                    "--all-targets",
                ])
                .current_dir(&root),
        )?;
        // The Connect UI is not a default member (a browser-only crate); its pure logic runs natively too.
        util::step("cargo test (Connect UI, native)");
        tally.run(
            util::cargo()
                .args(["test", "-p", "connect-ui", "--lib", "--tests"])
                .current_dir(&root),
        )?;
    }
    if runs(Part::E2e) {
        util::step("cargo test (end-to-end: the product in headless Chromium)");
        tally.run(
            util::cargo()
                .args(["test", "-p", "latchkey-tests", "--all-targets"])
                .current_dir(&root),
        )?;
    }
    if runs(Part::Postgres) {
        // The same server suite again, on PostgreSQL: a throwaway cluster lives as long as the helper's
        // stdin stays open.
        util::step("cargo test (server suite on PostgreSQL)");
        let postgres = util::TestPostgres::start(&root)?;
        tally.run(
            util::cargo()
                .args(["test", "-p", "latchkey-server", "--all-targets"])
                .env("LATCHKEY_TEST_POSTGRES", &postgres.url)
                .current_dir(&root),
        )?;
        drop(postgres);
    }
    if runs(Part::Wasm) {
        for (what, package) in [("SDK", "latchkey-sdk"), ("Connect UI", "connect-ui")] {
            util::step(&format!(
                "cargo test ({what} in headless Chromium, wasm-bindgen-test)"
            ));
            tally.run_reaped(
                util::cargo()
                    .args([
                        "test",
                        "-p",
                        package,
                        "--lib",
                        "--tests",
                        "--target",
                        "wasm32-unknown-unknown",
                    ])
                    .env("CHROMEDRIVER", "/usr/bin/chromedriver")
                    .env("WASM_BINDGEN_TEST_TIMEOUT", "120")
                    .current_dir(&root),
            )?;
        }
    }
    match only {
        Some(Part::Image) => image::run(&mut tally)?,
        None if image::builder_present() => image::run(&mut tally)?,
        None => util::step(
            "SKIPPED the static server and container image: no container builder here \
             (install Debian `podman`, or run `cargo xtask test --only image`)",
        ),
        Some(_) => {}
    }
    util::step("all tests passed");
    anyhow::ensure!(tally.passed > 0, "no test ran");
    println!("{} passed, {} failed", tally.passed, tally.failed);
    Ok(())
}
