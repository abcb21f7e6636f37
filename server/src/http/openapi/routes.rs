//! The table of every route the server answers, by the types its handler reads and answers.
//! Long lines on purpose: one route per line reads as a table (rustfmt leaves the macro-free
//! array alone when a line cannot be split).

use super::params::{
    ConnectionListQuery, IntegrationInclude, OAuthConnectQuery, ProxyHeaders, SubmissionQuery,
};
use super::{
    any_object, credential_fields, data, data_list, one_provider, params, providers, typed, Answer,
    Auth, Params, Route, Typed,
};
use crate::http::api_auth::{ApiKeyBody, BasicBody};
use crate::http::client_credentials::ClientCredentialsBody;
use crate::http::connections::{ConnectionQuery, MetadataBody};
use crate::http::credential_auth::{AwsSigV4Body, BillBody, SignatureBody, TbaBody};
use crate::http::integrations::{CreateIntegration, PatchIntegration};
use crate::http::logs::LogQuery;
use crate::http::ops::{Health, Ready};
use crate::http::outbox;
use crate::http::unauthenticated::EmptyBody;
use crate::http::{ServerInfo, Success};
use crate::oauth::flow::CallbackQuery;
use latchkey_protocol::activity::{LogEntry, LogPage};
use latchkey_protocol::connect::{
    ConnectSessionCreated, ConnectSessionInfo, CreateConnectSessionRequest,
    CreateReconnectSessionRequest,
};
use latchkey_protocol::connection::{ConnectionList, ConnectionResponse, ImportConnectionRequest};
use latchkey_protocol::events::ConnectPayload;
use latchkey_protocol::integrations::{ApiPublicIntegration, ApiPublicIntegrationIncluded};
use latchkey_protocol::settings::{EnvironmentSettings, EnvironmentSettingsPatch};
use latchkey_protocol::webhooks::OutboxWebhook;
use utoipa::openapi::path::HttpMethod::{self, Delete, Get, Patch, Post, Put};
use Answer::{Empty, Html, Json, Media};
use Auth::*;

