//! Forwarding the 15-minute totals of a park's nodes to a region node (联邦: park → region).
//!
//! The park node names the nodes of its tree that the region sees (by default every
//! enterprise, 企业) and the region node they hang under. Each forwarded node becomes, at the
//! region, a node of the same id with one virtual meter per carrier, `<node>.<carrier>`, an
//! interval meter in the carrier's roll-up unit whose readings are the node's 15-minute totals.
//! The park registers those nodes and meters on the region (`POST /api/v1/registry`, with an
//! operator token scoped to the region node it hangs under), then appends each quarter's
//! totals to a durable queue (`shulv-spool`, the collector's), which a forwarder drains to the
//! region's `/api/v2/write`. Quarters are appended only after the registration holds, and the
//! state file is saved only after the append, so a park that is killed, or a region that is
//! down, loses nothing: the queue keeps what was not delivered, and the park recomputes what
//! it had not queued. Quarters within the `resend` window are recomputed each cycle and sent
//! again when late data changed them (the region keeps the newest value of an instant).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use shulv_model::{Bucket, MeterSpec, NodeSpec, ReadingKind, RegistryFile, Tree};
use shulv_platform::{Aggregate, Platform, QuerySpec, Target};
use shulv_spool::{ForwardEvent, ForwardTarget, Forwarder, ForwarderHandle, Spool, SpoolConfig};

use crate::RegionError;

const QUARTER_MS: i64 = 900_000;
const DAY_MS: i64 = 86_400_000;
/// Quarters computed per query while catching up (31 days).
const CATCH_UP_STEP_MS: i64 = 31 * DAY_MS;

/// How a park forwards to its region.
#[derive(Clone, Debug)]
pub struct FederateConfig {
    /// Base URL of the region node, e.g. `http://region.example:8080`.
    pub region: String,
    /// API token at the region: role operator, scope `attach_to`.
    pub token: Option<String>,
    /// The region node the forwarded nodes hang under (the park's node in the region's tree).
    pub attach_to: String,
    /// Nodes of this park's tree to forward; empty: every enterprise node (kind `enterprise`
    /// or `企业`) not below another one.
    pub nodes: Vec<String>,
    /// How often to compute and queue new quarters.
    pub every: Duration,
    /// Quarters this recent are recomputed each cycle and sent again if late data changed them.
    pub resend: Duration,
    /// A quarter is forwarded once it ended this long ago.
    pub settle: Duration,
    /// The first quarter to forward (ms UTC); `None`: from the nodes' first reading.
    pub since: Option<i64>,
    /// Folder of the queue and the state file.
    pub dir: PathBuf,
}

/// What the park remembers between cycles (`state.json` in the federation folder).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct State {
    /// Every quarter before this instant was queued.
    watermark: Option<i64>,
    /// Hash of the registration the region accepted.
    registered: Option<String>,
    /// The values queued for quarters inside the resend window: meter → ts → value.
    sent: BTreeMap<String, BTreeMap<i64, f64>>,
}

/// What the federation did since it started, for `/metrics`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FederationStatus {
    /// Every quarter before this instant (ms UTC) is queued; `None` before the first one.
    pub watermark: Option<i64>,
    /// Totals queued and not yet delivered to the region.
    pub queued: u64,
    /// When the oldest of them was queued (ms UTC).
    pub oldest_queued_ms: Option<i64>,
    /// Cycles that failed (the log says why; the next cycle retries).
    pub failures: u64,
    /// Totals the region refused for good (the log names each).
    pub refused: u64,
}

/// Counters shared by the federation's threads.
#[derive(Default)]
struct Counters {
    watermark: AtomicI64,
    failures: AtomicU64,
    refused: AtomicU64,
}

/// The running federation; [`Federation::stop`] ends it.
pub struct Federation {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    forwarder: Option<ForwarderHandle>,
    probe: FederationProbe,
}

/// Reads a running federation's [`FederationStatus`] (cheap to clone, valid after a stop).
#[derive(Clone)]
pub struct FederationProbe {
    spool: Spool,
    counters: Arc<Counters>,
}

