//! Issue 15: the AWS_SIGV4 auth mode end to end against a local AWS (`tests/node/aws-sigv4-peer.mjs`)
//! that recomputes every Signature Version 4 with `aws4` from npm: the integration owner's settings
//! (`integration_config`), the end user's role ARN submitted as `@nangohq/frontend` does
//! (`POST /auth/aws-sigv4/:key`), STS AssumeRole (built-in mode, signed with the owner's key) or the
//! owner's own credential endpoint (custom mode), the GetCallerIdentity check, the stored
//! `AWS_SIGV4` credentials, renewal, and the proxy signing each request.

mod common;

use reqwest::Method;
use serde_json::{json, Value};
use std::path::Path;

struct Peer {
    _child: tokio::process::Child,
    port: u16,
    owner: Value,
}

async fn peer() -> Peer {
    let (child, v) = common::node_peer("aws-sigv4-peer.mjs", "aws4").await;
    Peer {
        _child: child,
        port: v["port"].as_u64().unwrap() as u16,
        owner: v["owner"].clone(),
    }
}

/// Nango's `aws-sigv4` entry (its `integration_config` schema as in `@nangohq/providers` 0.71.10),
/// with the signed service on the peer.
fn catalog(port: u16) -> String {
    format!(
        r#"
aws-sigv4-local:
    display_name: AWS SigV4 (local)
    auth_mode: AWS_SIGV4
    proxy:
        base_url: http://127.0.0.1:{port}/svc/${{connectionConfig.service}}/${{connectionConfig.region}}
    credentials:
        role_arn: {{type: string, title: IAM Role ARN}}
    connection_config:
        region: {{type: string, title: AWS Region, optional: true}}
        service: {{type: string, title: '', automated: true}}
    integration_config:
        service: {{type: string, title: AWS Service, pattern: '^[a-z0-9-]+$', order: 1}}
        defaultRegion: {{type: string, title: Default AWS Region, optional: true}}
        stsMode: {{type: string, title: STS Mode, enum: [builtin, custom], default_value: builtin, optional: true}}
        awsAccessKeyId: {{type: string, title: AWS Access Key ID, secret: true, optional: true, visible_when: {{field: stsMode, equals: builtin}}}}
        awsSecretAccessKey: {{type: string, title: AWS Secret Access Key, secret: true, optional: true, visible_when: {{field: stsMode, equals: builtin}}}}
        stsEndpointUrl: {{type: string, title: STS Endpoint URL, format: uri, optional: true, visible_when: {{field: stsMode, equals: custom}}}}
        stsAuthType: {{type: string, title: STS Auth Type, enum: [none, api_key, basic], default_value: none, optional: true, visible_when: {{field: stsMode, equals: custom}}}}
        stsAuthHeader: {{type: string, title: STS Auth Header, default_value: x-api-key, optional: true, visible_when: {{field: stsAuthType, equals: api_key}}}}
        stsApiKey: {{type: string, title: STS API Key, secret: true, visible_when: {{field: stsAuthType, equals: api_key}}}}
"#
    )
}

async fn setup() -> (Peer, common::Harness) {
    let p = peer().await;
    let sts = format!("http://127.0.0.1:{}/sts", p.port);
    let h = common::harness_configured(Some(&catalog(p.port)), move |c| {
        c.allow_private_providers = true;
        c.aws_sts_url = sts;
    })
    .await;
    (p, h)
}

async fn submit(h: &common::Harness, key: &str, body: Value) -> common::Reply {
    let token = h.session(json!({"end_user": {"id": "u1"}})).await;
    h.browser_post(
        &format!("/auth/aws-sigv4/{key}?connect_session_token={token}"),
        body,
    )
    .await
}

