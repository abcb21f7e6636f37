//! The Connect UI and the SDK package compiled into the binary (by `build.rs`, from `dist/connect-ui`
//! and `pkg` as they were at build time), so that `latchkey serve` needs no files beside it.
//!
//! Each file carries gzip and brotli copies made at build time; a request gets the best one its
//! `Accept-Encoding` allows (`br`, then `gzip`, then the file itself), always with
//! `Vary: Accept-Encoding`, a content-derived `ETag` (answered by `304` on `If-None-Match`) and the
//! content type a directory server would give. The other headers (cache policy, CORS of the SDK) come
//! from the layers in [`super::assets`], the same as for files served from disk.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// One embedded file.
pub struct Asset {
    /// Relative path with `/` separators (`index.html`, `snippets/x/inline0.js`).
    pub path: &'static str,
    pub identity: &'static [u8],
    /// Present only when compressing saved at least 10 %.
    pub gzip: Option<&'static [u8]>,
    pub br: Option<&'static [u8]>,
    /// Quoted hash of the file's bytes.
    pub etag: &'static str,
}

mod generated {
    use super::Asset;
    include!(concat!(env!("OUT_DIR"), "/embedded_assets.rs"));
}

/// A set of embedded files served under one prefix.
#[derive(Clone, Copy)]
pub struct Bundle(&'static [Asset]);

impl Bundle {
    /// The Connect UI (`dist/connect-ui`), or `None` when the binary was built without it.
    pub fn connect_ui() -> Option<Self> {
        Some(Self(generated::CONNECT_UI)).filter(|b| !b.0.is_empty())
    }

    /// The dashboard (`dist/dashboard`), or `None` when the binary was built without it.
    pub fn dashboard() -> Option<Self> {
        Some(Self(generated::DASHBOARD)).filter(|b| !b.0.is_empty())
    }

    /// The SDK package (`pkg`), or `None` when the binary was built without it.
    pub fn sdk() -> Option<Self> {
        Some(Self(generated::SDK)).filter(|b| b.0.iter().any(|a| a.path.ends_with(".wasm")))
    }

    pub fn files(&self) -> impl Iterator<Item = &'static Asset> {
        self.0.iter()
    }

    fn find(&self, path: &str) -> Option<&'static Asset> {
        let path = path.trim_start_matches('/');
        let path = if path.is_empty() || path.ends_with('/') {
            format!("{path}index.html")
        } else {
            path.to_string()
        };
        self.0
            .binary_search_by(|a| a.path.cmp(path.as_str()))
            .ok()
            .map(|i| &self.0[i])
    }

    /// Answers a GET or HEAD for `path` (relative to where the bundle is mounted; `""` and paths
    /// ending in `/` mean their `index.html`), or the API's 404 when there is no such file.
    pub async fn serve(self, path: &str, headers: &HeaderMap) -> Response {
        match self.find(path) {
            Some(asset) => respond(asset, headers),
            None => super::error::not_found().await.into_response(),
        }
    }
}

fn respond(asset: &'static Asset, headers: &HeaderMap) -> Response {
    let content_type = mime_guess::from_path(asset.path)
        .first_raw()
        .unwrap_or("application/octet-stream");
    let mut res = if if_none_match(headers, asset.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let accepted = accepted_encodings(headers);
        let (body, encoding) = match (asset.br, asset.gzip) {
            (Some(br), _) if accepted.br => (br, Some("br")),
            (_, Some(gz)) if accepted.gzip => (gz, Some("gzip")),
            _ => (asset.identity, None),
        };
        let mut res = body.into_response();
        if let Some(encoding) = encoding {
            res.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        res
    };
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::ETAG, HeaderValue::from_static(asset.etag));
    if asset.br.is_some() || asset.gzip.is_some() {
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    res
}

fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

#[derive(Debug, Default, PartialEq)]
struct Accepted {
    br: bool,
    gzip: bool,
}

/// Which of our two encodings `Accept-Encoding` allows: listed (or `*`) with a non-zero `q`.
fn accepted_encodings(headers: &HeaderMap) -> Accepted {
    let mut accepted = Accepted::default();
    let mut star = None;
    let (mut br, mut gzip) = (None, None);
    for item in headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .filter_map(|q| q.trim().parse::<f32>().ok())
            .next()
            .unwrap_or(1.0);
        let allowed = q > 0.0;
        match name.as_str() {
            "br" => br = Some(allowed),
            "gzip" | "x-gzip" => gzip = Some(allowed),
            "*" => star = Some(allowed),
            _ => {}
        }
    }
    accepted.br = br.or(star).unwrap_or(false);
    accepted.gzip = gzip.or(star).unwrap_or(false);
    accepted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> Accepted {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        accepted_encodings(&h)
    }

    #[test]
    fn accept_encoding_is_read_with_q_values_and_wildcards() {
        assert_eq!(
            accept("gzip, deflate, br"),
            Accepted {
                br: true,
                gzip: true
            }
        );
        assert_eq!(
            accept("gzip"),
            Accepted {
                br: false,
                gzip: true
            }
        );
        assert_eq!(
            accept("br;q=0, gzip;q=0.5"),
            Accepted {
                br: false,
                gzip: true
            }
        );
        assert_eq!(
            accept("*"),
            Accepted {
                br: true,
                gzip: true
            }
        );
        assert_eq!(
            accept("*;q=0, br"),
            Accepted {
                br: true,
                gzip: false
            }
        );
        assert_eq!(accept("identity"), Accepted::default());
        assert_eq!(accepted_encodings(&HeaderMap::new()), Accepted::default());
    }

    #[test]
    fn etags_match_strong_weak_lists_and_star() {
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"a\", W/\"b\""),
        );
        assert!(if_none_match(&h, "\"b\""));
        assert!(!if_none_match(&h, "\"c\""));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(if_none_match(&h, "\"c\""));
    }

    #[test]
    fn embedded_tables_are_sorted_for_lookup() {
        for table in [generated::CONNECT_UI, generated::SDK, generated::DASHBOARD] {
            assert!(table.windows(2).all(|w| w[0].path < w[1].path));
        }
    }
}
