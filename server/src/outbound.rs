//! The guarded HTTP client the server reaches the outside with: token and refresh requests, credential
//! checks and renewals, the proxy, and (a second instance) webhook deliveries.
//!
//! It follows no redirects (a token endpoint that redirects is refused, so a code or a client secret
//! is never replayed to a third host), has timeouts, and refuses loopback, private, link-local and
//! unspecified addresses unless the deployment allows them (`LATCHKEY_ALLOW_PRIVATE_NETWORK`, used by
//! tests and the offline demo). The check runs in the DNS resolver, on the addresses actually dialled,
//! so DNS rebinding cannot slip past it; IP-literal URLs are checked before sending.
//!
//! Environment proxies (`HTTP(S)_PROXY`) are ignored: a proxy would resolve and dial the host itself,
//! out of reach of the guarded resolver. A proxy is used only when configured explicitly
//! (`LATCHKEY_OUTBOUND_PROXY`), and then the operator's proxy is responsible for egress filtering.
//! Response bodies are read up to a cap ([`TOKEN_BODY_LIMIT`]), so a hostile endpoint cannot exhaust
//! memory.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("refusing to contact a private or loopback address ({0})")]
    PrivateAddress(String),
    #[error("invalid URL: {0}")]
    BadUrl(String),
    /// Without its URL (see the `From` impl).
    #[error("request failed: {0}")]
    Http(reqwest::Error),
    #[error("the response body exceeds {0} bytes")]
    TooLarge(usize),
}

impl From<reqwest::Error> for OutboundError {
    /// The URL is dropped: it may carry secrets (a webhook URL's token, a tenant's host) and these
    /// errors end up in logs and in stored delivery records.
    fn from(e: reqwest::Error) -> Self {
        Self::Http(e.without_url())
    }
}

/// The largest token (or other provider) response the server reads: real ones are a few KiB.
pub const TOKEN_BODY_LIMIT: usize = 1024 * 1024;

/// Reads a response body, refusing one longer than `limit` bytes without buffering past it.
pub async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, OutboundError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(OutboundError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(OutboundError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether an address is one a public deployment must never dial on a provider's behalf: loopback,
/// private, link-local, shared (CGNAT), benchmarking (`198.18.0.0/15`), reserved (`240.0.0.0/4`),
/// multicast and documentation ranges, and IPv6 forms that embed an IPv4 address (mapped,
/// IPv4-compatible, NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`, 6to4 `2002::/16`) judged by that
/// address, so a private IPv4 target cannot be reached through a translator.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0 // 0.0.0.0/8 "this network"
                || a == 100 && (b & 0xc0) == 64 // 100.64/10 carrier-grade NAT
                || a == 198 && (b & 0xfe) == 18 // 198.18/15 benchmarking
                || a >= 240 // 240/4 reserved (and broadcast)
                || a == 192 && b == 0 && v4.octets()[2] == 0 // 192.0.0/24 IETF protocol assignments
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                IpAddr::V4(std::net::Ipv4Addr::new(
                    (hi >> 8) as u8,
                    hi as u8,
                    (lo >> 8) as u8,
                    lo as u8,
                ))
            };
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local
                || (seg[0] & 0xffc0) == 0xfe80 // link local
                || (seg[0] & 0xffc0) == 0xfec0 // site local (deprecated)
                || seg[0] == 0x2001 && seg[1] == 0x0db8 // documentation
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private(IpAddr::V4(v4)))
                // IPv4-compatible ::a.b.c.d (deprecated; any such address is refused)
                || seg[..6].iter().all(|s| *s == 0)
                // NAT64 well-known prefix and local-use prefix: refused whatever they embed
                || seg[0] == 0x64 && seg[1] == 0xff9b
                // 6to4: the embedded IPv4 address decides
                || seg[0] == 0x2002 && is_private(embedded(seg[1], seg[2]))
                // Teredo: refused (its server and client addresses are obfuscated IPv4)
                || seg[0] == 0x2001 && seg[1] == 0
        }
    }
}

struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| !is_private(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(OutboundError::PrivateAddress(host))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The way out to providers as the code that asks them for credentials is given it: the guarded
/// client, the clock expiry times are computed with, and the AWS STS endpoint template
/// (`LATCHKEY_AWS_STS_URL`). Strategies take this view rather than the whole server state, so
/// that what they can reach is written in their signatures: no storage, no webhooks, no keys.
#[derive(Clone, Copy)]
pub struct Upstream<'a> {
    pub outbound: &'a OutboundClient,
    pub clock: &'a crate::time::Clock,
    pub aws_sts_url: &'a str,
}

#[derive(Clone)]
pub struct OutboundClient {
    client: reqwest::Client,
    allow_private: bool,
}

