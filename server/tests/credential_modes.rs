//! (Over 600 lines: one peer and one catalog serve every mode's test; split per mode they would be
//! copied.)
//!
//! Issue 15: the credential-based auth modes end to end against local providers that check what the
//! real ones check (`tests/node/credential-modes-peer.mjs`: `jose` verifies the JWTs, the WSSE
//! digest is recomputed, the token endpoint checks the form). Each mode: the browser's submission
//! (`POST /auth/<mode>/:key` with a connect session), the stored connection as `GET /connection`
//! shows it, renewal, and the proxy injecting what the provider expects. The official
//! `@nangohq/frontend` submits every credential kind in `credential-modes-frontend.test.mjs`.

mod common;

use reqwest::Method;
use serde_json::{json, Value};
use std::path::Path;

/// The node peer, killed when dropped.
struct Peer {
    _child: tokio::process::Child,
    port: u16,
    apple_key: String,
    /// An EC key no provider knows.
    other_key: String,
    /// The RSA key SAP SuccessFactors knows the API key's assertions by.
    sf_key: String,
    /// The GitHub App's private key (the integration owner's).
    github_app_key: String,
    apple_issuer: String,
}

impl Peer {
    /// `GET <path>` on the peer, as JSON (its counters).
    async fn get(&self, path: &str) -> Value {
        reqwest::get(format!("http://127.0.0.1:{}{path}", self.port))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

async fn peer() -> Peer {
    let (child, v) = common::node_peer("credential-modes-peer.mjs", "jose").await;
    Peer {
        _child: child,
        port: v["port"].as_u64().unwrap() as u16,
        apple_key: v["applePrivateKey"].as_str().unwrap().to_string(),
        other_key: v["otherPrivateKey"].as_str().unwrap().to_string(),
        sf_key: v["sfPrivateKey"].as_str().unwrap().to_string(),
        github_app_key: v["githubAppPrivateKey"].as_str().unwrap().to_string(),
        apple_issuer: v["appleIssuer"].as_str().unwrap().to_string(),
    }
}

/// Nango's entries (drupal, ghost-admin, apple-app-store, bill, emarsys) with their URLs on the peer.
fn catalog(port: u16) -> String {
    let base = format!("http://127.0.0.1:{port}");
    format!(
        r#"
drupal-local:
    display_name: Drupal (local)
    auth_mode: TWO_STEP
    body_format: form
    token_url: {base}/two-step/token
    token_params:
        client_id: ${{credentials.clientId}}
        client_secret: ${{credentials.clientSecret}}
        username: ${{credentials.userName}}
        grant_type: client_credentials
    token_headers:
        content-type: application/x-www-form-urlencoded
        accept: application/json
    token_response:
        token: access_token
        token_expiration: expires_in
        token_expiration_strategy: expireIn
    proxy:
        base_url: {base}/two-step
    credentials:
        clientId: {{type: string, title: Client ID, secret: true}}
        clientSecret: {{type: string, title: Client Secret, secret: true}}
        userName: {{type: string, title: User Name}}
ghost-local:
    display_name: Ghost (local)
    auth_mode: JWT
    signature:
        protocol: HMAC
    token:
        signing_key: ${{credentials.privateKey.secret}}
        expires_in_ms: 300000
        header:
            alg: HS256
            kid: ${{credentials.privateKey.id}}
        payload:
            aud: /admin/
    proxy:
        headers:
            accept: application/json
            accept-version: ${{connectionConfig.version}}
            authorization: Ghost ${{accessToken}}
        base_url: {base}/ghost
        verification:
            method: GET
            endpoints:
                - /users
    connection_config:
        version: {{type: string, title: API Version, pattern: '^v\d+\.\d+$'}}
    credentials:
        privateKey: {{type: string, title: API Key}}
apple-local:
    display_name: App Store Connect (local)
    auth_mode: JWT
    signature:
        protocol: EC
    token:
        signing_key: ${{credentials.privateKey}}
        expires_in_ms: 900000
        header:
            alg: ES256
            kid: ${{credentials.privateKeyId}}
            typ: JWT
        payload:
            iss: ${{credentials.issuerId}}
            aud: appstoreconnect-v1
            scope:
                - ${{connectionConfig.scope}}
    proxy:
        base_url: {base}/apple
        verification:
            method: GET
            endpoints:
                - /apps
    credentials:
        issuerId: {{type: string, title: Issuer ID}}
        privateKeyId: {{type: string, title: Key ID}}
        privateKey: {{type: string, title: Private Key, secret: true}}
bill-local:
    display_name: Bill (local)
    auth_mode: BILL
    token_url: {base}/bill/login
    proxy:
        base_url: {base}/bill
netsuite-local:
    display_name: NetSuite TBA (local)
    auth_mode: TBA
    proxy:
        base_url: {base}/netsuite/record/v1
    connection_config:
        accountId: {{type: string, title: Account ID, pattern: '^[a-zA-Z0-9-_]+$'}}
intacct-local:
    display_name: Sage Intacct CC (local)
    auth_mode: TWO_STEP
    body_format: form
    token_url: {base}/two-step/token
    token_params:
        client_id: ${{credentials.clientId}}
        client_secret: ${{credentials.clientSecret}}
        username: ${{credentials.username}}
        grant_type: client_credentials
    token_response:
        token: access_token
        token_expiration: expires_in
        token_expiration_strategy: expireIn
    proxy:
        base_url: {base}/two-step
    credentials:
        username: {{type: string, title: Username, optional: true}}
    integration_config:
        clientId: {{type: string, title: Client ID, optional: true}}
        clientSecret: {{type: string, title: Client Secret, secret: true, optional: true}}
abm-local:
    display_name: Apple Business Manager (local)
    auth_mode: TWO_STEP
    body_format: form
    token_url: {base}/abm/token
    token_params:
        grant_type: client_credentials
        client_id: ${{credentials.clientId}}
        client_assertion_type: urn:ietf:params:oauth:client-assertion-type:jwt-bearer
        client_assertion: ${{credentials.assertion}}
        scope: business.api
    token_headers:
        content-type: application/x-www-form-urlencoded
    assertion:
        type: jwt
        key: ${{assertionOption.privateKey}}
        lifetimeInSeconds: 15552000
        header:
            alg: ES256
            kid: ${{credentials.keyId}}
        payload:
            iss: ${{credentials.clientId}}
            sub: ${{credentials.clientId}}
            aud: {base}/abm/token
            jti: ${{random}}
    token_response:
        token: access_token
        token_expiration: expires_in
        token_expiration_strategy: expireIn
    credentials:
        clientId: {{type: string, title: Client ID}}
        keyId: {{type: string, title: Key ID}}
        assertion: {{type: string, title: '', automated: true}}
    assertion_option:
        privateKey: {{type: string, title: Private Key}}
github-app-local:
    display_name: GitHub App (local)
    auth_mode: APP
    authorization_url: ${{connectionConfig.appPublicLink}}/installations/new
    token_url: {base}/github/app/installations/${{connectionConfig.installation_id}}/access_tokens
    proxy:
        base_url: {base}/github/api
    connection_config:
        appPublicLink: {{type: string, title: App Public Link, automated: true}}
        installation_id: {{type: string, title: Installation ID, automated: true}}
github-app-oauth-local:
    display_name: GitHub App OAuth (local)
    auth_mode: CUSTOM
    authorization_url: ${{connectionConfig.appPublicLink}}/installations/new
    token_url:
        OAUTH2: {base}/github/login/oauth/access_token?ttl=600
        APP: {base}/github/app/installations/${{connectionConfig.installation_id}}/access_tokens
    proxy:
        base_url: {base}/github/api
    connection_config:
        appPublicLink: {{type: string, title: App Public Link, automated: true}}
        installation_id: {{type: string, title: Installation ID, automated: true}}
sf-local:
    display_name: SAP SuccessFactors (local)
    auth_mode: TWO_STEP
    body_format: form
    token_url: {base}/sf/oauth/token
    token_params:
        company_id: ${{connectionConfig.companyId}}
        client_id: ${{credentials.apiKey}}
        grant_type: urn:ietf:params:oauth:grant-type:saml2-bearer
        assertion: ${{credentials.assertion}}
        new_token: true
    token_headers:
        content-type: application/x-www-form-urlencoded
    assertion:
        type: saml
        issuer: www.successfactors.com
        audiences: www.successfactors.com
        recipient: {base}/sf/oauth/token
        nameIdentifier: ${{assertionOption.userName}}
        sessionIndex: ${{random}}
        lifetimeInSeconds: '315360000'
        key: ${{assertionOption.privateKey}}
        attributes:
            api_key: ${{credentials.apiKey}}
            use_username: true
            external_user: false
    token_response:
        token: access_token
        token_expiration: expires_in
        token_expiration_strategy: expireIn
    connection_config:
        companyId: {{type: string, title: Company ID}}
    credentials:
        apiKey: {{type: string, title: API Key, secret: true}}
        assertion: {{type: string, title: '', automated: true}}
    assertion_option:
        userName: {{type: string, title: Username}}
        privateKey: {{type: string, title: Private Key}}
intacct-xml-local:
    display_name: Sage Intacct (local)
    auth_mode: TWO_STEP
    body_format: xml
    token_url: {base}/intacct/xmlgw
    token_headers:
        content-type: application/xml
    token_params:
        request:
            control:
                senderid: ${{credentials.senderId}}
                password: ${{credentials.senderPassword}}
                controlid: ${{now}}
                uniqueid: false
                dtdversion: '3.0'
                includewhitespace: false
            operation:
                authentication:
                    login:
                        userid: ${{credentials.userId}}
                        companyid: ${{credentials.companyId}}
                        password: ${{credentials.userPassword}}
                content:
                    function:
                        $controlid: '{{{{$guid}}}}'
                        getAPISession: ''
    token_response:
        token: response.operation.result.data.api.sessionid
        token_expiration: response.operation.authentication.sessiontimeout
        token_expiration_strategy: expireAt
    credentials:
        senderId: {{type: string, title: Sender ID}}
        senderPassword: {{type: string, title: Sender Password, secret: true}}
        companyId: {{type: string, title: Company ID}}
        userId: {{type: string, title: User ID}}
        userPassword: {{type: string, title: User Password, secret: true}}
sap-local:
    display_name: SAP Business One (local)
    auth_mode: TWO_STEP
    body_format: json
    token_url: {base}/sap/Login
    token_params:
        CompanyDB: ${{connectionConfig.companyDb}}
        Password: ${{credentials.password}}
        UserName: ${{credentials.userName}}
    token_headers:
        content-type: application/json
    token_response:
        token: SessionId
    token_response_headers:
        - set-cookie
    token_expires_in_ms: 1700000
    proxy:
        base_url: {base}/sap
        headers:
            cookie: ${{credentials._cookies}}
    connection_config:
        companyDb: {{type: string, title: Company Database}}
    credentials:
        userName: {{type: string, title: Username}}
        password: {{type: string, title: Password, secret: true}}
crisp-local:
    display_name: Crisp (Plugin Install, local)
    auth_mode: INSTALL_PLUGIN
    auth_type: BASIC
    redirect_uri_metadata:
        - website_id
    proxy:
        base_url: {base}/crisp
        headers:
            x-crisp-tier: plugin
        verification:
            method: GET
            endpoints:
                - /v1/plugin/connect/account
emarsys-local:
    display_name: Emarsys (local)
    auth_mode: SIGNATURE
    signature:
        protocol: WSSE
    token:
        expires_in_ms: 300000
    proxy:
        base_url: {base}/emarsys
        headers:
            content-type: application/json
            x-wsse: ${{accessToken}}
        verification:
            method: GET
            endpoints:
                - /settings
"#
    )
}

async fn setup() -> (Peer, common::Harness) {
    let p = peer().await;
    let h =
        common::harness_configured(Some(&catalog(p.port)), |c| c.allow_private_providers = true)
            .await;
    for (key, provider) in [
        ("drupal", "drupal-local"),
        ("ghost", "ghost-local"),
        ("apple", "apple-local"),
        ("bill", "bill-local"),
        ("emarsys", "emarsys-local"),
        ("abm", "abm-local"),
        ("sf", "sf-local"),
        ("intacct-xml", "intacct-xml-local"),
    ] {
        h.create_integration(key, provider, None).await;
    }
    (p, h)
}

/// Submits credentials that connect; the connection id and the stored connection as
/// `GET /connection` shows it.
async fn connected(
    h: &common::Harness,
    route: &str,
    key: &str,
    query: &str,
    body: Value,
) -> (String, common::Reply) {
    let r = submit(h, route, key, query, body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["connectionId"].as_str().unwrap().to_string();
    let c = h.connection(key, &id, "").await;
    (id, c)
}

/// Submits credentials the provider refuses: a 400 with Nango's `code`.
async fn refused(
    h: &common::Harness,
    route: &str,
    key: &str,
    query: &str,
    body: Value,
    code: &str,
) -> common::Reply {
    let r = submit(h, route, key, query, body).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["code"], code, "{}", r.body);
    r
}

/// Submits credentials as the browser does, with a fresh connect session.
async fn submit(
    h: &common::Harness,
    route: &str,
    key: &str,
    query: &str,
    body: Value,
) -> common::Reply {
    let token = h.session(json!({"end_user": {"id": "u1"}})).await;
    h.browser_post(
        &format!("/auth/{route}/{key}?connect_session_token={token}{query}"),
        body,
    )
    .await
}

fn proxy(
    h: &common::Harness,
    key: &str,
    connection: &str,
    endpoint: &str,
) -> reqwest::RequestBuilder {
    h.http
        .get(format!("{}/proxy{endpoint}", h.base))
        .header("authorization", h.secret())
        .header("connection-id", connection)
        .header("provider-config-key", key)
}

async fn stats(p: &Peer) -> i64 {
    let v: Value = p.get("/two-step/stats").await;
    v["tokenRequests"].as_i64().unwrap()
}

#[tokio::test]
async fn two_step_fetches_renews_single_flight_and_proxies_the_token() {
    let (p, h) = setup().await;
    let good = json!({"type": "TWO_STEP", "clientId": "drupal-client",
                      "clientSecret": "drupal-secret", "userName": "editor"});

    // Wrong secret: the provider's refusal, nothing stored.
    let mut bad = good.clone();
    bad["clientSecret"] = json!("nope");
    let r = refused(
        &h,
        "two-step",
        "drupal",
        "",
        bad,
        "two_step_credentials_fetch_error",
    )
    .await;
    assert!(!r.body.to_string().contains("nope"), "{}", r.body);

    // Another mode's route refuses the integration.
    let r = submit(&h, "jwt", "drupal", "", json!({"privateKey": "x"})).await;
    assert_eq!(r.body["error"]["code"], "invalid_auth_mode", "{}", r.body);

    let r = submit(&h, "two-step", "drupal", "", good).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["providerConfigKey"], "drupal");
    let id = r.body["connectionId"].as_str().unwrap().to_string();

    let c = h.connection("drupal", &id, "").await;
    assert_eq!(c.status, 200, "{}", c.body);
    let creds = &c.body["credentials"];
    assert_eq!(creds["type"], "TWO_STEP");
    assert_eq!(creds["clientId"], "drupal-client");
    assert_eq!(creds["raw"]["token_type"], "Bearer");
    assert!(
        creds["expires_at"].as_str().unwrap().ends_with('Z'),
        "{creds}"
    );
    let first = creds["token"].as_str().unwrap().to_string();

    // The proxy sends the token as a Bearer.
    let res = proxy(&h, "drupal", &id, "/api").send().await.unwrap();
    assert_eq!(res.status(), 200);

    // Five concurrent forced renewals: one token request upstream, one new token for all.
    let before = stats(&p).await;
    let calls = (0..5).map(|_| h.connection("drupal", &id, "&force_refresh=true"));
    let answers = futures_util::future::join_all(calls).await;
    let tokens: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|a| a.body["credentials"]["token"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert!(!tokens.contains(&first));
    assert_eq!(stats(&p).await - before, 1, "single-flight renewal");
}

#[tokio::test]
async fn jwt_hmac_and_ec_tokens_verify_at_the_provider_and_are_re_signed() {
    let (p, h) = setup().await;
    // Ghost: `id:secret`, HS256 with the hex secret; the provider's verification runs first.
    let key = format!("0123456789abcdef01234567:{}", "ab".repeat(32));
    let bad = format!("0123456789abcdef01234567:{}", "cd".repeat(32));
    refused(
        &h,
        "jwt",
        "ghost",
        "&params[version]=v5.0",
        json!({"type": "JWT", "privateKey": bad}),
        "connection_test_failed",
    )
    .await;

    let (id, c) = connected(
        &h,
        "jwt",
        "ghost",
        "&params[version]=v5.0",
        json!({"type": "JWT", "privateKey": key}),
    )
    .await;
    let creds = &c.body["credentials"];
    assert_eq!(creds["type"], "JWT", "{creds}");
    assert_eq!(creds["privateKey"]["id"], "0123456789abcdef01234567");
    assert!(creds["token"].as_str().unwrap().split('.').count() == 3);
    assert!(creds["expires_at"].is_string());
    assert_eq!(c.body["connection_config"]["version"], "v5.0");
    let res = proxy(&h, "ghost", &id, "/users").send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // App Store Connect: ES256 from a PKCS#8 key pasted on one line.
    let one_line = p.apple_key.replace('\n', " ");
    let r = submit(
        &h,
        "jwt",
        "apple",
        "",
        json!({"type": "JWT", "issuerId": p.apple_issuer, "privateKeyId": "KEY123", "privateKey": one_line}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["connectionId"].as_str().unwrap().to_string();
    let res = proxy(&h, "apple", &id, "/apps").send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let c = h.connection("apple", &id, "&force_refresh=true").await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.body["credentials"]["type"], "JWT");
}

/// TWO_STEP with a client assertion (Apple Business Manager): the server signs an ES256 JWT with the
/// key handed over as `assertionOption` (never stored), the provider verifies it; the stored
/// assertion is reused for renewals while it is valid.
#[tokio::test]
async fn two_step_signs_a_client_assertion_with_a_key_it_does_not_keep() {
    let (p, h) = setup().await;
    let creds =
        json!({"type": "TWO_STEP", "clientId": "BUSINESSAPI.9703f56c", "keyId": "ABM-KEY-1"});

    // Without the key there is nothing to sign with: a typed refusal, nothing stored.
    let r = submit(&h, "two-step", "abm", "", creds.clone()).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "failed_to_generate", "{}", r.body);

    // Someone else's key: the provider refuses the signature.
    let mut body = creds.clone();
    body["assertionOption"] = json!({"privateKey": p.other_key});
    refused(
        &h,
        "two-step",
        "abm",
        "",
        body,
        "two_step_credentials_fetch_error",
    )
    .await;

    let mut body = creds.clone();
    body["assertionOption"] = json!({"privateKey": p.apple_key.replace('\n', "\\n")});
    let (id, c) = connected(&h, "two-step", "abm", "", body).await;
    let stored = &c.body["credentials"];
    assert_eq!(stored["type"], "TWO_STEP", "{stored}");
    assert_eq!(stored["clientId"], "BUSINESSAPI.9703f56c");
    assert!(
        stored.get("assertionOption").is_none(),
        "the key is not kept: {stored}"
    );
    assert!(!c.body.to_string().contains("PRIVATE KEY"), "{}", c.body);
    let assertion = stored["assertion"].as_str().unwrap().to_string();
    let first = stored["token"].as_str().unwrap().to_string();

    // Renewal: a new token with the stored assertion (the provider saw one assertion in all).
    let c = h.connection("abm", &id, "&force_refresh=true").await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_ne!(c.body["credentials"]["token"], first.as_str());
    assert_eq!(c.body["credentials"]["assertion"], assertion.as_str());
    let seen: Value = p.get("/abm/stats").await;
    assert_eq!(seen["assertions"], 1, "{seen}");
}

/// TWO_STEP with a SAML 2.0 bearer assertion (SAP SuccessFactors): the server builds and signs the
/// assertion (enveloped XML signature, exclusive c14n, RSA-SHA256) with the key handed over in SAP's
/// own format (the PKCS#8 body base64-encoded again with the company id); the provider checks it
/// with `xml-crypto`. The key is not stored; the ten-year assertion is, and renewals reuse it.
#[tokio::test]
async fn two_step_signs_a_saml_bearer_assertion() {
    use base64::Engine as _;
    let (p, h) = setup().await;
    let body: String = p
        .sf_key
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let sap_format = base64::engine::general_purpose::STANDARD.encode(format!("{body}###SFPART01"));
    let submission = |key: &str| {
        json!({"type": "TWO_STEP", "apiKey": "c2YtYXBpLWtleS0xMjM0NTY3ODkw",
               "assertionOption": {"userName": "sfadmin", "privateKey": key}})
    };
    let query = "&params[companyId]=SFPART01";

    // A key the provider does not know: the signature is refused there.
    let other = {
        let out = std::process::Command::new("node")
            .args(["-e", "process.stdout.write(require('crypto').generateKeyPairSync('rsa',{modulusLength:2048}).privateKey.export({type:'pkcs8',format:'pem'}))"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    refused(
        &h,
        "two-step",
        "sf",
        query,
        submission(&other),
        "two_step_credentials_fetch_error",
    )
    .await;

    let (id, c) = connected(&h, "two-step", "sf", query, submission(&sap_format)).await;
    let stored = &c.body["credentials"];
    assert_eq!(stored["type"], "TWO_STEP", "{stored}");
    assert!(
        !c.body.to_string().contains(&sap_format[..40]),
        "the key is not kept"
    );
    assert!(stored.get("assertionOption").is_none(), "{stored}");
    let assertion = stored["assertion"].as_str().unwrap().to_string();
    let xml = base64::engine::general_purpose::STANDARD
        .decode(&assertion)
        .unwrap();
    assert!(String::from_utf8(xml)
        .unwrap()
        .contains("<ds:SignatureValue>"));

    let c = h.connection("sf", &id, "&force_refresh=true").await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.body["credentials"]["assertion"], assertion.as_str());
    let seen: Value = p.get("/sf/stats").await;
    assert_eq!(
        seen["assertions"], 1,
        "one assertion for both token requests: {seen}"
    );
}

/// TWO_STEP over XML (Sage Intacct): the login is posted as an XML document the provider's parser
/// reads, and the session id and its expiry come from the XML answer.
#[tokio::test]
async fn two_step_logs_in_over_xml() {
    let (_p, h) = setup().await;
    let good = json!({"type": "TWO_STEP", "senderId": "sender-1", "senderPassword": "sender-pass",
                      "companyId": "ACME", "userId": "xml_user", "userPassword": "user-pass"});
    let mut bad = good.clone();
    bad["userPassword"] = json!("wrong");
    refused(
        &h,
        "two-step",
        "intacct-xml",
        "",
        bad,
        "two_step_credentials_fetch_error",
    )
    .await;

    let (_, c) = connected(&h, "two-step", "intacct-xml", "", good).await;
    let creds = &c.body["credentials"];
    assert_eq!(creds["token"].as_str().unwrap().len(), 36, "{creds}");
    assert_eq!(
        creds["raw"]["response"]["operation"]["result"]["function"],
        "getAPISession"
    );
    let expires = chrono::DateTime::parse_from_rfc3339(creds["expires_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    let in_an_hour = chrono::Utc::now().timestamp() + 3600;
    assert!((expires - in_an_hour).abs() < 60, "{creds}");
}

#[tokio::test]
async fn bill_logs_in_and_signature_sends_a_fresh_wsse_header() {
    let (p, h) = setup().await;
    let login = json!({"username": "ap@example.com", "password": "bill-pass",
                       "organization_id": "org-1", "dev_key": "dev-1"});
    let mut wrong = login.clone();
    wrong["password"] = json!("x");
    refused(&h, "bill", "bill", "", wrong, "bill_tokens_fetch_error").await;

    let (id, c) = connected(&h, "bill", "bill", "", login).await;
    let creds = &c.body["credentials"];
    assert_eq!(creds["type"], "BILL", "{creds}");
    assert_eq!(creds["organization_id"], "org-1");
    assert_eq!(creds["user_id"], "user-9");
    let session = creds["session_id"].as_str().unwrap();
    let res = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/bill/api", p.port))
        .header("sessionId", session)
        .header("devKey", "dev-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the stored session is Bill's");
    let renewed = h.connection("bill", &id, "&force_refresh=true").await;
    assert_ne!(
        renewed.body["credentials"]["session_id"].as_str(),
        Some(session)
    );

    // SIGNATURE: verified at submission, and every proxied call carries a valid (fresh-nonce) digest.
    let r = submit(
        &h,
        "signature",
        "emarsys",
        "",
        json!({"type": "SIGNATURE", "username": "emarsys_user", "password": "wrong"}),
    )
    .await;
    assert_eq!(
        r.body["error"]["code"], "connection_test_failed",
        "{}",
        r.body
    );
    let (id, c) = connected(
        &h,
        "signature",
        "emarsys",
        "",
        json!({"type": "SIGNATURE", "username": "emarsys_user", "password": "emarsys-secret"}),
    )
    .await;
    assert_eq!(c.body["credentials"]["type"], "SIGNATURE");
    assert!(c.body["credentials"]["token"]
        .as_str()
        .unwrap()
        .starts_with("UsernameToken "));
    // A WSSE nonce is single-use: the proxy must present a new token each time (renewed on read).
    for _ in 0..2 {
        let c = h.connection("emarsys", &id, "&force_refresh=true").await;
        assert_eq!(c.status, 200, "{}", c.body);
        let res = proxy(&h, "emarsys", &id, "/settings").send().await.unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
}

#[tokio::test]
async fn tba_requests_are_oauth1_hmac_sha256_signed_with_the_realm() {
    let (p, h) = setup().await;
    h.create_integration(
        "netsuite",
        "netsuite-local",
        Some(json!({"type": "TBA", "client_id": "ck-1", "client_secret": "cs-1"})),
    )
    .await;
    let (id, c) = connected(
        &h,
        "tba",
        "netsuite",
        "&params[accountId]=1234567-sb1",
        json!({"token_id": "tid-1", "token_secret": "ts-1"}),
    )
    .await;
    let creds = &c.body["credentials"];
    assert_eq!(creds["type"], "TBA", "{creds}");
    assert_eq!(creds["token_id"], "tid-1");
    // NetSuite recomputes the signature over the method, URL and (sorted, encoded) query.
    let res = proxy(&h, "netsuite", &id, "/customer?q=name%20IS%20a%26b&limit=5")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // A consumer override replaces the integration's consumer key.
    let r = submit(
        &h,
        "tba",
        "netsuite",
        "&params[accountId]=1234567-sb1",
        json!({"token_id": "tid-1", "token_secret": "ts-1", "oauth_client_id_override": "other"}),
    )
    .await;
    let id = r.body["connectionId"].as_str().unwrap().to_string();
    let c = h.connection("netsuite", &id, "").await;
    assert_eq!(
        c.body["credentials"]["config_override"]["client_id"],
        "other"
    );
    let res = proxy(&h, "netsuite", &id, "/customer")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        401,
        "the provider refuses an unknown consumer"
    );

    let r = submit(&h, "tba", "netsuite", "", json!({"token_id": "tid"})).await;
    assert_eq!(r.body["error"]["code"], "invalid_body", "{}", r.body);
    drop(p);
}

/// The official `@nangohq/frontend` (`nango.auth(key, {credentials})`) against our routes.
#[tokio::test]
async fn official_frontend_submits_every_credential_kind() {
    let (p, h) = setup().await;
    let two_step = h.session(json!({"end_user": {"id": "u1"}})).await;
    let jwt = h.session(json!({"end_user": {"id": "u2"}})).await;
    let abm = h.session(json!({"end_user": {"id": "u3"}})).await;
    h.create_integration(
        "netsuite",
        "netsuite-local",
        Some(json!({"type": "TBA", "client_id": "ck-1", "client_secret": "cs-1"})),
    )
    .await;
    let mut sessions = Vec::new();
    for (i, name) in ["BILL_SESSION", "SIGNATURE_SESSION", "TBA_SESSION"]
        .iter()
        .enumerate()
    {
        let token = h
            .session(json!({"end_user": {"id": format!("v{i}")}}))
            .await;
        sessions.push((*name, token));
    }
    let output = tokio::process::Command::new("node")
        .args(["--test", "--test-reporter=spec"])
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/node/credential-modes-frontend.test.mjs"),
        )
        .env("LATCHKEY_HOST", &h.base)
        .env("TWO_STEP_SESSION", two_step)
        .env("JWT_SESSION", jwt)
        .env("ABM_SESSION", abm)
        .envs(sessions)
        .env("ABM_KEY", &p.apple_key)
        .env(
            "GHOST_KEY",
            format!("0123456789abcdef01234567:{}", "ab".repeat(32)),
        )
        .kill_on_drop(true)
        .output()
        .await
        .expect("node runs");
    println!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "the @nangohq/frontend suite failed"
    );
    let list = h.backend(Method::GET, "/connections", None).await;
    let keys: Vec<&str> = list.body["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["provider_config_key"].as_str())
        .collect();
    assert!(
        ["drupal", "ghost", "abm", "bill", "emarsys", "netsuite"]
            .iter()
            .all(|k| keys.contains(k)),
        "{keys:?}"
    );
    drop(p);
}

/// One INSTALL_PLUGIN round for `end_user`: the popup's redirect to the plugin's install page (whose
/// `payload` is the attempt's state), then the plugin's return to the callback with `website_id`.
/// Returns the install page's URL and the callback page.
async fn install_crisp(
    h: &common::Harness,
    end_user: &str,
    website_id: &str,
) -> (url::Url, String) {
    install(h, "crisp", end_user, "payload", |payload| {
        format!("/oauth/callback?state={payload}&website_id={website_id}")
    })
    .await
}

/// Starts `key`'s popup flow for `end_user` as a browser would: the page it redirects to, and the
/// browser's binding cookie (`name=value`).
async fn start_popup(h: &common::Harness, key: &str, end_user: &str) -> (url::Url, String) {
    let token = h.session(json!({"end_user": {"id": end_user}})).await;
    let res = h
        .http
        .get(format!(
            "{}/oauth/connect/{key}?connect_session_token={token}",
            h.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302, "{}", res.text().await.unwrap());
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let location = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    (location, cookie)
}

/// The result page of the browser coming back to `url` with its binding `cookie`.
async fn come_back(h: &common::Harness, url: &str, cookie: &str) -> String {
    h.http
        .get(url)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A popup install flow: starts `key`'s flow for `end_user`, reads the state the install page gets
/// (as the query parameter `state_param`), and comes back to the server at `back(state)` with the
/// browser's binding cookie. The install page's URL and the result page.
async fn install(
    h: &common::Harness,
    key: &str,
    end_user: &str,
    state_param: &str,
    back: impl Fn(&str) -> String,
) -> (url::Url, String) {
    let (location, cookie) = start_popup(h, key, end_user).await;
    let state = location
        .query_pairs()
        .find(|(k, _)| k == state_param)
        .map(|(_, v)| v.into_owned())
        .expect("the install page gets the state");
    let page = come_back(h, &format!("{}{}", h.base, back(&state)), &cookie).await;
    (location, page)
}

/// INSTALL_PLUGIN (Crisp): the end user is sent to the owner's plugin install page with the attempt's
/// state as `payload`; the plugin sends them back to the callback with it (and the `website_id`); the
/// connection uses the owner's plugin credentials, checked at the provider first.
#[tokio::test]
async fn install_plugin_sends_the_user_to_the_plugin_and_connects_with_the_owners_credentials() {
    let (p, h) = setup().await;
    let r = h
        .backend(
            Method::POST,
            "/integrations",
            Some(json!({"provider": "crisp-local", "unique_key": "crisp"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The install link is required with INSTALL_PLUGIN credentials.
    let patch = |credentials: Value| {
        h.backend(
            Method::PATCH,
            "/integrations/crisp",
            Some(json!({ "credentials": credentials })),
        )
    };
    let r = patch(
        json!({"type": "INSTALL_PLUGIN", "client_id": "plugin-id", "client_secret": "plugin-key"}),
    )
    .await;
    assert_eq!(r.body["error"]["code"], "invalid_body", "{}", r.body);
    let link = "https://marketplace.example.com/install/plugin-1";
    let r = patch(json!({"type": "INSTALL_PLUGIN", "client_id": "plugin-id",
                         "client_secret": "plugin-key", "app_link": link}))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let (location, page) = install_crisp(&h, "u1", "w-42").await;
    assert!(location.as_str().starts_with(link), "{location}");
    assert!(page.contains("nango_oauth_callback_success"), "{page}");
    let list = h.backend(Method::GET, "/connections", None).await;
    let id = list.body["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["provider_config_key"] == "crisp")
        .and_then(|c| c["connection_id"].as_str())
        .unwrap()
        .to_string();
    let c = h.connection("crisp", &id, "").await;
    assert_eq!(c.body["credentials"]["type"], "BASIC", "{}", c.body);
    assert_eq!(c.body["credentials"]["username"], "plugin-id");
    assert_eq!(c.body["connection_config"]["website_id"], "w-42");
    let res = proxy(&h, "crisp", &id, "/v1/plugin/connect/account")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // Wrong plugin credentials: the provider's check fails and nothing is stored.
    let r = patch(json!({"type": "INSTALL_PLUGIN", "client_id": "plugin-id",
                         "client_secret": "wrong", "app_link": link}))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (_, page) = install_crisp(&h, "u2", "w-43").await;
    assert!(page.contains("connection_test_failed"), "{page}");
    drop(p);
}

/// TWO_STEP with the integration's `integration_config` (Sage Intacct CC): the owner's client id and
/// secret go into every token request, win over submitted ones, and are not stored per connection.
#[tokio::test]
async fn two_step_uses_the_integrations_config_values_without_storing_them() {
    let (p, h) = setup().await;
    let r = h
        .backend(
            Method::POST,
            "/integrations",
            Some(json!({"provider": "intacct-local", "unique_key": "intacct",
                        "integration_config": {"clientId": "drupal-client", "clientSecret": "drupal-secret"}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = submit(
        &h,
        "two-step",
        "intacct",
        "",
        json!({"type": "TWO_STEP", "username": "editor", "clientSecret": "submitted"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["connectionId"].as_str().unwrap().to_string();
    let c = h.connection("intacct", &id, "&force_refresh=true").await;
    assert_eq!(c.status, 200, "renewal uses them too: {}", c.body);
    let creds = &c.body["credentials"];
    assert_eq!(creds["username"], "editor", "{creds}");
    assert!(
        creds.get("clientSecret").is_none() && creds.get("clientId").is_none(),
        "{creds}"
    );
    drop(p);
}

/// TWO_STEP `token_response_headers` (SAP Business One): the session cookies of the login answer are
/// kept with the credentials (each by name, all as `_cookies`) and the proxy sends them back.
#[tokio::test]
async fn two_step_keeps_response_cookies_and_the_proxy_sends_them() {
    let (p, h) = setup().await;
    h.create_integration("sap", "sap-local", None).await;
    let (id, c) = connected(
        &h,
        "two-step",
        "sap",
        "&params[companyDb]=SBODEMO",
        json!({"type": "TWO_STEP", "userName": "manager", "password": "sap-pass"}),
    )
    .await;
    let creds = &c.body["credentials"];
    let session = creds["token"].as_str().unwrap();
    assert_eq!(creds["B1SESSION"], session, "{creds}");
    assert_eq!(
        creds["_cookies"],
        format!("B1SESSION={session}; ROUTEID=.node1").as_str()
    );
    let res = proxy(&h, "sap", &id, "/Items").send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    drop(p);
}

/// A GitHub App install for `end_user`, GitHub coming back to the setup URL with `back` (the
/// installation id and setup action) and the state.
async fn install_github_app(h: &common::Harness, end_user: &str, back: &str) -> (url::Url, String) {
    install(h, "gh-app", end_user, "state", |state| {
        format!("/app-auth/connect?{back}&state={state}")
    })
    .await
}

/// Issue 15, APP (GitHub App): the owner's app (id, public link, private key) on the integration;
/// the end user installs it; GitHub's return to the setup URL stores an installation token fetched
/// with the app's JWT (which the local GitHub verifies); the proxy uses it; renewals fetch a new one.
#[tokio::test]
async fn github_app_installs_and_fetches_installation_tokens_with_the_apps_jwt() {
    use base64::Engine as _;
    let (p, h) = setup().await;
    let link = "https://github.com/apps/latchkey-test";
    let create = |private_key: String| {
        h.backend(
            Method::POST,
            "/integrations",
            Some(
                json!({"provider": "github-app-local", "unique_key": "gh-app",
                "credentials": {"type": "APP", "app_id": "123456", "app_link": link,
                                "private_key": private_key}}),
            ),
        )
    };
    let r = create("not a key".into()).await;
    assert_eq!(r.body["error"]["code"], "invalid_body", "{}", r.body);
    // The PEM base64-encoded, as Nango's dashboard sends it.
    let r = create(base64::engine::general_purpose::STANDARD.encode(&p.github_app_key)).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let (location, page) =
        install_github_app(&h, "u1", "installation_id=4242&setup_action=install").await;
    assert_eq!(
        location.as_str().split('?').next().unwrap(),
        format!("{link}/installations/new")
    );
    assert!(page.contains("nango_oauth_callback_success"), "{page}");
    let list = h.backend(Method::GET, "/connections", None).await;
    let id = list.body["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["provider_config_key"] == "gh-app")
        .and_then(|c| c["connection_id"].as_str())
        .unwrap()
        .to_string();
    let c = h.connection("gh-app", &id, "").await;
    let creds = &c.body["credentials"];
    assert_eq!(creds["type"], "APP", "{}", c.body);
    let first = creds["access_token"].as_str().unwrap().to_string();
    assert!(first.starts_with("ghs_"), "{creds}");
    assert_eq!(creds["raw"]["repository_selection"], "all");
    assert!(creds["jwtToken"].as_str().unwrap().split('.').count() == 3);
    let expires =
        chrono::DateTime::parse_from_rfc3339(creds["expires_at"].as_str().unwrap()).unwrap();
    assert!((expires.timestamp() - chrono::Utc::now().timestamp() - 3600).abs() < 60);
    assert_eq!(c.body["connection_config"]["installation_id"], "4242");
    assert_eq!(c.body["connection_config"]["app_id"], "123456");
    let res = proxy(&h, "gh-app", &id, "/installation/repositories")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // A renewal: a new installation token, fetched with a new app JWT.
    let c = h.connection("gh-app", &id, "&force_refresh=true").await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_ne!(c.body["credentials"]["access_token"], first.as_str());
    let stats: Value = p.get("/github/stats").await;
    assert_eq!(stats["tokenRequests"], 2, "{stats}");

    // An installation GitHub does not know, and an install request awaiting an owner's approval,
    // are reported on the result page; nothing is stored.
    let (_, page) = install_github_app(&h, "u2", "installation_id=999&setup_action=install").await;
    assert!(page.contains("github_app_token_fetch_error"), "{page}");
    let (_, page) = install_github_app(&h, "u3", "setup_action=request").await;
    assert!(page.contains("wrong_auth_mode"), "{page}");
    let count = h.backend(Method::GET, "/connections", None).await.body["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["provider_config_key"] == "gh-app")
        .count();
    assert_eq!(count, 1);
    // An installation approved outside a flow (no state): back to GitHub.
    let res = h
        .http
        .get(format!(
            "{}/app-auth/connect?installation_id=4242&setup_action=install",
            h.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "https://github.com");
}

/// Issue 15, CUSTOM (`github-app-oauth`): a GitHub App that requests the user's authorization during
/// installation. The integration holds the app's OAuth client and the app; GitHub's return carries a
/// code (exchanged for the user's token) and the installation id (an installation token fetched with
/// the app's JWT). The connection holds both: the installation token as `APP` credentials, the
/// user's in `connection_config.userCredentials` (refresh token shown only when asked), the login as
/// `handle`; renewals renew both (the user token here lives ten minutes, inside the refresh window,
/// so every read renews).
/// An installation an organization owner must approve comes back without an id: pending, the user's
/// token only, until GitHub's signed `installation` webhook finishes it.
#[tokio::test]
async fn github_app_with_user_authorization_keeps_the_installation_and_the_user_token() {
    let (p, h) = setup().await;
    h.http
        .post(format!("http://127.0.0.1:{}/__setup", p.port))
        .json(&json!({"server": h.base}))
        .send()
        .await
        .unwrap();
    let create = |key: &str, link: &str, app_id: Option<&str>| {
        let mut credentials = json!({"type": "CUSTOM", "client_id": "Iv1.latchkeytest",
            "client_secret": "gh-oauth-secret", "private_key": p.github_app_key,
            "app_link": format!("http://127.0.0.1:{}/github/apps/{link}", p.port)});
        if let Some(id) = app_id {
            credentials["app_id"] = id.into();
        }
        h.backend(
            Method::POST,
            "/integrations",
            Some(
                json!({"provider": "github-app-oauth-local", "unique_key": key,
                        "credentials": credentials}),
            ),
        )
    };
    let r = create("gh-oauth", "latchkey-oauth", None).await;
    assert_eq!(r.body["error"]["code"], "invalid_body", "{}", r.body);
    for (key, link) in [
        ("gh-oauth", "latchkey-oauth"),
        ("gh-oauth-approval", "latchkey-oauth-approval"),
    ] {
        let r = create(key, link, Some("123456")).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // The app's key stays on the server.
    let r = h
        .backend(
            Method::GET,
            "/integrations/gh-oauth?include=credentials",
            None,
        )
        .await;
    assert!(!r.body.to_string().contains("PRIVATE KEY"), "{}", r.body);

    let id = authorize_on_github(&h, "gh-oauth", "u1").await;
    let c = h.connection("gh-oauth", &id, "").await;
    let (creds, config) = (&c.body["credentials"], &c.body["connection_config"]);
    assert_eq!(creds["type"], "APP", "{}", c.body);
    assert!(creds["access_token"].as_str().unwrap().starts_with("ghs_"));
    assert!(creds.get("userCredentials").is_none(), "{creds}");
    assert_eq!(config["installation_id"], "4242");
    assert_eq!(config["app_id"], "123456");
    assert_eq!(config["handle"], "octo-user");
    assert_eq!(config["userCredentials"]["type"], "OAUTH2", "{config}");
    let user_token = config["userCredentials"]["access_token"].as_str().unwrap();
    assert!(user_token.starts_with("ghu_"), "{config}");
    assert!(config["userCredentials"].get("refresh_token").is_none());
    let c = h.connection("gh-oauth", &id, "&refresh_token=true").await;
    let first_app = c.body["credentials"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let user = &c.body["connection_config"]["userCredentials"];
    assert!(user["refresh_token"].as_str().unwrap().starts_with("ghr_"));
    let stats: Value = p.get("/github/user-stats").await;
    assert_eq!(stats["authorization_code"], 1, "{stats}");
    // The user token lives ten minutes, inside the 15-minute refresh window: each read so far
    // renewed it (with a new installation token), as Nango does for tokens that short.
    assert_eq!(stats["refresh_token"], 2, "{stats}");
    assert_ne!(user["access_token"], user_token);
    let res = proxy(&h, "gh-oauth", &id, "/installation/repositories")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the proxy sends the installation token");
    let c = h.connection("gh-oauth", &id, "&force_refresh=true").await;
    assert_ne!(c.body["credentials"]["access_token"], first_app.as_str());

    // Awaiting an organization owner's approval: pending, with the user's token.
    let id = authorize_on_github(&h, "gh-oauth-approval", "u2").await;
    let c = h.connection("gh-oauth-approval", &id, "").await;
    assert_eq!(c.body["credentials"]["type"], "OAUTH2", "{}", c.body);
    assert_eq!(c.body["connection_config"]["pending"], "true");
    assert_eq!(c.body["connection_config"]["handle"], "octo-user");
    assert!(c.body["connection_config"].get("installation_id").is_none());

    // Approved: GitHub's `installation` webhook, signed with the app's webhook secret, at the
    // integration's webhook URL, finishes the pending connection. Unsigned or missigned, it is
    // refused and changes nothing.
    let i = h
        .backend(
            Method::GET,
            "/integrations/gh-oauth-approval?include=webhook,credentials",
            None,
        )
        .await;
    let url = i.body["data"]["webhook_url"].as_str().unwrap().to_string();
    assert!(url.contains("/webhook/"), "{}", i.body);
    let secret = i.body["data"]["credentials"]["webhook_secret"]
        .as_str()
        .unwrap()
        .to_string();
    let event = json!({"action": "created", "installation": {"id": 4242, "app_id": 123456},
                       "requester": {"login": "octo-user"}, "sender": {"login": "org-owner"}})
    .to_string();
    let sign = |key: &str| {
        use hmac::Mac as _;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(event.as_bytes());
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    };
    let deliver = |signature: Option<String>| {
        let mut req = h
            .http
            .post(&url)
            .header("x-github-event", "installation")
            .header("content-type", "application/json")
            .body(event.clone());
        if let Some(s) = signature {
            req = req.header("x-hub-signature-256", s);
        }
        req.send()
    };
    for signature in [None, Some(sign("not the app's secret"))] {
        let res = deliver(signature).await.unwrap();
        assert_eq!(res.status(), 401);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "webhook_invalid_signature", "{body}");
    }
    let c = h.connection("gh-oauth-approval", &id, "").await;
    assert_eq!(c.body["credentials"]["type"], "OAUTH2", "still pending");
    let res = deliver(Some(sign(&secret))).await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let c = h.connection("gh-oauth-approval", &id, "").await;
    let config = &c.body["connection_config"];
    assert_eq!(c.body["credentials"]["type"], "APP", "{}", c.body);
    assert_eq!(config["installation_id"], "4242", "{config}");
    assert!(config.get("pending").is_none(), "{config}");
    assert_eq!(config["userCredentials"]["type"], "OAUTH2", "{config}");
}

/// A GitHub App install with user authorization, as a browser runs it: our popup start, GitHub's
/// install page (the local one signs the user in and installs at once), its return to the callback
/// with the binding cookie; the new connection's id.
async fn authorize_on_github(h: &common::Harness, key: &str, end_user: &str) -> String {
    let (install, cookie) = start_popup(h, key, end_user).await;
    assert!(install.path().ends_with("/installations/new"), "{install}");
    let res = h.http.get(install).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let back = res.headers()["location"].to_str().unwrap().to_string();
    let page = come_back(h, &back, &cookie).await;
    assert!(page.contains("nango_oauth_callback_success"), "{page}");
    let list = h.backend(Method::GET, "/connections", None).await;
    list.body["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["provider_config_key"] == key && c["end_user"]["id"] == end_user)
        .and_then(|c| c["connection_id"].as_str())
        .expect("the new connection")
        .to_string()
}
