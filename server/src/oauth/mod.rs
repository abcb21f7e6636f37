//! OAuth2 authorization-code flow (PROTOCOL.md §5).
//!
//! 1. [`flow::start`] (`GET /oauth/connect/:key`): checks the session and integration, interpolates the
//!    provider URLs, records an [`crate::storage::OAuthAttemptRow`] keyed by the SHA-256 of a 256-bit
//!    `state` (10-minute TTL), with a PKCE S256 verifier (sealed) and the hash of a browser-binding
//!    cookie, and returns the provider's authorize URL.
//! 2. [`flow::complete`] (`GET /oauth/callback`): consumes the attempt atomically (single use), checks
//!    the cookie, exchanges the code ([`token`]) through the guarded client ([`crate::outbound`]), seals and
//!    upserts the connection, and returns what the HTTP layer reports on both result channels.

pub mod client_credentials;
pub mod flow;
pub mod github_app;
pub mod hmac;
pub mod install_plugin;
pub mod mcp;
pub mod mcp_discovery;
pub mod oauth1;
pub mod refresh;
pub mod token;

pub use flow::{complete, start, CallbackQuery, Completed, FlowFailure, StartRequest, Started};