impl FederationProbe {
    /// What it did so far.
    pub fn status(&self) -> FederationStatus {
        let queue = self.spool.stats();
        let watermark = self.counters.watermark.load(Ordering::Relaxed);
        FederationStatus {
            watermark: (watermark != i64::MIN).then_some(watermark),
            queued: queue.records,
            oldest_queued_ms: queue.oldest_append_ms,
            failures: self.counters.failures.load(Ordering::Relaxed),
            refused: self.counters.refused.load(Ordering::Relaxed),
        }
    }
}

impl Federation {
    /// A reader of its status.
    pub fn probe(&self) -> FederationProbe {
        self.probe.clone()
    }

    /// Stops computing, then the forwarder (what is queued stays queued for the next start).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
        if let Some(f) = self.forwarder.take() {
            f.stop();
        }
    }
}

impl Drop for Federation {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Checks the configuration against the park's tree and starts forwarding.
pub fn start(platform: Arc<Platform>, config: FederateConfig) -> Result<Federation, RegionError> {
    platform.with_tree(|tree| forwarded_nodes(tree, &config.nodes).map(|_| ()))?;
    let spool = Spool::open(SpoolConfig::new(config.dir.join("queue")))
        .map_err(|e| RegionError::io(config.dir.join("queue").display(), e))?;
    let state = load_state(&config.dir)?;
    let counters = Arc::new(Counters {
        watermark: AtomicI64::new(state.watermark.unwrap_or(i64::MIN)),
        ..Counters::default()
    });
    let refused = counters.clone();
    let forwarder = Forwarder::spawn(
        spool.clone(),
        ForwardTarget {
            url: format!(
                "{}/api/v2/write?precision=ms",
                config.region.trim_end_matches('/')
            ),
            token: config.token.clone(),
            timeout: Duration::from_secs(30),
        },
        move |event| {
            if matches!(event, ForwardEvent::Refused { .. }) {
                refused.refused.fetch_add(1, Ordering::Relaxed);
            }
            log_event(event)
        },
    );
    let stop = Arc::new(AtomicBool::new(false));
    let mut federator = Federator {
        platform,
        agent: ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into(),
        state,
        spool: spool.clone(),
        config,
    };
    let thread_stop = stop.clone();
    let thread_counters = counters.clone();
    let thread = std::thread::Builder::new()
        .name("federate".into())
        .spawn(move || {
            while !thread_stop.load(Ordering::SeqCst) {
                if let Err(e) = federator.cycle(&thread_stop) {
                    thread_counters.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(region = %federator.config.region, "federation: {e}");
                }
                if let Some(w) = federator.state.watermark {
                    thread_counters.watermark.store(w, Ordering::Relaxed);
                }
                std::thread::park_timeout(federator.config.every);
            }
        })
        .map_err(|e| RegionError::io("federate thread", e))?;
    Ok(Federation {
        stop,
        thread: Some(thread),
        forwarder: Some(forwarder),
        probe: FederationProbe { spool, counters },
    })
}

fn log_event(event: ForwardEvent) {
    match event {
        ForwardEvent::Delivered { records, .. } => {
            tracing::debug!(records, "federation: delivered to the region")
        }
        ForwardEvent::Refused { line, message, .. } => {
            tracing::error!(%line, %message, "federation: the region refused a total")
        }
        ForwardEvent::Rejected {
            status, message, ..
        } => {
            tracing::warn!(status, %message, "federation: the region rejected the request")
        }
        ForwardEvent::Unavailable { message, .. } => {
            tracing::info!(%message, "federation: the region is unavailable; totals stay queued")
        }
        ForwardEvent::Split { records } => tracing::info!(records, "federation: smaller batches"),
        ForwardEvent::Spool { error, .. } => tracing::error!(%error, "federation: queue"),
    }
}

/// The forwarded nodes: the configured ones (checked to exist and not to contain one another,
/// which would count a quarter twice at the region), or every outermost enterprise node.
fn forwarded_nodes<'a>(
    tree: &'a Tree,
    wanted: &[String],
) -> Result<Vec<&'a NodeSpec>, RegionError> {
    let nodes: Vec<&NodeSpec> = if wanted.is_empty() {
        tree.nodes()
            .iter()
            .filter(|n| crate::registry_table::is_enterprise(n))
            .filter(|n| {
                !tree
                    .ancestors(&n.id)
                    .iter()
                    .any(|a| crate::registry_table::is_enterprise(a))
            })
            .collect()
    } else {
        wanted
            .iter()
            .map(|id| {
                tree.node(id).ok_or_else(|| {
                    RegionError::invalid(
                        "[federate] nodes",
                        format!("no node '{id}' in this park's tree"),
                    )
                })
            })
            .collect::<Result<_, _>>()?
    };
    for n in &nodes {
        if let Some(outer) = tree
            .ancestors(&n.id)
            .iter()
            .find(|a| nodes.iter().any(|m| m.id == a.id))
        {
            return Err(RegionError::invalid(
                "[federate] nodes",
                format!(
                    "'{}' is inside '{}': its totals would be counted twice",
                    n.id, outer.id
                ),
            ));
        }
    }
    Ok(nodes)
}

