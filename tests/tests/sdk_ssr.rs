//! The SDK package imported during server-side rendering (Node, no `window`): the import succeeds,
//! touches no browser global and loads no WebAssembly, and the exports have their shapes — so a
//! Next.js/Nuxt page that imports `@latchkey/frontend` at the top renders on the server.

#[test]
fn importing_the_package_in_node_touches_no_browser_global_and_loads_no_wasm() -> anyhow::Result<()>
{
    latchkey_tests::require_web_build()?;
    let index = latchkey_tests::workspace_root().join("pkg/index.js");
    let url = format!("file://{}", index.display());
    let result = latchkey_tests::ssr::import_in_node(&latchkey_tests::workspace_root(), &url)?;
    assert_eq!(result, latchkey_tests::ssr::expected());
    Ok(())
}
