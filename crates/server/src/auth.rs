//! API tokens: every route except `/healthz` needs one.
//!
//! Tokens are 256-bit random secrets shown once at creation; only their SHA-256 digest is stored
//! (`auth/tokens.json` in the data directory). A slow password hash adds nothing for secrets of
//! this entropy, and a fast digest keeps the per-request check cheap on the ingest hot path.
//! Clients send `Authorization: Bearer <token>` or, like InfluxDB/Telegraf, `Authorization: Token
//! <token>`.

use std::fs;
use std::path::{Path, PathBuf};

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::AppState;

/// One stored token (its digest, never the secret).
#[derive(Serialize, Deserialize, Clone, Debug)]
struct TokenRecord {
    name: String,
    role: String,
    sha256: String,
    created_ms: i64,
}

/// The token registry of a data directory.
pub struct Tokens {
    path: PathBuf,
    records: Vec<TokenRecord>,
}

fn digest(secret: &str) -> String {
    let d = Sha256::digest(secret.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

impl Tokens {
    /// Loads the tokens of `data_dir`.
    pub fn open(data_dir: &Path) -> std::io::Result<Self> {
        let path = data_dir.join("auth").join("tokens.json");
        let records = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(Tokens { path, records })
    }

    /// True if no token exists yet.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Creates an administrator token and returns its secret (shown once).
    pub fn create_admin(&mut self, name: &str) -> std::io::Result<String> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
        let secret: String = format!(
            "shulv_{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        self.records.push(TokenRecord {
            name: name.to_string(),
            role: "admin".to_string(),
            sha256: digest(&secret),
            created_ms: chrono::Utc::now().timestamp_millis(),
        });
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("tmp");
        fs::write(&tmp, serde_json::to_vec_pretty(&self.records)?)?;
        fs::File::open(&tmp)?.sync_all()?;
        fs::rename(&tmp, &self.path)?;
        Ok(secret)
    }

    /// True if `secret` is a known token.
    pub fn verify(&self, secret: &str) -> bool {
        let d = digest(secret);
        self.records.iter().any(|r| r.sha256 == d)
    }
}

/// Extracts the token of a request, from `Authorization: Bearer|Token <secret>`.
fn presented_token(request: &Request) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, secret) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
        .then_some(secret.trim())
}

/// Middleware: refuses requests without a valid token.
pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    match presented_token(&request) {
        Some(secret) if state.tokens.read().verify(secret) => next.run(request).await,
        Some(_) => {
            ApiError::new(StatusCode::UNAUTHORIZED, "the API token is not valid").into_response()
        }
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "an API token is required: send 'Authorization: Bearer <token>'",
        )
        .into_response(),
    }
}
