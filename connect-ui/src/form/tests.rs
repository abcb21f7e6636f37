//! The form rules, natively (the browser's `RegExp` and `URL` replaced by the `regex` and `url`
//! crates through [`super::Syntax`]).

use super::*;

/// The `regex` and `url` crates stand in for the browser's `RegExp` and `URL`.
struct Native;
impl Syntax for Native {
    fn matches(&self, pattern: &str, value: &str) -> bool {
        regex::Regex::new(pattern).map_or(true, |r| r.is_match(value))
    }
    fn is_url(&self, value: &str) -> bool {
        url::Url::parse(value).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
    }
}

fn zendesk_subdomain() -> FieldSchema {
    FieldSchema {
        title: Some("Zendesk Subdomain".into()),
        example: Some("acme".into()),
        pattern: Some("^[a-z0-9_-]+$".into()),
        prefix: Some("https://".into()),
        suffix: Some(".zendesk.com".into()),
        order: Some(1.0),
        ..FieldSchema::named("subdomain")
    }
}

fn names(fields: &[Field]) -> Vec<&str> {
    fields.iter().map(|f| f.schema.name.as_str()).collect()
}

#[test]
fn api_key_form_takes_the_catalog_description_of_api_key() {
    let api_key = FieldSchema {
        title: Some("API Key".into()),
        pattern: Some("^sk-[A-Za-z0-9_-]+$".into()),
        secret: true,
        ..FieldSchema::named("apiKey")
    };
    let form = build_form(&AuthMode::ApiKey, std::slice::from_ref(&api_key), &[], &[]);
    assert_eq!(form.len(), 1);
    assert_eq!(form[0].schema, api_key);
    assert_eq!(form[0].namespace, Namespace::Credentials);
    assert!(form[0].is_secret() && !form[0].hidden);
    assert_eq!(form[0].input_id(), "field-credentials-apiKey");
}

#[test]
fn base_fields_exist_without_a_catalog_schema_and_oauth2_has_none() {
    let basic = build_form(&AuthMode::Basic, &[], &[], &[]);
    assert_eq!(names(&basic), ["username", "password"]);
    assert!(!basic[0].is_secret() && basic[1].is_secret());
    let cc = build_form(&AuthMode::Oauth2Cc, &[], &[], &[]);
    assert_eq!(names(&cc), ["client_id", "client_secret"]);
    assert!(build_form(&AuthMode::Oauth2, &[], &[], &[]).is_empty());
    assert!(!is_supported(&AuthMode::Other("OAUTH1".into())));
    let key = FieldSchema {
        example: Some("-----BEGIN PRIVATE KEY-----".into()),
        ..FieldSchema::named("pk")
    };
    let jwt = build_form(
        &AuthMode::Jwt,
        &[FieldSchema::named("issuerId"), key],
        &[],
        &[],
    );
    assert_eq!(jwt.len(), 2);
    assert!(jwt[1].is_multiline() && !jwt[0].is_multiline());
    assert_eq!(build_form(&AuthMode::Bill, &[], &[], &[]).len(), 4);
    // AWS SigV4: the role ARN from the catalog's schema; a plugin install is a popup.
    let aws = build_form(
        &AuthMode::AwsSigV4,
        &[FieldSchema::named("role_arn")],
        &[],
        &[],
    );
    assert_eq!(names(&aws), ["role_arn"]);
    assert!(is_supported(&AuthMode::AwsSigV4) && is_popup(&AuthMode::InstallPlugin));
    assert!(is_popup(&AuthMode::App));
    assert!(is_popup(&AuthMode::Custom));
}

#[test]
fn ordered_fields_come_first_across_namespaces() {
    let username = FieldSchema {
        order: Some(2.0),
        ..FieldSchema::named("username")
    };
    let password = FieldSchema {
        order: Some(3.0),
        ..FieldSchema::named("password")
    };
    let extra = FieldSchema::named("region");
    let form = build_form(
        &AuthMode::Basic,
        &[password, username],
        &[extra, zendesk_subdomain()],
        &[],
    );
    assert_eq!(
        names(&form),
        ["subdomain", "username", "password", "region"]
    );
    assert_eq!(form[0].namespace, Namespace::Params);
}

#[test]
fn presets_hide_and_fill_automated_fields_are_dropped() {
    let automated = FieldSchema {
        automated: true,
        ..FieldSchema::named("instance_url")
    };
    let hidden = FieldSchema {
        hidden: true,
        default_value: Some("v2".into()),
        ..FieldSchema::named("version")
    };
    let form = build_form(
        &AuthMode::Oauth2,
        &[],
        &[zendesk_subdomain(), automated, hidden],
        &[("subdomain".into(), "preset-co".into())],
    );
    assert_eq!(names(&form), ["subdomain", "version"]);
    assert!(form.iter().all(|f| f.hidden));
    assert_eq!(form[0].initial, "preset-co");
    assert_eq!(form[1].initial, "v2");
    let values: Vec<String> = form.iter().map(|f| f.initial.clone()).collect();
    let sent = collect(&form, &values, &Native).unwrap();
    assert_eq!(
        sent.params,
        [
            ("subdomain".to_owned(), "preset-co".to_owned()),
            ("version".to_owned(), "v2".to_owned())
        ]
    );
}

