// Type declarations of @latchkey/frontend, written by hand: the same public surface as
// @nangohq/frontend (Nango, ConnectUI, AuthError and their option types).

/** The error types the SDK itself produces. */
export type AuthErrorType =
    | 'missing_auth_token'
    | 'blocked_by_browser'
    | 'invalid_host_url'
    | 'missing_credentials'
    | 'window_closed'
    | 'connection_test_failed'
    | 'missing_connect_session_token'
    | 'connection_validation_failed'
    | 'unknown_error';

/**
 * An error type: one of {@link AuthErrorType}, or a code passed through from the server
 * (`invalid_body`, `integration_not_allowed`, `token_err`, …).
 */
export type AuthErrorCode = AuthErrorType | (string & Record<never, never>);

/** Every error the SDK throws or rejects with. */
export declare class AuthError extends Error {
    constructor(message: string, type: AuthErrorCode);
    type: AuthErrorCode;
}

interface NangoBaseOptions {
    /** API base URL; default `'https://api.nango.dev'`. Trailing slashes are ignored. */
    host?: string;
    /** Path of the result WebSocket on the API host; default `'/'`. */
    websocketsPath?: string;
    /** OAuth popup width in pixels; default 500. */
    width?: number;
    /** OAuth popup height in pixels; default 600. */
    height?: number;
    /** Accepted for compatibility; the SDK logs nothing. */
    debug?: boolean;
}

export type NangoOptions = NangoBaseOptions &
    (
        | { /** A connect session token, created by your backend. */ connectSessionToken?: string; publicKey?: never }
        | { /** Legacy public-key authentication (with `hmac` and a connection id). */ publicKey?: string; connectSessionToken?: never }
    );

export interface ApiKeyCredentials {
    apiKey: string;
}

export interface BasicApiCredentials {
    username?: string;
    password?: string;
}

/** OAuth 2 client credentials, `POST`ed to `/oauth2/auth/:key`. */
export interface OAuth2ClientCredentials {
    client_id: string;
    client_secret?: string;
    client_certificate?: string;
    client_private_key?: string;
}

/** Your own OAuth app for this connection: sent with the OAuth popup (both ids required). */
export interface OAuthCredentialsOverride {
    oauth_client_id_override: string;
    oauth_client_secret_override: string;
    oauth_refresh_token_override?: string;
}

/** TWO_STEP: the provider's `credentials` fields, posted to its token URL by the server. */
export interface TwoStepCredentials {
    type: 'TWO_STEP';
    [field: string]: string;
}

/** JWT: the key material the server signs the provider's JWT with. */
export interface JwtCredentials {
    type: 'JWT';
    [field: string]: string;
}

/** Bill.com: the login the server renews the session with. */
export interface BillCredentials {
    username: string;
    password: string;
    organization_id: string;
    dev_key: string;
}

/** SIGNATURE (WSSE): the user and secret each request's digest is made from. */
export interface SignatureCredentials {
    type: 'SIGNATURE';
    username: string;
    password: string;
}

/** NetSuite token-based authentication (OAuth 1.0a-signed requests). */
export interface TBACredentials {
    token_id: string;
    token_secret: string;
    oauth_client_id_override?: string;
    oauth_client_secret_override?: string;
}

/** AWS SigV4: the role the server assumes through STS. */
export interface AwsSigV4Credentials {
    type: 'AWS_SIGV4';
    role_arn: string;
    region?: string;
}

export interface AuthOptions {
    /** Connection configuration (`subdomain`, `hostname`, …), sent as `params[k]`. */
    params?: Record<string, string>;
    /**
     * Extra or overriding query parameters of the provider's authorization URL; `undefined` removes
     * a parameter the integration sets by default.
     */
    authorization_params?: Record<string, string | undefined>;
    /**
     * Reject with `window_closed` when the popup is closed before the flow completes. Off by default:
     * providers that send `Cross-Origin-Opener-Policy` make an open popup look closed.
     */
    detectClosedAuthWindow?: boolean;
    /** Legacy public-key mode: the HMAC your backend computed for this key (and connection id). */
    hmac?: string;
    /** Slack user scopes. */
    user_scope?: string[];
    /**
     * Credentials: every kind but the OAuth client overrides is submitted without a popup (to the
     * mode's `/api-auth/…` or `/auth/…` route); OAuth client overrides go with the popup.
     */
    credentials?:
        | ApiKeyCredentials
        | BasicApiCredentials
        | OAuth2ClientCredentials
        | OAuthCredentialsOverride
        | TwoStepCredentials
        | JwtCredentials
        | BillCredentials
        | SignatureCredentials
        | TBACredentials
        | AwsSigV4Credentials;
    /**
     * TWO_STEP providers with a client assertion (the catalog's `assertion_option`, e.g. Apple
     * Business Manager's `privateKey`): the key the server signs the assertion with, used once and
     * never stored.
     */
    assertionOption?: Record<string, string>;
    /**
     * Redirect mode (Latchkey only), for webviews and popup-hostile browsers: instead of a popup, the
     * page itself goes through the provider and comes back to `returnUrl` (whose origin must be one of
     * the environment's `allowed_origins`). The returned Promise never settles: read the outcome on
     * return with `handleRedirectResult()`.
     */
    redirect?: { returnUrl: string };
}

