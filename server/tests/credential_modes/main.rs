//! Issue 15: every credential mode end to end against the local provider (`common::credential_modes`), one module per mode.
//!
//! One test binary of several modules (each under 600 lines): a binary per file would link the
//! server once more each, in both the SQLite and the PostgreSQL pass.

#[path = "../common/mod.rs"]
mod common;

mod bill_signature;
mod frontend;
mod github_app;
mod install_plugin;
mod jwt;
mod tba;
mod two_step;
