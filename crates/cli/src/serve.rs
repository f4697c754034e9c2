//! `shulv serve` and `shulv demo`: settings (TOML file, then environment, then flags), the
//! platform, access control (the first admin token), TLS and the HTTP server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use shulv_platform::{Platform, PlatformConfig};
use shulv_server::shulv_auth::{
    AccessConfig, AccessControl, AuditEntry, NewCredential, Role, Scope,
};
use shulv_server::{max_connections_for, ConnectionLimits, ServerConfig};

/// Days a stored forecast is kept after it was issued, unless configured otherwise.
const DEFAULT_FORECAST_RETENTION_DAYS: u64 = 90;

/// Settings of the server. Each can come from the config file, the environment or a flag; a
/// flag beats the environment, which beats the file.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// A TOML config file (keys: data_dir, listen, raw_retention_days,
    /// forecast_retention_days, flush_interval_s,
    /// memtable_max_points, tls_cert, tls_key, rate_per_s, rate_burst, session_ttl_hours,
    /// request_timeout_s, trust_forwarded_for, allow_unconfirmed_factors, audit_max_file_mb,
    /// audit_max_files, audit_client_entries_per_minute, max_connections,
    /// max_connections_per_client, header_read_timeout_s, idle_timeout_s; sections [publish]
    /// and [federate], see docs/region.md).
    #[arg(long, env = "SHULV_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory [default: ./shulv-data, or ./shulv-demo-data for the demo].
    #[arg(long, env = "SHULV_DATA")]
    data: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "SHULV_LISTEN")]
    listen: Option<SocketAddr>,
    /// Keep raw points this many days; rollups are kept for ever [default: keep all].
    #[arg(long, env = "SHULV_RAW_RETENTION_DAYS")]
    raw_retention_days: Option<u64>,
    /// Keep stored forecasts this many days after they were issued (the newest is always
    /// kept); 0 keeps them for ever [default: 90].
    #[arg(long, env = "SHULV_FORECAST_RETENTION_DAYS")]
    forecast_retention_days: Option<u64>,
    /// Flush the in-memory buffer to Parquet segments at least this often [default: 30].
    #[arg(long, env = "SHULV_FLUSH_INTERVAL_S")]
    flush_interval_s: Option<u64>,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, env = "SHULV_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "SHULV_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Let accounts use factors that are not confirmed (status S) as defaults when a request
    /// does not say (`allow_unconfirmed`); every result still marks them [default: off; on for
    /// the demo].
    #[arg(long, env = "SHULV_ALLOW_UNCONFIRMED_FACTORS")]
    allow_unconfirmed_factors: Option<bool>,
    /// Rotate the audit log (`audit/audit.jsonl`) before it grows past this many MiB
    /// [default: 32].
    #[arg(long, env = "SHULV_AUDIT_MAX_FILE_MB")]
    audit_max_file_mb: Option<u64>,
    /// Rotated audit files kept (`audit.jsonl.1` … `.N`, at least 1); older ones are deleted
    /// [default: 8].
    #[arg(long, env = "SHULV_AUDIT_MAX_FILES")]
    audit_max_files: Option<u32>,
    /// Failed logins of one client address written in full to the audit log per minute; the
    /// rest are counted in one summary entry per address and minute [default: 20].
    #[arg(long, env = "SHULV_AUDIT_CLIENT_ENTRIES_PER_MINUTE")]
    audit_client_entries_per_minute: Option<u32>,
    /// Open connections at most; over it a new connection replaces the one idle the longest
    /// [default: three quarters of the open file limit, at most 16384; never more than leaves
    /// the store a quarter of the limit].
    #[arg(long, env = "SHULV_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Open connections of one client address at most (0: no limit; behind a reverse proxy
    /// every connection comes from the proxy) [default: 256].
    #[arg(long, env = "SHULV_MAX_CONNECTIONS_PER_CLIENT")]
    max_connections_per_client: Option<usize>,
    /// Seconds a client has to send a whole request head (and finish the TLS handshake)
    /// [default: 10].
    #[arg(long, env = "SHULV_HEADER_READ_TIMEOUT_S")]
    header_read_timeout_s: Option<u64>,
    /// Seconds a kept-alive connection may wait for its next request [default: 60].
    #[arg(long, env = "SHULV_IDLE_TIMEOUT_S")]
    idle_timeout_s: Option<u64>,
}