#[test]
fn starting_values_default_then_first_enum_option() {
    let region = FieldSchema {
        options: vec!["us".into(), "eu".into()],
        ..FieldSchema::named("region")
    };
    let optional_region = FieldSchema {
        optional: true,
        ..region.clone()
    };
    let version = FieldSchema {
        default_value: Some("2023-06-01".into()),
        ..FieldSchema::named("version")
    };
    let form = build_form(
        &AuthMode::Oauth2,
        &[],
        &[region, optional_region, version],
        &[],
    );
    let initial: Vec<&str> = form.iter().map(|f| f.initial.as_str()).collect();
    assert_eq!(initial, ["us", "", "2023-06-01"]);
}

#[test]
fn pattern_failures_are_incorrect_and_empty_is_required() {
    let form = build_form(&AuthMode::Oauth2, &[], &[zendesk_subdomain()], &[]);
    let f = &form[0];
    assert_eq!(check(f, "", &Native), Some(Problem::Required));
    assert_eq!(check(f, "Acme Inc", &Native), Some(Problem::Incorrect));
    assert_eq!(check(f, "acme", &Native), None);
    let optional = Field {
        schema: FieldSchema {
            optional: true,
            ..f.schema.clone()
        },
        ..f.clone()
    };
    assert_eq!(check(&optional, "", &Native), None);
    assert_eq!(check(&optional, "A B", &Native), Some(Problem::Incorrect));
}

#[test]
fn formats_are_checked() {
    let with = |format| Field {
        namespace: Namespace::Params,
        schema: FieldSchema {
            format: Some(format),
            ..FieldSchema::named("x")
        },
        hidden: false,
        initial: String::new(),
    };
    let cases = [
        (Format::Hostname, "acme.us.auth0.com", true),
        (Format::Hostname, "https://acme.com", false),
        (Format::Email, "ada@example.com", true),
        (Format::Email, "ada@example", false),
        (Format::Email, "a da@example.com", false),
        (Format::Uuid, "123e4567-e89b-12d3-a456-426614174000", true),
        (Format::Uuid, "123e4567e89b12d3a456426614174000", false),
        (Format::Uri, "https://acme.my.salesforce.com", true),
        (Format::Uri, "acme.my.salesforce.com", false),
    ];
    for (format, value, ok) in cases {
        assert_eq!(
            check(&with(format), value, &Native).is_none(),
            ok,
            "{format:?} {value}"
        );
    }
    assert_eq!(Format::parse("uri"), Some(Format::Uri));
    assert_eq!(Format::parse("date"), None);
}

#[test]
fn enum_values_outside_the_list_are_incorrect() {
    let form = build_form(
        &AuthMode::Oauth2,
        &[],
        &[FieldSchema {
            options: vec!["us".into(), "eu".into()],
            ..FieldSchema::named("region")
        }],
        &[],
    );
    assert_eq!(check(&form[0], "eu", &Native), None);
    assert_eq!(check(&form[0], "mars", &Native), Some(Problem::Incorrect));
}

#[test]
fn an_invalid_catalog_pattern_does_not_lock_the_user_out() {
    let form = build_form(
        &AuthMode::ApiKey,
        &[FieldSchema {
            pattern: Some("(".into()),
            ..FieldSchema::named("apiKey")
        }],
        &[],
        &[],
    );
    assert_eq!(check(&form[0], "anything", &Native), None);
}

#[test]
fn assertion_option_keys_are_a_multi_line_secret_sent_apart() {
    let key = FieldSchema {
        title: Some("Private Key".into()),
        ..FieldSchema::named("privateKey")
    };
    let automated = FieldSchema {
        automated: true,
        ..FieldSchema::named("assertion")
    };
    let mut form = build_form(
        &AuthMode::TwoStep,
        &[FieldSchema::named("clientId"), automated],
        &[],
        &[],
    );
    form.extend(assertion_option_fields(std::slice::from_ref(&key)));
    let shown: Vec<String> = form
        .iter()
        .filter(|f| !f.hidden)
        .map(Field::input_id)
        .collect();
    assert_eq!(
        shown,
        [
            "field-credentials-clientId",
            "field-assertionOption-privateKey"
        ]
    );
    let pem = form.last().unwrap();
    assert!(pem.is_multiline());
    let values = [
        "BUSINESSAPI.1".into(),
        String::new(),
        "-----BEGIN PRIVATE KEY-----".into(),
    ];
    let out = collect(&form, &values, &Native).unwrap();
    assert_eq!(
        out.credentials,
        [("clientId".into(), "BUSINESSAPI.1".into())]
    );
    assert_eq!(
        out.assertion_option,
        [("privateKey".into(), "-----BEGIN PRIVATE KEY-----".into())]
    );
    // Required like any field.
    let empty = ["BUSINESSAPI.1".into(), String::new(), String::new()];
    assert!(collect(&form, &empty, &Native).is_none());
}

#[test]
fn submission_splits_credentials_from_params_and_refuses_invalid_values() {
    let form = build_form(&AuthMode::Basic, &[], &[zendesk_subdomain()], &[]);
    assert_eq!(names(&form), ["subdomain", "username", "password"]);
    let values = |v: [&str; 3]| v.map(str::to_owned).to_vec();
    let sent = collect(&form, &values(["acme", "ada", "pw"]), &Native).unwrap();
    assert_eq!(sent.credential("username"), "ada");
    assert_eq!(sent.credential("password"), "pw");
    assert_eq!(sent.params, [("subdomain".to_owned(), "acme".to_owned())]);
    assert_eq!(
        collect(&form, &values(["ACME!", "ada", "pw"]), &Native),
        None
    );
    assert_eq!(collect(&form, &values(["acme", "ada", ""]), &Native), None);
}
