//! An integration's `integration_config` values (issue 15): settings the integration owner gives once
//! for all connections, declared per provider in the catalog's `integration_config` schema (AWS SigV4's
//! service, default region and STS endpoint; a provider's tenant-wide client secret). Nango keeps them
//! in the integration's `custom` field; `POST`/`PATCH /integrations` accept them as
//! `integration_config` (validated here as Nango's `resolveIntegrationConfig` does: unknown keys,
//! required fields, `enum`, `pattern`, `format: uri`, `default_value`, `visible_when`). They are
//! sealed as one JSON object, since some are secrets.

use crate::catalog::Catalog;
use crate::crypto::Cipher;
use crate::secret::Secret;
use crate::storage::IntegrationRow;
use latchkey_protocol::dashboard::{ConfigField, VisibleWhen};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Associated data of an integration's client secret.
pub fn secret_aad(env_id: i64, unique_key: &str) -> String {
    format!("integration:{env_id}:{unique_key}:client_secret")
}

/// The integration's OAuth client secret (or the key its mode keeps there: a GitHub App's private
/// key, a plugin's password), opened; empty when none is stored.
pub fn client_secret(
    cipher: &Cipher,
    row: &IntegrationRow,
) -> Result<Secret, crate::crypto::CryptoError> {
    match (&row.client_secret_enc, &row.key_id) {
        (Some(enc), Some(key_id)) => Ok(Secret::new(cipher.open_string(
            key_id,
            enc,
            &secret_aad(row.environment_id, &row.unique_key),
        )?)),
        _ => Ok(Secret::new("")),
    }
}

/// Associated data of an integration's sealed `integration_config`.
pub fn aad(env_id: i64, unique_key: &str) -> String {
    format!("integration:{env_id}:{unique_key}:custom")
}

/// Seals `values` for the integration `(env_id, unique_key)`; `None` when there is nothing to keep.
pub fn seal(
    cipher: &Cipher,
    env_id: i64,
    unique_key: &str,
    values: &BTreeMap<String, String>,
) -> (Option<Vec<u8>>, Option<String>) {
    if values.is_empty() {
        return (None, None);
    }
    let json = serde_json::to_vec(values).unwrap_or_default();
    (
        Some(cipher.seal(&json, &aad(env_id, unique_key))),
        Some(cipher.key_id().to_string()),
    )
}

/// The integration's `integration_config` values (empty when it has none).
pub fn open(
    cipher: &Cipher,
    row: &IntegrationRow,
) -> Result<BTreeMap<String, String>, crate::crypto::CryptoError> {
    match (&row.custom_enc, &row.custom_key_id) {
        (Some(enc), Some(key_id)) => {
            let plain = cipher.open(key_id, enc, &aad(row.environment_id, &row.unique_key))?;
            Ok(serde_json::from_slice(&plain).unwrap_or_default())
        }
        _ => Ok(BTreeMap::new()),
    }
}

/// A field refused, with why (`field` is `_` when the provider takes no configuration).
#[derive(Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

fn text<'a>(def: &'a Value, key: &str) -> Option<&'a str> {
    def.get(key).and_then(Value::as_str)
}

/// Whether `field` applies given the other values (`visible_when: {field, equals}`, chained).
fn visible(
    field: &str,
    schema: &Map<String, Value>,
    values: &BTreeMap<String, String>,
    depth: usize,
) -> bool {
    let Some(when) = schema.get(field).and_then(|d| d.get("visible_when")) else {
        return true;
    };
    if depth > schema.len() {
        return true;
    }
    let controller = text(when, "field").unwrap_or_default();
    let equals = when
        .get("equals")
        .map(crate::catalog::param_string)
        .unwrap_or_default();
    if schema.contains_key(controller) && !visible(controller, schema, values, depth + 1) {
        return false;
    }
    values.get(controller).map(String::as_str) == Some(equals.as_str())
}

/// The catalog's `integration_config` schema of `provider` (`None` when it takes no settings).
pub fn schema<'a>(catalog: &'a Catalog, provider: &str) -> Option<&'a Map<String, Value>> {
    catalog
        .get(provider)
        .and_then(|e| e.raw.get("integration_config"))
        .and_then(Value::as_object)
}

