//! The credential-based auth modes' shared rig (issue 15), for the `credential_modes/<mode>.rs`
//! suites: one local provider that checks what the real ones check
//! (`tests/node/credential-modes-peer.mjs`: `jose` verifies the JWTs, the WSSE digest is recomputed,
//! the token endpoint checks the form), its catalog entries, and the browser's side: submitting
//! credentials (`POST /auth/<mode>/:key` with a connect session) and running a popup install. Each
//! mode's suite: the submission, the stored connection as `GET /connection` shows it, renewal, and
//! the proxy injecting what the provider expects.

use crate::common;
use serde_json::{json, Value};

/// The node peer, killed when dropped.
pub struct Peer {
    _child: tokio::process::Child,
    pub port: u16,
    pub apple_key: String,
    /// An EC key no provider knows.
    pub other_key: String,
    /// The RSA key SAP SuccessFactors knows the API key's assertions by.
    pub sf_key: String,
    /// The GitHub App's private key (the integration owner's).
    pub github_app_key: String,
    pub apple_issuer: String,
}

impl Peer {
    /// `GET <path>` on the peer, as JSON (its counters).
    pub async fn get(&self, path: &str) -> Value {
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

pub async fn setup() -> (Peer, common::Harness) {
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
pub async fn connected(
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
pub async fn refused(
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
pub async fn submit(
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

pub fn proxy(
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

/// Starts `key`'s popup flow for `end_user` as a browser would: the page it redirects to, and the
/// browser's binding cookie (`name=value`).
pub async fn start_popup(h: &common::Harness, key: &str, end_user: &str) -> (url::Url, String) {
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
pub async fn come_back(h: &common::Harness, url: &str, cookie: &str) -> String {
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
pub async fn install(
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
