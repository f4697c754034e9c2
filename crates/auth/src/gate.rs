//! The gate of a running server: credentials, sessions, limits and the audit log together.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use crate::store::dummy_hash;
use crate::verified::VerifiedPasswords;
use crate::{
    digest, hash_password, new_secret, verify_password, AuditConfig, AuditLog, AuthError,
    AuthStore, CredentialKind, FailureLimiter, NewCredential, Principal, TokenBuckets, TokenRecord,
    UserRecord,
};

/// How long a verified password is not verified again (see `verified.rs`).
const VERIFIED_PASSWORD_TTL: Duration = Duration::from_secs(5 * 60);

/// The principal of a request authenticated by `user`'s password.
fn principal_of_user(u: UserRecord) -> Principal {
    Principal {
        kind: CredentialKind::Session,
        id: u.id,
        name: u.name,
        role: u.role,
        scope: u.scope,
        aggregates_only: u.aggregates_only,
        session: None,
    }
}

/// Settings of access control.
#[derive(Clone, Debug)]
pub struct AccessConfig {
    /// Lifetime of a console session.
    pub session_ttl: Duration,
    /// Requests per second per credential (token bucket); 0 disables the limit.
    pub rate_per_s: f64,
    /// Burst size of the bucket.
    pub rate_burst: f64,
    /// Failed logins of one user name from one client address within `login_window` before
    /// that client is blocked for that name (the account itself is never locked).
    pub login_failures_per_client: u32,
    /// Failed logins from one client address within `login_window`, any user names, before
    /// that address is blocked.
    pub login_failures_per_ip: u32,
    /// Failed logins of one user name within `login_window`, from every client, after which
    /// each login of that name waits `login_slowdown` (the right password still passes).
    pub login_slowdown_after: u32,
    /// The wait of a login of a user name under attack (see `login_slowdown_after`).
    pub login_slowdown: Duration,
    /// Window of the login failure limits.
    pub login_window: Duration,
    /// Rotation and per-client bounds of the audit log.
    pub audit: AuditConfig,
}

impl Default for AccessConfig {
    fn default() -> Self {
        AccessConfig {
            session_ttl: Duration::from_secs(12 * 3600),
            rate_per_s: 1000.0,
            rate_burst: 2000.0,
            login_failures_per_client: 5,
            login_failures_per_ip: 20,
            login_slowdown_after: 10,
            login_slowdown: Duration::from_secs(1),
            login_window: Duration::from_secs(15 * 60),
            audit: AuditConfig::default(),
        }
    }
}

struct Session {
    user_id: String,
    expires_ms: i64,
}

/// A successful login.
#[derive(Clone, Debug)]
pub struct SessionGrant {
    /// The session secret, sent as `Authorization: Bearer <token>`.
    pub token: String,
    /// Expiry (ms UTC).
    pub expires_ms: i64,
    /// The user.
    pub user: UserRecord,
}

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown user, wrong password or disabled user (one message for all, on purpose).
    #[error("wrong user name or password")]
    Invalid,
    /// Too many failures: try again after this long.
    #[error("too many failed logins; try again in {} s", .0.as_secs().max(1))]
    Limited(Duration),
    /// Could not be checked.
    #[error("{0}")]
    Other(String),
}

/// Users, tokens, sessions, limits and the audit log of a running server.
pub struct AccessControl {
    store: RwLock<AuthStore>,
    sessions: Mutex<HashMap<String, Session>>,
    login_clients: FailureLimiter,
    login_ips: FailureLimiter,
    login_accounts: FailureLimiter,
    buckets: TokenBuckets,
    verified: VerifiedPasswords,
    config: AccessConfig,
    /// The audit log.
    pub audit: AuditLog,
}

