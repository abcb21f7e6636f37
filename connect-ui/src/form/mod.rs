//! The integration screen's form, decided in plain Rust (no browser): which fields a provider's
//! catalog entry asks for, in which order, with which starting value, and whether a value is valid.
//!
//! Rules follow Nango's Connect UI (reference §2.5): base credential fields per auth mode (`apiKey`;
//! `username`/`password`; `client_id`/`client_secret`) take the provider's `credentials` schema when
//! it describes them; `connection_config` fields become `params`; `automated` fields are never shown;
//! `hidden` fields and values preset by the session (`integrations_config_defaults.connection_config`)
//! are not shown but are sent; fields with an `order` come first. Validation: required unless
//! `optional`, `enum` membership, `format` (hostname, uri, email, uuid) and `pattern` ("Incorrect
//! {title}"). Regular expressions and URL parsing are the browser's (`RegExp`, `URL`), reached through
//! [`Syntax`], so the native tests plug in the `regex` and `url` crates instead.

use latchkey_protocol::integrations::AuthMode;

/// Where a field's value goes in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// The credentials body (`apiKey`, `username`, …).
    Credentials,
    /// Connection config, sent as `params[name]`.
    Params,
    /// Key material for a client assertion (the catalog's `assertion_option`), sent once as the
    /// body's `assertionOption` object and never stored by the server.
    AssertionOption,
}

/// A `format` the catalog may give a string field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Hostname,
    Uri,
    Email,
    Uuid,
}

impl Format {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "hostname" => Some(Self::Hostname),
            "uri" | "url" => Some(Self::Uri),
            "email" => Some(Self::Email),
            "uuid" => Some(Self::Uuid),
            _ => None,
        }
    }

    /// The `type` of the `<input>` that suits it.
    pub fn input_type(self) -> &'static str {
        match self {
            Self::Uri => "url",
            Self::Email => "email",
            Self::Hostname | Self::Uuid => "text",
        }
    }
}

/// One entry of a provider's `credentials` or `connection_config` (the JSON-schema-like catalog fields).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSchema {
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub example: Option<String>,
    pub pattern: Option<String>,
    pub format: Option<Format>,
    /// `enum`: the allowed values (a `<select>`).
    pub options: Vec<String>,
    pub optional: bool,
    pub secret: bool,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub default_value: Option<String>,
    pub hidden: bool,
    pub automated: bool,
    pub order: Option<f64>,
    pub doc_section: Option<String>,
}

impl FieldSchema {
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Self::default()
        }
    }
}

/// A field of the form as the user sees it (or does not, when `hidden`).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub namespace: Namespace,
    pub schema: FieldSchema,
    /// Not rendered (catalog `hidden`, or preset by the session); its value is still sent.
    pub hidden: bool,
    /// The value the form starts with.
    pub initial: String,
}

impl Field {
    /// The DOM id of its input: `field-credentials-apiKey`, `field-params-subdomain`.
    pub fn input_id(&self) -> String {
        let ns = match self.namespace {
            Namespace::Credentials => "credentials",
            Namespace::Params => "params",
            Namespace::AssertionOption => "assertionOption",
        };
        format!("field-{ns}-{}", self.schema.name)
    }

    /// A PEM private key or another multi-line value: a `<textarea>` (issue 15, JWT key material).
    pub fn is_multiline(&self) -> bool {
        let s = &self.schema;
        let name = s.name.to_ascii_lowercase();
        let has = |text: &str, part: &str| crate::find_str(text, part).is_some();
        has(&name, "privatekey")
            || has(&name, "private_key")
            || [&s.example, &s.pattern]
                .iter()
                .any(|t| t.as_deref().is_some_and(|t| has(t, "-----BEGIN")))
    }

    /// `type=password` for secrets (catalog `secret`, or a built-in secret name).
    pub fn is_secret(&self) -> bool {
        self.schema.secret
            || (self.namespace == Namespace::Credentials
                && matches!(
                    self.schema.name.as_str(),
                    "apiKey" | "password" | "client_secret"
                ))
    }
}

/// The credential fields an auth mode always asks for, and whether the screen is a form at all.
pub fn base_credentials(mode: &AuthMode) -> &'static [&'static str] {
    match mode {
        AuthMode::ApiKey => &["apiKey"],
        AuthMode::Basic => &["username", "password"],
        AuthMode::Oauth2Cc => &["client_id", "client_secret"],
        AuthMode::Signature => &["username", "password"],
        AuthMode::Bill => &["username", "password", "organization_id", "dev_key"],
        AuthMode::Tba => &["token_id", "token_secret"],
        _ => &[],
    }
}

/// Modes whose credential fields are exactly the provider's `credentials` schema (issue 15).
fn schema_credentials(mode: &AuthMode) -> bool {
    matches!(mode, AuthMode::TwoStep | AuthMode::Jwt | AuthMode::AwsSigV4)
}

/// Whether the Connect UI can connect this auth mode (the popup modes through the popup, the rest
/// by `POST`).
pub fn is_supported(mode: &AuthMode) -> bool {
    is_popup(mode)
        || matches!(
            mode,
            AuthMode::ApiKey
                | AuthMode::Basic
                | AuthMode::Oauth2Cc
                | AuthMode::TwoStep
                | AuthMode::Jwt
                | AuthMode::Bill
                | AuthMode::Signature
                | AuthMode::Tba
                | AuthMode::AwsSigV4
        )
}

/// Modes connected in the provider's popup: OAuth2, the MCP modes (whose generic variant asks for
/// the MCP server URL in its `connection_config` form first), OAuth 1.0a, a plugin install and a
/// GitHub App install (with the user's authorization too, `CUSTOM`).
pub fn is_popup(mode: &AuthMode) -> bool {
    matches!(
        mode,
        AuthMode::Oauth2
            | AuthMode::McpOauth2
            | AuthMode::McpOauth2Generic
            | AuthMode::Oauth1
            | AuthMode::InstallPlugin
            | AuthMode::App
            | AuthMode::Custom
    )
}

/// The form of a provider: base credentials (described by the catalog's `credentials` when it has
/// them), then `connection_config`, fields with an `order` first; `presets` are the session's
/// connection-config values for this integration.
pub fn build_form(
    mode: &AuthMode,
    credentials: &[FieldSchema],
    connection_config: &[FieldSchema],
    presets: &[(String, String)],
) -> Vec<Field> {
    let mut fields = Vec::new();
    for name in base_credentials(mode) {
        let schema = credentials
            .iter()
            .find(|s| s.name == *name)
            .cloned()
            .unwrap_or_else(|| FieldSchema::named(name));
        fields.push(field(Namespace::Credentials, schema, None));
    }
    if schema_credentials(mode) {
        for schema in credentials {
            fields.push(field(Namespace::Credentials, schema.clone(), None));
        }
    }
    for schema in connection_config {
        let preset = presets
            .iter()
            .find(|(k, _)| *k == schema.name)
            .map(|(_, v)| v.as_str());
        if schema.automated && preset.is_none() {
            continue;
        }
        fields.push(field(Namespace::Params, schema.clone(), preset));
    }
    // Stable insertion sort (a handful of fields; `sort_by` would add ~2 KB of wasm): fields without
    // an order keep their catalog order, after the ordered ones.
    let rank = |f: &Field| f.schema.order.unwrap_or(f64::INFINITY);
    for i in 1..fields.len() {
        let mut j = i;
        while j > 0 && rank(&fields[j - 1]) > rank(&fields[j]) {
            fields.swap(j - 1, j);
            j -= 1;
        }
    }
    fields
}

fn field(namespace: Namespace, schema: FieldSchema, preset: Option<&str>) -> Field {
    let hidden = schema.hidden || schema.automated || preset.is_some();
    let initial = preset
        .map(str::to_owned)
        .or_else(|| schema.default_value.clone())
        .or_else(|| {
            (!schema.optional && !hidden)
                .then(|| schema.options.first().cloned())
                .flatten()
        })
        .unwrap_or_default();
    Field {
        namespace,
        schema,
        hidden,
        initial,
    }
}

/// The fields of a provider's `assertion_option` (after the form's own): the key a TWO_STEP
/// provider's client assertion is signed with.
pub fn assertion_option_fields(schemas: &[FieldSchema]) -> impl Iterator<Item = Field> + '_ {
    schemas
        .iter()
        .map(|schema| field(Namespace::AssertionOption, schema.clone(), None))
}

/// The browser's regular expressions and URL parser.
pub trait Syntax {
    /// `new RegExp(pattern).test(value)`; an invalid pattern accepts everything (the catalog's
    /// mistake must not lock the user out).
    fn matches(&self, pattern: &str, value: &str) -> bool;
    /// `new URL(value)` succeeds with an `http(s)` scheme.
    fn is_url(&self, value: &str) -> bool;
}

/// What is wrong with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Empty but not optional: "This field is required".
    Required,
    /// Fails its enum, format or pattern: "Incorrect {title}".
    Incorrect,
}

/// Checks one value against its field.
pub fn check(field: &Field, value: &str, syntax: &impl Syntax) -> Option<Problem> {
    let schema = &field.schema;
    if value.is_empty() {
        return (!schema.optional && !field.hidden).then_some(Problem::Required);
    }
    if field.hidden {
        return None;
    }
    let format_ok = match schema.format {
        None => true,
        Some(Format::Hostname) => is_hostname(value),
        Some(Format::Email) => is_email(value),
        Some(Format::Uuid) => is_uuid(value),
        Some(Format::Uri) => syntax.is_url(value),
    };
    let enum_ok = schema.options.is_empty() || schema.options.iter().any(|o| o == value);
    let pattern_ok = schema
        .pattern
        .as_deref()
        .is_none_or(|p| syntax.matches(p, value));
    (!(format_ok && enum_ok && pattern_ok)).then_some(Problem::Incorrect)
}

/// The values to send, split by namespace; empty values are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Submission {
    pub credentials: Vec<(String, String)>,
    pub params: Vec<(String, String)>,
    pub assertion_option: Vec<(String, String)>,
}

impl Submission {
    pub fn credential(&self, name: &str) -> &str {
        self.credentials
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// `values[i]` belongs to `fields[i]`; `None` if any value is invalid.
pub fn collect(fields: &[Field], values: &[String], syntax: &impl Syntax) -> Option<Submission> {
    let mut out = Submission::default();
    for (field, value) in fields.iter().zip(values) {
        if check(field, value, syntax).is_some() {
            return None;
        }
        if value.is_empty() {
            continue;
        }
        let pair = (field.schema.name.clone(), value.clone());
        match field.namespace {
            Namespace::Credentials => out.credentials.push(pair),
            Namespace::Params => out.params.push(pair),
            Namespace::AssertionOption => out.assertion_option.push(pair),
        }
    }
    Some(out)
}

/// Nango's hostname rule: letters, digits, dots and dashes.
fn is_hostname(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// `local@domain.tld` without spaces (the shape browsers' own `type=email` check accepts, plus a dot).
fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !value.chars().any(char::is_whitespace)
        && !domain.contains('@')
        && domain
            .split_once('.')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !b.ends_with('.'))
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_uuid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests;
