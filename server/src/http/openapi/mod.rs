//! `GET /openapi.json`: the OpenAPI 3.1 document of every route the server answers (PROTOCOL.md §3).
//!
//! Built from one table ([`routes::ROUTES`]) rather than `#[utoipa::path]` attributes spread over
//! every handler module: the routes belong to several modules, the table keeps the whole public
//! surface readable in one place, and `server/tests/openapi.rs` fails when a route is added to any
//! router without a line there. The table names Rust types, never strings: every body, parameter
//! set and JSON answer is the `utoipa::ToSchema` / `IntoParams` of the type the handler
//! (de)serializes (`latchkey_protocol`'s types with its `openapi` feature, or the server's own), so a
//! field renamed in a type is renamed in the document. The server's test harness validates every
//! JSON answer of the test suite against this document (`server/tests/common/openapi.rs`), which
//! catches a table line that names the wrong type.

mod params;
mod routes;

use crate::AppState;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::OnceLock;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    ComponentsBuilder, Content, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr,
    Required, ResponseBuilder,
};
use utoipa::{IntoParams, PartialSchema, ToSchema};

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(serve))
}

async fn serve() -> Json<&'static OpenApi> {
    Json(doc())
}

/// The document, built once.
pub fn doc() -> &'static OpenApi {
    static DOC: OnceLock<OpenApi> = OnceLock::new();
    DOC.get_or_init(document)
}

/// A type's schema and the named schemas it refers to (for `components`).
type Schemas = (RefOr<Schema>, Vec<(String, RefOr<Schema>)>);
/// How a table line names a type: `typed::<T>`.
type Typed = fn() -> Schemas;
/// How a table line names a parameter set: `params::<T>`.
type Params = fn() -> Vec<Parameter>;

fn typed<T: ToSchema>() -> Schemas {
    let mut refs = Vec::new();
    T::schemas(&mut refs);
    (T::schema(), refs)
}

/// `{data: T}`: the envelope's schema refers to `T` by name, so `T` joins the components.
fn data<T: ToSchema>() -> Schemas {
    let (schema, mut refs) = typed::<latchkey_protocol::DataEnvelope<T>>();
    refs.push((T::name().into(), T::schema()));
    T::schemas(&mut refs);
    (schema, refs)
}

/// `{data: T[]}`.
fn data_list<T: ToSchema>() -> Schemas {
    let mut refs = vec![(T::name().into(), T::schema())];
    T::schemas(&mut refs);
    let list = utoipa::openapi::schema::ArrayBuilder::new().items(Ref::from_schema_name(T::name()));
    let schema = ObjectBuilder::new()
        .property("data", list)
        .required("data")
        .into();
    (schema, refs)
}

fn params<T: IntoParams>() -> Vec<Parameter> {
    T::into_params(|| None)
}

/// Any JSON value: the provider catalog's raw entries, the OpenAPI document itself.
fn any_object() -> Schemas {
    (
        ObjectBuilder::new().schema_type(Type::Object).into(),
        Vec::new(),
    )
}

/// `GET /providers/{provider}`'s `data`: the catalog entry as Nango's `providers.yaml` has it
/// (untyped here: the catalog's schema is Nango's, open-ended), with `logo_url` added.
fn provider() -> Schemas {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    (
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A provider catalog entry (Nango's `providers.yaml` schema: further fields as the \
                 catalog has them) with its `name` and `logo_url`.",
            ))
            .property("name", string())
            .property("logo_url", string())
            .property("display_name", string())
            .property("auth_mode", string())
            .property("docs", string())
            .property(
                "categories",
                utoipa::openapi::schema::ArrayBuilder::new().items(string()),
            )
            .required("name")
            .required("logo_url")
            .into(),
        Vec::new(),
    )
}

fn providers() -> Schemas {
    data_of(provider, true)
}

fn one_provider() -> Schemas {
    data_of(provider, false)
}

/// `{data: T}` or `{data: T[]}` around a schema that is not a `ToSchema` type.
fn data_of(inner: Typed, list: bool) -> Schemas {
    let (schema, refs) = inner();
    let data: RefOr<Schema> = if list {
        utoipa::openapi::schema::ArrayBuilder::new()
            .items(schema)
            .into()
    } else {
        schema
    };
    (
        ObjectBuilder::new()
            .property("data", data)
            .required("data")
            .into(),
        refs,
    )
}

