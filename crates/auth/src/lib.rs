//! # shulv-auth
//!
//! Access control of a shulv instance: who may do what, on which part of the organisation tree,
//! and a durable record of every change.
//!
//! - [`Role`]: `admin` (everything), `operator` (read, registry, replacements, readings in
//!   scope), `analyst` (read in scope; with `aggregates_only` only node roll-ups, no individual
//!   meters), `device` (write readings of meters in scope, nothing else).
//! - [`Scope`]: a subtree of the organisation tree, named by its root node id, or `*` for
//!   everything (the administrator's scope).
//! - [`AuthStore`]: users (argon2id password hashes) and API tokens (SHA-256 digests of 256-bit
//!   random secrets) persisted in `<data>/auth/users.json` and `<data>/auth/tokens.json`.
//! - [`AccessControl`]: the in-memory gate of a running server: token and session lookup by
//!   digest (a hash map, so the per-request check costs one SHA-256), sessions with expiry,
//!   login failure limits per client (address and user name) and per address, a slow-down
//!   (never a lock) of a user name under attack, per-credential token buckets,
//!   and the [`AuditLog`].
//!
//! The tree itself lives in the platform; this crate only needs to know a scope's root id. The
//! server decides whether a node lies inside a scope with the tree's ancestors.

mod audit;
mod gate;
mod limit;
mod store;
mod verified;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use audit::{
    bounded_name, csv_export, AuditConfig, AuditEntry, AuditFilter, AuditLog, MAX_NAME_CHARS,
};
pub use gate::{AccessConfig, AccessControl, LoginError, SessionGrant};
pub use limit::{FailureLimiter, TokenBuckets};
pub use store::{
    hash_password, server_running, verify_password, AuthStore, NewCredential, TokenRecord,
    UserRecord, MIN_PASSWORD_CHARS,
};

/// What a credential may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, everywhere: users, tokens, audit, registry, readings, queries.
    Admin,
    /// Manage meters, nodes, replacements and readings inside the scope; read inside the scope.
    Operator,
    /// Read (registry, queries) inside the scope.
    Analyst,
    /// Write readings of meters inside the scope; nothing else.
    Device,
}

impl Role {
    /// May read the registry and query (in scope).
    pub fn can_read(self) -> bool {
        matches!(self, Role::Admin | Role::Operator | Role::Analyst)
    }
    /// May change the registry and declare replacements (in scope).
    pub fn can_manage(self) -> bool {
        matches!(self, Role::Admin | Role::Operator)
    }
    /// May write readings (of meters in scope).
    pub fn can_write(self) -> bool {
        matches!(self, Role::Admin | Role::Operator | Role::Device)
    }
    /// The name used in files, flags and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Analyst => "analyst",
            Role::Device => "device",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" | "administrator" => Ok(Role::Admin),
            "operator" => Ok(Role::Operator),
            "analyst" => Ok(Role::Analyst),
            "device" | "collector" => Ok(Role::Device),
            other => Err(format!(
                "unknown role '{other}' (expected admin, operator, analyst or device)"
            )),
        }
    }
}

/// The part of the organisation tree a credential covers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Scope {
    /// The whole tree (written `*`).
    All,
    /// The node with this id and everything below it.
    Node(String),
}

impl Scope {
    /// Parses `*` (or empty) as everything, anything else as a node id.
    pub fn parse(s: &str) -> Scope {
        let t = s.trim();
        if t.is_empty() || t == "*" {
            Scope::All
        } else {
            Scope::Node(t.to_string())
        }
    }

    /// The root node id, `None` for everything.
    pub fn node(&self) -> Option<&str> {
        match self {
            Scope::All => None,
            Scope::Node(n) => Some(n),
        }
    }
}

impl From<String> for Scope {
    fn from(s: String) -> Self {
        Scope::parse(&s)
    }
}

impl From<Scope> for String {
    fn from(s: Scope) -> Self {
        s.to_string()
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => f.write_str("*"),
            Scope::Node(n) => f.write_str(n),
        }
    }
}

/// How a request authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// An API token.
    Token,
    /// A console session obtained by password login.
    Session,
}

/// The authenticated caller of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Token or session.
    pub kind: CredentialKind,
    /// Token id, or the user id for sessions.
    pub id: String,
    /// Token or user name (for the audit log).
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Where it may do it.
    pub scope: Scope,
    /// Analysts only: may query nodes (aggregates) but not individual meters.
    pub aggregates_only: bool,
    /// For sessions: the digest of the session secret (to log out).
    pub session: Option<String>,
}

impl Principal {
    /// `token:<name>` or `user:<name>`.
    pub fn actor(&self) -> String {
        match self.kind {
            CredentialKind::Token => format!("token:{}", self.name),
            CredentialKind::Session => format!("user:{}", self.name),
        }
    }

    /// True for the whole-tree scope.
    pub fn sees_everything(&self) -> bool {
        self.scope == Scope::All
    }
}

/// Errors of user and token management.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The request is malformed or breaks a rule.
    #[error("{0}")]
    Invalid(String),
    /// No such user or token.
    #[error("{0} not found")]
    NotFound(String),
    /// A user of that name exists.
    #[error("{0}")]
    Conflict(String),
    /// The credential is unknown, revoked or expired.
    #[error("{0}")]
    Unauthorized(String),
    /// A file of the data directory could not be read or written.
    #[error("i/o error: {0}")]
    Io(String),
}

impl From<std::io::Error> for AuthError {
    fn from(e: std::io::Error) -> Self {
        AuthError::Io(e.to_string())
    }
}

/// Hex SHA-256 of a secret: what is stored and looked up, never the secret.
pub fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `n` random bytes from the operating system.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Io(format!("random source: {e}")))?;
    Ok(bytes)
}

/// A new 256-bit secret, `<prefix>_<64 hex>`.
pub fn new_secret(prefix: &str) -> Result<String, AuthError> {
    Ok(format!("{prefix}_{}", hex(&random_bytes::<32>()?)))
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_scopes() {
        assert_eq!("Administrator".parse::<Role>(), Ok(Role::Admin));
        assert_eq!("collector".parse::<Role>(), Ok(Role::Device));
        assert!("root".parse::<Role>().is_err());
        assert!(Role::Device.can_write() && !Role::Device.can_read());
        assert!(Role::Analyst.can_read() && !Role::Analyst.can_write());
        assert_eq!(Scope::parse("*"), Scope::All);
        assert_eq!(Scope::parse(" ent1 "), Scope::Node("ent1".into()));
        let json = serde_json::to_string(&Scope::Node("p".into())).unwrap();
        assert_eq!(json, "\"p\"");
        assert_eq!(serde_json::from_str::<Scope>("\"*\"").unwrap(), Scope::All);
    }

    #[test]
    fn secrets_are_random_and_digested() {
        let a = new_secret("shulv").unwrap();
        let b = new_secret("shulv").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), "shulv_".len() + 64);
        assert_eq!(digest(&a).len(), 64);
        assert_ne!(digest(&a), digest(&b));
    }
}