impl AccessControl {
    /// Loads the auth files of `data_dir` and opens its audit log.
    pub fn open(data_dir: &Path, config: AccessConfig) -> Result<Self, AuthError> {
        let store = AuthStore::open(data_dir)?;
        let audit = AuditLog::open(data_dir, &config.audit)?;
        Ok(AccessControl {
            store: RwLock::new(store),
            sessions: Mutex::new(HashMap::new()),
            login_clients: FailureLimiter::new(
                config.login_failures_per_client,
                config.login_window,
            ),
            login_ips: FailureLimiter::new(config.login_failures_per_ip, config.login_window),
            login_accounts: FailureLimiter::new(config.login_slowdown_after, config.login_window),
            buckets: TokenBuckets::new(config.rate_per_s, config.rate_burst),
            verified: VerifiedPasswords::new(VERIFIED_PASSWORD_TTL),
            config,
            audit,
        })
    }

    /// True if no usable credential exists.
    pub fn is_empty(&self) -> bool {
        self.store.read().is_empty()
    }

    /// The principal of a bearer secret: an API token or a live session.
    pub fn authenticate(&self, secret: &str) -> Result<Principal, AuthError> {
        let now = crate::now_ms();
        let store = self.store.read();
        match store.verify_token(secret, now) {
            Ok(p) => return Ok(p),
            Err(AuthError::Unauthorized(msg)) if !msg.ends_with("not valid") => {
                return Err(AuthError::Unauthorized(msg))
            }
            Err(_) => {}
        }
        let d = digest(secret);
        let mut sessions = self.sessions.lock();
        let Some(s) = sessions.get(&d) else {
            return Err(AuthError::Unauthorized(
                "the API token or session is not valid".into(),
            ));
        };
        if now >= s.expires_ms {
            sessions.remove(&d);
            return Err(AuthError::Unauthorized(
                "the session has expired; log in again".into(),
            ));
        }
        match store.user(&s.user_id) {
            Some(u) if u.disabled_ms.is_none() => Ok(Principal {
                kind: CredentialKind::Session,
                id: u.id.clone(),
                name: u.name.clone(),
                role: u.role,
                scope: u.scope.clone(),
                aggregates_only: u.aggregates_only,
                session: Some(d),
            }),
            _ => {
                sessions.remove(&d);
                Err(AuthError::Unauthorized("the user is disabled".into()))
            }
        }
    }

    /// Takes one request from the principal's bucket, or says how long to wait.
    pub fn rate_limit(&self, principal: &Principal) -> Result<(), Duration> {
        let key = match principal.kind {
            CredentialKind::Token => format!("t:{}", principal.id),
            CredentialKind::Session => format!("u:{}", principal.id),
        };
        self.buckets.take(&key, Instant::now())
    }

    /// How long a login of user `name` must wait before it is checked: `login_slowdown` while
    /// the name has had `login_slowdown_after` failures in the window (from any client), else
    /// nothing. The caller waits without holding a thread (an async sleep), then calls
    /// [`AccessControl::login`]; the account is slowed down, never locked.
    pub fn login_delay(&self, name: &str) -> Duration {
        let key = format!("user:{}", digest(name));
        match self.login_accounts.check(&key, Instant::now()) {
            Ok(()) => Duration::ZERO,
            Err(_) => self.config.login_slowdown,
        }
    }

    /// Checks a password login (slow: argon2; call it off the async runtime). Failures count
    /// against the client (its address with the user name, as OWASP advises: the attacker is
    /// locked out, not the account's owner), against the client address for any name, and
    /// against the name from every client (which slows its logins down, see
    /// [`AccessControl::login_delay`]). A blocked client is refused before the password is
    /// checked.
    pub fn login(&self, name: &str, password: &str, ip: &str) -> Result<SessionGrant, LoginError> {
        let user = self.checked_user(name, password, ip)?;
        let token = new_secret("shulvs").map_err(|e| LoginError::Other(e.to_string()))?;
        let expires_ms = crate::now_ms() + self.config.session_ttl.as_millis() as i64;
        let mut sessions = self.sessions.lock();
        let now_ms = crate::now_ms();
        sessions.retain(|_, s| s.expires_ms > now_ms);
        sessions.insert(
            digest(&token),
            Session {
                user_id: user.id.clone(),
                expires_ms,
            },
        );
        Ok(SessionGrant {
            token,
            expires_ms,
            user,
        })
    }