/// The virtual meter of a node's carrier at the region.
fn meter_id(node: &str, carrier: &str) -> String {
    format!("{node}.{carrier}")
}

/// The nodes and virtual meters the region needs, for `nodes`.
fn registration(tree: &Tree, nodes: &[&NodeSpec], attach_to: &str) -> RegistryFile {
    let mut file = RegistryFile::default();
    for node in nodes {
        let lineage: Vec<&NodeSpec> = std::iter::once(*node)
            .chain(tree.ancestors(&node.id))
            .collect();
        let mut attributes = node.attributes.clone();
        if let Some(code) = lineage.iter().find_map(|n| n.attributes.get("region_code")) {
            attributes.insert("region_code".into(), code.clone());
        }
        file.nodes.push(NodeSpec {
            id: node.id.clone(),
            name: node.name.clone(),
            kind: node.kind.clone(),
            parent: Some(attach_to.to_string()),
            timezone: Some(tree.timezone_of_node(&node.id)),
            industry: lineage.iter().find_map(|n| n.industry.clone()),
            attributes,
        });
        let mut carriers: Vec<_> = tree
            .subtree_meters(&node.id)
            .into_iter()
            .filter(|m| m.carrier.is_additive())
            .map(|m| m.carrier)
            .collect();
        carriers.sort_by_key(|c| c.as_str());
        carriers.dedup();
        for carrier in carriers {
            file.meters.push(MeterSpec {
                id: meter_id(&node.id, carrier.as_str()),
                name: format!("{} {} (forwarded)", node.name, carrier.as_str()),
                node: node.id.clone(),
                carrier,
                unit: carrier.canonical_unit(),
                reading: ReadingKind::Interval,
                rollover: None,
                max_gap_s: None,
                interval_s: Some(900),
                emission_source: None,
                scope3_category: None,
                fuel: None,
            });
        }
    }
    file
}

/// The nearest decimal with at most 6 places if `x` is one up to floating-point noise (a sum
/// of 0.01 kWh readings), else `x`: the region then stores an exact decimal.
fn snap_decimal(x: f64) -> f64 {
    for places in 0..=6 {
        let scale = 10f64.powi(places);
        let r = (x * scale).round() / scale;
        if (r - x).abs() <= 1e-12 * x.abs().max(1.0) {
            return r;
        }
    }
    x
}

struct Federator {
    platform: Arc<Platform>,
    agent: ureq::Agent,
    state: State,
    spool: Spool,
    config: FederateConfig,
}

