//! The SDK package imported during server-side rendering (Node, no `window`): the import succeeds,
//! touches no browser global and loads no WebAssembly, and the exports have their shapes — so a
//! Next.js/Nuxt page that imports `@latchkey/frontend` at the top renders on the server.

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

#[test]
fn importing_the_package_in_node_touches_no_browser_global_and_loads_no_wasm() -> anyhow::Result<()>
{
    latchkey_tests::require_web_build()?;
    let index = latchkey_tests::workspace_root().join("pkg/index.js");
    let url = format!("file://{}", index.display());
    let out = Command::new("node")
        .args(["--input-type=module", "-e", SCRIPT, &url])
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    anyhow::ensure!(out.status.success(), "node failed: {stderr}");
    let result: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(
        result,
        serde_json::json!({
            "defaultIsNango": true,
            "connectUI": "function",
            "authError": true,
            "fetched": [],
        }),
        "{stderr}"
    );
    Ok(())
}