    /// Checks a user's password as [`login`](Self::login) does (same failure limits) but opens
    /// no session: the principal of one request, for clients that send a password with every
    /// request (InfluxDB v1 writes and queries, Grafana). A password verified in the last
    /// minutes against the user's current hash is not verified again (see `verified.rs`).
    pub fn password_principal(
        &self,
        name: &str,
        password: &str,
        ip: &str,
    ) -> Result<Principal, LoginError> {
        if self.login_wait(name, ip).is_none() {
            let user = self.store.read().user_by_name(name).cloned();
            if let Some(u) = user.filter(|u| {
                u.disabled_ms.is_none() && self.verified.holds(name, password, &u.password_hash)
            }) {
                return Ok(principal_of_user(u));
            }
        }
        let user = self.checked_user(name, password, ip)?;
        self.verified.remember(name, password, &user.password_hash);
        Ok(principal_of_user(user))
    }

    /// How long a client must wait before it may try a password again, if it is blocked.
    fn login_wait(&self, name: &str, ip: &str) -> Option<Duration> {
        let now = Instant::now();
        [
            self.login_clients
                .check(&format!("client:{ip}/{}", digest(name)), now),
            self.login_ips.check(&format!("ip:{ip}"), now),
        ]
        .into_iter()
        .filter_map(Result::err)
        .max()
    }

    /// The user whose password `password` is, after the failure limits; failures are counted.
    fn checked_user(&self, name: &str, password: &str, ip: &str) -> Result<UserRecord, LoginError> {
        if let Some(wait) = self.login_wait(name, ip) {
            return Err(LoginError::Limited(wait));
        }
        let now = Instant::now();
        let name_digest = digest(name);
        let client_key = format!("client:{ip}/{name_digest}");
        let user = self.store.read().user_by_name(name).cloned();
        let ok = match &user {
            Some(u) => verify_password(&u.password_hash, password) && u.disabled_ms.is_none(),
            None => {
                verify_password(dummy_hash(), password);
                false
            }
        };
        let Some(user) = user.filter(|_| ok) else {
            self.login_clients.fail(&client_key, now);
            self.login_ips.fail(&format!("ip:{ip}"), now);
            self.login_accounts
                .fail(&format!("user:{name_digest}"), now);
            return Err(LoginError::Invalid);
        };
        self.login_clients.clear(&client_key);
        Ok(user)
    }

    /// Ends the session of `principal` (no-op for tokens). Returns true if one ended.
    pub fn logout(&self, principal: &Principal) -> bool {
        principal
            .session
            .as_ref()
            .is_some_and(|d| self.sessions.lock().remove(d).is_some())
    }

    /// Creates a user (hashes the password: slow).
    pub fn create_user(
        &self,
        new: &NewCredential,
        password: &str,
        created_by: &str,
    ) -> Result<UserRecord, AuthError> {
        new.validate()?;
        let hash = hash_password(password)?;
        self.store
            .write()
            .add_user(new, hash, Some(created_by.to_string()))
    }

    /// Sets a new password for user `id` (hashes it: slow) and ends the user's sessions.
    pub fn reset_password(&self, id: &str, password: &str) -> Result<UserRecord, AuthError> {
        let hash = hash_password(password)?;
        let user = self.store.write().set_password_hash(id, hash)?;
        self.sessions.lock().retain(|_, s| s.user_id != user.id);
        Ok(user)
    }

    /// Disables a user and ends their sessions.
    pub fn disable_user(&self, id: &str) -> Result<UserRecord, AuthError> {
        let user = self.store.write().disable_user(id)?;
        self.sessions.lock().retain(|_, s| s.user_id != user.id);
        Ok(user)
    }