const fn r(
    method: HttpMethod,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    auth: Auth,
    ok: (u16, &'static str, Answer),
) -> Route {
    Route {
        method,
        path,
        tag,
        summary,
        auth,
        ok,
        body: None,
        params: None,
        errors: &[],
        html: false,
    }
}

impl Route {
    const fn body(mut self, body: Typed) -> Self {
        self.body = Some(body);
        self
    }
    const fn params(mut self, params: Params) -> Self {
        self.params = Some(params);
        self
    }
    const fn errors(mut self, errors: &'static [u16]) -> Self {
        self.errors = errors;
        self
    }
    const fn html(mut self) -> Self {
        self.html = true;
        self
    }
}

const AUTH_RESULT: (u16, &str, Answer) = (
    200,
    "`{providerConfigKey, connectionId}`",
    Json(typed::<ConnectPayload>),
);
const PROXIED: (u16, &str, Answer) = (
    200,
    "The provider's status, headers and body, streamed",
    Answer::Any,
);
const PROXY_ERRORS: &[u16] = &[413, 502, 504];

#[rustfmt::skip]
pub(super) const ROUTES: &[Route] = &[
    r(Get, "/", "meta", "WebSocket result channel (upgrade: 101 Switching Protocols), else the server's name and version", Public, (200, "The server's name and version", Json(typed::<ServerInfo>))),
    r(Get, "/openapi.json", "meta", "This document", Public, (200, "OpenAPI 3.1 document", Json(any_object))),
    r(Get, "/health", "operations", "Liveness: the process answers", Public, (200, "Alive", Json(typed::<Health>))),
    r(Get, "/ready", "operations", "Readiness: the database answers and the keys open (503 with the reason otherwise)", Public, (200, "Ready", Json(typed::<Ready>))).errors(&[503]),
    r(Get, "/metrics", "operations", "Prometheus metrics (text format)", MetricsToken, (200, "Prometheus text exposition", Media("text/plain; version=0.0.4"))),
    r(Post, "/connect/sessions", "connect", "Create a connect session", Secret, (201, "The session's token", Json(data::<ConnectSessionCreated>))).body(typed::<CreateConnectSessionRequest>),
    r(Post, "/connect/sessions/reconnect", "connect", "Create a reconnect session for an existing connection", Secret, (201, "The session's token", Json(data::<ConnectSessionCreated>))).body(typed::<CreateReconnectSessionRequest>),
    r(Get, "/connect/session", "connect", "The session behind the token (Connect UI)", Session, (200, "The session", Json(data::<ConnectSessionInfo>))),
    r(Delete, "/connect/session", "connect", "End the session", Session, (204, "Deleted", Empty)),
    r(Get, "/integrations", "integrations", "List integrations (a session sees only its allowed ones)", SecretOrSession, (200, "The integrations", Json(data_list::<ApiPublicIntegration>))),
    r(Post, "/integrations", "integrations", "Create an integration", Secret, (200, "The integration", Json(data::<ApiPublicIntegration>))).body(typed::<CreateIntegration>).errors(&[409]),
    r(Get, "/integrations/{key}", "integrations", "Get an integration (with its app credentials and webhook URL when asked)", Secret, (200, "The integration", Json(data::<ApiPublicIntegrationIncluded>))).params(params::<IntegrationInclude>),
    r(Patch, "/integrations/{key}", "integrations", "Update an integration (display name, OAuth app credentials, key while it has no connections)", Secret, (200, "The integration", Json(data::<ApiPublicIntegration>))).body(typed::<PatchIntegration>).errors(&[409]),
    r(Delete, "/integrations/{key}", "integrations", "Delete an integration", Secret, (200, "Deleted", Json(typed::<Success>))),
    r(Get, "/providers", "providers", "List the provider catalog", SecretOrSession, (200, "The catalog", Json(providers))),
    r(Get, "/providers/{provider}", "providers", "One catalog entry", SecretOrSession, (200, "The entry", Json(one_provider))),
    r(Get, "/oauth/connect/{key}", "oauth", "Start an OAuth authorization (popup target): 302 to the provider", SessionOrPublicKeyQuery, (302, "Redirect to the provider's authorization URL", Empty)).params(params::<OAuthConnectQuery>).html(),
    r(Get, "/oauth/callback", "oauth", "The provider's redirect target: exchanges the code, reports the result (HTML page + WebSocket)", Public, (200, "HTML result page", Html)).params(params::<CallbackQuery>).html(),
    r(Get, "/app-auth/connect", "oauth", "A GitHub App's setup URL: GitHub's return from the install page (`installation_id`, `setup_action`, `state`); finishes the flow like the callback", Public, (200, "HTML result page", Html)).params(params::<CallbackQuery>).html(),
    r(Post, "/webhook/{environment}/{key}", "webhooks", "A provider's webhook for an integration, at its `webhook_url` (the environment's public id): a GitHub App with user authorization (`CUSTOM`) finishes pending connections from its signed `installation` events (401 without a valid `x-hub-signature-256`); other providers' are acknowledged", Public, (200, "Received", Json(typed::<Success>))).errors(&[401, 404]),
    r(Post, "/oauth/result/{id}", "oauth", "Redirect mode: redeem, once, the id the browser came back with (`?latchkey_result=`) for the flow's outcome (404 when unknown, used or expired; 400 with the flow's error type)", Public, (200, "The outcome", Json(typed::<ConnectPayload>))),
    r(Post, "/api-auth/api-key/{key}", "auth", "Submit an API key (verified first when the provider declares `proxy.verification`)", SessionOrPublicKeyQuery, AUTH_RESULT).body(typed::<ApiKeyBody>).params(params::<SubmissionQuery>).errors(&[403]),
    r(Post, "/api-auth/basic/{key}", "auth", "Submit a username and password (verified first when the provider declares `proxy.verification`)", SessionOrPublicKeyQuery, AUTH_RESULT).body(typed::<BasicBody>).params(params::<SubmissionQuery>).errors(&[403]),
    r(Post, "/oauth2/auth/{key}", "auth", "OAuth2 client credentials: the server fetches (and later renews) the token", SessionOrPublicKeyQuery, AUTH_RESULT).body(typed::<ClientCredentialsBody>).params(params::<SubmissionQuery>).errors(&[403]),
    r(Post, "/auth/unauthenticated/{key}", "auth", "Create a connection to a provider without credentials (auth mode NONE)", SessionOrPublicKeyQuery, AUTH_RESULT).body(typed::<EmptyBody>).params(params::<SubmissionQuery>).errors(&[403]),
    r(Post, "/auth/two-step/{key}", "auth", "TWO_STEP: the server posts the credentials to the provider's token URL and keeps (and renews) the token", SessionOrPublicKeyQuery, AUTH_RESULT).body(credential_fields).params(params::<SubmissionQuery>).errors(&[403]),
    r(Post, "/auth/jwt/{key}", "auth", "JWT: the server signs (and re-signs) the provider's JWT from the submitted key material", SessionOrPublicKeyQuery, AUTH_RESULT).body(credential_fields).params(params::<SubmissionQuery>).errors(&[403]),
    r(Post, "/auth/bill/{key}", "auth", "BILL: the server logs in to Bill and keeps (and renews) the session", SessionOrPublicKeyQuery, AUTH_RESULT).body(typed::<BillBody>).params(params::<SubmissionQuery>).errors(&[403]),
    r(Post, "/auth/signature/{key}", "auth", "SIGNATURE: WSSE credentials, verified first when the provider declares `proxy.verification`", SessionOrPublicKeyQuery, AUTH_RESULT).body(typed::<SignatureBody>).params(params::<SubmissionQuery>).errors(&[403]),
    r(Post, "/auth/tba/{key}", "auth", "TBA (NetSuite): token id and secret; proxied requests are OAuth 1.0a HMAC-SHA256 signed", SessionOrPublicKeyQuery, AUTH_RESULT).body(typed::<TbaBody>).params(params::<SubmissionQuery>).errors(&[403]),
    r(Post, "/auth/aws-sigv4/{key}", "auth", "AWS_SIGV4: STS temporary credentials for the role (the integration's `integration_config` says how), checked with GetCallerIdentity; proxied requests are SigV4-signed", SessionOrPublicKeyQuery, AUTH_RESULT).body(typed::<AwsSigV4Body>).params(params::<SubmissionQuery>).errors(&[403, 502]),
    r(Get, "/connections", "connections", "List connections", Secret, (200, "The connections (no credentials)", Json(typed::<ConnectionList>))).params(params::<ConnectionListQuery>),
    r(Post, "/connections", "connections", "Import a connection with existing credentials", Secret, (201, "The connection", Json(typed::<ConnectionResponse>))).body(typed::<ImportConnectionRequest>),
    r(Get, "/connection", "connections", "List connections (deprecated path)", Secret, (200, "The connections (no credentials)", Json(typed::<ConnectionList>))).params(params::<ConnectionListQuery>),
    r(Get, "/connections/{id}", "connections", "Get a connection with its credentials (refreshed when near expiry)", Secret, (200, "The connection", Json(typed::<ConnectionResponse>))).params(params::<ConnectionQuery>),
    r(Get, "/connection/{id}", "connections", "Get a connection (deprecated path)", Secret, (200, "The connection", Json(typed::<ConnectionResponse>))).params(params::<ConnectionQuery>),
    r(Delete, "/connections/{id}", "connections", "Delete a connection", Secret, (200, "Deleted", Json(typed::<Success>))).params(params::<ConnectionQuery>),
    r(Delete, "/connection/{id}", "connections", "Delete a connection (deprecated path)", Secret, (200, "Deleted", Json(typed::<Success>))).params(params::<ConnectionQuery>),
    r(Post, "/connections/metadata", "connections", "Replace the metadata of one or more connections", Secret, (201, "The body, echoed", Json(typed::<MetadataBody>))).body(typed::<MetadataBody>),
    r(Patch, "/connections/metadata", "connections", "Merge into the metadata of one or more connections", Secret, (200, "The body, echoed", Json(typed::<MetadataBody>))).body(typed::<MetadataBody>),
    r(Post, "/connection/metadata", "connections", "Replace metadata (deprecated path)", Secret, (201, "The body, echoed", Json(typed::<MetadataBody>))).body(typed::<MetadataBody>),
    r(Patch, "/connection/metadata", "connections", "Merge metadata (deprecated path)", Secret, (200, "The body, echoed", Json(typed::<MetadataBody>))).body(typed::<MetadataBody>),
    r(Get, "/environment/settings", "environment", "The environment's settings (secrets redacted)", Secret, (200, "The settings", Json(data::<EnvironmentSettings>))),
    r(Patch, "/environment/settings", "environment", "Change the environment's settings", Secret, (200, "The settings", Json(data::<EnvironmentSettings>))).body(typed::<EnvironmentSettingsPatch>),
    r(Get, "/proxy/{endpoint}", "proxy", "Call the provider's API with the connection's credentials (the endpoint is the rest of the path; the query goes to the provider as is)", Secret, PROXIED).params(params::<ProxyHeaders>).errors(PROXY_ERRORS),
    r(Post, "/proxy/{endpoint}", "proxy", "Proxy a POST (body streamed; retried only on the statuses in Retry-On)", Secret, PROXIED).params(params::<ProxyHeaders>).errors(PROXY_ERRORS),
    r(Put, "/proxy/{endpoint}", "proxy", "Proxy a PUT", Secret, PROXIED).params(params::<ProxyHeaders>).errors(PROXY_ERRORS),
    r(Patch, "/proxy/{endpoint}", "proxy", "Proxy a PATCH (retried only on the statuses in Retry-On)", Secret, PROXIED).params(params::<ProxyHeaders>).errors(PROXY_ERRORS),
    r(Delete, "/proxy/{endpoint}", "proxy", "Proxy a DELETE", Secret, PROXIED).params(params::<ProxyHeaders>).errors(PROXY_ERRORS),
    r(Get, "/environment/webhooks", "environment", "The webhook outbox, newest first: pending, delivered and failed (dead letters: refused by the receiver, or out of retries after the 5 s … 10 h schedule)", Secret, (200, "The webhooks", Json(data_list::<OutboxWebhook>))).params(params::<outbox::ListQuery>),
    r(Post, "/environment/webhooks/{id}/resend", "environment", "Queue a failed (dead-lettered) webhook again with a fresh retry schedule; 404 `not_found` unless it is failed", Secret, (200, "The webhook, pending again", Json(data::<OutboxWebhook>))).body(typed::<outbox::Empty>),
    r(Get, "/logs", "logs", "The activity log, newest first: one entry per operation (OAuth attempt, credential submission, refresh, client-credentials renewal, webhook delivery, proxy call, connect session, settings or key change) with its outcome and duration; never a secret", Secret, (200, "A page of entries", Json(typed::<LogPage>))).params(params::<LogQuery>),
    r(Get, "/logs/{id}", "logs", "One activity log entry with its timeline of steps (the failing step carries the provider's `error` and `error_description`)", Secret, (200, "The entry with `steps`", Json(data::<LogEntry>))),
    r(Get, "/logs/stream", "logs", "Live tail as Server-Sent Events: an `entry` event (data: LogEntry with steps) for each new entry and each change of a pending one, from every replica; `Last-Event-ID` or `cursor` resumes (`limit` is refused)", Secret, (200, "`entry` events", Media("text/event-stream"))).params(params::<LogQuery>),
    r(Get, "/connect", "assets", "Redirect to the Connect UI", Public, (308, "Redirect to `/connect/`", Empty)),
    r(Get, "/connect/", "assets", "The Connect UI (its index page)", Public, (200, "The page", Html)),
    r(Get, "/connect/{file}", "assets", "The Connect UI's files", Public, (200, "The file", Answer::Any)),
    r(Get, "/sdk/{file}", "assets", "The frontend SDK package (`@latchkey/frontend`) files", Public, (200, "The file", Answer::Any)),
    r(Get, "/images/template-logos/{file}", "assets", "A provider's logo (`<provider>.svg`)", Public, (200, "The logo", Media("image/svg+xml"))),
];
