// Loads the dashboard's WebAssembly (kept out of index.html: the CSP allows no inline script).
import init from './dashboard.js';

init({ module_or_path: new URL('./dashboard_bg.wasm', import.meta.url) });