/// TWO_STEP and JWT bodies: the provider's `credentials` fields, free-form, with the mode's `type`.
fn credential_fields() -> Schemas {
    (
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("type", ObjectBuilder::new().schema_type(Type::String))
            .required("type")
            .description(Some(
                "The provider's `credentials` fields (strings or objects), with `type` set to the mode.",
            ))
            .into(),
        Vec::new(),
    )
}

/// Who may call a route.
#[derive(Clone, Copy, PartialEq)]
enum Auth {
    /// `Authorization: Bearer <secret key>` (backends).
    Secret,
    /// `Authorization: Bearer <connect session token>` (Connect UI).
    Session,
    SecretOrSession,
    /// `?connect_session_token=` or, legacy, `?public_key=` (browser credential submissions).
    SessionOrPublicKeyQuery,
    /// `Authorization: Bearer <LATCHKEY_METRICS_TOKEN>` when that is set.
    MetricsToken,
    /// No authentication (pages, assets, the document itself).
    Public,
}

/// What a success answers.
#[derive(Clone, Copy)]
enum Answer {
    /// `application/json` of this type.
    Json(Typed),
    /// An HTML page.
    Html,
    /// A body of this media type that is not JSON (`text/event-stream`, Prometheus text, SVG).
    Media(&'static str),
    /// No body (204, redirects).
    Empty,
    /// Whatever the file or the provider is (static files, the proxy's pass-through).
    Any,
}

/// One documented operation.
struct Route {
    method: HttpMethod,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    auth: Auth,
    /// Success status, what it means and what it returns.
    ok: (u16, &'static str, Answer),
    /// The JSON request body (never required: an empty body reads as `{}`).
    body: Option<Typed>,
    /// Query and header parameters (path parameters come from the path).
    params: Option<Params>,
    /// Statuses the route answers besides the ones every route may (see [`error_statuses`]).
    errors: &'static [u16],
    /// Failures are HTML pages too: the OAuth popup's pages.
    html: bool,
}

/// Statuses a route may answer with the error envelope, and why.
fn error_statuses(route: &Route) -> Vec<(u16, &'static str)> {
    let mut statuses = vec![];
    let has_input = route.body.is_some()
        || route.params.is_some()
        || route.path.contains('{')
        || route.auth == Auth::SessionOrPublicKeyQuery;
    if has_input {
        statuses.push((
            400,
            "Invalid input: `invalid_body`, `invalid_json`, `invalid_query_params`, \
             `invalid_uri_params` (with `errors[].path`), or a refusal of the operation",
        ));
    }
    if route.auth != Auth::Public {
        statuses.push((
            401,
            "Missing, malformed or unknown credentials (`missing_auth_header`, `unknown_account`, \
             `unknown_connect_session_token`, `invalid_public_key`, …)",
        ));
    }
    if route.path.contains('{') || route.method != HttpMethod::Get {
        statuses.push((
            404,
            "Unknown integration, connection or resource (`unknown_provider_config`, \
             `unknown_connection`, `not_found`)",
        ));
    }
    for status in route.errors {
        statuses.push((*status, extra_status(*status)));
    }
    statuses.push((
        429,
        "Over the rate limit (`too_many_requests`, `Retry-After`)",
    ));
    statuses.push((500, "`server_error`"));
    statuses.sort_by_key(|(s, _)| *s);
    statuses.dedup_by_key(|(s, _)| *s);
    statuses
}

fn extra_status(status: u16) -> &'static str {
    match status {
        403 => "Not allowed for this session or origin",
        409 => "Conflicts with the current state",
        413 => "The body is over the size limit (`payload_too_large`)",
        502 => "The provider could not be reached or answered too much",
        503 => "Not ready: the reason is the message",
        504 => "The provider did not answer in time (`upstream_timeout`)",
        _ => "Error",
    }
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

fn security(auth: Auth) -> Vec<SecurityRequirement> {
    let one = |name: &str| SecurityRequirement::new(name, Vec::<String>::new());
    match auth {
        Auth::Secret => vec![one("secretKey")],
        Auth::Session => vec![one("connectSessionToken")],
        Auth::SecretOrSession => vec![one("secretKey"), one("connectSessionToken")],
        Auth::SessionOrPublicKeyQuery => {
            vec![one("connectSessionTokenQuery"), one("publicKeyQuery")]
        }
        // Open unless the operator set a token: both alternatives.
        Auth::MetricsToken => vec![one("metricsToken"), SecurityRequirement::default()],
        Auth::Public => vec![],
    }
}

fn html() -> Content {
    Content::new(Some(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .content_media_type("text/html"),
    ))
}

/// Builds the document.
pub fn document() -> OpenApi {
    let mut paths = PathsBuilder::new();
    let mut components = ComponentsBuilder::new();
    let mut named: Vec<(String, RefOr<Schema>)> = Vec::new();
    let json = |t: Typed, named: &mut Vec<(String, RefOr<Schema>)>| {
        let (schema, refs) = t();
        named.extend(refs);
        Content::new(Some(schema))
    };
    for route in routes::ROUTES {
        let (status, description, answer) = route.ok;
        let mut ok = ResponseBuilder::new().description(description);
        ok = match answer {
            Answer::Json(t) => ok.content("application/json", json(t, &mut named)),
            Answer::Html => ok.content("text/html", html()),
            Answer::Media(media) => ok.content(
                media,
                Content::new(Some(ObjectBuilder::new().schema_type(Type::String))),
            ),
            Answer::Empty => ok,
            Answer::Any => ok.content("*/*", Content::new(Some(ObjectBuilder::new()))),
        };
        let mut op = OperationBuilder::new()
            .tag(route.tag)
            .summary(Some(route.summary))
            .operation_id(Some(format!(
                "{}{}",
                method_name(&route.method),
                route.path.replace(['/', '{', '}', '-', '.'], "_")
            )))
            .response(status.to_string(), ok)
            .securities(Some(security(route.auth)));
        if route.html {
            // The popup's pages answer HTML in failure too (the failure is also posted to the opener
            // and the WebSocket).
            op = op.response(
                "4XX",
                ResponseBuilder::new()
                    .description("HTML error page naming the error (Nango's OAuth error types)")
                    .content("text/html", html()),
            );
            // The rate limiter answers before the page's handler: the envelope.
            op = op.response(
                "429",
                ResponseBuilder::new()
                    .description("Over the per-IP limit (`too_many_requests`, `Retry-After`)")
                    .content(
                        "application/json",
                        Content::new(Some(Ref::from_schema_name("Error"))),
                    ),
            );
        } else {
            let envelope = |what: &str| {
                ResponseBuilder::new().description(what).content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name("Error"))),
                )
            };
            for (status, why) in error_statuses(route) {
                op = op.response(status.to_string(), envelope(why));
            }
            // Every other rejection — the framework's 405/413, … — is the envelope too.
            op = op
                .response(
                    "4XX",
                    envelope(
                        "Error envelope `{error: {code, message, errors?}}` with Nango's codes \
                         (`method_not_allowed`, `payload_too_large`, …)",
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
        if let Some(params) = route.params {
            for mut p in params() {
                // `IntoParams` leaves the place to the struct's `parameter_in`; query unless said.
                if p.parameter_in == ParameterIn::Path {
                    p.parameter_in = ParameterIn::Query;
                }
                op = op.parameter(p);
            }
        }
        if let Some(body) = route.body {
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .description(Some(
                        "Unknown fields are refused (`invalid_body` with the field's path); an \
                         empty body reads as `{}`",
                    ))
                    .content("application/json", json(body, &mut named))
                    .build(),
            ));
        }
        paths = paths.path(route.path, PathItem::new(route.method.clone(), op));
    }
    // The error envelope, under the name every operation refers to.
    let (error, refs) = typed::<latchkey_protocol::ApiErrorBody>();
    named.extend(refs);
    components = components.schema("Error", error);
    // Referred to by name from `wire_credentials`.
    named.push((
        "Credentials".into(),
        latchkey_protocol::connection::Credentials::schema(),
    ));
    latchkey_protocol::connection::Credentials::schemas(&mut named);
    for (name, schema) in named {
        components = components.schema(name, schema);
    }
    let components = components
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
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "public_key",
                "Legacy public-key mode (when LATCHKEY_PUBLIC_KEY_MODE allows it): the \
                 environment's public key; with HMAC on, `hmac` is required too",
            ))),
        )
        .security_scheme(
            "metricsToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("LATCHKEY_METRICS_TOKEN, when the operator set one"))
                    .build(),
            ),
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

/// `(method, path)` of every documented operation, for tests and tools.
pub fn documented() -> Vec<(String, &'static str)> {
    routes::ROUTES
        .iter()
        .map(|r| (method_name(&r.method).to_ascii_uppercase(), r.path))
        .collect()
}
