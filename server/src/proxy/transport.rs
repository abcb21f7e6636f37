//! Moving the bytes: the caller's body to the provider and the provider's answer back, streamed.
//!
//! **Request bodies.** A retry (or the one retry after a 401 and a forced token refresh) must send the
//! body again, and a stream can be read only once. So a body of at most [`REPLAY_LIMIT`] (1 MiB) is
//! read into memory and can be replayed; a larger one — by its `Content-Length`, or found larger
//! while reading a chunked one — is streamed through as it arrives (the part already read first),
//! and that call is never repeated: the caller gets the provider's first answer, whatever it is.
//! Memory per call is therefore at most 1 MiB plus the socket buffers, whatever the body's size.
//!
//! **Responses** are streamed as they come, status and headers as the provider sent them minus the
//! hop-by-hop headers (RFC 9110 §7.6.1); `Content-Encoding` and `Content-Length` stay, because the
//! bytes are passed on unchanged. Both directions are capped (`LATCHKEY_PROXY_MAX_REQUEST_BYTES`,
//! `LATCHKEY_PROXY_MAX_RESPONSE_BYTES`): a declared length over the cap is refused up front, an
//! undeclared one is cut when it passes the cap.
//!
//! Requests go through the server's guarded outbound client
//! ([`crate::outbound::OutboundClient`]): no redirects (a 3xx is passed to the caller as is),
//! no private or loopback addresses unless the deployment allows them (checked on the addresses
//! actually dialled), a connect timeout, and the proxy's own whole-exchange timeout
//! (`LATCHKEY_PROXY_TIMEOUT_SECS`, body included).

use super::record::CallRecord;
use crate::outbound::{OutboundClient, OutboundError};
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderName, Method, Response};
use futures_util::{stream, StreamExt, TryStreamExt};
use std::time::Duration;

/// Largest request body kept in memory so that it can be sent again.
pub const REPLAY_LIMIT: usize = 1024 * 1024;

/// A body too large for the configured cap (found while streaming).
#[derive(Debug, thiserror::Error)]
#[error("the body is larger than the proxy's limit of {0} bytes")]
pub struct TooLarge(pub u64);

/// The caller's request body, ready to be sent once or, when small, again.
pub enum RequestBody {
    Empty,
    Buffered(Bytes),
    /// Taken by the first attempt.
    Streaming {
        body: Option<reqwest::Body>,
        length: Option<u64>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
    #[error("reading the request body failed: {0}")]
    Broken(String),
}

/// Counts bytes through a stream and fails it once they pass `max`.
fn capped<S, E>(s: S, max: u64) -> impl futures_util::Stream<Item = Result<Bytes, BoxError>>
where
    S: futures_util::Stream<Item = Result<Bytes, E>>,
    E: Into<BoxError>,
{
    let mut seen = 0u64;
    s.map_err(Into::into).and_then(move |chunk| {
        seen += chunk.len() as u64;
        let over = seen > max;
        async move {
            if over {
                Err(Box::new(TooLarge(max)) as BoxError)
            } else {
                Ok(chunk)
            }
        }
    })
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl RequestBody {
    /// Reads up to [`REPLAY_LIMIT`] bytes of `body`; see the module doc.
    pub async fn read(body: Body, declared: Option<u64>, max: u64) -> Result<Self, ReadError> {
        if declared.is_some_and(|n| n > max) {
            return Err(TooLarge(max).into());
        }
        if declared == Some(0) {
            return Ok(Self::Empty);
        }
        let mut data = body.into_data_stream();
        if declared.is_some_and(|n| n > REPLAY_LIMIT as u64) {
            return Ok(Self::Streaming {
                body: Some(reqwest::Body::wrap_stream(capped(data, max))),
                length: declared,
            });
        }
        let mut head: Vec<Bytes> = Vec::new();
        let mut total = 0usize;
        while let Some(chunk) = data.next().await {
            let chunk = chunk.map_err(|e| ReadError::Broken(e.to_string()))?;
            total += chunk.len();
            head.push(chunk);
            if total > REPLAY_LIMIT {
                let whole = stream::iter(head.into_iter().map(Ok::<_, axum::Error>)).chain(data);
                return Ok(Self::Streaming {
                    body: Some(reqwest::Body::wrap_stream(capped(whole, max))),
                    length: declared,
                });
            }
        }
        Ok(match total {
            0 => Self::Empty,
            _ if head.len() == 1 => Self::Buffered(head.pop().unwrap_or_default()),
            _ => Self::Buffered(head.concat().into()),
        })
    }

    /// The body when it was read whole (OAuth 1.0a signs a form body's parameters).
    pub fn buffered(&self) -> Option<&Bytes> {
        match self {
            Self::Buffered(b) => Some(b),
            _ => None,
        }
    }

    /// Whether the body can be sent again (a retry is possible).
    pub fn replayable(&self) -> bool {
        !matches!(self, Self::Streaming { .. })
    }

    /// The body of the next attempt (a streaming body only once).
    fn take(&mut self) -> (Option<reqwest::Body>, Option<u64>) {
        match self {
            Self::Empty => (None, None),
            Self::Buffered(b) => (Some(reqwest::Body::from(b.clone())), None),
            Self::Streaming { body, length } => (body.take(), *length),
        }
    }
}

/// Why an attempt got no answer.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The outbound policy refused the destination (private address, bad scheme).
    #[error("{0}")]
    Refused(String),
    #[error("could not connect to the provider")]
    NotConnected,
    #[error("the provider did not answer in time")]
    Timeout,
    #[error(transparent)]
    TooLarge(TooLarge),
    #[error("the exchange with the provider broke")]
    Broken,
}

/// Whether `err` or one of its causes is an `E`.
fn caused_by<'a, E: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        cur = e.source();
    }
    None
}

