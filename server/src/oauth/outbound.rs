//! The one HTTP client the server uses to reach providers (token and refresh requests).
//!
//! It follows no redirects (a token endpoint that redirects is refused, so a code or a client secret
//! is never replayed to a third host), has timeouts, and refuses loopback, private, link-local and
//! unspecified addresses unless the deployment allows them (`LATCHKEY_ALLOW_PRIVATE_NETWORK`, used by
//! tests and the offline demo). The check runs in the DNS resolver, on the addresses actually dialled,
//! so DNS rebinding cannot slip past it; IP-literal URLs are checked before sending.

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
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
}

/// Whether an address is one a public deployment must never dial on a provider's behalf.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64 // 100.64/10 carrier-grade NAT
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // unique local
                || (v6.segments()[0] & 0xffc0) == 0xfe80 // link local
                || v6.to_ipv4_mapped().map(|v4| is_private(IpAddr::V4(v4))).unwrap_or(false)
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

#[derive(Clone)]
pub struct OutboundClient {
    client: reqwest::Client,
    allow_private: bool,
}

impl OutboundClient {
    pub fn new(allow_private: bool) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("Latchkey/", env!("CARGO_PKG_VERSION")));
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
        let parsed = url::Url::parse(url).map_err(|e| OutboundError::BadUrl(e.to_string()))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(OutboundError::BadUrl(format!(
                "unsupported scheme {}",
                parsed.scheme()
            )));
        }
        if !self.allow_private {
            let literal = match parsed.host() {
                Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
                _ => None,
            };
            if let Some(ip) = literal.filter(|ip| is_private(*ip)) {
                return Err(OutboundError::PrivateAddress(ip.to_string()));
            }
        }
        Ok(self.client.post(parsed))
    }

    /// Issue 3 (credential verification, `proxy.verification`): a request with any method, after the
    /// same URL and address checks as [`Self::post`].
    pub fn request(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, OutboundError> {
        let checked = self.post(url)?.build().map_err(OutboundError::from)?;
        Ok(self.client.request(method, checked.url().clone()))
    }
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
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "140.82.112.3", "2606:4700::1111"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn loopback_literal_is_refused_by_default() {
        let c = OutboundClient::new(false).unwrap();
        assert!(matches!(
            c.post("http://127.0.0.1:9/token"),
            Err(OutboundError::PrivateAddress(_))
        ));
    }

    #[tokio::test]
    async fn localhost_name_is_refused_at_resolution() {
        let c = OutboundClient::new(false).unwrap();
        let err = c
            .post("http://localhost:9/token")
            .unwrap()
            .send()
            .await
            .unwrap_err();
        assert!(format!("{err:?}").contains("PrivateAddress"), "{err:?}");
    }
}
