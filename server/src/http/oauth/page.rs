//! The page shown in the popup at the end of (or on failure of) an OAuth flow.
//!
//! Its only script is inline with a per-response nonce; the data it posts is a JSON island with `<`
//! escaped, so no provider-supplied text can break out into markup or script. It posts to the opener
//! only at the exact origin recorded when the flow started, closes itself on the opener's ack, and on
//! success also after a short delay. Errors stay on screen so a person can read them.

use crate::crypto;
use crate::oauth::flow::FlowFailure;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use latchkey_protocol::events::CallbackMessage;

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn render(
    status: StatusCode,
    opener_origin: Option<&str>,
    message: &CallbackMessage,
    failure: Option<&FlowFailure>,
) -> Response {
    let nonce = &crypto::random_hex_256()[..32];
    let data = serde_json::json!({ "origin": opener_origin, "message": message, "success": failure.is_none() });
    let island = serde_json::to_string(&data)
        .expect("serializable")
        .replace('<', "\\u003c");
    let (title, body) = match failure {
        None => ("Connection successful", "<p>You can close this window.</p>".to_string()),
        Some(f) => (
            "Connection failed",
            format!(
                "<p>{}</p><details><summary>Details</summary><pre>{}</pre></details><p>You can close this window and try again.</p>",
                escape_html(&f.message),
                escape_html(f.code.as_str())
            ),
        ),
    };
    let html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title><style nonce="{nonce}">body{{font:16px system-ui,sans-serif;margin:3rem auto;max-width:32rem;padding:0 1rem;color:#111}}@media(prefers-color-scheme:dark){{body{{background:#111;color:#eee}}}}pre{{white-space:pre-wrap}}</style></head>
<body><main><h1>{title}</h1>{body}</main>
<script type="application/json" id="latchkey-result">{island}</script>
<script nonce="{nonce}">
(function () {{
  var d = JSON.parse(document.getElementById('latchkey-result').textContent);
  if (window.opener && d.origin) {{
    window.addEventListener('message', function (e) {{
      if (e.origin === d.origin && e.source === window.opener && e.data && e.data.type === 'nango_oauth_callback_ack') window.close();
    }});
    try {{ window.opener.postMessage(d.message, d.origin); }} catch (err) {{}}
  }}
  if (d.success) setTimeout(function () {{ window.close(); }}, 2000);
}})();
</script></body></html>"#
    );
    let mut res = (status, Html(html)).into_response();
    let csp = format!("default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_protocol::events::CallbackErrorPayload;
    use latchkey_protocol::ErrorCode;

    #[tokio::test]
    async fn provider_text_cannot_break_out_of_the_page() {
        let f = FlowFailure {
            code: ErrorCode::CallbackErr,
            message: "<script>alert(1)</script>".into(),
            report: None,
        };
        let m = CallbackMessage::Error {
            payload: CallbackErrorPayload {
                message: f.message.clone(),
                error_type: "callback_err".into(),
            },
        };
        let res = render(
            StatusCode::BAD_REQUEST,
            Some("https://app.example"),
            &m,
            Some(&f),
        );
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(!html.contains("<script>alert(1)"));
        assert!(html.contains("&lt;script&gt;alert(1)"));
        assert!(html.contains("\\u003cscript>alert(1)"));
    }
}
