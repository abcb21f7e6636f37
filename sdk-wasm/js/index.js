// @latchkey/frontend: Nango-compatible frontend SDK in WebAssembly. Importing it touches no browser
// global (SSR-safe): the wasm module is loaded only where a `window` exists.
import init, { Nango, ConnectUI, __registerAuthError } from './latchkey_sdk.js';

export class AuthError extends Error {
    constructor(message, type) {
        super(message);
        this.name = 'AuthError';
        this.type = type;
    }
}

if (typeof window !== 'undefined') {
    await init({ module_or_path: new URL('./latchkey_sdk_bg.wasm', import.meta.url) });
    __registerAuthError(AuthError);
}

export { Nango as default, Nango, ConnectUI };