/// The config file.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    raw_retention_days: Option<u64>,
    forecast_retention_days: Option<u64>,
    flush_interval_s: Option<u64>,
    memtable_max_points: Option<usize>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    /// Requests per second per credential (0: no limit).
    rate_per_s: Option<f64>,
    rate_burst: Option<f64>,
    session_ttl_hours: Option<u64>,
    request_timeout_s: Option<u64>,
    trust_forwarded_for: Option<bool>,
    allow_unconfirmed_factors: Option<bool>,
    audit_max_file_mb: Option<u64>,
    audit_max_files: Option<u32>,
    audit_client_entries_per_minute: Option<u32>,
    max_connections: Option<usize>,
    max_connections_per_client: Option<usize>,
    header_read_timeout_s: Option<u64>,
    idle_timeout_s: Option<u64>,
    /// Publish to a shared store (region mode, docs/region.md).
    publish: Option<crate::region::PublishSection>,
    /// Forward node totals to a region node (docs/region.md).
    federate: Option<crate::region::FederateSection>,
}

fn read_config(path: &Path) -> anyhow::Result<FileConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
}

/// Runs the server; with `demo`, loads the demo park first if the data directory is empty.
pub fn run(args: ServeArgs, demo: bool) -> anyhow::Result<()> {
    let file = match &args.config {
        Some(path) => read_config(path)?,
        None => FileConfig::default(),
    };
    let limits = connection_limits(&args, &file)?;
    let default_dir = if demo {
        "./shulv-demo-data"
    } else {
        "./shulv-data"
    };
    let data_dir = args
        .data
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from(default_dir));
    let listen = args
        .listen
        .or(file.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let mut config = PlatformConfig::new(&data_dir);
    if let Some(days) = args.raw_retention_days.or(file.raw_retention_days) {
        config.raw_retention = Some(Duration::from_secs(days * 86_400));
    }
    let forecast_days = args
        .forecast_retention_days
        .or(file.forecast_retention_days)
        .unwrap_or(DEFAULT_FORECAST_RETENTION_DAYS);
    config.forecast_retention =
        (forecast_days > 0).then(|| Duration::from_secs(forecast_days * 86_400));
    if let Some(s) = args.flush_interval_s.or(file.flush_interval_s) {
        config.flush_interval = Duration::from_secs(s);
    }
    if let Some(n) = file.memtable_max_points {
        config.memtable_max_points = n;
    }

    let tls = match (
        args.tls_cert.or(file.tls_cert),
        args.tls_key.or(file.tls_key),
    ) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => anyhow::bail!("TLS needs both a certificate (tls_cert) and a key (tls_key)"),
    };
    let mut access_config = AccessConfig::default();
    if let Some(r) = file.rate_per_s {
        access_config.rate_per_s = r;
    }
    if let Some(b) = file.rate_burst {
        access_config.rate_burst = b;
    }
    if let Some(h) = file.session_ttl_hours {
        access_config.session_ttl = Duration::from_secs(h * 3600);
    }
    if let Some(mb) = args.audit_max_file_mb.or(file.audit_max_file_mb) {
        anyhow::ensure!(mb > 0, "audit_max_file_mb must be at least 1");
        access_config.audit.max_file_bytes = mb * 1024 * 1024;
    }
    if let Some(n) = args.audit_max_files.or(file.audit_max_files) {
        anyhow::ensure!(n > 0, "audit_max_files must be at least 1");
        access_config.audit.max_files = n;
    }
    if let Some(n) = args
        .audit_client_entries_per_minute
        .or(file.audit_client_entries_per_minute)
    {
        access_config.audit.client_entries_per_window = n;
    }
    let mut server_config = ServerConfig::default();
    if let Some(s) = file.request_timeout_s {
        server_config.request_timeout = Duration::from_secs(s);
    }
    if let Some(t) = file.trust_forwarded_for {
        server_config.trust_forwarded_for = t;
    }
    server_config.allow_unconfirmed_factors = args
        .allow_unconfirmed_factors
        .or(file.allow_unconfirmed_factors)
        .unwrap_or(demo);

    let platform = Arc::new(
        Platform::open(config).with_context(|| format!("opening {}", data_dir.display()))?,
    );
    let region = crate::region::RegionTasks::start(
        &platform,
        file.publish.as_ref(),
        file.federate.as_ref(),
    )?;
    server_config.extra_metrics = region.metrics();
    let demo_timeline = if demo {
        let mut timeline = crate::demo::timeline::Timeline::new();
        crate::demo::load(
            &platform,
            &mut timeline,
            chrono::Utc::now().timestamp_millis(),
        )?;
        Some(timeline)
    } else {
        None
    };
    let access = AccessControl::open(&data_dir, access_config)
        .with_context(|| format!("reading the credentials of {}", data_dir.display()))?;
    let new_token = if demo || access.is_empty() {
        let label = if demo { "demo admin" } else { "initial admin" };
        Some(create_admin_token(&access, label, "server start")?)
    } else {
        None
    };
    let console_login = if demo {
        Some(demo_console_user(&access)?)
    } else {
        None
    };
    // The demo's collector writes over plain HTTP (its forwarder has no TLS).
    let demo_live = match demo_timeline {
        Some(timeline) if tls.is_none() => {
            Some((timeline, crate::demo::live::collector_token(&access)?))
        }
        _ => None,
    };
    let access = Arc::new(access);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let serving = platform.clone();
    runtime.block_on(async move {
        let listener = shulv_server::bind(listen).await?;
        let local = listener.local_addr()?;
        let router = shulv_server::router(serving.clone(), access, server_config);
        let live = match demo_live {
            Some((timeline, token)) => {
                let mut server = local;
                if server.ip().is_unspecified() {
                    server.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                }
                let live =
                    crate::demo::live::Live::start(serving, timeline, &data_dir, server, token)
                        .await?;
                eprintln!(
                    "demo collector: 3 meters read from simulated devices (Modbus TCP {}, DL/T 645 {}); configuration and point table in {}",
                    live.devices.0,
                    live.devices.1,
                    live.dir.display()
                );
                Some(live)
            }
            None => None,
        };
        match tls {
            Some((cert, key)) => {
                let tls = shulv_server::tls_config(&cert, &key).await?;
                print_banner(
                    "https",
                    local,
                    &data_dir,
                    new_token.as_deref(),
                    console_login.as_deref(),
                );
                shulv_server::serve_tls(router, listener, tls, limits).await?;
            }
            None => {
                print_banner(
                    "http",
                    local,
                    &data_dir,
                    new_token.as_deref(),
                    console_login.as_deref(),
                );
                shulv_server::serve(router, listener, limits).await?;
            }
        }
        if let Some(live) = live {
            live.stop().await;
        }
        anyhow::Ok(())
    })?;
    region.stop();
    platform.store().flush().context("final flush")?;
    Ok(())
}

