//! Latchkey Connect UI: the end user's connect flow, a client-side app compiled to WebAssembly: Leptos'
//! reactive system (`reactive_graph`: signals, effects) drives plain DOM screens (see `dom`).
//!
//! It runs in the full-screen iframe opened by the SDK's `openConnectUI()` (talking to the parent page
//! through `parent.rs` with exact origins) or as a top-level tab for connect links. Layout:
//! `config` (URL parameters) → `flow` (the pure state machine: screens, transitions, events to the
//! parent) run by `controller` (signals, API calls, popup, timers) → `dialog` (the modal shell showing
//! the current screen) → `views/` (one per screen) → `components/` (form field, logo), `dom` (the
//! plain DOM builders every screen uses: the screens are built without Leptos' `view!` renderer to fit
//! the size budget), `api` (the only HTTP client) reading `model` (what the server sends, as kept)
//! through `wire` (JSON field codec), `i18n` (every string; non-English ones fetched on demand), `theme`.

pub mod api;
pub mod app;
pub mod components;
pub mod config;
pub mod controller;
pub mod dialog;
pub mod dom;
pub mod flow;
pub mod form;
pub mod i18n;
pub mod model;
pub mod parent;
pub mod theme;
pub mod views;
pub mod wire;

use wasm_bindgen::prelude::*;

/// Where `needle` first occurs in `haystack`. A plain byte scan: `str::find`/`contains`/`replace`
/// with a `&str` pattern link core's Two-Way searcher (about 2 KB of wasm) for a handful of short
/// searches on short texts.
pub fn find_str(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
}

/// Entry point called by `boot.js` once the module is instantiated: mounts the app on `<body>`.
#[wasm_bindgen(start)]
pub fn start() {
    app::start_app();
}