/// The provider's `integration_config` schema as form fields, ordered by `order` then name.
pub fn fields(schema: Option<&Map<String, Value>>) -> Vec<ConfigField> {
    let Some(schema) = schema else {
        return Vec::new();
    };
    let mut fields: Vec<(i64, ConfigField)> = schema
        .iter()
        .map(|(name, def)| {
            let flag = |key: &str| def.get(key).and_then(Value::as_bool) == Some(true);
            let field = ConfigField {
                name: name.clone(),
                title: text(def, "title")
                    .filter(|t| !t.is_empty())
                    .unwrap_or(name)
                    .to_string(),
                description: text(def, "description").map(String::from),
                optional: flag("optional"),
                secret: flag("secret"),
                choices: def
                    .get("enum")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(crate::catalog::param_string)
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
                default_value: def.get("default_value").map(crate::catalog::param_string),
                visible_when: def.get("visible_when").map(|w| VisibleWhen {
                    field: text(w, "field").unwrap_or_default().to_string(),
                    equals: w
                        .get("equals")
                        .map(crate::catalog::param_string)
                        .unwrap_or_default(),
                }),
            };
            let order = def.get("order").and_then(Value::as_i64).unwrap_or(i64::MAX);
            (order, field)
        })
        .collect();
    fields.sort_by(|a, b| (a.0, &a.1.name).cmp(&(b.0, &b.1.name)));
    fields.into_iter().map(|(_, f)| f).collect()
}