    /// Creates a token; returns the record and the secret.
    pub fn create_token(
        &self,
        new: &NewCredential,
        expires_ms: Option<i64>,
        created_by: &str,
    ) -> Result<(TokenRecord, String), AuthError> {
        self.store
            .write()
            .create_token(new, expires_ms, Some(created_by.to_string()))
    }

    /// Revokes a token.
    pub fn revoke_token(&self, id: &str) -> Result<TokenRecord, AuthError> {
        self.store.write().revoke_token(id)
    }

    /// Copies users, tokens and the audit log into `dir` (for a backup).
    pub fn copy_to(&self, dir: &Path) -> Result<(), AuthError> {
        self.store.read().save_to(dir)?;
        self.audit.copy_to(dir)?;
        Ok(())
    }

    /// Every token.
    pub fn tokens(&self) -> Vec<TokenRecord> {
        self.store.read().tokens().to_vec()
    }

    /// Every user.
    pub fn users(&self) -> Vec<UserRecord> {
        self.store.read().users().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Role, Scope};

    #[test]
    fn passwords_sent_with_every_request_are_verified_once_while_they_hold() {
        let dir = tempfile::tempdir().unwrap();
        let config = AccessConfig {
            login_failures_per_client: 2,
            ..Default::default()
        };
        let ac = AccessControl::open(dir.path(), config).unwrap();
        let new = NewCredential {
            name: "grafana".into(),
            role: Role::Analyst,
            scope: Scope::parse("park"),
            aggregates_only: true,
        };
        let user = ac.create_user(&new, "a long password 1", "cli").unwrap();
        let p = ac
            .password_principal("grafana", "a long password 1", "1.2.3.4")
            .unwrap();
        assert!(p.aggregates_only && p.session.is_none());
        // The second request does not run argon2: it answers in far less than a verification.
        let started = Instant::now();
        for _ in 0..50 {
            ac.password_principal("grafana", "a long password 1", "1.2.3.4")
                .unwrap();
        }
        let fifty = started.elapsed();
        let started = Instant::now();
        assert!(verify_password(&user.password_hash, "a long password 1"));
        assert!(
            fifty < started.elapsed(),
            "50 remembered checks took {fifty:?}"
        );
        // A wrong password is verified (and counted) as always; a blocked client is refused
        // even with the right one.
        for _ in 0..2 {
            assert!(matches!(
                ac.password_principal("grafana", "wrong password!!", "6.6.6.6"),
                Err(LoginError::Invalid)
            ));
        }
        assert!(matches!(
            ac.password_principal("grafana", "a long password 1", "6.6.6.6"),
            Err(LoginError::Limited(_))
        ));
        // A disabled user is refused at once.
        ac.disable_user(&user.id).unwrap();
        assert!(matches!(
            ac.password_principal("grafana", "a long password 1", "1.2.3.4"),
            Err(LoginError::Invalid)
        ));
    }