/// Raises the open file limit and derives the connection limits from it, with the settings.
fn connection_limits(args: &ServeArgs, file: &FileConfig) -> anyhow::Result<ConnectionLimits> {
    let fd_limit = crate::fd_limit::raise();
    let mut limits = ConnectionLimits::for_fd_limit(fd_limit);
    if let Some(n) = args.max_connections.or(file.max_connections) {
        anyhow::ensure!(n > 0, "max_connections must be at least 1");
        if n > max_connections_for(fd_limit) {
            tracing::warn!(
                "max_connections {n} would leave the store too few of the {fd_limit} file descriptors this process may open; using {}",
                limits.max_connections
            );
        } else {
            limits.max_connections = n;
        }
    }
    if let Some(n) = args
        .max_connections_per_client
        .or(file.max_connections_per_client)
    {
        limits.max_connections_per_client = n;
    }
    let seconds = |name: &str, v: Option<u64>| -> anyhow::Result<Option<Duration>> {
        match v {
            Some(0) => anyhow::bail!("{name} must be at least 1 second"),
            v => Ok(v.map(Duration::from_secs)),
        }
    };
    let header = args.header_read_timeout_s.or(file.header_read_timeout_s);
    if let Some(d) = seconds("header_read_timeout_s", header)? {
        limits.header_read_timeout = d;
    }
    if let Some(d) = seconds(
        "idle_timeout_s",
        args.idle_timeout_s.or(file.idle_timeout_s),
    )? {
        limits.idle_timeout = d;
    }
    tracing::info!(
        "connections: at most {} ({} per client address), header read timeout {} s, idle timeout {} s",
        limits.max_connections,
        limits.max_connections_per_client,
        limits.header_read_timeout.as_secs(),
        limits.idle_timeout.as_secs()
    );
    Ok(limits)
}

/// Creates an administrator API token, records it in the audit log and returns its secret.
fn create_admin_token(access: &AccessControl, name: &str, by: &str) -> anyhow::Result<String> {
    let new = NewCredential {
        name: name.to_string(),
        role: Role::Admin,
        scope: Scope::All,
        aggregates_only: false,
    };
    let (record, secret) = access.create_token(&new, None, by)?;
    access.audit.record(
        &AuditEntry::now(by, "token.create", format!("token:{}", record.id))
            .details(serde_json::json!({"name": name, "role": "admin", "scope": "*"})),
    )?;
    Ok(secret)
}

