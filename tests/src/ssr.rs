//! Importing the SDK package in Node as server-side rendering does (no `window`): shared by the test
//! of `pkg/` itself (`sdk_ssr.rs`) and of the `npm pack` tarball installed in an app (`sdk_vite.rs`).

use std::path::Path;
use std::process::Command;

/// Runs in Node: browser globals that an SSR-unsafe module would read at import time throw when read.
const SCRIPT: &str = r#"
for (const name of ['window', 'document', 'location', 'navigator', 'screen', 'localStorage']) {
    if (name in globalThis) continue;
    Object.defineProperty(globalThis, name, {
        configurable: true,
        get() { throw new Error(`import touched ${name}`); },
    });
}
// `typeof window` is how the package decides not to load the wasm: allow exactly that probe.
Object.defineProperty(globalThis, 'window', { configurable: true, value: undefined });
const fetched = [];
globalThis.fetch = (url) => { fetched.push(String(url)); return Promise.reject(new Error('no fetch in SSR')); };
const sdk = await import(process.argv[1]);
const e = new sdk.AuthError('m', 'blocked_by_browser');
console.log(JSON.stringify({
    defaultIsNango: sdk.default === sdk.Nango && typeof sdk.Nango === 'function',
    connectUI: typeof sdk.ConnectUI,
    authError: e instanceof Error && e.name === 'AuthError' && e.type === 'blocked_by_browser' && e.message === 'm',
    fetched,
}));
"#;

/// What a correct SSR import reports.
pub fn expected() -> serde_json::Value {
    serde_json::json!({
        "defaultIsNango": true,
        "connectUI": "function",
        "authError": true,
        "fetched": [],
    })
}

/// Imports `specifier` (a `file://` URL, or a package name resolved from `cwd`'s `node_modules`) in
/// Node with browser globals booby-trapped; returns what the script reports.
pub fn import_in_node(cwd: &Path, specifier: &str) -> anyhow::Result<serde_json::Value> {
    let out = Command::new("node")
        .args(["--input-type=module", "-e", SCRIPT, specifier])
        .current_dir(cwd)
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    anyhow::ensure!(out.status.success(), "node failed: {stderr}");
    Ok(serde_json::from_slice(&out.stdout)?)
}
