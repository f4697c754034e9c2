//! `shulv serve` and `shulv demo`: settings (TOML file, then environment, then flags), the
//! platform, the admin token and the HTTP server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use shulv_platform::{Platform, PlatformConfig};

/// Settings of the server. Each can come from the config file, the environment or a flag; a
/// flag beats the environment, which beats the file.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// A TOML config file (keys: data_dir, listen, raw_retention_days, flush_interval_s,
    /// memtable_max_points).
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
    /// Flush the in-memory buffer to Parquet segments at least this often [default: 30].
    #[arg(long, env = "SHULV_FLUSH_INTERVAL_S")]
    flush_interval_s: Option<u64>,
}

/// The config file.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    raw_retention_days: Option<u64>,
    flush_interval_s: Option<u64>,
    memtable_max_points: Option<usize>,
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
    if let Some(s) = args.flush_interval_s.or(file.flush_interval_s) {
        config.flush_interval = Duration::from_secs(s);
    }
    if let Some(n) = file.memtable_max_points {
        config.memtable_max_points = n;
    }

    let platform = Arc::new(
        Platform::open(config).with_context(|| format!("opening {}", data_dir.display()))?,
    );
    if demo {
        crate::demo::load_if_empty(&platform)?;
    }
    let mut tokens = shulv_server::Tokens::open(&data_dir)
        .with_context(|| format!("reading the tokens of {}", data_dir.display()))?;
    let new_token = if demo || tokens.is_empty() {
        Some(tokens.create_admin(if demo { "demo admin" } else { "initial admin" })?)
    } else {
        None
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let serving = platform.clone();
    runtime.block_on(async move {
        let listener = shulv_server::bind(listen).await?;
        let local = listener.local_addr()?;
        print_banner(local, &data_dir, new_token.as_deref(), demo);
        let router = shulv_server::router(serving, tokens);
        shulv_server::serve(router, listener).await?;
        anyhow::Ok(())
    })?;
    platform.store().flush().context("final flush")?;
    Ok(())
}

fn print_banner(addr: SocketAddr, data_dir: &Path, token: Option<&str>, demo: bool) {
    let url = format!("http://{addr}");
    println!("shulv {} listening on {url}", env!("CARGO_PKG_VERSION"));
    println!("data directory: {}", data_dir.display());
    match token {
        Some(t) => {
            println!("admin token (shown once, keep it): {t}");
            println!("  export SHULV_URL={url} SHULV_TOKEN={t}");
        }
        None => println!("use an API token created earlier (SHULV_TOKEN)"),
    }
    println!("API document: {url}/openapi.json");
    if demo {
        println!("try:");
        println!("  curl -H \"Authorization: Bearer $SHULV_TOKEN\" '{url}/api/v1/query?node=shulv-park&from=2025-01-01&to=2026-01-01&bucket=month'");
        println!(
            "  shulv query --node shulv-park --from 2025-01-01 --to 2026-01-01 --bucket month"
        );
        println!("  shulv query --meter ent02.ws1.line1.elec --from 2025-07-07 --to 2025-07-14 --bucket 15m");
    }
}

/// `shulv verify`: recounts every rollup from raw points.
pub fn verify(data: &Path) -> anyhow::Result<()> {
    let platform = Platform::open(PlatformConfig::new(data))
        .with_context(|| format!("opening {}", data.display()))?;
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