async fn stats(p: &Peer) -> Value {
    reqwest::get(format!("http://127.0.0.1:{}/stats", p.port))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn builtin_sts_assumes_the_role_and_the_proxy_signs_every_request() {
    let (p, h) = setup().await;
    // The owner's settings are checked against the provider's schema.
    let r = h
        .backend(
            Method::POST,
            "/integrations",
            Some(json!({"provider": "aws-sigv4-local", "unique_key": "aws",
                        "integration_config": {"service": "Not A Service", "stsMode": "nope"}})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "invalid_body");
    let r = h
        .backend(
            Method::POST,
            "/integrations",
            Some(json!({"provider": "aws-sigv4-local", "unique_key": "aws",
                        "integration_config": {"service": "execute-api", "defaultRegion": "eu-west-1",
                            "awsAccessKeyId": p.owner["accessKeyId"],
                            "awsSecretAccessKey": p.owner["secretAccessKey"]}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        !r.body.to_string().contains("owner/Secret"),
        "secrets are not echoed: {}",
        r.body
    );

    let role = "arn:aws:iam::123456789012:role/LatchkeyAccess";
    let r = submit(&h, "aws", json!({"role_arn": role})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["connectionId"].as_str().unwrap().to_string();

    let c = h.connection("aws", &id, "").await;
    assert_eq!(c.status, 200, "{}", c.body);
    let creds = &c.body["credentials"];
    assert_eq!(creds["type"], "AWS_SIGV4", "{creds}");
    assert_eq!(creds["role_arn"], role);
    assert_eq!(creds["region"], "eu-west-1", "the integration's default");
    assert_eq!(creds["service"], "execute-api");
    assert!(creds["access_key_id"].as_str().unwrap().starts_with("ASIA"));
    assert!(creds["session_token"].is_string() && creds["expires_at"].is_string());
    let config = &c.body["connection_config"];
    assert_eq!(config["role_arn"], role);
    assert_eq!(config["service"], "execute-api");
    let external_id = config["external_id"].as_str().unwrap().to_string();
    assert_eq!(stats(&p).await["lastExternalId"], external_id.as_str());

    // Signed GET with a query, and a signed POST whose headers (x-amz-target) and body are covered.
    let res = h
        .http
        .get(format!("{}/proxy/items?name=a%20b&sort=desc", h.base))
        .header("authorization", h.secret())
        .header("connection-id", &id)
        .header("provider-config-key", "aws")
        .send()
        .await
        .unwrap();
    let status = res.status();
    let answer: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["region"], "eu-west-1");
    let res = h
        .http
        .post(format!("{}/proxy/items", h.base))
        .header("authorization", h.secret())
        .header("connection-id", &id)
        .header("provider-config-key", "aws")
        .header("nango-proxy-x-amz-target", "Items.Put")
        .header("content-type", "application/x-amz-json-1.1")
        .body(r#"{"name":"x"}"#)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let answer: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["target"], "Items.Put");
    assert_eq!(answer["body"], r#"{"name":"x"}"#);

    // The service refuses what is not signed by a key it issued.
    let res = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/svc/items", p.port))
        .header("authorization", format!("AWS4-HMAC-SHA256 Credential={}/20260101/eu-west-1/execute-api/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={}", creds["access_key_id"].as_str().unwrap(), "0".repeat(64)))
        .header("x-amz-date", "20260101T000000Z")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // Renewal: new temporary credentials for the same role and external id.
    let before = stats(&p).await["issued"].as_i64().unwrap();
    let c = h.connection("aws", &id, "&force_refresh=true").await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_ne!(
        c.body["credentials"]["access_key_id"],
        creds["access_key_id"]
    );
    assert_eq!(stats(&p).await["issued"].as_i64().unwrap(), before + 1);
    assert_eq!(stats(&p).await["lastExternalId"], external_id.as_str());

    // A reconnect keeps the external id the customer's trust policy names, and the region.
    let r = h
        .backend(
            Method::POST,
            "/connect/sessions/reconnect",
            Some(json!({"connection_id": id, "integration_id": "aws"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let token = r.body["data"]["token"].as_str().unwrap().to_string();
    let r = h
        .browser_post(
            &format!("/auth/aws-sigv4/aws?connect_session_token={token}"),
            json!({"role_arn": role, "region": "us-west-2"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["connectionId"], id.as_str());
    let c = h.connection("aws", &id, "").await;
    assert_eq!(c.body["credentials"]["region"], "eu-west-1");
    assert_eq!(
        c.body["connection_config"]["external_id"],
        external_id.as_str()
    );
}

#[tokio::test]
async fn custom_sts_endpoint_and_refusals() {
    let (p, h) = setup().await;
    let sts = format!("http://127.0.0.1:{}/custom-sts", p.port);
    let r = h
        .backend(
            Method::POST,
            "/integrations",
            Some(json!({"provider": "aws-sigv4-local", "unique_key": "aws",
                        "integration_config": {"service": "execute-api", "stsMode": "custom",
                            "stsEndpointUrl": sts, "stsAuthType": "api_key", "stsApiKey": "wrong"}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // No region anywhere.
    let r = submit(&h, "aws", json!({"role_arn": "arn:aws:iam::1:role/R"})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "missing_aws_sigv4_region");
    // A region that could re-point a host name.
    let r = submit(
        &h,
        "aws",
        json!({"role_arn": "arn:aws:iam::1:role/R", "region": "169.254.169.254#"}),
    )
    .await;
    assert_eq!(r.body["error"]["code"], "invalid_body", "{}", r.body);
    // The owner's endpoint refuses the API key: an upstream failure, nothing stored.
    let r = submit(
        &h,
        "aws",
        json!({"role_arn": "arn:aws:iam::1:role/R", "region": "us-east-1"}),
    )
    .await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "aws_sigv4_sts_request_failed");

    let r = h
        .backend(
            Method::PATCH,
            "/integrations/aws",
            Some(json!({"integration_config": {"stsApiKey": "sts-api-key-1"}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = submit(
        &h,
        "aws",
        json!({"role_arn": "arn:aws:iam::1:role/R", "region": "us-east-1"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["connectionId"].as_str().unwrap();
    let res = h
        .http
        .get(format!("{}/proxy/ping", h.base))
        .header("authorization", h.secret())
        .header("connection-id", id)
        .header("provider-config-key", "aws")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // Another mode's integration is refused on this route.
    let r = submit(&h, "missing", json!({"role_arn": "x"})).await;
    assert_ne!(r.status, 200, "{}", r.body);
    let r = submit(&h, "aws", json!({"role_arn": "x", "extra": 1})).await;
    assert_eq!(r.body["error"]["code"], "invalid_body", "{}", r.body);
}

/// The official `@nangohq/frontend` (`nango.auth(key, {credentials: {type: "AWS_SIGV4", role_arn,
/// region}})` → `POST /auth/aws-sigv4/:key`) against the server.
#[tokio::test]
async fn official_frontend_submits_aws_sigv4_credentials() {
    let (p, h) = setup().await;
    let r = h
        .backend(
            Method::POST,
            "/integrations",
            Some(json!({"provider": "aws-sigv4-local", "unique_key": "aws",
                        "integration_config": {"service": "execute-api", "stsMode": "custom",
                            "stsEndpointUrl": format!("http://127.0.0.1:{}/custom-sts", p.port),
                            "stsAuthType": "api_key", "stsApiKey": "sts-api-key-1"}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = h.session(json!({"end_user": {"id": "u1"}})).await;
    let script = r#"
        import Nango from '@nangohq/frontend';
        const nango = new Nango({ host: process.env.LATCHKEY_HOST, connectSessionToken: process.env.SESSION });
        const result = await nango.auth('aws', {
          credentials: { type: 'AWS_SIGV4', role_arn: 'arn:aws:iam::123456789012:role/Front', region: 'ap-south-1' },
        });
        console.log(JSON.stringify(result));
    "#;
    let output = tokio::process::Command::new("node")
        .args(["--input-type=module", "-e", script])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env("LATCHKEY_HOST", &h.base)
        .env("SESSION", token)
        .kill_on_drop(true)
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(result["providerConfigKey"], "aws");
    let id = result["connectionId"].as_str().unwrap();
    let c = h.connection("aws", id, "").await;
    assert_eq!(c.body["credentials"]["type"], "AWS_SIGV4", "{}", c.body);
    assert_eq!(c.body["credentials"]["region"], "ap-south-1");
    assert_eq!(
        c.body["credentials"]["role_arn"],
        "arn:aws:iam::123456789012:role/Front"
    );
}