/// Validates the submitted values against the provider's `integration_config` schema and returns
/// what to store: on create (`existing: None`) defaults are applied and required fields checked; on
/// a patch the submitted fields are merged into `existing` (an empty optional value clears it).
pub fn resolve(
    schema: Option<&Map<String, Value>>,
    submitted: &BTreeMap<String, String>,
    existing: Option<&BTreeMap<String, String>>,
) -> Result<BTreeMap<String, String>, Vec<FieldError>> {
    let Some(schema) = schema else {
        return Err(vec![FieldError {
            field: "_".into(),
            message: "This provider does not accept integration configuration".into(),
        }]);
    };
    let patch = existing.is_some();
    let mut effective = existing.cloned().unwrap_or_default();
    effective.extend(submitted.iter().map(|(k, v)| (k.clone(), v.clone())));
    // Defaults count for `visible_when` too: built-in keys apply when `stsMode` is left at its
    // default `builtin`.
    if !patch {
        for (field, def) in schema {
            if let Some(d) = def.get("default_value") {
                if effective.get(field).is_none_or(|v| v.is_empty()) {
                    effective.insert(field.clone(), crate::catalog::param_string(d));
                }
            }
        }
    }
    let mut errors: Vec<FieldError> = submitted
        .keys()
        .filter(|k| !schema.contains_key(*k))
        .map(|k| FieldError {
            field: k.clone(),
            message: format!("Unknown field {k}"),
        })
        .collect();
    let mut out = existing.cloned().unwrap_or_default();
    for (field, def) in schema {
        if !visible(field, schema, &effective, 0) {
            continue;
        }
        let provided = submitted.get(field).filter(|v| !v.is_empty());
        if patch && !submitted.contains_key(field) {
            continue;
        }
        let title = text(def, "title").unwrap_or(field);
        let value = match provided {
            Some(v) => v.clone(),
            None => match def.get("default_value").filter(|_| !patch) {
                Some(d) => crate::catalog::param_string(d),
                None => {
                    if def.get("optional").and_then(Value::as_bool) != Some(true) {
                        errors.push(FieldError {
                            field: field.clone(),
                            message: format!("{title} is required"),
                        });
                    } else {
                        out.remove(field);
                    }
                    continue;
                }
            },
        };
        if let Some(allowed) = def.get("enum").and_then(Value::as_array) {
            if !allowed.is_empty() && !allowed.iter().any(|a| a.as_str() == Some(&value)) {
                let names: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
                errors.push(FieldError {
                    field: field.clone(),
                    message: format!("{title} must be one of: {}", names.join(", ")),
                });
                continue;
            }
        }
        if let Some(pattern) = text(def, "pattern") {
            // An invalid pattern in the catalog does not block the owner (Nango's rule).
            if regex::Regex::new(pattern).is_ok_and(|re| !re.is_match(&value)) {
                errors.push(FieldError {
                    field: field.clone(),
                    message: format!("{title} has an invalid format"),
                });
                continue;
            }
        }
        if text(def, "format") == Some("uri")
            && !url::Url::parse(&value).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        {
            errors.push(FieldError {
                field: field.clone(),
                message: format!("{title} must be an http(s) URL"),
            });
            continue;
        }
        out.insert(field.clone(), value);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Map<String, Value> {
        json!({
            "service": {"type": "string", "title": "AWS Service", "pattern": "^[a-z0-9-]+$"},
            "stsMode": {"type": "string", "title": "STS Mode", "enum": ["builtin", "custom"],
                        "default_value": "builtin", "optional": true},
            "awsAccessKeyId": {"type": "string", "title": "Key", "optional": true,
                               "visible_when": {"field": "stsMode", "equals": "builtin"}},
            "stsEndpointUrl": {"type": "string", "title": "STS Endpoint URL", "format": "uri",
                               "optional": true,
                               "visible_when": {"field": "stsMode", "equals": "custom"}},
            "stsApiKey": {"type": "string", "title": "STS API Key",
                          "visible_when": {"field": "stsAuthType", "equals": "api_key"}},
            "stsAuthType": {"type": "string", "title": "STS Auth Type", "optional": true,
                            "visible_when": {"field": "stsMode", "equals": "custom"}}
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn fields_follow_the_schema_and_apply_defaults_to_visibility() {
        let mut s = schema();
        s["service"]["order"] = json!(1);
        s["awsAccessKeyId"]["secret"] = json!(true);
        let f = fields(Some(&s));
        assert_eq!(f[0].name, "service");
        assert_eq!(f.len(), 6);
        let key = f.iter().find(|f| f.name == "awsAccessKeyId").unwrap();
        assert!(key.secret && key.optional);
        let mode = f.iter().find(|f| f.name == "stsMode").unwrap();
        assert_eq!(mode.choices, ["builtin", "custom"]);
        // `stsMode` left at its default `builtin`: the built-in key applies, the endpoint does not.
        let none = |_: &str| None;
        assert!(key.visible(&f, &none));
        let endpoint = f.iter().find(|f| f.name == "stsEndpointUrl").unwrap();
        assert!(!endpoint.visible(&f, &none));
        assert!(endpoint.visible(&f, &|n: &str| (n == "stsMode").then(|| "custom".into())));
        // Chained: the STS API key needs `stsAuthType = api_key`, which needs `stsMode = custom`.
        let api_key = f.iter().find(|f| f.name == "stsApiKey").unwrap();
        let stale = |n: &str| (n == "stsAuthType").then(|| "api_key".to_string());
        assert!(!api_key.visible(&f, &stale));
        assert!(fields(None).is_empty());
    }

    #[test]
    fn create_applies_defaults_and_checks_what_applies() {
        let s = schema();
        let got = resolve(Some(&s), &map(&[("service", "s3")]), None).unwrap();
        assert_eq!(got, map(&[("service", "s3"), ("stsMode", "builtin")]));

        let errs = resolve(
            Some(&s),
            &map(&[("service", "S3!"), ("stsMode", "other"), ("typo", "x")]),
            None,
        )
        .unwrap_err();
        let mut fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        fields.sort();
        assert_eq!(fields, ["service", "stsMode", "typo"]);

        // A field behind a chain of `visible_when` is required only when its chain applies.
        let errs = resolve(
            Some(&s),
            &map(&[
                ("service", "s3"),
                ("stsMode", "custom"),
                ("stsAuthType", "api_key"),
                ("stsEndpointUrl", "ftp://x"),
            ]),
            None,
        )
        .unwrap_err();
        let mut fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        fields.sort();
        assert_eq!(fields, ["stsApiKey", "stsEndpointUrl"]);
        assert!(resolve(None, &map(&[]), None).is_err());
    }

    #[test]
    fn patch_merges_and_clears() {
        let s = schema();
        let existing = map(&[
            ("service", "s3"),
            ("stsMode", "builtin"),
            ("awsAccessKeyId", "AK"),
        ]);
        let got = resolve(
            Some(&s),
            &map(&[("service", "execute-api")]),
            Some(&existing),
        )
        .unwrap();
        assert_eq!(got["service"], "execute-api");
        assert_eq!(got["awsAccessKeyId"], "AK");
        let got = resolve(Some(&s), &map(&[("awsAccessKeyId", "")]), Some(&existing)).unwrap();
        assert!(!got.contains_key("awsAccessKeyId"));
    }
}
