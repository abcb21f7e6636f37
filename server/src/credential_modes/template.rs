//! Nango's template language for the credential-based modes (`token_params`, `token_headers`, JWT
//! `payload`/`header`/`signing_key`, `additional_steps`): `${credentials.x}` (the submitted fields),
//! `${connectionConfig.x}`, `${stepN.x}`, dotted paths into objects, `a || b` alternatives, and the
//! functions `${base64(…)}`, `${sha256Hex(…)}`, `${fingerprint(…)}`, `${random}` and `${now…}`.
//!
//! As in Nango, a placeholder without a value is left as it is (callers decide whether an unresolved
//! value is dropped, as JWT claims are, or an error); values are inserted verbatim (the JSON, form or
//! XML encoder and the URL builder escape them).

use base64::Engine as _;
use serde_json::Value;

/// Whether `s` still holds a `${…}` placeholder.
pub fn is_unresolved(s: &str) -> bool {
    s.find("${").is_some_and(|at| s[at..].contains('}'))
}

/// Nango's `stripCredential`: `${credentials.x}` names the submitted field `x` directly.
pub fn strip_credentials(s: &str) -> String {
    s.replace("credentials.", "")
}

/// [`strip_credentials`] in every string of a nested value (parameter objects, attribute maps).
pub fn strip_value(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(strip_credentials(s)),
        Value::Array(a) => Value::Array(a.iter().map(strip_value).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, x)| (k.clone(), strip_value(x))).collect())
        }
        other => other.clone(),
    }
}

/// The value at a dotted `path` of `v` (`a.b.0.c`), Nango's `extractValueByPath`.
pub fn at_path<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    if let Some(direct) = v.get(path) {
        return Some(direct);
    }
    path.split('.').try_fold(v, |cur, part| match cur {
        Value::Object(m) => m.get(part),
        Value::Array(a) => part.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// A scalar as text (`null`, objects and arrays have none).
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Nango's `interpolateString`: fills every `${path}` found in `replacers` (no `||` handling: a
/// literal `||` stays, as in Nango's JWT signing keys).
pub fn fill(template: &str, replacers: &Value) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let inner = &rest[start + 2..];
        let Some(end) = crate::catalog::proxy_template::closing_brace(inner) else {
            out.push_str(&rest[start..]);
            return out;
        };
        let expr = &inner[..end];
        match evaluate(expr, replacers) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[start..start + 2 + end + 1]),
        }
        rest = &inner[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Nango's `interpolateStringFromObject`: [`fill`], where `left || right` takes the left side when it
/// resolved anything, else the right side.
pub fn fill_alternatives(template: &str, replacers: &Value) -> String {
    if let Some((left, right)) = template.split_once("||") {
        let (left, right) = (left.trim(), right.trim());
        if !left.is_empty() {
            let filled = fill(left, replacers);
            if filled != left && !is_unresolved(&filled) {
                return filled;
            }
        }
        return fill_alternatives(right, replacers);
    }
    fill(template, replacers)
}

fn evaluate(expr: &str, replacers: &Value) -> Option<String> {
    if let Some(arg) = function_arg(expr, "base64") {
        let plain = fill(arg, replacers);
        return (!is_unresolved(&plain))
            .then(|| base64::engine::general_purpose::STANDARD.encode(plain));
    }
    if let Some(arg) = function_arg(expr, "sha256Hex") {
        use sha2::Digest as _;
        let plain = fill(arg, replacers);
        return (!is_unresolved(&plain)).then(|| hex::encode(sha2::Sha256::digest(plain)));
    }
    if let Some(arg) = function_arg(expr, "fingerprint") {
        let pem = fill(arg, replacers);
        return super::jwt::public_key_fingerprint(&pem).ok();
    }
    if expr == "random" {
        return Some(uuid::Uuid::new_v4().to_string());
    }
    if expr == "now" || expr.starts_with("now:") || expr.starts_with("now+") {
        return now(expr);
    }
    at_path(replacers, expr).and_then(scalar)
}

/// `${now}` (ISO-8601), `${now:YYYY-MM-DD…}`, `${now+7:days:YYYY-MM-DD}` (Nango's moment-style
/// formats, the tokens the catalog uses).
fn now(expr: &str) -> Option<String> {
    let mut t = chrono::Utc::now();
    let format = if let Some(rest) = expr.strip_prefix("now+") {
        let mut parts = rest.splitn(3, ':');
        let n: i64 = parts.next()?.parse().ok()?;
        t += match parts.next()? {
            "days" | "day" | "d" => chrono::Duration::days(n),
            "hours" | "hour" | "h" => chrono::Duration::hours(n),
            "minutes" | "minute" | "m" => chrono::Duration::minutes(n),
            _ => return None,
        };
        parts.next()
    } else {
        expr.strip_prefix("now:")
    };
    let Some(format) = format else {
        return Some(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    };
    let strftime = format
        .replace("YYYY", "%Y")
        .replace("MM", "%m")
        .replace("DD", "%d")
        .replace("HH", "%H")
        .replace("mm", "%M")
        .replace("ss", "%S");
    Some(t.format(&strftime).to_string())
}

fn function_arg<'e>(expr: &'e str, name: &str) -> Option<&'e str> {
    expr.strip_prefix(name)?
        .strip_prefix('(')?
        .strip_suffix(')')
}

/// Fills every string of a JSON value (objects and arrays recursively) with [`fill_alternatives`].
pub fn fill_value(v: &Value, replacers: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(fill_alternatives(s, replacers)),
        Value::Array(a) => Value::Array(a.iter().map(|x| fill_value(x, replacers)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), fill_value(x, replacers)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_functions_and_alternatives() {
        let r =
            json!({"clientId": "c", "privateKey": {"id": "k"}, "connectionConfig": {"d": "x.com"}});
        assert_eq!(fill("${clientId}:${privateKey.id}", &r), "c:k");
        assert_eq!(fill("${missing}", &r), "${missing}");
        assert_eq!(fill("Basic ${base64(${clientId}:s)}", &r), "Basic Yzpz");
        assert_eq!(
            fill_alternatives(
                "https://${connectionConfig.e} || https://${connectionConfig.d}",
                &r
            ),
            "https://x.com"
        );
        assert_eq!(fill("${a}||${clientId}", &r), "${a}||c");
        assert_eq!(fill("${now:YYYY}", &r).len(), 4);
        assert_eq!(fill("${now:YYYY-MM-DDTHH:mm:ss}", &r).len(), 19);
        assert_eq!(fill("${now+7:days:YYYY-MM-DD}", &r).len(), 10);
        assert!(!is_unresolved("plain"));
        assert!(is_unresolved("a ${b} c"));
    }
}