/** What `auth()` resolves with. */
export interface AuthSuccess {
    providerConfigKey: string;
    connectionId: string;
    isPending?: boolean;
}

/** Events the Connect UI reports to the page. */
export type ConnectUIEvent =
    | { type: 'ready' }
    | { type: 'close' }
    | { type: 'connect'; payload: { providerConfigKey: string; connectionId: string; isPending?: boolean } }
    | { type: 'error'; payload: { errorType: AuthErrorCode; errorMessage: string } };

export type OnConnectEvent = (event: ConnectUIEvent) => void | Promise<void>;

export interface ConnectUIProps {
    /** The connect session token; can also be given later with `setSessionToken`. */
    sessionToken?: string;
    /** Where the Connect UI is served; default `'https://connect.nango.dev'`. */
    baseURL?: string;
    /** The API base URL the Connect UI talks to; default `'https://api.nango.dev'`. */
    apiURL?: string;
    onEvent?: OnConnectEvent;
    detectClosedAuthWindow?: boolean;
    /** UI language, e.g. `'en'`, `'fr'`; default: the browser's. */
    lang?: string;
    themeOverride?: 'light' | 'dark' | 'system';
    /**
     * Latchkey only: when the browser blocks the OAuth popup, the Connect UI offers to continue in
     * this window (redirect mode), coming back to `returnUrl` (on an allowed origin); read the outcome
     * there with `handleRedirectResult()`.
     */
    redirect?: { returnUrl: string };
}

/** The Connect UI in a full-screen iframe. */
export declare class ConnectUI {
    constructor(props: ConnectUIProps);
    /** The iframe while open, else `null`. */
    readonly iframe: HTMLIFrameElement | null;
    /** Shows the Connect UI; does nothing if it is already open. */
    open(): void;
    /** Removes the iframe and restores the page's scrolling. */
    close(): void;
    /** Sets the session token, and sends it right away if the Connect UI is ready. */
    setSessionToken(token: string): void;
    /** Releases the instance's WebAssembly memory (optional; garbage collection does it too). */
    free(): void;
}

export declare class Nango {
    constructor(config?: NangoOptions);
    /**
     * Connects an integration. The OAuth popup opens synchronously inside this call: call it
     * directly from a click handler. With a connect session token, `connectionId` is ignored (the
     * server assigns it); in public-key mode it is sent.
     */
    auth(providerConfigKey: string, options?: AuthOptions): Promise<AuthSuccess>;
    auth(providerConfigKey: string, connectionId: string, options?: AuthOptions): Promise<AuthSuccess>;
    /**
     * Creates a connection to an `auth_mode: NONE` integration (no popup). Deprecated by Nango, kept
     * for compatibility.
     */
    create(providerConfigKey: string, options?: AuthOptions): Promise<AuthSuccess>;
    create(providerConfigKey: string, connectionId: string, options?: AuthOptions): Promise<AuthSuccess>;
    /** `auth()` for a reconnect session; rejects with `missing_connect_session_token` without a token. */
    reconnect(providerConfigKey: string, options?: AuthOptions): Promise<AuthSuccess>;
    /** Abandons the OAuth flow in progress, if any: its popup and socket are closed. */
    clear(): void;
    /**
     * Latchkey only, on the page a redirect-mode flow came back to: redeems (once) the result id in
     * the URL and removes it from the address bar. Resolves with the connection, or `null` when the
     * URL holds no result; rejects with the flow's `AuthError` (a used or unknown id: `not_found`).
     */
    handleRedirectResult(): Promise<AuthSuccess | null>;
    /** Opens the Connect UI (with this client's session token unless `props.sessionToken` is set). */
    openConnectUI(props: ConnectUIProps): ConnectUI;
    /** Releases the instance's WebAssembly memory (optional; garbage collection does it too). */
    free(): void;
}

export default Nango;
