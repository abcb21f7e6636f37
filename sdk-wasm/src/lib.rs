//! Latchkey frontend SDK: a Nango-compatible browser SDK in WebAssembly, over a small Rust core.
//!
//! Two faces over one core:
//! - the Rust API ([`start_oauth`], [`OAuthFlow`], [`AuthError`]), used by the Connect UI;
//! - with the `js` feature (default), the wasm-bindgen façade exported to JavaScript as the `Nango`
//!   and `ConnectUI` classes of `@latchkey/frontend` (same surface as `@nangohq/frontend`).
//!
//! Layout:
//! - [`logic`]: pure decisions (popup layout, URL query pairs, `postMessage` admission, the OAuth flow
//!   state machine), unit tested natively;
//! - `oauth`: the popup flow in the browser (popup + result WebSocket + callback messages), with
//!   `browser` (URLs, JS objects for the codec) and `glue` (a few lines of JS plumbing, for size);
//! - `js` (feature `js`): argument parsing and Promise plumbing for JavaScript, and the Connect UI iframe.
//!
//! The OAuth flow (PROTOCOL.md §5): [`start_oauth`] opens a blank popup synchronously inside the
//! user's click, opens the result WebSocket, and on the server's `connection_ack` sends the popup to
//! `/oauth/connect/:key?connect_session_token=…&ws_client_id=…`. The server redirects to the provider
//! and back to its callback, then reports the result on the WebSocket and through the callback page's
//! `postMessage`; [`OAuthFlow::wait`] resolves on the first of the two.

mod browser;
mod error;
mod glue;
pub mod logic;
mod oauth;

#[cfg(feature = "js")]
mod js;

pub use error::AuthError;
#[cfg(feature = "js")]
pub use js::{register_auth_error, ConnectUi, Nango, Promise};
pub use latchkey_protocol::events::ConnectPayload;
pub use logic::OAuthRequest;
pub use oauth::{redirect_url, start_oauth, OAuthCanceller, OAuthFlow};

/// The shipped SDK's allocator (see Cargo.toml). Only with the `js` façade, so the Connect UI, which
/// links this crate without it, keeps its own allocator.
#[cfg(all(
    feature = "js",
    target_arch = "wasm32",
    not(target_feature = "atomics")
))]
#[global_allocator]
// SAFETY: wasm32 without the `atomics` target feature has a single thread, which is all
// `AssumeSingleThreaded` requires.
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };
