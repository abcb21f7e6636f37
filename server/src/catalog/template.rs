//! The template engine of the catalog: `${connectionConfig.x}` placeholders (and Nango's `||`
//! alternatives) filled in provider URLs and parameters, with the checks that keep secrets at the
//! provider: field patterns, host placeholders confined to the provider's domains, and the audit of
//! a whole catalog's host templates.

use super::{Catalog, FieldSchema, Pattern, Provider};
use latchkey_protocol::integrations::AuthMode;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::collections::{BTreeMap, BTreeSet};

/// Characters left as they are when a connection-config value is put into a URL: RFC 3986 unreserved.
const URL_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A `${connectionConfig.x}` placeholder had no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("missing connection config param(s): {}", .0.join(", "))]
pub struct MissingParams(pub Vec<String>);

/// Why a provider URL could not be built from a connection config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error(transparent)]
    Missing(#[from] MissingParams),
    /// A value does not match its field's `pattern`, or a field that names a host has no pattern.
    #[error("connection config param '{0}' is not a valid value for this provider")]
    Invalid(String),
    /// A browser-supplied value puts a host outside the provider's domains into a URL that receives
    /// the integration's secret or the user's authorization.
    #[error("connection config param '{0}' names a host this provider does not allow")]
    HostNotAllowed(String),
}

/// Where the host of a template alternative is: the byte range after `://` up to the first `/`,
/// `?` or `#`.
fn host_range(alternative: &str) -> Option<(usize, usize)> {
    let start = alternative.find("://")? + 3;
    let end = alternative[start..]
        .find(['/', '?', '#'])
        .map(|i| start + i)
        .unwrap_or(alternative.len());
    Some((start, end))
}

/// [`interpolate_url`] for a URL that receives the integration's client secret, the authorization
/// code or the user's consent (authorization, token and refresh URLs). On top of the field patterns,
/// a host placeholder filled by the browser must stay inside the provider's own domains:
///
/// - the template and the field's pattern constrain it ([`host_constrained`]: a literal domain after
///   the placeholder, as `${subdomain}.zendesk.com`, or a pattern that ends in the provider's domain,
///   as `…\.my\.salesforce\.com$`, or a finite list of values), or
/// - the resulting host is in the catalog's `allowed_hosts`.
///
/// Keys in `pinned` were set by the backend (the session's `integrations_config_defaults`, or a stored
/// connection): the backend chose that host, so only the pattern (when there is one) applies.
pub fn interpolate_secret_url(
    template: &str,
    config: &BTreeMap<String, String>,
    provider: &Provider,
    pinned: &BTreeSet<String>,
) -> Result<String, UrlError> {
    let url = interpolate_url_trusting(template, config, &provider.connection_config, pinned)?;
    let (_, alternative) = first_alternative(template, config, true)?;
    let Some((start, end)) = host_range(alternative) else {
        // No literal scheme: a placeholder would name the whole URL, host included.
        return match placeholders(alternative)
            .into_iter()
            .find(|(k, _)| !pinned.contains(k))
        {
            Some((key, _)) => Err(UrlError::HostNotAllowed(key)),
            None => Ok(url),
        };
    };
    let authority = &alternative[start..end];
    // `host:port`: the port is outside `${…}` names, which never contain a colon.
    let (host, port) = authority.split_at(authority.find(':').unwrap_or(authority.len()));
    let from_browser = |part: &str| -> Vec<String> {
        placeholders(part)
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| !pinned.contains(k))
            .collect()
    };
    // A port from the browser must come from a finite list in the catalog.
    for key in from_browser(port) {
        let finite = provider
            .connection_config
            .get(&key)
            .and_then(|f| f.pattern.as_ref().map(Pattern::as_str))
            .and_then(pattern_suffixes)
            .is_some_and(|s| s.iter().all(|(_, exact)| *exact));
        if !finite {
            return Err(UrlError::HostNotAllowed(key));
        }
    }
    let from_browser = from_browser(host);
    let Some(first) = from_browser.first() else {
        return Ok(url);
    };
    if host_constrained(host, &provider.connection_config) {
        return Ok(url);
    }
    let host = url::Url::parse(&url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    let listed = provider.allowed_hosts.iter().any(|allowed| {
        let allowed = allowed.to_ascii_lowercase();
        match allowed.strip_prefix("*.") {
            Some(domain) => host.ends_with(&format!(".{domain}")),
            None => host == allowed,
        }
    });
    if listed {
        Ok(url)
    } else {
        Err(UrlError::HostNotAllowed(first.clone()))
    }
}

/// Whether every host a template's host part (`${subdomain}.zendesk.com`, `${hostname}`) can produce
/// lies in a domain the catalog names: the text after the last placeholder, with what the
/// placeholder's pattern guarantees about the end of its value, must end in a domain of at least two
/// labels (`.zendesk.com`), or the whole host must come from a finite list. Values are
/// percent-encoded, so a value cannot end the host early (`/`, `@`, `:`, `#` are refused by the URL
/// parser), and whatever precedes the last placeholder cannot change the host's end.
pub fn host_constrained(host_template: &str, fields: &BTreeMap<String, FieldSchema>) -> bool {
    let holders = placeholders(host_template);
    let Some((key, at)) = holders.last() else {
        return true;
    };
    let after_start = host_template[*at..]
        .find('}')
        .map(|i| at + i + 1)
        .unwrap_or(host_template.len());
    let tail = &host_template[after_start..];
    let tail = tail.split(':').next().unwrap_or(tail).to_ascii_lowercase();
    let before = &host_template[..*at];
    let literal_before = if holders.len() > 1 {
        let prev = holders[holders.len() - 2].1;
        let prev_end = host_template[prev..]
            .find('}')
            .map(|i| prev + i + 1)
            .unwrap_or(prev);
        (&host_template[prev_end..*at], false)
    } else {
        (before, true)
    };
    let value_suffixes = fields
        .get(key)
        .and_then(|f| f.pattern.as_ref().map(Pattern::as_str))
        .and_then(pattern_suffixes)
        .unwrap_or_else(|| vec![(String::new(), false)]);
    value_suffixes.into_iter().all(|(suffix, exact)| {
        if exact {
            let host = format!("{}{suffix}{tail}", literal_before.0).to_ascii_lowercase();
            (literal_before.1 && is_hostname(&host)) || domain_tail(&host).is_some()
        } else {
            domain_tail(&format!("{suffix}{tail}").to_ascii_lowercase()).is_some()
        }
    })
}

/// The literal suffixes of every value a pattern matches (`exact` when the literal is the whole
/// value), from `regex-syntax`'s literal extractor; `None` when the pattern does not parse or its
/// suffixes are unbounded.
fn pattern_suffixes(pattern: &str) -> Option<Vec<(String, bool)>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let seq = Extractor::new().kind(ExtractKind::Suffix).extract(&hir);
    let literals = seq.literals()?;
    if literals.is_empty() {
        return None;
    }
    literals
        .iter()
        .map(|l| Some((String::from_utf8(l.as_bytes().to_vec()).ok()?, l.is_exact())))
        .collect()
}

/// The `.label.tld` part a host suffix guarantees (from its first dot), when it has two or more
/// DNS labels and a non-numeric top-level label.
fn domain_tail(suffix: &str) -> Option<&str> {
    let tail = &suffix[suffix.find('.')?..];
    let labels: Vec<&str> = tail[1..].split('.').collect();
    let ok = labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && labels
            .last()
            .is_some_and(|t| t.chars().any(|c| c.is_ascii_alphabetic()));
    ok.then_some(tail)
}

fn is_hostname(host: &str) -> bool {
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// What [`audit_hosts`] found about the URLs a catalog sends secrets to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HostAudit {
    /// Providers whose authorization, token or refresh URL has a `${connectionConfig.…}` placeholder.
    pub interpolating: usize,
    /// … of which a placeholder is in the host.
    pub host_interpolating: usize,
    /// … of which every such host is constrained to the provider's domains (a browser may fill it).
    pub constrained: usize,
    /// The others: their host must be pinned by the backend (or listed in `allowed_hosts`).
    pub needs_pinning: Vec<String>,
}

/// Audits the authorization, token and refresh URLs of every OAuth2 (authorization-code) provider:
/// the flows that send the integration's own client secret. (In client-credentials flows the end user
/// supplies the client id and secret.)
pub fn audit_hosts(catalog: &Catalog) -> HostAudit {
    let mut audit = HostAudit::default();
    for (name, entry) in catalog.iter() {
        let Some(p) = entry
            .provider
            .as_ref()
            .filter(|p| p.auth_mode == AuthMode::Oauth2)
        else {
            continue;
        };
        let mut urls: Vec<&str> = Vec::new();
        urls.extend(p.authorization_url.as_deref());
        urls.extend(p.token_url.as_ref().and_then(|u| u.for_mode("OAUTH2")));
        urls.extend(p.refresh_url.as_deref());
        let alternatives: Vec<&str> = urls
            .iter()
            .flat_map(|u| u.split("||").map(str::trim))
            .filter(|a| !placeholders(a).is_empty())
            .collect();
        if alternatives.is_empty() {
            continue;
        }
        audit.interpolating += 1;
        // A template without a literal scheme lets its placeholder name the whole URL: its host is
        // the placeholder itself (`${connectionConfig.x}`, never constrained).
        let hosts: Vec<(&str, bool)> = alternatives
            .iter()
            .map(|a| match host_range(a) {
                Some((s, e)) => (&a[s..e], true),
                None => (*a, false),
            })
            .filter(|(h, _)| !placeholders(h).is_empty())
            .collect();
        if hosts.is_empty() {
            continue;
        }
        audit.host_interpolating += 1;
        if hosts
            .iter()
            .all(|(h, scheme)| *scheme && host_constrained(h, &p.connection_config))
        {
            audit.constrained += 1;
        } else {
            audit.needs_pinning.push(name.clone());
        }
    }
    audit
}