/// The demo's console login: the user `admin` (scope `*`) with a newly generated password on
/// every start (created on the first), recorded in the audit log. Returns the password.
fn demo_console_user(access: &AccessControl) -> anyhow::Result<String> {
    let by = "demo start";
    let secret = shulv_auth::new_secret("demo")?;
    // 20 hex digits after the prefix: 80 random bits, short enough to type.
    let password = secret[..25].to_string();
    let existing = access.users().into_iter().find(|u| u.name == "admin");
    let (user, action) = match existing {
        Some(u) => (access.reset_password(&u.id, &password)?, "user.password"),
        None => {
            let new = NewCredential {
                name: "admin".to_string(),
                role: Role::Admin,
                scope: Scope::All,
                aggregates_only: false,
            };
            (access.create_user(&new, &password, by)?, "user.create")
        }
    };
    access.audit.record(
        &AuditEntry::now(by, action, format!("user:{}", user.id))
            .details(serde_json::json!({"name": "admin", "role": "admin", "scope": "*"})),
    )?;
    Ok(password)
}

/// `shulv admin-token`: a new administrator token for a data directory whose server is stopped
/// (when every admin credential is lost).
pub fn admin_token(data: &Path, name: &str) -> anyhow::Result<()> {
    if shulv_auth::server_running(data)? {
        anyhow::bail!(
            "a server is running on {}: create tokens through its API (POST /api/v1/tokens), or stop it first",
            data.display()
        );
    }
    let access = AccessControl::open(data, AccessConfig::default())
        .with_context(|| format!("reading the credentials of {}", data.display()))?;
    let secret = create_admin_token(&access, name, "cli:admin-token")?;
    println!("admin token (shown once, keep it): {secret}");
    Ok(())
}

/// Prints where the server listens and, once, the new admin token (and for the demo the console
/// login). Write errors are ignored: a closed standard output must not stop the server.
fn print_banner(
    scheme: &str,
    addr: SocketAddr,
    data_dir: &Path,
    token: Option<&str>,
    console_password: Option<&str>,
) {
    let demo = console_password.is_some();
    use std::io::Write;
    let url = format!("{scheme}://{addr}");
    let mut text = format!(
        "shulv {} listening on {url}\ndata directory: {}\n",
        env!("CARGO_PKG_VERSION"),
        data_dir.display()
    );
    match token {
        Some(t) => text.push_str(&format!(
            "admin token (shown once, keep it): {t}\n  export SHULV_URL={url} SHULV_TOKEN={t}\n"
        )),
        None => text.push_str("use an API token created earlier (SHULV_TOKEN)\n"),
    }
    text.push_str(&format!("web console: {url}/\n"));
    if let Some(password) = console_password {
        text.push_str(&format!(
            "console login (new on every demo start): user admin, password {password}\n"
        ));
    }
    text.push_str(&format!("API document: {url}/openapi.json\n"));
    if demo {
        text.push_str("accounts: unconfirmed factors (status S) may be defaults in the demo and are marked in every result (shulv serve: off unless --allow-unconfirmed-factors true)\n");
        text.push_str(&format!(
            "try:\n  curl -H \"Authorization: Bearer $SHULV_TOKEN\" '{url}/api/v1/query?node=shulv-park&from=2025-01-01&to=2026-01-01&bucket=month'\n  shulv query --node shulv-park --from 2025-01-01 --to 2026-01-01 --bucket month\n  shulv query --meter ent02.ws1.line1.elec --from 2025-07-07 --to 2025-07-14 --bucket 15m\n"
        ));
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// `shulv verify`: recounts every rollup from raw points.
pub fn verify(data: &Path) -> anyhow::Result<()> {
    let platform = Platform::open(PlatformConfig::new(data))
        .with_context(|| format!("opening {}", data.display()))?;
    verify_store(&platform)
}

/// `shulv compact`: merges segment files, rewrites older raw formats, then verifies.
pub fn compact(data: &Path) -> anyhow::Result<()> {
    let platform = Platform::open(PlatformConfig::new(data))
        .with_context(|| format!("opening {}", data.display()))?;
    let before = platform.store_stats();
    platform.store().compact()?;
    let after = platform.store_stats();
    println!(
        "compacted: {} segment files ({} bytes) → {} ({} bytes)",
        before.segment_files, before.segment_bytes, after.segment_files, after.segment_bytes
    );
    verify_store(&platform)
}

/// Recounts every rollup of the open store and reports.
fn verify_store(platform: &Platform) -> anyhow::Result<()> {
    let report = platform.store().verify()?;
    println!(
        "checked {} segment files, {} raw points, {} rollup rows",
        report.files_checked, report.points_checked, report.rollups_checked
    );
    for problem in &report.mismatches {
        println!("MISMATCH: {problem}");
    }
    if report.is_ok() {
        println!("ok: every rollup equals a recount from raw points");
        Ok(())
    } else {
        anyhow::bail!("integrity check failed")
    }
}
