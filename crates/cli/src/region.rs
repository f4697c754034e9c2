//! `shulv region …` and the `[publish]` / `[federate]` sections of the server's config:
//! publishing to a shared store, mirroring it, forwarding totals to a region node, and the
//! Spark jobs over the published files (docs/region.md).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde::Deserialize;
use shulv_platform::{Platform, PlatformConfig};
use shulv_region::federate::{FederateConfig, Federation};
use shulv_region::Location;

use crate::client::ServerArgs;

/// Region mode: publish to a shared store, mirror it, run Spark jobs over it.
#[derive(Subcommand)]
pub enum RegionCommand {
    /// Publish a stopped node's store and registry to a shared store once (a running server
    /// publishes by itself with a `[publish]` section in its config).
    Publish {
        /// The node's data directory (the server must be stopped).
        #[arg(long)]
        data: PathBuf,
        /// This node's name in the shared store (`node=<name>`).
        #[arg(long)]
        node: String,
        /// A directory, `file:///path` or `s3://bucket/prefix` (AWS_* variables for S3).
        #[arg(long)]
        to: String,
    },
    /// Copy the current publications of a shared store into another, checking every file.
    Mirror {
        /// Source: a directory or `s3://bucket/prefix`.
        #[arg(long)]
        from: String,
        /// Destination: a directory or `s3://bucket/prefix`.
        #[arg(long)]
        to: String,
        /// Only these nodes (default: every node that published).
        #[arg(long)]
        node: Vec<String>,
    },
    /// Run a Spark job of `region/spark/` over a published directory with `spark-submit`.
    Job(JobArgs),
}

/// `shulv region job`.
#[derive(Args)]
pub struct JobArgs {
    /// monthly_activity, load_curve, completeness, backfill or evaluation_panel.
    name: String,
    /// The published root Spark reads (a directory, or any Hadoop path such as s3a://…).
    #[arg(long)]
    published: String,
    /// Where the job writes its result.
    #[arg(long)]
    out: PathBuf,
    /// Spark master (default: local[2]).
    #[arg(long, default_value = "local[2]")]
    master: String,
    /// Folder of the job scripts [default: $SHULV_SPARK_JOBS, else region/spark beside the
    /// binary's source tree or the current directory].
    #[arg(long, env = "SHULV_SPARK_JOBS")]
    jobs: Option<PathBuf>,
    /// The spark-submit program [default: on PATH, else pyspark's own].
    #[arg(long, env = "SPARK_SUBMIT")]
    spark_submit: Option<PathBuf>,
    /// For `backfill`: write the result into this region node (its URL; token from --token or
    /// SHULV_TOKEN).
    #[arg(long)]
    region: Option<String>,
    /// API token for --region.
    #[arg(long, env = "SHULV_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Further options passed to the job (after `--`).
    #[arg(last = true)]
    job_args: Vec<String>,
}

/// The jobs shipped in `region/spark/`.
const JOBS: [&str; 5] = [
    "monthly_activity",
    "load_curve",
    "completeness",
    "backfill",
    "evaluation_panel",
];