/// Sends one attempt.
pub async fn send(
    outbound: &OutboundClient,
    method: &Method,
    url: &url::Url,
    headers: HeaderMap,
    body: &mut RequestBody,
    timeout: Duration,
) -> Result<reqwest::Response, SendError> {
    let mut req = outbound
        .request_url(method.clone(), url.clone())
        .map_err(|e| SendError::Refused(e.to_string()))?
        .headers(headers)
        .timeout(timeout);
    match body.take() {
        (Some(b), length) => {
            if let Some(n) = length {
                req = req.header(header::CONTENT_LENGTH, n);
            }
            req = req.body(b);
        }
        (None, _) if matches!(body, RequestBody::Streaming { .. }) => {
            // A streamed body cannot be sent twice; callers check `replayable` first.
            return Err(SendError::Broken);
        }
        (None, _) => {}
    }
    req.send().await.map_err(|e| {
        if let Some(private) = caused_by::<OutboundError>(&e) {
            return SendError::Refused(private.to_string());
        }
        if let Some(big) = caused_by::<TooLarge>(&e) {
            return SendError::TooLarge(TooLarge(big.0));
        }
        if e.is_timeout() {
            SendError::Timeout
        } else if e.is_connect() {
            SendError::NotConnected
        } else {
            SendError::Broken
        }
    })
}

/// Hop-by-hop headers of a response (RFC 9110 §7.6.1), plus those its `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ] {
        headers.remove(name);
    }
}

/// Whether the provider declared a body longer than `max` (refused before streaming any of it).
pub fn declared_too_large(upstream: &reqwest::Response, max: u64) -> bool {
    upstream.content_length().is_some_and(|n| n > max)
}

/// The caller's response: the provider's status, headers and streamed body (cut past `max`
/// bytes). `record` is emitted when the body has been passed on (or the caller went away).
pub fn respond(upstream: reqwest::Response, max: u64, mut record: CallRecord) -> Response<Body> {
    let status = upstream.status();
    let mut headers = upstream.headers().clone();
    strip_hop_by_hop(&mut headers);
    record.status = status.as_u16();
    let body = capped(upstream.bytes_stream(), max).map(move |chunk| {
        // The whole record moves into the stream (not just the fields written), so that it is
        // dropped — and emitted — with the stream.
        let record: &mut CallRecord = &mut record;
        match &chunk {
            Ok(c) => record.response_bytes += c.len() as u64,
            Err(_) => record.aborted = true,
        }
        chunk
    });
    let mut res = Response::new(Body::from_stream(body));
    *res.status_mut() = status;
    *res.headers_mut() = headers;
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn small_bodies_are_replayable_large_ones_stream() {
        let small = RequestBody::read(Body::from("hello"), Some(5), 1 << 30)
            .await
            .unwrap();
        assert!(matches!(&small, RequestBody::Buffered(b) if b == "hello"));
        let empty = RequestBody::read(Body::empty(), None, 1 << 30)
            .await
            .unwrap();
        assert!(matches!(empty, RequestBody::Empty));
        let big = vec![7u8; REPLAY_LIMIT + 1];
        // Undeclared length (chunked): found large while reading.
        let chunks = big
            .chunks(64 * 1024)
            .map(|c| Ok::<_, std::io::Error>(Bytes::copy_from_slice(c)));
        let read = RequestBody::read(
            Body::from_stream(stream::iter(chunks.collect::<Vec<_>>())),
            None,
            1 << 30,
        )
        .await
        .unwrap();
        assert!(!read.replayable());
        let declared = RequestBody::read(Body::from(big.clone()), Some(big.len() as u64), 1 << 30)
            .await
            .unwrap();
        assert!(!declared.replayable());
        assert!(matches!(
            RequestBody::read(Body::from(big), Some((REPLAY_LIMIT + 1) as u64), 1000).await,
            Err(ReadError::TooLarge(_))
        ));
    }

    #[test]
    fn hop_by_hop_headers_are_removed() {
        let mut h = HeaderMap::new();
        h.insert("connection", "close, x-secret-hop".parse().unwrap());
        h.insert("x-secret-hop", "1".parse().unwrap());
        h.insert("transfer-encoding", "chunked".parse().unwrap());
        h.insert("x-ratelimit-remaining", "4".parse().unwrap());
        h.insert("content-encoding", "gzip".parse().unwrap());
        strip_hop_by_hop(&mut h);
        let names: Vec<_> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["x-ratelimit-remaining", "content-encoding"]);
    }
}