impl Federator {
    /// Registers if needed, then queues every quarter that is due or changed.
    fn cycle(&mut self, stop: &AtomicBool) -> Result<(), RegionError> {
        let (nodes, registration) = self.platform.with_tree(|tree| {
            forwarded_nodes(tree, &self.config.nodes).map(|nodes| {
                let ids: Vec<String> = nodes.iter().map(|n| n.id.clone()).collect();
                (ids, registration(tree, &nodes, &self.config.attach_to))
            })
        })?;
        self.register(&registration)?;
        let meters: HashSet<&str> = registration.meters.iter().map(|m| m.id.as_str()).collect();

        let now = chrono::Utc::now().timestamp_millis() - self.config.settle.as_millis() as i64;
        let end = now.div_euclid(QUARTER_MS) * QUARTER_MS;
        let resend_from = end - self.config.resend.as_millis() as i64;
        let mut from = match self.state.watermark {
            Some(w) => w.min(resend_from),
            None => match self.config.since {
                Some(s) => s.div_euclid(QUARTER_MS) * QUARTER_MS,
                None => self.first_reading(&nodes)?.unwrap_or(end),
            },
        };
        if let Some(since) = self.config.since {
            from = from.max(since.div_euclid(QUARTER_MS) * QUARTER_MS);
        }
        while from < end && !stop.load(Ordering::SeqCst) {
            let to = (from + CATCH_UP_STEP_MS).min(end);
            let totals = self.totals(&nodes, from, to)?;
            let mut lines = Vec::new();
            for (meter, ts, value) in totals {
                if !meters.contains(meter.as_str()) {
                    continue;
                }
                let tracked = ts >= resend_from;
                let before = self.state.sent.get(&meter).and_then(|m| m.get(&ts));
                let queued_before = self.state.watermark.is_some_and(|w| ts < w);
                if before == Some(&value) || (queued_before && !tracked) {
                    continue;
                }
                lines.push(
                    format!("{} value={value} {ts}", escape_measurement(&meter)).into_bytes(),
                );
                if tracked {
                    self.state.sent.entry(meter).or_default().insert(ts, value);
                }
            }
            self.spool
                .append(&lines)
                .map_err(|e| RegionError::io(self.config.dir.join("queue").display(), e))?;
            self.state.watermark = Some(self.state.watermark.map_or(to, |w| w.max(to)));
            for values in self.state.sent.values_mut() {
                values.retain(|&ts, _| ts >= resend_from);
            }
            self.state.sent.retain(|_, v| !v.is_empty());
            save_state(&self.config.dir, &self.state)?;
            if !lines.is_empty() {
                tracing::info!(
                    quarters = lines.len(),
                    from,
                    to,
                    "federation: queued totals"
                );
            }
            from = to;
        }
        Ok(())
    }

    /// The first reading of any forwarded node's meters.
    fn first_reading(&self, nodes: &[String]) -> Result<Option<i64>, RegionError> {
        let series: Vec<u32> = self.platform.with_series(|tree, series_of| {
            nodes
                .iter()
                .flat_map(|n| tree.subtree_meters(n))
                .filter_map(|m| series_of(&m.id).map(|s| s.quantity))
                .collect()
        });
        let mut first: Option<i64> = None;
        for s in series {
            let found = self
                .platform
                .store()
                .first_after(s, i64::MIN)
                .map_err(shulv_platform::PlatformError::from)?;
            if let Some((ts, _)) = found {
                first = Some(first.map_or(ts, |f| f.min(ts)));
            }
        }
        Ok(first.map(|ts| ts.div_euclid(QUARTER_MS) * QUARTER_MS))
    }

    /// (meter, quarter start, total) of every node and carrier over `[from, to)`.
    fn totals(
        &self,
        nodes: &[String],
        from: i64,
        to: i64,
    ) -> Result<Vec<(String, i64, f64)>, RegionError> {
        let mut out = Vec::new();
        for node in nodes {
            let answer = self.platform.query(&QuerySpec {
                target: Target::Node(node.clone()),
                from,
                to,
                bucket: Bucket::Min15,
                aggregate: Aggregate::Sum,
                carrier: None,
            })?;
            for series in answer.series {
                if series.unit != series.carrier.canonical_unit().to_string() {
                    tracing::warn!(node, carrier = %series.carrier, unit = %series.unit,
                        "federation: meters in a unit that does not convert to the carrier's are not forwarded");
                    continue;
                }
                let meter = meter_id(node, series.carrier.as_str());
                for p in series.points.into_iter().filter(|p| p.count > 0) {
                    out.push((meter.clone(), p.ts, snap_decimal(p.value)));
                }
            }
        }
        Ok(out)
    }

