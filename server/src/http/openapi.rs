//! `GET /openapi.json`: the OpenAPI 3.1 document of every route the server answers (PROTOCOL.md §3).
//!
//! Built with `utoipa`'s builder from one table ([`ROUTES`]) rather than `#[utoipa::path]` attributes
//! spread over every handler module: the routes belong to several modules (and people), the table keeps
//! the whole public surface readable in one place, and `server/tests/openapi.rs` fails when a route
//! is added to any router (it reads the `.route(…)` calls of `src/http/`) without a line here.
//! Bodies are described by the `latchkey_protocol` type they are; the error envelope is a schema.

use crate::AppState;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::OnceLock;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    ComponentsBuilder, Content, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, Required,
    ResponseBuilder,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(serve))
}

async fn serve() -> Json<&'static OpenApi> {
    static DOC: OnceLock<OpenApi> = OnceLock::new();
    Json(DOC.get_or_init(document))
}

/// Who may call a route.
#[derive(Clone, Copy)]
enum Auth {
    /// `Authorization: Bearer <secret key>` (backends).
    Secret,
    /// `Authorization: Bearer <connect session token>` (Connect UI).
    Session,
    SecretOrSession,
    /// `?connect_session_token=` or, legacy, `?public_key=` (browser credential submissions).
    SessionOrPublicKeyQuery,
    /// No authentication (pages, assets, the document itself).
    Public,
}

use Auth::*;

