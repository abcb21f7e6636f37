//! OAuth2 flows shaped by the catalog and by the environment, against a scripted provider (`common::scripted_provider`).
//!
//! One test binary of several modules (each under 600 lines): a binary per file would link the
//! server once more each, in both the SQLite and the PostgreSQL pass.

#[path = "../common/mod.rs"]
mod common;

mod catalog_options;
mod switches_and_overrides;
