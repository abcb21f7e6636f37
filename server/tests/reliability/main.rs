//! Reliability (issue 12; on PostgreSQL too when the suite runs with `LATCHKEY_TEST_POSTGRES`), one module per behaviour.
//!
//! One test binary of several modules (each under 600 lines): a binary per file would link the
//! server once more each, in both the SQLite and the PostgreSQL pass.

#[path = "../common/mod.rs"]
mod common;

mod outbox;
mod parallel_writers;
mod refresh;
mod rejections;
