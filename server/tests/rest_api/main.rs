//! The REST API on the real server (issue 3), one module per resource.
//!
//! One test binary of several modules (each under 600 lines): a binary per file would link the
//! server once more each, in both the SQLite and the PostgreSQL pass.

#[path = "../common/mod.rs"]
mod common;

mod client_credentials;
mod connections;
mod integrations;
mod unauthenticated;
mod verification;