/// Runs `shulv region …`.
pub fn run(command: &RegionCommand) -> anyhow::Result<()> {
    match command {
        RegionCommand::Publish { data, node, to } => publish_once(data, node, to),
        RegionCommand::Mirror { from, to, node } => mirror(from, to, node),
        RegionCommand::Job(args) => job(args),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn publish_once(data: &Path, node: &str, to: &str) -> anyhow::Result<()> {
    let platform = Platform::open(PlatformConfig::new(data))
        .with_context(|| format!("opening {}", data.display()))?;
    let location = Location::parse(to)?;
    let report = runtime()?.block_on(shulv_region::publish::publish(&platform, node, &location))?;
    print_publication(node, to, &report);
    Ok(())
}

fn print_publication(node: &str, to: &str, r: &shulv_region::publish::PublishReport) {
    if r.changed {
        println!(
            "published node '{node}' to {to}: publication {}, {} files ({} raw points); uploaded {} files ({} bytes), deleted {}",
            r.seq, r.files, r.points, r.uploaded, r.uploaded_bytes, r.deleted
        );
    } else {
        println!(
            "node '{node}' at {to} is up to date: publication {}, {} files ({} raw points)",
            r.seq, r.files, r.points
        );
    }
}

fn mirror(from: &str, to: &str, nodes: &[String]) -> anyhow::Result<()> {
    let (source, target) = (Location::parse(from)?, Location::parse(to)?);
    let reports = runtime()?.block_on(shulv_region::mirror::mirror(&source, &target, nodes))?;
    if reports.is_empty() {
        bail!("{from}: no node has published there");
    }
    for r in reports {
        println!(
            "node '{}': publication {} at {to}; copied {} files ({} bytes), deleted {}",
            r.node, r.seq, r.copied, r.copied_bytes, r.deleted
        );
    }
    Ok(())
}

/// The folder of the job scripts.
fn jobs_dir(configured: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = configured {
        return Ok(dir.to_path_buf());
    }
    let candidates = [
        Some(PathBuf::from("region/spark")),
        std::env::current_exe().ok().and_then(|exe| {
            exe.ancestors()
                .map(|a| a.join("region/spark"))
                .find(|p| p.is_dir())
        }),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../region/spark")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("shulv_published.py").is_file())
        .context("the Spark job scripts (region/spark/) were not found; pass --jobs DIR or set SHULV_SPARK_JOBS")
}

/// `spark-submit`: the configured one, the one on PATH, or the one inside the pyspark package.
fn spark_submit(configured: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = configured {
        return Ok(p.to_path_buf());
    }
    if let Some(found) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("spark-submit"))
            .find(|p| p.is_file())
    }) {
        return Ok(found);
    }
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import os, pyspark; print(os.path.dirname(pyspark.__file__))",
        ])
        .output()
        .context("running python3 to find pyspark")?;
    if !out.status.success() {
        bail!("spark-submit is not on PATH and pyspark is not installed (pip install pyspark); or pass --spark-submit");
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("bin/spark-submit"))
}

fn job(args: &JobArgs) -> anyhow::Result<()> {
    if !JOBS.contains(&args.name.as_str()) {
        bail!(
            "unknown job '{}' (expected one of {})",
            args.name,
            JOBS.join(", ")
        );
    }
    if args.region.is_some() && args.name != "backfill" {
        bail!("--region is for the backfill job, which writes its totals into the region node");
    }
    let dir = jobs_dir(args.jobs.as_deref())?;
    let script = dir.join(format!("{}.py", args.name));
    // Jobs import the shared module and each other: ship them all to the executors.
    let modules: Vec<String> = ["shulv_published"]
        .iter()
        .chain(JOBS.iter())
        .map(|m| dir.join(format!("{m}.py")).display().to_string())
        .collect();
    let status = std::process::Command::new(spark_submit(args.spark_submit.as_deref())?)
        .arg("--master")
        .arg(&args.master)
        .arg("--py-files")
        .arg(modules.join(","))
        .arg(&script)
        .arg("--published")
        .arg(&args.published)
        .arg("--out")
        .arg(&args.out)
        .args(&args.job_args)
        .status()
        .with_context(|| format!("starting spark-submit for {}", script.display()))?;
    if !status.success() {
        bail!("the Spark job {} failed ({status})", args.name);
    }
    println!("{}: result in {}", args.name, args.out.display());
    if let Some(region) = &args.region {
        let server = ServerArgs::new(region.clone(), args.token.clone());
        let lines =
            std::fs::read(&args.out).with_context(|| format!("reading {}", args.out.display()))?;
        let (status, text) = server.post("/api/v2/write?precision=ms", "text/plain", lines)?;
        if status != 204 {
            bail!("the region node answered {status}: {text}");
        }
        println!("backfill: every quarter stored at {region}");
    }
    Ok(())
}

