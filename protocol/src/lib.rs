//! Latchkey's wire contract, the single definition of every shape that crosses a process or a window.
//!
//! The server, the frontend SDK and the Connect UI all (de)serialize through these types, so a field
//! renamed here is renamed everywhere at compile time. Shapes follow Nango's published API
//! (`shared/reference/nango-wire.md`) so that `@nangohq/node` and `@nangohq/frontend` keep working.
//!
//! This crate must stay free of I/O, async runtimes and browser bindings: it is compiled into the
//! size-sensitive wasm SDK as well as the server.

pub mod activity;
pub mod codec;
pub mod connect;
pub mod connection;
#[cfg(feature = "dashboard")]
pub mod dashboard;
pub mod error;
pub mod events;
pub mod integrations;
pub mod params;
pub mod routes;
pub mod settings;
pub mod webhooks;
pub mod ws;

pub use error::{ApiError, ApiErrorBody, AuthErrorType, ErrorCode, ValidationIssue};

/// Every successful Nango "data" response wraps its payload in `{"data": …}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataEnvelope<T> {
    pub data: T,
}

impl<T> DataEnvelope<T> {
    pub fn new(data: T) -> Self {
        Self { data }
    }
}
