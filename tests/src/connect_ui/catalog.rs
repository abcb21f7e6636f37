//! The catalog the Connect UI tests' server adds (Nango `providers.yaml` schema): the test providers
//! beside `local-oidc`, and those the credential modes' local provider serves.

/// The test providers served by the credential modes' local provider at `base`.
pub(super) fn credential_peer_providers_yaml(base: &str) -> String {
    format!(
        r#"
test-bill:
    display_name: Test Bill
    auth_mode: BILL
    token_url: {base}/bill/login
    proxy:
        base_url: {base}/bill
test-github-app:
    display_name: Test GitHub App
    auth_mode: APP
    authorization_url: ${{connectionConfig.appPublicLink}}/installations/new
    token_url: {base}/github/app/installations/${{connectionConfig.installation_id}}/access_tokens
    proxy:
        base_url: {base}/github/api
    connection_config:
        appPublicLink: {{type: string, title: App Public Link, automated: true}}
        installation_id: {{type: string, title: Installation ID, automated: true}}
test-github-app-oauth:
    display_name: Test GitHub App OAuth
    auth_mode: CUSTOM
    authorization_url: ${{connectionConfig.appPublicLink}}/installations/new
    token_url:
        OAUTH2: {base}/github/login/oauth/access_token
        APP: {base}/github/app/installations/${{connectionConfig.installation_id}}/access_tokens
    proxy:
        base_url: {base}/github/api
    connection_config:
        appPublicLink: {{type: string, title: App Public Link, automated: true}}
        installation_id: {{type: string, title: Installation ID, automated: true}}
test-plugin:
    display_name: Test Plugin
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
"#
    )
}

/// The test providers, beside `local-oidc`. `tenant-oidc`'s authorization host is
/// `<subdomain>.localhost` on the local provider's port (Chromium resolves `*.localhost` to loopback).
pub(super) fn test_providers_yaml(oidc_port: u16) -> String {
    format!(
        r#"
test-api-key:
    display_name: Test API Key
    auth_mode: API_KEY
    docs: https://example.com/docs/api-key
    credentials:
        apiKey:
            type: string
            title: API Key
            description: Your test key, starting with tk_.
            example: tk_live_123
            pattern: ^tk_[a-z0-9_]+$
            secret: true
test-basic:
    display_name: Test Basic
    auth_mode: BASIC
    connection_config:
        region:
            type: string
            title: Region
            enum: [us, eu]
            order: 3
    credentials:
        username:
            type: string
            title: Email Address
            format: email
            order: 1
        password:
            type: string
            title: Password
            secret: true
            order: 2
test-jwt:
    display_name: Test JWT
    auth_mode: JWT
    signature:
        protocol: HMAC
        hmac_secret_encoding: utf8
    token:
        signing_key: ${{credentials.privateKey}}
        expires_in_ms: 3600000
        header:
            alg: HS256
            kid: ${{credentials.keyId}}
        payload:
            aud: ${{connectionConfig.region}}
    connection_config:
        region:
            type: string
            title: Region
            enum: [us, eu]
    credentials:
        keyId:
            type: string
            title: Key ID
            pattern: ^[A-Z0-9]+$
        privateKey:
            type: string
            title: Private Key
            example: "-----BEGIN PRIVATE KEY-----"
            secret: true
test-tba:
    display_name: Test TBA
    auth_mode: TBA
    connection_config:
        accountId:
            type: string
            title: Account ID
            pattern: ^[a-zA-Z0-9_-]+$
test-client-credentials:
    display_name: Test Client Credentials
    auth_mode: OAUTH2_CC
    token_url: http://127.0.0.1:{oidc_port}/token
    token_request_auth_method: basic
    token_params:
        grant_type: client_credentials
test-client-assertion:
    display_name: Test Client Assertion
    auth_mode: TWO_STEP
    body_format: form
    token_url: http://127.0.0.1:{oidc_port}/token
    token_params:
        grant_type: client_credentials
        client_id: ${{credentials.clientId}}
        client_assertion_type: urn:ietf:params:oauth:client-assertion-type:jwt-bearer
        client_assertion: ${{credentials.assertion}}
    token_headers:
        content-type: application/x-www-form-urlencoded
    assertion:
        type: jwt
        key: ${{assertionOption.privateKey}}
        lifetimeInSeconds: 600
        header:
            alg: ES256
            kid: ${{credentials.keyId}}
        payload:
            iss: ${{credentials.clientId}}
            sub: ${{credentials.clientId}}
            aud: http://127.0.0.1:{oidc_port}/token
            jti: ${{random}}
    token_response:
        token: access_token
        token_expiration: expires_in
        token_expiration_strategy: expireIn
    credentials:
        clientId:
            type: string
            title: Client ID
        keyId:
            type: string
            title: Key ID
        assertion:
            type: string
            title: ''
            automated: true
    assertion_option:
        privateKey:
            type: string
            title: Private Key
            description: The EC private key (PEM) the client assertion is signed with.
test-signature:
    display_name: Test Signature
    auth_mode: SIGNATURE
    signature:
        protocol: WSSE
    token:
        expires_in_ms: 300000
tenant-oidc:
    display_name: Tenant OIDC
    auth_mode: OAUTH2
    authorization_url: http://${{connectionConfig.subdomain}}.localhost:{oidc_port}/auth
    token_url: http://${{connectionConfig.subdomain}}.localhost:{oidc_port}/token
    # The host comes from the browser: the catalog must vouch for where it may lead (issue 11).
    allowed_hosts: ['*.localhost']
    default_scopes: [openid]
    connection_config:
        subdomain:
            type: string
            title: Tenant Subdomain
            description: The subdomain of your tenant (acme for acme.localhost).
            example: acme
            pattern: ^[a-z0-9_-]+$
            prefix: http://
            suffix: .localhost
            order: 1
"#
    )
}