/// `[publish]`: publish to a shared store every `every_s` seconds.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct PublishSection {
    /// A directory, `file:///path` or `s3://bucket/prefix`.
    to: String,
    /// This node's name in the shared store.
    node: String,
    /// Seconds between publications (default 300).
    every_s: Option<u64>,
}

/// `[federate]`: forward node totals to a region node.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct FederateSection {
    /// The region node's URL.
    region: String,
    /// Its API token (role operator, scoped to `attach_to`); or SHULV_REGION_TOKEN.
    token: Option<String>,
    /// The region node this park's nodes hang under.
    attach_to: String,
    /// Nodes to forward (default: every enterprise node).
    #[serde(default)]
    nodes: Vec<String>,
    /// Seconds between cycles (default 60).
    every_s: Option<u64>,
    /// Hours of recent quarters recomputed each cycle for late data (default 24).
    resend_hours: Option<u64>,
    /// Seconds after a quarter ends before it is forwarded (default 60).
    settle_s: Option<u64>,
    /// First quarter to forward, RFC 3339 (default: the first reading).
    since: Option<String>,
}

/// What the publisher did since the server started, for `/metrics`.
#[derive(Default)]
struct PublishStatus {
    /// The node's current publication at the shared store.
    seq: AtomicU64,
    /// When the last publication (or up-to-date check) succeeded, ms UTC; 0 before.
    last_success_ms: AtomicI64,
    /// Publications that failed.
    failures: AtomicU64,
    /// Bytes uploaded.
    uploaded_bytes: AtomicU64,
}

/// What the server runs for region mode, stopped with it.
#[derive(Default)]
pub struct RegionTasks {
    publisher: Option<(Arc<AtomicBool>, JoinHandle<()>, Arc<PublishStatus>)>,
    federation: Option<Federation>,
}

