// @latchkey/frontend: Nango-compatible frontend SDK in WebAssembly. Importing it touches no browser
// global (SSR-safe): the wasm module is loaded only where a `window` exists.
import { initSync, Nango, ConnectUI, __registerAuthError } from './latchkey_sdk.js';

export class AuthError extends Error {
    constructor(message, type) {
        super(message);
        this.name = 'AuthError';
        this.type = type;
    }
}

if (typeof window !== 'undefined') {
    // Compiled from its bytes, whatever the MIME type the host serves it with, then instantiated by
    // `initSync`: wasm-bindgen's async loader (its streaming fallback and its warnings) stays out of
    // the bundle (about 300 bytes gzip).
    const response = await fetch(new URL('./latchkey_sdk_bg.wasm', import.meta.url));
    if (!response.ok) {
        throw new Error(`@latchkey/frontend: ${response.status} fetching ${response.url}`);
    }
    initSync({ module: await WebAssembly.compile(await response.arrayBuffer()) });
    __registerAuthError(AuthError);
}

export { Nango as default, Nango, ConnectUI };
