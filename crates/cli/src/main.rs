//! `shulv`: the digital energy-carbon management platform (数字化能碳管理平台) in one binary.
//!
//! `shulv demo` starts a server with a realistic industrial park; `shulv serve` starts an empty
//! one; `import`, `query` and `registry` talk to a running server over HTTP.

mod access;
mod account;
mod answers;
mod backup;
mod client;
mod collect;
mod demo;
mod evaluate;
mod fd_limit;
mod forecast;
mod forecast_server;
mod optimise;
mod region;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// jemalloc instead of the system allocator: with many writer threads glibc's per-thread arenas
/// keep freed memtable and flush buffers, and the server's resident set under sustained ingest
/// was 330 MB instead of 215 MB (BENCHMARKS.md, "Memory").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "shulv",
    version,
    about = "数绿 shulv — digital energy-carbon management platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server over a data directory.
    Serve(serve::ServeArgs),
    /// Run the server with the demo industrial park (15-minute data from 2025 up to now, kept live).
    Demo(serve::ServeArgs),
    /// Send a file of readings (CSV, line protocol or JSON) to a running server.
    Import {
        /// The file; `.csv`, `.lp`/`.txt` (line protocol) or `.json`.
        file: PathBuf,
        /// Override the format detected from the extension: csv, lp or json.
        #[arg(long)]
        format: Option<String>,
        /// Refuse the whole file if any line is bad.
        #[arg(long)]
        atomic: bool,
        #[command(flatten)]
        server: client::ServerArgs,
    },
    /// Register nodes and meters from a TOML file, or from `nodes.csv` and `meters.csv`.
    Registry {
        /// A `.toml` registry file, or one or two CSV files (nodes.csv, meters.csv).
        files: Vec<PathBuf>,
        #[command(flatten)]
        server: client::ServerArgs,
    },
    /// Query a meter or a node of the tree.
    Query(client::QueryArgs),
    /// Declare a meter replacement (换表) of a cumulative register, so the register's jump is
    /// not read as use.
    ReplaceMeter(client::ReplaceArgs),
    /// Energy and carbon accounts (GHG inventory, 综合能耗), 碳效码 grades and the factor library.
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// Create, list and revoke API tokens (for scripts and collectors).
    #[command(subcommand)]
    Token(access::TokenCommand),
    /// Create, list and disable console users.
    #[command(subcommand)]
    User(access::UserCommand),
    /// Show or export the audit log of every change.
    Audit(access::AuditArgs),
    /// Download a consistent backup of the running server's whole data directory (taken while
    /// writes go on) into FILE, then check it.
    Backup {
        /// The archive to write (a new file, e.g. shulv-backup.tar).
        file: PathBuf,
        #[command(flatten)]
        server: client::ServerArgs,
    },
    /// Restore a backup archive into a new data directory, after checking every file and
    /// recounting every rollup.
    Restore {
        /// The archive written by `shulv backup`.
        file: PathBuf,
        /// The data directory to create (must not exist, or be empty).
        #[arg(long)]
        data: PathBuf,
    },
    /// Check a backup archive: every file against its SHA-256, every rollup recounted.
    VerifyBackup {
        /// The archive written by `shulv backup`.
        file: PathBuf,
    },
    /// Create an administrator token offline (the server on DIR must be stopped): for when
    /// every admin credential is lost.
    AdminToken {
        /// The data directory.
        #[arg(long, default_value = "./shulv-data")]
        data: PathBuf,
        /// A name for the token (shown in the audit log and token list).
        #[arg(long, default_value = "recovery admin")]
        name: String,
    },
    /// Energy-use forecasts (用能预测): backtests on CSV files or stored data, forecasts of a
    /// server's meters and nodes, stored forecasts against what happened.
    #[command(subcommand)]
    Forecast(forecast::ForecastCommand),
    /// Regional dual-synergy evaluation (区域双化协同成效评价) and coupling coordination.
    #[command(subcommand)]
    Evaluate(evaluate::EvaluateCommand),
    /// Time-of-use tariffs (分时电价): list, show and add versions, check a file offline.
    #[command(subcommand)]
    Tariff(optimise::TariffCommand),
    /// The bill of a node and period under a tariff (by period, component and 基本电费).
    Bill(optimise::BillArgs),
    /// A schedule of flexible assets (峰谷优化): a problem file offline, or a node on the server.
    Optimise(optimise::OptimiseArgs),
    /// Field collection (现场采集): read Modbus devices on the wall clock and forward their
    /// readings through a local queue; `check`, `probe` and `status` help set it up.
    Collect(collect::CollectArgs),
    /// Region mode (区域级): publish to a shared store, mirror it, run the Spark jobs over it.
    #[command(subcommand)]
    Region(region::RegionCommand),
    /// Check a data directory offline: every rollup recounted from raw points.
    Verify {
        /// The data directory (the server must not be running on it).
        #[arg(long, default_value = "./shulv-data")]
        data: PathBuf,
    },
    /// Compact a data directory offline: merge each month's segment files and rewrite raw
    /// files of an older format in the current one (crates/store/SCHEMA.md), then verify.
    Compact {
        /// The data directory (the server must not be running on it).
        #[arg(long, default_value = "./shulv-data")]
        data: PathBuf,
    },
}

/// Writes `text` to stdout; a reader that closed the pipe early (`| head`) is not an error.
fn write_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SHULV_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args, false),
        Command::Demo(args) => serve::run(args, true),
        Command::Import {
            file,
            format,
            atomic,
            server,
        } => client::import(&server, &file, format.as_deref(), atomic),
        Command::Registry { files, server } => client::registry(&server, &files),
        Command::Query(args) => client::query(&args),
        Command::ReplaceMeter(args) => client::replace_meter(&args),
        Command::Account(command) => account::run(&command),
        Command::Token(command) => access::token(&command),
        Command::User(command) => access::user(&command),
        Command::Audit(args) => access::audit(&args),
        Command::Backup { file, server } => backup::backup(&server, &file),
        Command::Restore { file, data } => backup::restore(&file, &data),
        Command::VerifyBackup { file } => backup::verify_backup(&file),
        Command::AdminToken { data, name } => serve::admin_token(&data, &name),
        Command::Verify { data } => serve::verify(&data),
        Command::Compact { data } => serve::compact(&data),
        Command::Forecast(command) => forecast::run(&command),
        Command::Evaluate(command) => evaluate::run(&command),
        Command::Tariff(command) => optimise::tariff(&command),
        Command::Bill(args) => optimise::bill(&args),
        Command::Optimise(args) => optimise::optimise(&args),
        Command::Collect(args) => collect::run(&args),
        Command::Region(command) => region::run(&command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