/// Fills `${connectionConfig.x}` placeholders from `config`. A template may list alternatives
/// separated by `||` (Salesforce: custom hostname, else the login host): the first alternative whose
/// placeholders are all present wins. Values are percent-encoded, so a value cannot change the URL's
/// structure (no `/`, `?`, `#` or `@` injection).
pub fn interpolate(
    template: &str,
    config: &BTreeMap<String, String>,
) -> Result<String, MissingParams> {
    first_alternative(template, config, true).map(|(url, _)| url)
}

/// [`interpolate`] for a URL that receives credentials (authorization and token URLs): every value
/// used must fully match its field's `pattern` from the catalog, and a placeholder in the URL's host
/// is refused unless its field has one — otherwise a connection config could send the client secret
/// and the authorization code to a host of the caller's choosing (Salesforce's `hostname`).
pub fn interpolate_url(
    template: &str,
    config: &BTreeMap<String, String>,
    fields: &BTreeMap<String, FieldSchema>,
) -> Result<String, UrlError> {
    interpolate_url_trusting(template, config, fields, &BTreeSet::new())
}

/// [`interpolate_url`], except that a host placeholder whose key is in `trusted` (a value the backend
/// set) needs no pattern.
fn interpolate_url_trusting(
    template: &str,
    config: &BTreeMap<String, String>,
    fields: &BTreeMap<String, FieldSchema>,
    trusted: &BTreeSet<String>,
) -> Result<String, UrlError> {
    let (url, alternative) = first_alternative(template, config, true)?;
    let host_end = host_range(alternative).map(|(_, end)| end).unwrap_or(0);
    for (key, at) in placeholders(alternative) {
        let value = config.get(&key).map(String::as_str).unwrap_or_default();
        let refused = match fields.get(&key).and_then(|f| f.pattern.as_ref()) {
            Some(pattern) => !pattern.matches(value),
            // A host placeholder needs a pattern, unless the backend set the value.
            None => at < host_end && !trusted.contains(&key),
        };
        if refused {
            return Err(UrlError::Invalid(key));
        }
    }
    Ok(url)
}

/// Fills placeholders in a parameter value (authorization, token and refresh params): the same rules
/// as [`interpolate`] but without percent-encoding (the form or JSON encoder does that).
pub fn interpolate_param(
    template: &str,
    config: &BTreeMap<String, String>,
) -> Result<String, MissingParams> {
    first_alternative(template, config, false).map(|(v, _)| v)
}

/// Interpolates every value of a parameter map.
pub fn interpolate_params(
    params: &BTreeMap<String, serde_json::Value>,
    config: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, MissingParams> {
    params
        .iter()
        .map(|(k, v)| Ok((k.clone(), interpolate_param(&param_string(v), config)?)))
        .collect()
}

fn first_alternative<'t>(
    template: &'t str,
    config: &BTreeMap<String, String>,
    encode: bool,
) -> Result<(String, &'t str), MissingParams> {
    let mut first_missing = None;
    for alternative in template.split("||").map(str::trim) {
        match fill(alternative, config, encode) {
            Ok(s) => return Ok((s, alternative)),
            Err(missing) => {
                first_missing.get_or_insert(missing);
            }
        }
    }
    Err(first_missing.unwrap_or_else(|| MissingParams(Vec::new())))
}

/// The config keys of a template's placeholders, with their byte offsets.
pub(super) fn placeholders(template: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut offset = 0;
    while let Some(start) = template[offset..].find("${") {
        let at = offset + start;
        let Some(end) = template[at..].find('}') else {
            break;
        };
        let name = &template[at + 2..at + end];
        out.push((
            name.strip_prefix("connectionConfig.")
                .unwrap_or(name)
                .to_string(),
            at,
        ));
        offset = at + end + 1;
    }
    out
}

fn fill(
    template: &str,
    config: &BTreeMap<String, String>,
    encode: bool,
) -> Result<String, MissingParams> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    let mut missing = Vec::new();
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = &rest[start + 2..start + end];
        let key = name.strip_prefix("connectionConfig.").unwrap_or(name);
        match config.get(key).filter(|v| !v.is_empty()) {
            Some(v) if encode => out.extend(utf8_percent_encode(v, URL_VALUE)),
            Some(v) => out.push_str(v),
            None => missing.push(key.to_string()),
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(MissingParams(missing))
    }
}

/// Catalog parameter values may be YAML scalars of any type; the wire wants strings.
pub fn param_string(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
