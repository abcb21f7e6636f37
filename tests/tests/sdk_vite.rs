//! The SDK as an npm package in a bundled customer app: `npm pack` of `pkg/` (so only the files the
//! package publishes), installed into a copy of `tests/fixtures/vite-app/`, built with Vite, served
//! from its own origin; in Chromium the bundled `Nango` and `AuthError` work, including the
//! WebAssembly that Vite emitted as an asset.

use anyhow::Context as _;
use latchkey_tests::browser::Browser;
use latchkey_tests::site::CustomerSite;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// Runs `program args…` in `dir` (≤ `limit`), failing with its output unless it succeeds.
async fn run_in(dir: &Path, program: &Path, args: &[&str], limit: Duration) -> anyhow::Result<()> {
    let what = format!("{} {}", program.display(), args.join(" "));
    let child = tokio::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(limit, child)
        .await
        .with_context(|| format!("{what} took over {limit:?}"))?
        .with_context(|| format!("running {what}"))?;
    anyhow::ensure!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

#[tokio::test]
async fn vite_build_of_the_package_runs_in_chromium() -> anyhow::Result<()> {
    latchkey_tests::require_web_build()?;
    let root = latchkey_tests::workspace_root();
    let vite = root.join("node_modules/.bin/vite");
    anyhow::ensure!(
        vite.exists(),
        "{} is missing: run `npm ci` at the workspace root",
        vite.display()
    );
    let npm = Path::new("npm");

    // The app, with the package as `npm pack` makes it (what a registry would serve).
    let app = tempfile::Builder::new()
        .prefix("latchkey-vite-app-")
        .tempdir()?;
    let fixture = root.join("tests/fixtures/vite-app");
    for file in ["index.html", "main.js", "package.json"] {
        std::fs::copy(fixture.join(file), app.path().join(file))
            .with_context(|| format!("copying {file}"))?;
    }
    let pkg = root.join("pkg");
    let pack_dir = app.path().to_string_lossy().into_owned();
    run_in(
        &pkg,
        npm,
        &["pack", "--pack-destination", &pack_dir],
        Duration::from_secs(30),
    )
    .await?;
    let tarball = std::fs::read_dir(app.path())?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|name| name.ends_with(".tgz"))
        .context("npm pack wrote no tarball")?;
    let manifest_path = app.path().join("package.json");
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(&manifest_path)?)?;
    manifest["dependencies"]["@latchkey/frontend"] = Value::String(format!("file:./{tarball}"));
    std::fs::write(&manifest_path, serde_json::to_vec_pretty(&manifest)?)?;

    // The package has no dependencies, so installing it needs no registry at all.
    run_in(
        app.path(),
        npm,
        &["install", "--no-audit", "--no-fund", "--offline"],
        Duration::from_secs(60),
    )
    .await?;
    // The installed package as a registry would serve it: its manifest, its files, and a plain Node
    // (SSR) import through its `exports`.
    let installed = app.path().join("node_modules/@latchkey/frontend");
    let manifest: Value = serde_json::from_slice(&std::fs::read(installed.join("package.json"))?)?;
    assert_eq!(manifest["type"], "module");
    assert_eq!(manifest["exports"]["."]["types"], "./index.d.ts");
    assert_eq!(manifest["exports"]["."]["default"], "./index.js");
    for file in [
        "index.js",
        "index.d.ts",
        "latchkey_sdk_bg.wasm",
        "README.md",
    ] {
        assert!(installed.join(file).exists(), "the package ships {file}");
    }
    assert!(!installed.join("node_modules").exists() && !installed.join(".gitignore").exists());
    assert_eq!(
        latchkey_tests::ssr::import_in_node(app.path(), "@latchkey/frontend")?,
        latchkey_tests::ssr::expected(),
        "the installed package imports in Node (SSR)"
    );
    run_in(app.path(), &vite, &["build"], Duration::from_secs(60)).await?;
    let dist = app.path().join("dist");
    let emitted_wasm = std::fs::read_dir(dist.join("assets"))?
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().ends_with(".wasm"));
    assert!(emitted_wasm, "Vite should emit the SDK's .wasm as an asset");

    let site = CustomerSite::serve_dir(dist).await?;
    let browser = Browser::start("vite_build_of_the_package_runs_in_chromium").await?;
    let outcome = tokio::time::timeout(Duration::from_secs(60), async {
        browser.goto(&format!("{}/", site.url())).await?;
        let text = browser
            .wait_for_text("#result", Duration::from_secs(20), |t| t != "loading")
            .await?;
        browser.screenshot("bundled-app").await;
        let result: Value = serde_json::from_str(&text)?;
        assert_eq!(result["typeofNango"], "function", "{result}");
        assert_eq!(result["typeofAuthError"], "function", "{result}");
        assert_eq!(result["typeofConnectUI"], "function", "{result}");
        assert_eq!(result["constructed"], true, "{result}");
        assert_eq!(result["badHost"]["isAuthError"], true, "{result}");
        assert_eq!(result["badHost"]["type"], "invalid_host_url", "{result}");
        // `auth()` without a session token rejects before any network call.
        assert_eq!(result["withoutToken"]["isAuthError"], true, "{result}");
        assert_eq!(
            result["withoutToken"]["type"], "missing_auth_token",
            "{result}"
        );
        anyhow::Ok(())
    })
    .await
    .unwrap_or_else(|_| Err(anyhow::anyhow!("browser part took over 60 s")));
    if outcome.is_err() {
        browser.dump("failure").await;
    }
    browser.close().await;
    outcome
}