    #[test]
    fn login_sessions_limits() {
        let dir = tempfile::tempdir().unwrap();
        let config = AccessConfig {
            login_failures_per_client: 3,
            login_failures_per_ip: 5,
            login_slowdown_after: 4,
            ..Default::default()
        };
        let ac = AccessControl::open(dir.path(), config).unwrap();
        let new = NewCredential {
            name: "alice".into(),
            role: Role::Analyst,
            scope: Scope::parse("ent1"),
            aggregates_only: false,
        };
        let user = ac.create_user(&new, "a long password 1", "cli").unwrap();
        let grant = ac.login("alice", "a long password 1", "1.2.3.4").unwrap();
        let p = ac.authenticate(&grant.token).unwrap();
        assert_eq!(p.kind, CredentialKind::Session);
        assert_eq!(p.scope, Scope::Node("ent1".into()));
        assert!(ac.logout(&p));
        assert!(ac.authenticate(&grant.token).is_err());

        for _ in 0..3 {
            assert!(matches!(
                ac.login("alice", "wrong password!!", "1.2.3.4"),
                Err(LoginError::Invalid)
            ));
        }
        // The attacking client is blocked for that name, even with the right password...
        assert!(matches!(
            ac.login("alice", "a long password 1", "1.2.3.4"),
            Err(LoginError::Limited(_))
        ));
        // ... but the account is not: its owner, from another address, logs in.
        assert_eq!(ac.login_delay("alice"), Duration::ZERO);
        ac.login("alice", "a long password 1", "9.9.9.9").unwrap();
        // Failures from many addresses slow the name's logins down, never lock it.
        assert!(matches!(
            ac.login("alice", "wrong password!!", "5.6.7.8"),
            Err(LoginError::Invalid)
        ));
        assert_eq!(ac.login_delay("alice"), Duration::from_secs(1));
        assert_eq!(ac.login_delay("bob"), Duration::ZERO);
        ac.login("alice", "a long password 1", "9.9.9.9").unwrap();
        // The address is blocked after 5 failures, for any user name.
        assert!(matches!(
            ac.login("nobody", "x", "1.2.3.4"),
            Err(LoginError::Invalid)
        ));
        assert!(matches!(
            ac.login("nobody2", "x", "1.2.3.4"),
            Err(LoginError::Invalid)
        ));
        assert!(matches!(
            ac.login("someone", "x", "1.2.3.4"),
            Err(LoginError::Limited(_))
        ));

        // Disabling ends sessions.
        let ac2 = AccessControl::open(tempfile::tempdir().unwrap().path(), AccessConfig::default())
            .unwrap();
        let u = ac2.create_user(&new, "a long password 1", "cli").unwrap();
        let g = ac2.login("alice", "a long password 1", "::1").unwrap();
        ac2.disable_user(&u.id).unwrap();
        assert!(ac2.authenticate(&g.token).is_err());
        assert!(matches!(
            ac2.login("alice", "a long password 1", "::1"),
            Err(LoginError::Invalid)
        ));
        let _ = user;
    }

    #[test]
    fn session_expiry_and_token_rate_limit() {
        let dir = tempfile::tempdir().unwrap();
        let config = AccessConfig {
            session_ttl: Duration::from_millis(0),
            rate_per_s: 1.0,
            rate_burst: 2.0,
            ..Default::default()
        };
        let ac = AccessControl::open(dir.path(), config).unwrap();
        let new = NewCredential {
            name: "bob".into(),
            role: Role::Operator,
            scope: Scope::All,
            aggregates_only: false,
        };
        ac.create_user(&new, "another long pw", "cli").unwrap();
        let g = ac.login("bob", "another long pw", "::1").unwrap();
        let err = ac.authenticate(&g.token).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
        let (_, secret) = ac.create_token(&new, None, "cli").unwrap();
        let p = ac.authenticate(&secret).unwrap();
        assert!(ac.rate_limit(&p).is_ok());
        assert!(ac.rate_limit(&p).is_ok());
        assert!(ac.rate_limit(&p).is_err());
    }

    #[test]
    fn reset_password_replaces_it_and_ends_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let ac = AccessControl::open(dir.path(), AccessConfig::default()).unwrap();
        let new = NewCredential {
            name: "admin".into(),
            role: Role::Admin,
            scope: Scope::All,
            aggregates_only: false,
        };
        let user = ac.create_user(&new, "first password 1", "demo").unwrap();
        let grant = ac.login("admin", "first password 1", "1.2.3.4").unwrap();
        assert!(ac.reset_password(&user.id, "short").is_err());
        ac.reset_password(&user.id, "second password 2").unwrap();
        assert!(ac.authenticate(&grant.token).is_err());
        assert!(ac.login("admin", "first password 1", "1.2.3.4").is_err());
        assert!(ac.login("admin", "second password 2", "1.2.3.4").is_ok());
        let reopened = AccessControl::open(dir.path(), AccessConfig::default()).unwrap();
        assert!(reopened
            .login("admin", "second password 2", "1.2.3.4")
            .is_ok());
        assert!(ac.reset_password("nope", "third password 3").is_err());
    }
}