/// One documented operation.
struct Route {
    method: HttpMethod,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    auth: Auth,
    /// Success status and what it returns.
    ok: (u16, &'static str),
    /// The JSON request body, by protocol type name.
    body: Option<&'static str>,
    /// Query parameters: name, required, description.
    query: &'static [(&'static str, bool, &'static str)],
    /// Answers (success and failure) are HTML pages, not JSON: the OAuth popup's pages.
    html: bool,
}

const fn r(
    method: HttpMethod,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    auth: Auth,
    ok: (u16, &'static str),
) -> Route {
    Route {
        method,
        path,
        tag,
        summary,
        auth,
        ok,
        body: None,
        query: &[],
        html: false,
    }
}

impl Route {
    const fn body(mut self, body: &'static str) -> Self {
        self.body = Some(body);
        self
    }
    const fn query(mut self, query: &'static [(&'static str, bool, &'static str)]) -> Self {
        self.query = query;
        self
    }
    const fn html(mut self) -> Self {
        self.html = true;
        self
    }
}

const SUBMISSION_QUERY: &[(&str, bool, &str)] = &[
    (
        "connect_session_token",
        false,
        "The connect session token (preferred).",
    ),
    (
        "public_key",
        false,
        "Legacy: the environment's public key (UUID v4).",
    ),
    (
        "connection_id",
        false,
        "Public-key mode only: the connection to write; forbidden with a session token.",
    ),
    (
        "params[<name>]",
        false,
        "Connection config values; the session's defaults win.",
    ),
];
const CONNECTION_QUERY: &[(&str, bool, &str)] = &[
    ("provider_config_key", true, "The integration's unique key."),
    (
        "force_refresh",
        false,
        "`true` refreshes the token even if it is not about to expire.",
    ),
    ("refresh_token", false, "`true` includes the refresh token."),
];
const LIST_QUERY: &[(&str, bool, &str)] = &[
    ("connectionId", false, "Exact connection id."),
    (
        "search",
        false,
        "Case-insensitive substring of the connection id or the end user's id, email, name.",
    ),
    ("endUserId", false, "The end user's id."),
    (
        "endUserOrganizationId",
        false,
        "The end user's organization id.",
    ),
    ("integrationId", false, "Comma-separated integration keys."),
    (
        "tags[<key>]",
        false,
        "Tag value; all given tags must match.",
    ),
    ("limit", false, "1 to 2000 (default 10 000)."),
    ("page", false, "0-based page of `limit` connections."),
];
const DELETE_QUERY: &[(&str, bool, &str)] =
    &[("provider_config_key", true, "The integration's unique key.")];

/// The proxy's control headers (`(header)`: documented as header parameters) and its query.
const PROXY_QUERY: &[(&str, bool, &str)] = &[
    (
        "Connection-Id (header)",
        true,
        "The connection to call the API for.",
    ),
    (
        "Provider-Config-Key (header)",
        true,
        "The integration's unique key.",
    ),
    (
        "Base-Url-Override (header)",
        false,
        "Replaces the provider's proxy base URL (still subject to the outbound guard).",
    ),
    (
        "Retries (header)",
        false,
        "Repeats on 429/5xx/network errors for idempotent methods (default 0, at most 10).",
    ),
    (
        "Retry-On (header)",
        false,
        "Comma-separated extra statuses to retry, for any method.",
    ),
    (
        "Decompress (header)",
        false,
        "`true`/`false`; accepted, the body keeps its Content-Encoding.",
    ),
    (
        "Nango-Proxy-<name> (header)",
        false,
        "Sent to the provider as `<name>`.",
    ),
    (
        "<any>",
        false,
        "The query string is passed to the provider as is.",
    ),
];

/// `GET /logs` filters (the stream takes the same, without `limit`).
const LOG_QUERY: &[(&str, bool, &str)] = &[
    ("type", false, "`connect_session`, `oauth`, `credentials`, `refresh`, `client_credentials`, `webhook`, `proxy`, `settings` or `keys`."),
    ("outcome", false, "`pending`, `success` or `failure`."),
    ("integration", false, "The integration's unique key."),
    ("connection_id", false, "The connection id."),
    ("end_user_id", false, "The end user's id (from the connect session)."),
    ("from", false, "ISO-8601: entries started at or after."),
    ("to", false, "ISO-8601: entries started before."),
    ("cursor", false, "`next_cursor` of the previous page (opaque)."),
    ("limit", false, "1 to 500 (default 50)."),
];
const LOG_STREAM_QUERY: &[(&str, bool, &str)] = &[
    ("type", false, "As for `GET /logs`."),
    (
        "outcome",
        false,
        "As for `GET /logs`: entries are sent once they have it.",
    ),
    ("integration", false, "As for `GET /logs`."),
    ("connection_id", false, "As for `GET /logs`."),
    ("end_user_id", false, "As for `GET /logs`."),
    ("from", false, "As for `GET /logs`."),
    ("to", false, "As for `GET /logs`."),
    (
        "cursor",
        false,
        "Resume after this event id (default: from now).",
    ),
];

/// Every route of the server.
const ROUTES: &[Route] = &[
    r(HttpMethod::Get, "/", "meta", "WebSocket result channel (upgrade), else the server's name and version", Public, (200, "`{name, version}` or 101 Switching Protocols")),
    r(HttpMethod::Get, "/openapi.json", "meta", "This document", Public, (200, "OpenAPI 3.1 document")),
    r(HttpMethod::Get, "/health", "operations", "Liveness: the process answers", Public, (200, "`{status: \"ok\"}`")),
    r(HttpMethod::Get, "/ready", "operations", "Readiness: the database answers and the keys open (503 with the reason otherwise)", Public, (200, "`{status: \"ok\", database}`")),
    r(HttpMethod::Get, "/metrics", "operations", "Prometheus metrics (text format); `Authorization: Bearer <LATCHKEY_METRICS_TOKEN>` when that is set", Public, (200, "Prometheus text exposition")),
    r(HttpMethod::Post, "/connect/sessions", "connect", "Create a connect session", Secret, (201, "`{data: ConnectSessionCreated}`")).body("CreateConnectSessionRequest"),
    r(HttpMethod::Post, "/connect/sessions/reconnect", "connect", "Create a reconnect session for an existing connection", Secret, (201, "`{data: ConnectSessionCreated}`")).body("CreateReconnectSessionRequest"),
    r(HttpMethod::Get, "/connect/session", "connect", "The session behind the token (Connect UI)", Session, (200, "`{data: ConnectSessionInfo}`")),
    r(HttpMethod::Delete, "/connect/session", "connect", "End the session", Session, (204, "Deleted")),
    r(HttpMethod::Get, "/integrations", "integrations", "List integrations (a session sees only its allowed ones)", SecretOrSession, (200, "`{data: ApiPublicIntegration[]}`")),
    r(HttpMethod::Post, "/integrations", "integrations", "Create an integration", Secret, (200, "`{data: ApiPublicIntegration}`")).body("CreateIntegration"),
    r(HttpMethod::Get, "/integrations/{key}", "integrations", "Get an integration", Secret, (200, "`{data: ApiPublicIntegration}`")),
    r(HttpMethod::Patch, "/integrations/{key}", "integrations", "Update an integration (display name, OAuth app credentials, key while it has no connections)", Secret, (200, "`{data: ApiPublicIntegration}`")).body("PatchIntegration"),
    r(HttpMethod::Delete, "/integrations/{key}", "integrations", "Delete an integration", Secret, (200, "`{success: true}`")),
    r(HttpMethod::Get, "/providers", "providers", "List the provider catalog", SecretOrSession, (200, "`{data: Provider[]}`")).query(&[("search", false, "Filter by name.")]),
    r(HttpMethod::Get, "/providers/{provider}", "providers", "One catalog entry", SecretOrSession, (200, "`{data: Provider}`")),
    r(HttpMethod::Get, "/oauth/connect/{key}", "oauth", "Start an OAuth2 authorization (popup target): 302 to the provider", SessionOrPublicKeyQuery, (302, "Redirect to the provider's authorization URL")).html().query(&[
        ("connect_session_token", true, "The connect session token."),
        ("ws_client_id", false, "WebSocket client that receives the result."),
        ("params[<name>]", false, "Connection config values."),
        ("authorization_params[<name>]", false, "Extra authorization parameters."),
        ("opener_origin", false, "Exact origin of the page that opened the popup, where the callback page posts the result (else the `Referer` origin)."),
        ("return_url", false, "Redirect mode: the page to return to with `?latchkey_result=<id>` (must be on an allowed origin)."),
    ]),
    r(HttpMethod::Get, "/oauth/callback", "oauth", "The provider's redirect target: exchanges the code, reports the result (HTML page + WebSocket)", Public, (200, "HTML result page")).html().query(&[
        ("state", true, "The state of the authorization attempt."),
        ("code", false, "Authorization code."),
        ("error", false, "Provider error."),
        ("error_description", false, "Provider error description."),
        ("iss", false, "RFC 9207 issuer."),
    ]),
    r(HttpMethod::Post, "/oauth/result/{id}", "oauth", "Redirect mode: redeem, once, the id the browser came back with (`?latchkey_result=`) for the flow's outcome (404 when unknown, used or expired)", Public, (200, "AuthResult `{providerConfigKey, connectionId, isPending}`")),
    r(HttpMethod::Post, "/api-auth/api-key/{key}", "auth", "Submit an API key (verified first when the provider declares `proxy.verification`)", SessionOrPublicKeyQuery, (200, "AuthResult `{providerConfigKey, connectionId}`")).body("ApiKeyBody `{apiKey}`").query(SUBMISSION_QUERY),
    r(HttpMethod::Post, "/api-auth/basic/{key}", "auth", "Submit a username and password (verified first when the provider declares `proxy.verification`)", SessionOrPublicKeyQuery, (200, "AuthResult `{providerConfigKey, connectionId}`")).body("BasicBody `{username, password}`").query(SUBMISSION_QUERY),
    r(HttpMethod::Post, "/oauth2/auth/{key}", "auth", "OAuth2 client credentials: the server fetches (and later renews) the token", SessionOrPublicKeyQuery, (200, "AuthResult `{providerConfigKey, connectionId}`")).body("ClientCredentialsBody `{client_id, client_secret}`").query(SUBMISSION_QUERY),
    r(HttpMethod::Post, "/auth/unauthenticated/{key}", "auth", "Create a connection to a provider without credentials (auth mode NONE)", SessionOrPublicKeyQuery, (200, "AuthResult `{providerConfigKey, connectionId}`")).query(SUBMISSION_QUERY),
    // ---- issue 15: the credential-based modes ----
    r(HttpMethod::Post, "/auth/two-step/{key}", "auth", "TWO_STEP: the server posts the credentials to the provider's token URL and keeps (and renews) the token", SessionOrPublicKeyQuery, (200, "AuthResult `{providerConfigKey, connectionId}`")).body("The provider's `credentials` fields, with `type: TWO_STEP`").query(SUBMISSION_QUERY),
    r(HttpMethod::Post, "/auth/jwt/{key}", "auth", "JWT: the server signs (and re-signs) the provider's JWT from the submitted key material", SessionOrPublicKeyQuery, (200, "AuthResult `{providerConfigKey, connectionId}`")).body("The provider's `credentials` fields, with `type: JWT`").query(SUBMISSION_QUERY),
    r(HttpMethod::Post, "/auth/bill/{key}", "auth", "BILL: the server logs in to Bill and keeps (and renews) the session", SessionOrPublicKeyQuery, (200, "AuthResult `{providerConfigKey, connectionId}`")).body("`{username, password, organization_id, dev_key}`").query(SUBMISSION_QUERY),
    r(HttpMethod::Post, "/auth/signature/{key}", "auth", "SIGNATURE: WSSE credentials, verified first when the provider declares `proxy.verification`", SessionOrPublicKeyQuery, (200, "AuthResult `{providerConfigKey, connectionId}`")).body("`{type: SIGNATURE, username, password}`").query(SUBMISSION_QUERY),
    r(HttpMethod::Post, "/auth/tba/{key}", "auth", "TBA (NetSuite): token id and secret; proxied requests are OAuth 1.0a HMAC-SHA256 signed", SessionOrPublicKeyQuery, (200, "AuthResult `{providerConfigKey, connectionId}`")).body("`{token_id, token_secret, oauth_client_id_override?, oauth_client_secret_override?}`").query(SUBMISSION_QUERY),
    r(HttpMethod::Post, "/auth/aws-sigv4/{key}", "auth", "AWS_SIGV4: STS temporary credentials for the role (the integration's `integration_config` says how), checked with GetCallerIdentity; proxied requests are SigV4-signed", SessionOrPublicKeyQuery, (200, "AuthResult `{providerConfigKey, connectionId}`")).body("`{role_arn, region?}`").query(SUBMISSION_QUERY),
    r(HttpMethod::Get, "/connections", "connections", "List connections", Secret, (200, "`{connections: ApiPublicConnection[]}`")).query(LIST_QUERY),
    r(HttpMethod::Post, "/connections", "connections", "Import a connection with existing credentials", Secret, (201, "ConnectionResponse")).body("ImportConnectionRequest"),
    r(HttpMethod::Get, "/connection", "connections", "List connections (deprecated path)", Secret, (200, "`{connections: ApiPublicConnection[]}`")).query(LIST_QUERY),
    r(HttpMethod::Get, "/connections/{id}", "connections", "Get a connection with its credentials (refreshed when near expiry)", Secret, (200, "ConnectionResponse")).query(CONNECTION_QUERY),
    r(HttpMethod::Get, "/connection/{id}", "connections", "Get a connection (deprecated path)", Secret, (200, "ConnectionResponse")).query(CONNECTION_QUERY),
    r(HttpMethod::Delete, "/connections/{id}", "connections", "Delete a connection", Secret, (200, "`{success: true}`")).query(DELETE_QUERY),
    r(HttpMethod::Delete, "/connection/{id}", "connections", "Delete a connection (deprecated path)", Secret, (200, "`{success: true}`")).query(DELETE_QUERY),
    r(HttpMethod::Post, "/connections/metadata", "connections", "Replace the metadata of one or more connections", Secret, (201, "The body, echoed")).body("MetadataBody `{connection_id, provider_config_key, metadata}`"),
    r(HttpMethod::Patch, "/connections/metadata", "connections", "Merge into the metadata of one or more connections", Secret, (200, "The body, echoed")).body("MetadataBody `{connection_id, provider_config_key, metadata}`"),
    r(HttpMethod::Post, "/connection/metadata", "connections", "Replace metadata (deprecated path)", Secret, (201, "The body, echoed")).body("MetadataBody"),
    r(HttpMethod::Patch, "/connection/metadata", "connections", "Merge metadata (deprecated path)", Secret, (200, "The body, echoed")).body("MetadataBody"),
    r(HttpMethod::Get, "/environment/settings", "environment", "The environment's settings (secrets redacted)", Secret, (200, "`{data: EnvironmentSettings}`")),
    r(HttpMethod::Patch, "/environment/settings", "environment", "Change the environment's settings", Secret, (200, "`{data: EnvironmentSettings}`")).body("EnvironmentSettingsPatch"),
    r(HttpMethod::Get, "/proxy/{endpoint}", "proxy", "Call the provider's API with the connection's credentials (the endpoint is the rest of the path; query passed through)", Secret, (200, "The provider's status, headers and body, streamed")).query(PROXY_QUERY),
    r(HttpMethod::Post, "/proxy/{endpoint}", "proxy", "Proxy a POST (body streamed; retried only on the statuses in Retry-On)", Secret, (200, "The provider's answer")).query(PROXY_QUERY),
    r(HttpMethod::Put, "/proxy/{endpoint}", "proxy", "Proxy a PUT", Secret, (200, "The provider's answer")).query(PROXY_QUERY),
    r(HttpMethod::Patch, "/proxy/{endpoint}", "proxy", "Proxy a PATCH (retried only on the statuses in Retry-On)", Secret, (200, "The provider's answer")).query(PROXY_QUERY),
    r(HttpMethod::Delete, "/proxy/{endpoint}", "proxy", "Proxy a DELETE", Secret, (200, "The provider's answer")).query(PROXY_QUERY),
    r(HttpMethod::Get, "/environment/webhooks", "environment", "The webhook outbox, newest first: pending, delivered and failed (dead letters: refused by the receiver, or out of retries after the 5 s … 10 h schedule)", Secret, (200, "`{data: OutboxWebhook[]}`")).query(&[
        ("status", false, "`pending`, `delivered` or `failed`."),
        ("limit", false, "1 to 1000 (default 100)."),
        ("page", false, "0-based page of `limit` webhooks."),
    ]),
    r(HttpMethod::Post, "/environment/webhooks/{id}/resend", "environment", "Queue a failed (dead-lettered) webhook again with a fresh retry schedule; 404 `not_found` unless it is failed", Secret, (200, "`{data: OutboxWebhook}`")),
    r(HttpMethod::Get, "/logs", "logs", "The activity log, newest first: one entry per operation (OAuth attempt, credential submission, refresh, client-credentials renewal, webhook delivery, proxy call, connect session, settings or key change) with its outcome and duration; never a secret", Secret, (200, "LogPage `{data: LogEntry[], next_cursor}`")).query(LOG_QUERY),
    r(HttpMethod::Get, "/logs/{id}", "logs", "One activity log entry with its timeline of steps (the failing step carries the provider's `error` and `error_description`)", Secret, (200, "`{data: LogEntry}` with `steps: LogStep[]`")),
    r(HttpMethod::Get, "/logs/stream", "logs", "Live tail as Server-Sent Events (`text/event-stream`): an `entry` event (data: LogEntry with steps) for each new entry and each change of a pending one, from every replica; `Last-Event-ID` or `cursor` resumes", Secret, (200, "`text/event-stream` of `entry` events")).query(LOG_STREAM_QUERY),
    r(HttpMethod::Get, "/connect", "assets", "Redirect to the Connect UI", Public, (308, "Redirect to `/connect/`")),
    r(HttpMethod::Get, "/connect/", "assets", "The Connect UI (its index page)", Public, (200, "HTML")).html(),
    r(HttpMethod::Get, "/connect/{file}", "assets", "The Connect UI's files", Public, (200, "Static file")),
    r(HttpMethod::Get, "/sdk/{file}", "assets", "The frontend SDK package (`@latchkey/frontend`) files", Public, (200, "Static file")),
    r(HttpMethod::Get, "/images/template-logos/{file}", "assets", "A provider's logo (`<provider>.svg`)", Public, (200, "SVG")),
];

/// `(method, path)` of every documented operation, for tests and tools.
pub fn documented() -> Vec<(String, &'static str)> {
    ROUTES
        .iter()
        .map(|r| (method_name(&r.method).to_ascii_uppercase(), r.path))
        .collect()
}

fn method_name(m: &HttpMethod) -> &'static str {
    match m {
        HttpMethod::Get => "get",
        HttpMethod::Post => "post",
        HttpMethod::Put => "put",
        HttpMethod::Patch => "patch",
        HttpMethod::Delete => "delete",
        HttpMethod::Head => "head",
        HttpMethod::Options => "options",
        HttpMethod::Trace => "trace",
    }
}

fn json_content(description: &str) -> Content {
    Content::new(Some(
        ObjectBuilder::new()
            .description(Some(description.to_string()))
            .build(),
    ))
}

fn security(auth: Auth) -> Vec<SecurityRequirement> {
    let one = |name: &str| SecurityRequirement::new(name, Vec::<String>::new());
    match auth {
        Secret => vec![one("secretKey")],
        Session => vec![one("connectSessionToken")],
        SecretOrSession => vec![one("secretKey"), one("connectSessionToken")],
        SessionOrPublicKeyQuery => vec![one("connectSessionTokenQuery"), one("publicKeyQuery")],
        Public => vec![],
    }
}

/// Builds the document.
pub fn document() -> OpenApi {
    let mut paths = PathsBuilder::new();
    for route in ROUTES {
        let mut op = OperationBuilder::new()
            .tag(route.tag)
            .summary(Some(route.summary))
            .operation_id(Some(format!(
                "{}{}",
                method_name(&route.method),
                route.path.replace(['/', '{', '}', '-', '.'], "_")
            )))
            .response(
                route.ok.0.to_string(),
                ResponseBuilder::new().description(route.ok.1),
            )
            .securities(Some(security(route.auth)));
        if route.html {
            // The popup's pages answer HTML in success and failure (the failure is also posted to the
            // opener and the WebSocket); a 302 has no body.
            let html = || {
                Content::new(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .content_media_type("text/html"),
                ))
            };
            if route.ok.0 == 200 {
                op = op.response(
                    "200",
                    ResponseBuilder::new()
                        .description(route.ok.1)
                        .content("text/html", html()),
                );
            }
            op = op.response(
                "4XX",
                ResponseBuilder::new()
                    .description("HTML error page naming the error (Nango's OAuth error types)")
                    .content("text/html", html()),
            );
        } else {
            // Every rejection — a handler's, or the framework's 404/405/413 — is the envelope.
            let envelope = |what: &str| {
                ResponseBuilder::new().description(what).content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name("Error"))),
                )
            };
            op = op
                .response(
                    "4XX",
                    envelope(
                        "Error envelope `{error: {code, message, errors?}}` with Nango's codes \
                         (`invalid_query_params`, `invalid_uri_params`, `invalid_body`, `invalid_json`, \
                         `not_found`, `method_not_allowed`, `payload_too_large`, …)",
                    ),
                )
                .response("5XX", envelope("`server_error` envelope"));
        }
        for segment in route.path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                op = op.parameter(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
                );
            }
        }
        for (name, required, description) in route.query {
            // `Name (header)` documents a request header (the proxy's control headers).
            let (name, place) = match name.strip_suffix(" (header)") {
                Some(header) => (header, ParameterIn::Header),
                None => (*name, ParameterIn::Query),
            };
            op = op.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(place)
                    .required(if *required {
                        Required::True
                    } else {
                        Required::False
                    })
                    .description(Some(*description))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            );
        }
        if let Some(body) = route.body {
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .description(Some(format!("`latchkey_protocol` / server type {body}; unknown fields are refused (`invalid_body` with a path)")))
                    .content("application/json", json_content(body))
                    .required(Some(Required::True))
                    .build(),
            ));
        }
        paths = paths.path(route.path, PathItem::new(route.method.clone(), op));
    }
    let issue = ObjectBuilder::new()
        .property("code", ObjectBuilder::new().schema_type(Type::String))
        .property("message", ObjectBuilder::new().schema_type(Type::String))
        .property(
            "path",
            ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String)),
        );
    let error = ObjectBuilder::new()
        .property(
            "error",
            ObjectBuilder::new()
                .property("code", ObjectBuilder::new().schema_type(Type::String))
                .property("message", ObjectBuilder::new().schema_type(Type::String))
                .property("errors", ArrayBuilder::new().items(issue))
                .required("code"),
        )
        .required("error");
    let components = ComponentsBuilder::new()
        .schema("Error", error)
        .security_scheme(
            "secretKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The environment's secret key (UUID v4)"))
                    .build(),
            ),
        )
        .security_scheme(
            "connectSessionToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A connect session token (`nango_connect_session_…`)"))
                    .build(),
            ),
        )
        .security_scheme(
            "connectSessionTokenQuery",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("connect_session_token"))),
        )
        .security_scheme(
            "publicKeyQuery",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("public_key"))),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Latchkey")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Nango-compatible REST API: connect sessions, integrations, providers, connections, credential submission. Every REST answer carries X-RateLimit-* headers; over the limit: 429 too_many_requests.",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components))
        .build()
}
