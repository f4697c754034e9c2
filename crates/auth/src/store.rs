//! Users and API tokens of a data directory, persisted in `<data>/auth/users.json` and
//! `<data>/auth/tokens.json` (replaced atomically: temporary file, fsync, rename, fsync of the
//! directory; mode 0600 on Unix).
//!
//! Passwords are stored only as argon2id PHC strings. Tokens are 256-bit random secrets shown
//! once; only their SHA-256 digest is stored: for secrets of that entropy a fast digest is as
//! strong as a slow hash (nothing to brute-force), and it keeps the per-request check to one
//! SHA-256 and one hash-map lookup.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};

use crate::{
    digest, hex, new_secret, random_bytes, AuthError, CredentialKind, Principal, Role, Scope,
};

/// Shortest accepted password.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// A stored API token (its digest, never the secret).
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct TokenRecord {
    /// Stable id (used to revoke it). Files written before ids existed get the first 16 hex
    /// digits of the digest.
    #[serde(default)]
    pub id: String,
    /// Free text: what or who uses it.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Where: `*` or a node id.
    #[serde(default = "scope_all")]
    pub scope: Scope,
    /// Analysts: node aggregates only.
    #[serde(default)]
    pub aggregates_only: bool,
    /// Hex SHA-256 of the secret.
    pub sha256: String,
    /// Creation (ms UTC).
    pub created_ms: i64,
    /// Expiry (ms UTC); none = never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<i64>,
    /// Revocation (ms UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_ms: Option<i64>,
    /// Who created it (audit actor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

fn scope_all() -> Scope {
    Scope::All
}

impl TokenRecord {
    /// Neither revoked nor expired at `now_ms`.
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.revoked_ms.is_none() && self.expires_ms.is_none_or(|e| now_ms < e)
    }
}

/// A stored console user.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct UserRecord {
    /// Stable id.
    pub id: String,
    /// Login name (unique).
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// Where: `*` or a node id.
    pub scope: Scope,
    /// Analysts: node aggregates only.
    #[serde(default)]
    pub aggregates_only: bool,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Creation (ms UTC).
    pub created_ms: i64,
    /// Who created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Disabled users cannot log in; their sessions end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_ms: Option<i64>,
}

/// What a new user or token is.
#[derive(Clone, Debug)]
pub struct NewCredential {
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Scope.
    pub scope: Scope,
    /// Analysts: node aggregates only.
    pub aggregates_only: bool,
}

impl NewCredential {
    /// Checks the rules: a readable name, the administrator's scope is everything,
    /// `aggregates_only` only for analysts.
    pub fn validate(&self) -> Result<(), AuthError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(AuthError::Invalid(
                "a name must have 1 to 100 characters and no control characters".into(),
            ));
        }
        if self.role == Role::Admin && self.scope != Scope::All {
            return Err(AuthError::Invalid(
                "the administrator's scope is everything: use scope '*' (or give another role)"
                    .into(),
            ));
        }
        if self.aggregates_only && self.role != Role::Analyst {
            return Err(AuthError::Invalid(
                "aggregates_only applies to analysts only".into(),
            ));
        }
        Ok(())
    }
}

/// Hashes a password with argon2id (default parameters: 19 MiB, 2 passes) and a random salt.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AuthError::Invalid(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| AuthError::Io(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Io(format!("argon2: {e}")))
}

/// Checks a password against a PHC string (false for malformed hashes).
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash to verify against when the user does not exist, so that the answer takes as long as
/// for a wrong password of a real user.
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let pw = hex(&random_bytes::<16>().unwrap_or([7; 16]));
        hash_password(&pw).unwrap_or_default()
    })
}

