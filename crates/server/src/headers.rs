//! Security headers of every response: `X-Content-Type-Options: nosniff`, `Referrer-Policy`,
//! `X-Frame-Options: DENY`, and a Content-Security-Policy — for the console, its own files
//! only (its one inline script allowed by hash; inline styles allowed for the charts'
//! tooltips), never framed; for the API, nothing at all.

use std::sync::OnceLock;

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};

/// The policy of API answers (JSON, CSV, files): they load nothing and are never framed.
const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Middleware around the whole router.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let api = crate::console::is_api_path(request.uri().path());
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let policy = if api {
        HeaderValue::from_static(API_POLICY)
    } else {
        console_policy().clone()
    };
    h.insert(header::CONTENT_SECURITY_POLICY, policy);
    response
}

/// The console's policy, with the hashes of the inline scripts of its `index.html`.
fn console_policy() -> &'static HeaderValue {
    static POLICY: OnceLock<HeaderValue> = OnceLock::new();
    POLICY.get_or_init(|| {
        let html = crate::console::index_html().unwrap_or_default();
        let hashes: String = inline_scripts(html)
            .map(|s| {
                let digest = Sha256::digest(s.as_bytes());
                format!(
                    " 'sha256-{}'",
                    base64::engine::general_purpose::STANDARD.encode(digest)
                )
            })
            .collect();
        let policy = format!(
            "default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        );
        HeaderValue::from_str(&policy).expect("an ASCII policy")
    })
}

/// The contents of the `<script>` elements of `html` without a `src`.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.split("<script").skip(1).filter_map(|rest| {
        let (attributes, body) = rest.split_once('>')?;
        let (content, _) = body.split_once("</script>")?;
        (!attributes.contains("src=")).then_some(content)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_found_and_hashed() {
        let html = "<head><script>a()</script><script type=\"module\" src=\"/x.js\"></script>\n<script>\n b()\n</script></head>";
        let found: Vec<&str> = inline_scripts(html).collect();
        assert_eq!(found, ["a()", "\n b()\n"]);
        let policy = console_policy().to_str().unwrap();
        assert!(policy.contains("script-src 'self' 'sha256-"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    }
}