    /// Sends the registration to the region unless it already accepted this one.
    fn register(&mut self, file: &RegistryFile) -> Result<(), RegionError> {
        let body = serde_json::to_string(file)
            .map_err(|e| RegionError::invalid("registration", e.to_string()))?;
        let hash = crate::transfer::sha256_hex(body.as_bytes());
        if self.state.registered.as_deref() == Some(hash.as_str()) {
            return Ok(());
        }
        let url = format!(
            "{}/api/v1/registry",
            self.config.region.trim_end_matches('/')
        );
        let mut request = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json");
        if let Some(token) = &self.config.token {
            request = request.header("Authorization", format!("Token {token}"));
        }
        let mut response = request
            .send(body.as_bytes())
            .map_err(|e| RegionError::io(&url, e))?;
        if !response.status().is_success() {
            let text = response.body_mut().read_to_string().unwrap_or_default();
            return Err(RegionError::invalid(
                &url,
                format!("{}: {text}", response.status()),
            ));
        }
        self.state.registered = Some(hash);
        save_state(&self.config.dir, &self.state)?;
        tracing::info!(
            nodes = file.nodes.len(),
            meters = file.meters.len(),
            "federation: registered at the region"
        );
        Ok(())
    }
}

fn escape_measurement(s: &str) -> String {
    s.replace(',', "\\,").replace(' ', "\\ ")
}

fn state_path(dir: &std::path::Path) -> PathBuf {
    dir.join("state.json")
}

fn load_state(dir: &std::path::Path) -> Result<State, RegionError> {
    let path = state_path(dir);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| RegionError::invalid(path.display(), e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
        Err(e) => Err(RegionError::io(path.display(), e)),
    }
}

/// Replaces the state file atomically (tmp, fsync, rename).
fn save_state(dir: &std::path::Path, state: &State) -> Result<(), RegionError> {
    use std::io::Write;
    std::fs::create_dir_all(dir).map_err(|e| RegionError::io(dir.display(), e))?;
    let path = state_path(dir);
    let tmp = dir.join("state.json.tmp");
    let bytes = serde_json::to_vec(state)
        .map_err(|e| RegionError::invalid(path.display(), e.to_string()))?;
    let mut f = std::fs::File::create(&tmp).map_err(|e| RegionError::io(tmp.display(), e))?;
    f.write_all(&bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| RegionError::io(tmp.display(), e))?;
    std::fs::rename(&tmp, &path).map_err(|e| RegionError::io(path.display(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_snap_to_their_decimal() {
        assert_eq!(snap_decimal(0.1 + 0.2), 0.3);
        assert_eq!(snap_decimal(1234.56 + 0.01), 1234.57);
        assert_eq!(snap_decimal(1.0 / 3.0), 1.0 / 3.0);
        assert_eq!(snap_decimal(0.0), 0.0);
    }

    #[test]
    fn nodes_inside_forwarded_nodes_are_refused() {
        let tree = Tree::new(RegistryFile {
            nodes: vec![
                node("park", "park", None),
                node("ent-a", "enterprise", Some("park")),
                node("ent-b", "企业", Some("park")),
                node("line-1", "line", Some("ent-a")),
            ],
            meters: vec![],
        })
        .unwrap();
        let ids = |v: Vec<&NodeSpec>| v.iter().map(|n| n.id.clone()).collect::<Vec<_>>();
        assert_eq!(
            ids(forwarded_nodes(&tree, &[]).unwrap()),
            ["ent-a", "ent-b"]
        );
        let err = forwarded_nodes(&tree, &["ent-a".into(), "line-1".into()]).unwrap_err();
        assert!(
            err.to_string().contains("'line-1' is inside 'ent-a'"),
            "{err}"
        );
        assert!(forwarded_nodes(&tree, &["nope".into()]).is_err());
    }

    fn node(id: &str, kind: &str, parent: Option<&str>) -> NodeSpec {
        NodeSpec {
            id: id.into(),
            name: id.into(),
            kind: kind.into(),
            parent: parent.map(String::from),
            timezone: None,
            industry: None,
            attributes: Default::default(),
        }
    }
}
