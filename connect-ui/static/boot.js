// Loads the Connect UI's WebAssembly (kept out of index.html: the CSP allows no inline script).
import init from './connect_ui.js';

init({ module_or_path: new URL('./connect_ui_bg.wasm', import.meta.url) });