/// True if a server holds the store lock of `data_dir` (`<data>/store/LOCK`): offline commands
/// that change the auth files refuse then, because the server keeps them in memory.
pub fn server_running(data_dir: &Path) -> std::io::Result<bool> {
    let store = data_dir.join("store");
    let lock_path = store.join("LOCK");
    if !lock_path.exists() {
        return Ok(false);
    }
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&lock_path)?;
    match f.try_lock() {
        Ok(()) => {
            let _ = f.unlock();
            Ok(false)
        }
        Err(fs::TryLockError::WouldBlock) => Ok(true),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Users and tokens of a data directory.
pub struct AuthStore {
    dir: PathBuf,
    users: Vec<UserRecord>,
    tokens: Vec<TokenRecord>,
    /// Digest → index in `tokens`.
    by_digest: HashMap<String, usize>,
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>, AuthError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| AuthError::Io(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(AuthError::Io(format!("{}: {e}", path.display()))),
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), AuthError> {
    let io = |e: std::io::Error| AuthError::Io(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    }
    Ok(())
}

impl AuthStore {
    /// Loads the users and tokens of `data_dir` (none if the files do not exist).
    pub fn open(data_dir: &Path) -> Result<Self, AuthError> {
        let dir = data_dir.join("auth");
        let users: Vec<UserRecord> = read_json(&dir.join("users.json"))?;
        let mut tokens: Vec<TokenRecord> = read_json(&dir.join("tokens.json"))?;
        for t in &mut tokens {
            if t.id.is_empty() {
                t.id = t.sha256.chars().take(16).collect();
            }
        }
        let mut store = AuthStore {
            dir,
            users,
            tokens,
            by_digest: HashMap::new(),
        };
        store.reindex();
        Ok(store)
    }

    fn reindex(&mut self) {
        self.by_digest = self
            .tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.sha256.clone(), i))
            .collect();
    }

    /// True if there is no usable credential: no active token and no enabled user.
    pub fn is_empty(&self) -> bool {
        let now = crate::now_ms();
        !self.tokens.iter().any(|t| t.is_active(now))
            && !self.users.iter().any(|u| u.disabled_ms.is_none())
    }

    /// Every token (revoked and expired ones included).
    pub fn tokens(&self) -> &[TokenRecord] {
        &self.tokens
    }

    /// Every user.
    pub fn users(&self) -> &[UserRecord] {
        &self.users
    }

    /// A user by login name.
    pub fn user_by_name(&self, name: &str) -> Option<&UserRecord> {
        self.users.iter().find(|u| u.name == name)
    }

    /// A user by id.
    pub fn user(&self, id: &str) -> Option<&UserRecord> {
        self.users.iter().find(|u| u.id == id)
    }

    /// Writes the users and tokens into `<dir>/auth/` (for a backup).
    pub fn save_to(&self, dir: &Path) -> Result<(), AuthError> {
        let copy = AuthStore {
            dir: dir.join("auth"),
            users: self.users.clone(),
            tokens: self.tokens.clone(),
            by_digest: HashMap::new(),
        };
        copy.save_users()?;
        copy.save_tokens()
    }

    fn save_tokens(&self) -> Result<(), AuthError> {
        let bytes =
            serde_json::to_vec_pretty(&self.tokens).map_err(|e| AuthError::Io(e.to_string()))?;
        write_atomically(&self.dir.join("tokens.json"), &bytes)
    }

    fn save_users(&self) -> Result<(), AuthError> {
        let bytes =
            serde_json::to_vec_pretty(&self.users).map_err(|e| AuthError::Io(e.to_string()))?;
        write_atomically(&self.dir.join("users.json"), &bytes)
    }

    /// Creates a token; returns its record and the secret (shown once, never stored).
    pub fn create_token(
        &mut self,
        new: &NewCredential,
        expires_ms: Option<i64>,
        created_by: Option<String>,
    ) -> Result<(TokenRecord, String), AuthError> {
        new.validate()?;
        let now = crate::now_ms();
        if expires_ms.is_some_and(|e| e <= now) {
            return Err(AuthError::Invalid("the expiry is in the past".into()));
        }
        let secret = new_secret("shulv")?;
        let record = TokenRecord {
            id: hex(&random_bytes::<8>()?),
            name: new.name.trim().to_string(),
            role: new.role,
            scope: new.scope.clone(),
            aggregates_only: new.aggregates_only,
            sha256: digest(&secret),
            created_ms: now,
            expires_ms,
            revoked_ms: None,
            created_by,
        };
        self.tokens.push(record.clone());
        if let Err(e) = self.save_tokens() {
            self.tokens.pop();
            return Err(e);
        }
        self.reindex();
        Ok((record, secret))
    }

    /// Revokes a token by id (idempotent); returns its record.
    pub fn revoke_token(&mut self, id: &str) -> Result<TokenRecord, AuthError> {
        let i = self
            .tokens
            .iter()
            .position(|t| t.id == id)
            .ok_or_else(|| AuthError::NotFound(format!("token '{id}'")))?;
        if self.tokens[i].revoked_ms.is_none() {
            self.tokens[i].revoked_ms = Some(crate::now_ms());
            if let Err(e) = self.save_tokens() {
                self.tokens[i].revoked_ms = None;
                return Err(e);
            }
        }
        Ok(self.tokens[i].clone())
    }

    /// Adds a user whose password was hashed with [`hash_password`] (slow: do it outside locks).
    pub fn add_user(
        &mut self,
        new: &NewCredential,
        password_hash: String,
        created_by: Option<String>,
    ) -> Result<UserRecord, AuthError> {
        new.validate()?;
        if new.role == Role::Device {
            return Err(AuthError::Invalid(
                "devices do not log in: create a device token instead".into(),
            ));
        }
        let name = new.name.trim();
        if name.contains(char::is_whitespace) {
            return Err(AuthError::Invalid("a user name has no spaces".into()));
        }
        if self.user_by_name(name).is_some() {
            return Err(AuthError::Conflict(format!("user '{name}' exists")));
        }
        let record = UserRecord {
            id: hex(&random_bytes::<8>()?),
            name: name.to_string(),
            role: new.role,
            scope: new.scope.clone(),
            aggregates_only: new.aggregates_only,
            password_hash,
            created_ms: crate::now_ms(),
            created_by,
            disabled_ms: None,
        };
        self.users.push(record.clone());
        if let Err(e) = self.save_users() {
            self.users.pop();
            return Err(e);
        }
        Ok(record)
    }

    /// Replaces the password hash of user `id` (made with [`hash_password`]).
    pub fn set_password_hash(&mut self, id: &str, hash: String) -> Result<UserRecord, AuthError> {
        let i = self
            .users
            .iter()
            .position(|u| u.id == id)
            .ok_or_else(|| AuthError::NotFound(format!("user '{id}'")))?;
        let old = std::mem::replace(&mut self.users[i].password_hash, hash);
        if let Err(e) = self.save_users() {
            self.users[i].password_hash = old;
            return Err(e);
        }
        Ok(self.users[i].clone())
    }

    /// Disables a user by id (idempotent).
    pub fn disable_user(&mut self, id: &str) -> Result<UserRecord, AuthError> {
        let i = self
            .users
            .iter()
            .position(|u| u.id == id)
            .ok_or_else(|| AuthError::NotFound(format!("user '{id}'")))?;
        if self.users[i].disabled_ms.is_none() {
            self.users[i].disabled_ms = Some(crate::now_ms());
            if let Err(e) = self.save_users() {
                self.users[i].disabled_ms = None;
                return Err(e);
            }
        }
        Ok(self.users[i].clone())
    }

    /// The principal of a token secret, if it is known, not revoked and not expired.
    pub fn verify_token(&self, secret: &str, now_ms: i64) -> Result<Principal, AuthError> {
        let Some(&i) = self.by_digest.get(&digest(secret)) else {
            return Err(AuthError::Unauthorized("the API token is not valid".into()));
        };
        let t = &self.tokens[i];
        if t.revoked_ms.is_some() {
            return Err(AuthError::Unauthorized("the API token was revoked".into()));
        }
        if t.expires_ms.is_some_and(|e| now_ms >= e) {
            return Err(AuthError::Unauthorized("the API token has expired".into()));
        }
        Ok(Principal {
            kind: CredentialKind::Token,
            id: t.id.clone(),
            name: t.name.clone(),
            role: t.role,
            scope: t.scope.clone(),
            aggregates_only: t.aggregates_only,
            session: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(name: &str, role: Role, scope: &str) -> NewCredential {
        NewCredential {
            name: name.into(),
            role,
            scope: Scope::parse(scope),
            aggregates_only: false,
        }
    }

    #[test]
    fn tokens_persist_hashed_expire_and_revoke() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = AuthStore::open(dir.path()).unwrap();
        assert!(store.is_empty());
        let (rec, secret) = store
            .create_token(&cred("collector", Role::Device, "ent1"), None, None)
            .unwrap();
        let text = fs::read_to_string(dir.path().join("auth/tokens.json")).unwrap();
        assert!(!text.contains(&secret), "secret stored in clear");
        assert!(text.contains(&digest(&secret)));
        let store = AuthStore::open(dir.path()).unwrap();
        let p = store.verify_token(&secret, crate::now_ms()).unwrap();
        assert_eq!(p.role, Role::Device);
        assert_eq!(p.scope, Scope::Node("ent1".into()));
        assert!(store.verify_token("shulv_nope", 0).is_err());

        let mut store = store;
        let soon = crate::now_ms() + 60_000;
        let (_, s2) = store
            .create_token(&cred("short", Role::Analyst, "ent1"), Some(soon), None)
            .unwrap();
        assert!(store.verify_token(&s2, soon - 1).is_ok());
        let err = store.verify_token(&s2, soon).unwrap_err();
        assert!(err.to_string().contains("expired"));

        store.revoke_token(&rec.id).unwrap();
        let store = AuthStore::open(dir.path()).unwrap();
        let err = store.verify_token(&secret, crate::now_ms()).unwrap_err();
        assert!(err.to_string().contains("revoked"));
        assert!(matches!(
            AuthStore::open(dir.path()).unwrap().revoke_token("zzz"),
            Err(AuthError::NotFound(_))
        ));
    }

    #[test]
    fn legacy_token_file_still_works() {
        let dir = tempfile::tempdir().unwrap();
        let secret = "shulv_legacy";
        fs::create_dir_all(dir.path().join("auth")).unwrap();
        fs::write(
            dir.path().join("auth/tokens.json"),
            format!(
                r#"[{{"name":"initial admin","role":"admin","sha256":"{}","created_ms":1}}]"#,
                digest(secret)
            ),
        )
        .unwrap();
        let store = AuthStore::open(dir.path()).unwrap();
        let p = store.verify_token(secret, crate::now_ms()).unwrap();
        assert_eq!((p.role, p.scope), (Role::Admin, Scope::All));
        assert_eq!(p.id.len(), 16);
    }

    #[test]
    fn rules() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = AuthStore::open(dir.path()).unwrap();
        assert!(store
            .create_token(&cred("a", Role::Admin, "ent1"), None, None)
            .is_err());
        let mut agg = cred("a", Role::Operator, "ent1");
        agg.aggregates_only = true;
        assert!(store.create_token(&agg, None, None).is_err());
        assert!(store
            .create_token(&cred("", Role::Analyst, "ent1"), None, None)
            .is_err());
        assert!(hash_password("short").is_err());
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse batterx"));
        assert!(!verify_password("garbage", "x"));
        store
            .add_user(&cred("alice", Role::Operator, "park"), h.clone(), None)
            .unwrap();
        assert!(matches!(
            store.add_user(&cred("alice", Role::Analyst, "park"), h.clone(), None),
            Err(AuthError::Conflict(_))
        ));
        assert!(store
            .add_user(&cred("dev", Role::Device, "park"), h, None)
            .is_err());
        let text = fs::read_to_string(dir.path().join("auth/users.json")).unwrap();
        assert!(!text.contains("correct horse"));
        assert!(!AuthStore::open(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn lock_detection() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!server_running(dir.path()).unwrap());
        fs::create_dir_all(dir.path().join("store")).unwrap();
        let f = fs::File::create(dir.path().join("store/LOCK")).unwrap();
        assert!(!server_running(dir.path()).unwrap());
        f.lock().unwrap();
        assert!(server_running(dir.path()).unwrap());
    }
}