impl RegionTasks {
    /// Starts the configured tasks.
    pub fn start(
        platform: &Arc<Platform>,
        publish: Option<&PublishSection>,
        federate: Option<&FederateSection>,
    ) -> anyhow::Result<RegionTasks> {
        let mut tasks = RegionTasks::default();
        if let Some(p) = publish {
            shulv_region::layout::check_node_name(&p.node).map_err(anyhow::Error::msg)?;
            let location = Location::parse(&p.to)?;
            let every = Duration::from_secs(p.every_s.unwrap_or(300).max(1));
            let stop = Arc::new(AtomicBool::new(false));
            let status = Arc::new(PublishStatus::default());
            let (platform, node, name, flag, progress) = (
                platform.clone(),
                p.node.clone(),
                p.to.clone(),
                stop.clone(),
                status.clone(),
            );
            let thread = std::thread::Builder::new()
                .name("publish".into())
                .spawn(move || {
                    let Ok(rt) = runtime() else { return };
                    while !flag.load(Ordering::SeqCst) {
                        let done = rt
                            .block_on(shulv_region::publish::publish(&platform, &node, &location));
                        match &done {
                            Ok(r) => {
                                progress.seq.store(r.seq, Ordering::Relaxed);
                                progress
                                    .uploaded_bytes
                                    .fetch_add(r.uploaded_bytes, Ordering::Relaxed);
                                progress.last_success_ms.store(
                                    chrono::Utc::now().timestamp_millis(),
                                    Ordering::Relaxed,
                                );
                            }
                            Err(_) => {
                                progress.failures.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        match done {
                            Ok(r) if r.changed => tracing::info!(
                                seq = r.seq,
                                files = r.files,
                                uploaded = r.uploaded,
                                bytes = r.uploaded_bytes,
                                deleted = r.deleted,
                                "published to {name}"
                            ),
                            Ok(_) => tracing::debug!("publication at {name} is up to date"),
                            Err(e) => tracing::warn!("publishing to {name}: {e}"),
                        }
                        std::thread::park_timeout(every);
                    }
                })?;
            tasks.publisher = Some((stop, thread, status));
        }
        if let Some(f) = federate {
            let since = f
                .since
                .as_deref()
                .map(|s| {
                    chrono::DateTime::parse_from_rfc3339(s)
                        .map(|t| t.timestamp_millis())
                        .with_context(|| format!("[federate] since = '{s}': expected RFC 3339"))
                })
                .transpose()?;
            let token = f
                .token
                .clone()
                .or_else(|| std::env::var("SHULV_REGION_TOKEN").ok());
            let config = FederateConfig {
                region: f.region.clone(),
                token,
                attach_to: f.attach_to.clone(),
                nodes: f.nodes.clone(),
                every: Duration::from_secs(f.every_s.unwrap_or(60).max(1)),
                resend: Duration::from_secs(f.resend_hours.unwrap_or(24) * 3600),
                settle: Duration::from_secs(f.settle_s.unwrap_or(60)),
                since,
                dir: platform.data_dir().join("federate"),
            };
            tasks.federation = Some(shulv_region::federate::start(platform.clone(), config)?);
        }
        Ok(tasks)
    }

    /// Their figures for `/metrics`, if any runs.
    pub fn metrics(&self) -> Option<shulv_server::ExtraMetrics> {
        if self.publisher.is_none() && self.federation.is_none() {
            return None;
        }
        let publish = self.publisher.as_ref().map(|p| p.2.clone());
        let federation = self.federation.as_ref().map(Federation::probe);
        Some(shulv_server::ExtraMetrics(Arc::new(move || {
            let mut out = String::new();
            let mut metric = |name: &str, kind: &str, help: &str, value: f64| {
                out.push_str(&format!(
                    "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
                ));
            };
            if let Some(p) = &publish {
                metric(
                    "shulv_publish_seq",
                    "gauge",
                    "Number of this node's current publication at the shared store.",
                    p.seq.load(Ordering::Relaxed) as f64,
                );
                metric(
                    "shulv_publish_last_success_timestamp_seconds",
                    "gauge",
                    "When a publication last succeeded (0: not yet).",
                    p.last_success_ms.load(Ordering::Relaxed) as f64 / 1e3,
                );
                metric(
                    "shulv_publish_failures_total",
                    "counter",
                    "Publications that failed (retried).",
                    p.failures.load(Ordering::Relaxed) as f64,
                );
                metric(
                    "shulv_publish_uploaded_bytes_total",
                    "counter",
                    "Bytes uploaded to the shared store.",
                    p.uploaded_bytes.load(Ordering::Relaxed) as f64,
                );
            }
            if let Some(f) = &federation {
                let s = f.status();
                metric(
                    "shulv_federate_watermark_timestamp_seconds",
                    "gauge",
                    "Every quarter before this instant is queued for the region (0: none yet).",
                    s.watermark.unwrap_or(0) as f64 / 1e3,
                );
                metric(
                    "shulv_federate_queue_records",
                    "gauge",
                    "Totals queued and not yet delivered to the region.",
                    s.queued as f64,
                );
                metric(
                    "shulv_federate_failures_total",
                    "counter",
                    "Federation cycles that failed (retried).",
                    s.failures as f64,
                );
                metric(
                    "shulv_federate_refused_total",
                    "counter",
                    "Totals the region refused for good.",
                    s.refused as f64,
                );
            }
            out
        })))
    }

    /// Stops them (a publication in progress finishes first).
    pub fn stop(self) {
        if let Some((stop, thread, _)) = self.publisher {
            stop.store(true, Ordering::SeqCst);
            thread.thread().unpark();
            let _ = thread.join();
        }
        if let Some(f) = self.federation {
            f.stop();
        }
    }
}