impl OutboundClient {
    /// `proxy`: an explicitly configured egress proxy; without one, environment proxies are ignored.
    pub fn new(allow_private: bool, proxy: Option<&str>) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("Latchkey/", env!("CARGO_PKG_VERSION")));
        builder = match proxy {
            Some(url) => builder.proxy(reqwest::Proxy::all(url)?),
            None => builder.no_proxy(),
        };
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        Ok(Self {
            client: builder.build()?,
            allow_private,
        })
    }

    /// A request builder for `url`, after checking an IP-literal host against the policy.
    pub fn post(&self, url: &str) -> Result<reqwest::RequestBuilder, OutboundError> {
        self.request(reqwest::Method::POST, url)
    }

    /// Issue 3 (credential verification, `proxy.verification`): a request with any method, after the
    /// same URL and address checks as [`Self::post`].
    pub fn request(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, OutboundError> {
        let parsed = url::Url::parse(url).map_err(|e| OutboundError::BadUrl(e.to_string()))?;
        self.request_url(method, parsed)
    }

    /// [`Self::request`] for a URL already parsed (the proxy's, once per call, not once per check).
    pub fn request_url(
        &self,
        method: reqwest::Method,
        url: url::Url,
    ) -> Result<reqwest::RequestBuilder, OutboundError> {
        if !matches!(url.scheme(), "https" | "http") {
            return Err(OutboundError::BadUrl(format!(
                "unsupported scheme {}",
                url.scheme()
            )));
        }
        if !self.allow_private {
            let literal = match url.host() {
                Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
                _ => None,
            };
            if let Some(ip) = literal.filter(|ip| is_private(*ip)) {
                return Err(OutboundError::PrivateAddress(ip.to_string()));
            }
        }
        Ok(self.client.request(method, url))
    }
}

/// Why a token endpoint (an OAuth2 grant, a client-credentials or installation token) gave no token:
/// unreachable or refused by the policy, refused with an error, or answered something unreadable.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Outbound(#[from] OutboundError),
    #[error("token endpoint answered {status}: {detail}")]
    Rejected { status: u16, detail: String },
    #[error("token response could not be parsed: {0}")]
    Unparseable(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.5",
            "169.254.169.254",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "100.64.0.1",
            "::ffff:127.0.0.1",
            // Issue 11, finding 6: ranges the first guard missed.
            "64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
            "64:ff9b::808:808",   // NAT64 (refused whatever it embeds)
            "64:ff9b:1::a00:1",   // NAT64 local-use
            "2002:7f00:1::1",     // 6to4 of 127.0.0.1
            "2002:a9fe:a9fe::1",  // 6to4 of 169.254.169.254
            "::127.0.0.1",        // IPv4-compatible
            "::a9fe:a9fe",        // IPv4-compatible of the metadata address
            "224.0.0.1",
            "239.255.255.250",
            "ff02::1",
            "198.18.0.1",
            "198.19.255.255",
            "240.0.0.1",
            "255.255.255.254",
            "0.1.2.3",
            "2001::1", // Teredo
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "140.82.112.3",
            "2606:4700::1111",
            "2002:808:808::1",
            "198.20.0.1",
        ] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn environment_proxies_are_ignored_unless_configured() {
        // A proxy from the environment would dial the host itself, past the guarded resolver.
        std::env::set_var("HTTP_PROXY", "http://127.0.0.1:9");
        std::env::set_var("HTTPS_PROXY", "http://127.0.0.1:9");
        let c = OutboundClient::new(false, None).unwrap();
        let err = c
            .post("http://localhost:9/token")
            .unwrap()
            .send()
            .await
            .unwrap_err();
        std::env::remove_var("HTTP_PROXY");
        std::env::remove_var("HTTPS_PROXY");
        assert!(
            format!("{err:?}").contains("PrivateAddress"),
            "the guarded resolver ran, no proxy was used: {err:?}"
        );
    }

    /// A loopback endpoint answering `body_len` bytes at any path.
    async fn serve_bytes(body_len: usize) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().fallback(move || async move { vec![b'x'; body_len] });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn a_response_body_over_the_cap_is_refused() {
        let c = OutboundClient::new(true, None).unwrap();
        let base = serve_bytes(TOKEN_BODY_LIMIT + 1).await;
        let res = c
            .post(&format!("{base}/token"))
            .unwrap()
            .send()
            .await
            .unwrap();
        assert!(matches!(
            read_capped(res, TOKEN_BODY_LIMIT).await,
            Err(OutboundError::TooLarge(_))
        ));
        let base = serve_bytes(1000).await;
        let res = c
            .post(&format!("{base}/token"))
            .unwrap()
            .send()
            .await
            .unwrap();
        assert_eq!(
            read_capped(res, TOKEN_BODY_LIMIT).await.unwrap().len(),
            1000
        );
    }

    #[tokio::test]
    async fn request_errors_do_not_carry_the_url() {
        let c = OutboundClient::new(true, None).unwrap();
        // Nothing listens on port 1: a connection error, whose text once included the whole URL.
        let err = c
            .post("http://127.0.0.1:1/hooks?token=hook-SECRET")
            .unwrap()
            .send()
            .await
            .map_err(OutboundError::from)
            .unwrap_err();
        assert!(!err.to_string().contains("hook-SECRET"), "{err}");
        assert!(!format!("{err:?}").contains("hook-SECRET"), "{err:?}");
    }

    #[tokio::test]
    async fn loopback_literal_is_refused_by_default() {
        let c = OutboundClient::new(false, None).unwrap();
        assert!(matches!(
            c.post("http://127.0.0.1:9/token"),
            Err(OutboundError::PrivateAddress(_))
        ));
    }

    #[tokio::test]
    async fn localhost_name_is_refused_at_resolution() {
        let c = OutboundClient::new(false, None).unwrap();
        let err = c
            .post("http://localhost:9/token")
            .unwrap()
            .send()
            .await
            .unwrap_err();
        assert!(format!("{err:?}").contains("PrivateAddress"), "{err:?}");
    }
}
