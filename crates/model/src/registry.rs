//! The organisation tree (region → park → enterprise → site → workshop …) with its meters,
//! registry files (TOML and CSV) and validation.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::carrier::{Carrier, EmissionSource, ReadingKind};
use crate::unit::Unit;

/// Zone used when neither a node nor any ancestor configures one.
pub const DEFAULT_TIMEZONE: Tz = chrono_tz::Asia::Shanghai;
/// Default nominal reading interval in seconds.
pub const DEFAULT_INTERVAL_S: u32 = 900;
/// Default maximum gap (seconds) across which instantaneous samples are integrated.
pub const DEFAULT_MAX_GAP_S: u32 = 3600;

/// A node of the organisation tree. `kind` is free text (region, park, enterprise, site,
/// workshop, …); depth and kinds are not restricted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// Unique id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Free-text kind.
    pub kind: String,
    /// Parent id; `None` for a root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Time zone; inherited from ancestors when `None` (default `Asia/Shanghai`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<Tz>,
    /// Industry (e.g. a GB/T 4754 code or name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    /// Free attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// A meter attached to a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeterSpec {
    /// Unique id (the `meter` of incoming readings).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Node the meter belongs to.
    pub node: String,
    /// What it measures.
    pub carrier: Carrier,
    /// Unit of the readings sent (a rate unit for instantaneous meters).
    pub unit: Unit,
    /// How readings relate to quantities.
    pub reading: ReadingKind,
    /// Register wrap value for cumulative meters (see [`crate::register_delta`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollover: Option<f64>,
    /// Maximum integration gap in seconds for instantaneous meters (default 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_gap_s: Option<u32>,
    /// Nominal reading interval in seconds (default 900).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_s: Option<u32>,
    /// Carbon accounting: what the quantity emits (default: by carrier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emission_source: Option<EmissionSource>,
    /// Carbon accounting: Scope 3 category 1–15 (only with `emission_source = "scope3"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope3_category: Option<u8>,
    /// Carbon accounting: id of the fuel (or process factor) in the factor library whose
    /// parameters apply, e.g. a user fuel with the measured NCV (default: the carrier's fuel
    /// under the accounting regime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<String>,
}

impl MeterSpec {
    /// Unit of the meter's quantity series: `unit` for interval and cumulative meters,
    /// `unit.integrated()` for instantaneous ones (falls back to `unit` if it is not a rate,
    /// which a validated [`Tree`] never contains).
    pub fn quantity_unit(&self) -> Unit {
        match self.reading {
            ReadingKind::Instantaneous => self.unit.integrated().unwrap_or(self.unit),
            _ => self.unit,
        }
    }

    /// `max_gap_s` or the default 3600.
    pub fn effective_max_gap_s(&self) -> u32 {
        self.max_gap_s.unwrap_or(DEFAULT_MAX_GAP_S)
    }

    /// `interval_s` or the default 900.
    pub fn effective_interval_s(&self) -> u32 {
        self.interval_s.unwrap_or(DEFAULT_INTERVAL_S)
    }
}

/// Contents of a registry file: TOML with `[[node]]` and `[[meter]]` arrays (JSON: `"node"`
/// and `"meter"` arrays; `"nodes"` and `"meters"` are accepted too), or a pair of CSV files
/// (`nodes.csv`, `meters.csv`). Unknown keys are refused, so a typo is never ignored silently.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryFile {
    /// Nodes (`[[node]]`).
    #[serde(rename = "node", alias = "nodes", default)]
    pub nodes: Vec<NodeSpec>,
    /// Meters (`[[meter]]`).
    #[serde(rename = "meter", alias = "meters", default)]
    pub meters: Vec<MeterSpec>,
}

/// Registry parsing and validation errors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegistryError {
    /// TOML syntax or schema error (the message contains line and column).
    #[error("registry TOML: {0}")]
    Toml(String),
    /// CSV error naming file, line and field.
    #[error("{file} line {line}: {field}: {message}")]
    Csv {
        /// File name (`nodes.csv` or `meters.csv`).
        file: String,
        /// 1-based line.
        line: u64,
        /// Column name (or `header`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// An id that is empty or whitespace-padded, or (for ids created by a merge) too long or
    /// containing a control character, a path separator (`/`, `\`), `<`, `>`, `"`, `'` or a
    /// backtick.
    #[error("{what} id {} is invalid: {reason}", shown_id(.id))]
    InvalidId {
        /// `node` or `meter`.
        what: &'static str,
        /// The id.
        id: String,
        /// Why.
        reason: String,
    },
    /// Two nodes with the same id.
    #[error("duplicate node id {0:?}")]
    DuplicateNode(String),
    /// Two meters with the same id.
    #[error("duplicate meter id {0:?}")]
    DuplicateMeter(String),
    /// A node's parent does not exist.
    #[error("node {node:?}: parent {parent:?} does not exist")]
    UnknownParent {
        /// The node.
        node: String,
        /// Its missing parent.
        parent: String,
    },
    /// Parent links form a cycle.
    #[error("node parents form a cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    /// A meter's node does not exist.
    #[error("meter {meter:?}: node {node:?} does not exist")]
    UnknownNode {
        /// The meter.
        meter: String,
        /// Its missing node.
        node: String,
    },
    /// Unit does not fit the reading kind or carrier.
    #[error("meter {meter:?}: unit {unit} is not allowed: {reason}")]
    UnitNotAllowed {
        /// The meter.
        meter: String,
        /// Its unit.
        unit: Unit,
        /// Why.
        reason: String,
    },
    /// An invalid optional setting (rollover, max_gap_s, interval_s).
    #[error("meter {meter:?}: {field}: {message}")]
    InvalidSetting {
        /// The meter.
        meter: String,
        /// The setting.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// An attempt to change a meter's carrier, unit or reading kind.
    #[error("meter {meter:?}: {field} cannot be changed after creation ({old} -> {new}); create a new meter instead")]
    ImmutableMeterField {
        /// The meter.
        meter: String,
        /// `carrier`, `unit` or `reading`.
        field: &'static str,
        /// Current value.
        old: String,
        /// Requested value.
        new: String,
    },
}

impl RegistryFile {
    /// Parses TOML with `[[node]]` and `[[meter]]` arrays.
    pub fn from_toml(text: &str) -> Result<RegistryFile, RegistryError> {
        toml::from_str(text).map_err(|e| RegistryError::Toml(e.to_string()))
    }

    /// Serializes to TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("registry is always serializable")
    }

    /// Parses `nodes.csv` and `meters.csv` contents (see [`parse_nodes_csv`] and
    /// [`parse_meters_csv`]).
    pub fn from_csv(nodes_csv: &str, meters_csv: &str) -> Result<RegistryFile, RegistryError> {
        Ok(RegistryFile {
            nodes: parse_nodes_csv(nodes_csv)?,
            meters: parse_meters_csv(meters_csv)?,
        })
    }
}

struct CsvTable {
    file: &'static str,
    headers: Vec<String>,
    rows: Vec<(u64, Vec<String>)>,
}

impl CsvTable {
    fn parse(file: &'static str, text: &str) -> Result<CsvTable, RegistryError> {
        let err = |line: u64, message: String| RegistryError::Csv {
            file: file.to_string(),
            line,
            field: "line".into(),
            message,
        };
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let headers: Vec<String> = rdr
            .headers()
            .map_err(|e| err(1, e.to_string()))?
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        let mut rows = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                err(line, e.to_string())
            })?;
            let line = rec.position().map_or(0, |p| p.line());
            if rec.iter().all(str::is_empty) {
                continue;
            }
            rows.push((line, rec.iter().map(str::to_string).collect()));
        }
        Ok(CsvTable {
            file,
            headers,
            rows,
        })
    }

    fn col(&self, names: &[&str]) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| names.contains(&h.as_str()))
    }

    fn require(&self, name: &str) -> Result<usize, RegistryError> {
        self.col(&[name]).ok_or_else(|| RegistryError::Csv {
            file: self.file.to_string(),
            line: 1,
            field: "header".into(),
            message: format!(
                "missing column {name:?} (found: {})",
                self.headers.join(",")
            ),
        })
    }

    fn error(&self, line: u64, field: &str, message: String) -> RegistryError {
        RegistryError::Csv {
            file: self.file.to_string(),
            line,
            field: field.to_string(),
            message,
        }
    }
}

fn cell(row: &[String], col: Option<usize>) -> Option<&str> {
    col.and_then(|c| row.get(c))
        .map(String::as_str)
        .filter(|s| !s.is_empty())
}

/// Parses `nodes.csv`: columns `id,name,kind,parent,timezone,industry` (header required,
/// any order; `id` and `kind` required; empty `name` defaults to the id). Any other column
/// becomes an attribute. Lines starting with `#` are comments.
pub fn parse_nodes_csv(text: &str) -> Result<Vec<NodeSpec>, RegistryError> {
    let t = CsvTable::parse("nodes.csv", text)?;
    let id = t.require("id")?;
    let kind = t.require("kind")?;
    let name = t.col(&["name"]);
    let parent = t.col(&["parent"]);
    let tz = t.col(&["timezone", "tz"]);
    let industry = t.col(&["industry"]);
    let known = [Some(id), Some(kind), name, parent, tz, industry];
    let mut out = Vec::with_capacity(t.rows.len());
    for (line, row) in &t.rows {
        let id_v =
            cell(row, Some(id)).ok_or_else(|| t.error(*line, "id", "missing value".into()))?;
        let kind_v =
            cell(row, Some(kind)).ok_or_else(|| t.error(*line, "kind", "missing value".into()))?;
        let timezone = match cell(row, tz) {
            None => None,
            Some(s) => Some(s.parse::<Tz>().map_err(|_| {
                t.error(
                    *line,
                    "timezone",
                    format!(
                        "unknown time zone {s:?} (expected an IANA name such as Asia/Shanghai)"
                    ),
                )
            })?),
        };
        let attributes = t
            .headers
            .iter()
            .enumerate()
            .filter(|(i, _)| !known.contains(&Some(*i)))
            .filter_map(|(i, h)| cell(row, Some(i)).map(|v| (h.clone(), v.to_string())))
            .collect();
        out.push(NodeSpec {
            id: id_v.to_string(),
            name: cell(row, name).unwrap_or(id_v).to_string(),
            kind: kind_v.to_string(),
            parent: cell(row, parent).map(str::to_string),
            timezone,
            industry: cell(row, industry).map(str::to_string),
            attributes,
        });
    }
    Ok(out)
}

/// Refuses a rollover given as the register's largest reading instead of its modulus. Checked
/// when a rollover is set or changed, not on registries already stored (they keep working as
/// before; declaring the modulus fixes them).
fn check_rollover_is_modulus(m: &MeterSpec) -> Result<(), RegistryError> {
    match m
        .rollover
        .and_then(|r| Some((r, largest_reading_of_decimal_register(r)?)))
    {
        None => Ok(()),
        Some((r, modulus)) => Err(RegistryError::InvalidSetting {
            meter: m.id.clone(),
            field: "rollover",
            message: format!(
                "{r} looks like the register's largest reading; rollover is the register's \
                 modulus, the value at which it wraps to 0: {modulus} for a register whose last \
                 reading before the wrap is {r}"
            ),
        }),
    }
}

/// `Some(power of ten)` when `r` is the largest reading of a decimal register (99999.99 for a
/// register that wraps at 100 000 with a resolution of 0.01) rather than its modulus: the
/// mistake that loses one digit of the resolution at every wrap.
fn largest_reading_of_decimal_register(r: f64) -> Option<f64> {
    (0..=6).find_map(|decimals| {
        let step = 10f64.powi(-decimals);
        let modulus = 10f64.powf((r + step).log10().round());
        let is_step_below = ((modulus - r) - step).abs() <= 1e-3 * step;
        (modulus >= 10.0 && is_step_below).then_some(modulus)
    })
}

/// Parses `meters.csv`: columns `id,name,node,carrier,unit,reading,rollover,max_gap_s,interval_s`
/// and, for carbon accounting, `emission_source,scope3_category,fuel`
/// (header required, any order; `id,node,carrier,unit,reading` required; empty `name`
/// defaults to the id). Lines starting with `#` are comments.
pub fn parse_meters_csv(text: &str) -> Result<Vec<MeterSpec>, RegistryError> {
    let t = CsvTable::parse("meters.csv", text)?;
    let id = t.require("id")?;
    let node = t.require("node")?;
    let carrier = t.require("carrier")?;
    let unit = t.require("unit")?;
    let reading = t.require("reading")?;
    let name = t.col(&["name"]);
    let rollover = t.col(&["rollover"]);
    let max_gap = t.col(&["max_gap_s"]);
    let interval = t.col(&["interval_s"]);
    let source = t.col(&["emission_source"]);
    let category = t.col(&["scope3_category"]);
    let fuel = t.col(&["fuel"]);
    let mut out = Vec::with_capacity(t.rows.len());
    for (line, row) in &t.rows {
        let line = *line;
        let req = |col: usize, field: &str| {
            cell(row, Some(col)).ok_or_else(|| t.error(line, field, "missing value".into()))
        };
        let id_v = req(id, "id")?;
        let node_v = req(node, "node")?;
        let carrier_v = req(carrier, "carrier")?
            .parse::<Carrier>()
            .map_err(|e| t.error(line, "carrier", e.to_string()))?;
        let unit_v = req(unit, "unit")?
            .parse::<Unit>()
            .map_err(|e| t.error(line, "unit", e.to_string()))?;
        let reading_v = req(reading, "reading")?
            .parse::<ReadingKind>()
            .map_err(|e| t.error(line, "reading", e.to_string()))?;
        let rollover_v = match cell(row, rollover) {
            None => None,
            Some(s) => Some(
                s.parse::<f64>()
                    .map_err(|_| t.error(line, "rollover", format!("not a number: {s:?}")))?,
            ),
        };
        let int = |col: Option<usize>, field: &str| -> Result<Option<u32>, RegistryError> {
            cell(row, col)
                .map(|s| {
                    s.parse::<u32>().map_err(|_| {
                        t.error(line, field, format!("not a non-negative integer: {s:?}"))
                    })
                })
                .transpose()
        };
        out.push(MeterSpec {
            id: id_v.to_string(),
            name: cell(row, name).unwrap_or(id_v).to_string(),
            node: node_v.to_string(),
            carrier: carrier_v,
            unit: unit_v,
            reading: reading_v,
            rollover: rollover_v,
            max_gap_s: int(max_gap, "max_gap_s")?,
            interval_s: int(interval, "interval_s")?,
            emission_source: cell(row, source)
                .map(|s| s.parse::<EmissionSource>())
                .transpose()
                .map_err(|e| t.error(line, "emission_source", e))?,
            scope3_category: int(category, "scope3_category")?
                .map(|c| u8::try_from(c).unwrap_or(u8::MAX)),
            fuel: cell(row, fuel).map(str::to_string),
        });
    }
    Ok(out)
}

/// What a [`Tree::merge`] changed (ids in file order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeSummary {
    /// New nodes.
    pub nodes_added: Vec<String>,
    /// Existing nodes whose spec changed.
    pub nodes_updated: Vec<String>,
    /// New meters (appended; existing meters keep their index).
    pub meters_added: Vec<String>,
    /// Existing meters whose spec changed.
    pub meters_updated: Vec<String>,
}

/// A validated organisation tree with its meters.
///
/// Nodes and meters keep their registry order; a meter's index ([`Tree::meter_index`]) never
/// changes across [`Tree::merge`] (new meters are appended), so it can key storage series.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    nodes: Vec<NodeSpec>,
    node_index: HashMap<String, usize>,
    children: Vec<Vec<usize>>,
    meters: Vec<MeterSpec>,
    meter_index: HashMap<String, usize>,
    node_meters: Vec<Vec<usize>>,
}

/// Longest id (in characters) a merge may create.
pub const MAX_ID_CHARS: usize = 128;

/// Characters a new id may not contain (besides control characters): path separators and the
/// characters that only serve to break out of HTML, SQL or shell quoting.
const FORBIDDEN_ID_CHARS: &[char] = &['/', '\\', '<', '>', '"', '\'', '`'];

/// An id for an error message: debug-quoted (control characters escaped), long ids cut.
fn shown_id(id: &str) -> String {
    let n = id.chars().count();
    if n <= 64 {
        format!("{id:?}")
    } else {
        let head: String = id.chars().take(64).collect();
        format!("{head:?}... ({n} characters)")
    }
}

fn check_id(what: &'static str, id: &str) -> Result<(), RegistryError> {
    if id.is_empty() || id.trim() != id {
        return Err(RegistryError::InvalidId {
            what,
            id: id.to_string(),
            reason: "it is empty or has leading/trailing whitespace".into(),
        });
    }
    Ok(())
}

/// The rules for ids created by [`Tree::merge`], on top of [`check_id`]. (Registries loaded
/// with [`Tree::new`] keep the older, laxer rule so that existing data stays readable.)
fn check_new_id(what: &'static str, id: &str) -> Result<(), RegistryError> {
    check_id(what, id)?;
    let invalid = |reason: String| RegistryError::InvalidId {
        what,
        id: id.to_string(),
        reason,
    };
    let n = id.chars().count();
    if n > MAX_ID_CHARS {
        return Err(invalid(format!(
            "{n} characters, at most {MAX_ID_CHARS} are allowed"
        )));
    }
    if let Some(c) = id
        .chars()
        .find(|c| c.is_control() || FORBIDDEN_ID_CHARS.contains(c))
    {
        return Err(invalid(format!(
            "it contains {c:?} (control characters and / \\ < > \" ' ` are not allowed)"
        )));
    }
    Ok(())
}

fn check_meter(m: &MeterSpec) -> Result<(), RegistryError> {
    let not_allowed = |reason: String| RegistryError::UnitNotAllowed {
        meter: m.id.clone(),
        unit: m.unit,
        reason,
    };
    match m.reading {
        ReadingKind::Instantaneous if !m.unit.is_rate() => {
            return Err(not_allowed(format!(
                "instantaneous readings need a rate unit (kW, m3/h, t/h, ...), {} is a {} unit",
                m.unit,
                m.unit.dimension()
            )))
        }
        ReadingKind::Interval | ReadingKind::Cumulative if m.unit.is_rate() => {
            return Err(not_allowed(format!(
                "{} readings need a quantity unit, {} is a {} rate (use reading = \"instantaneous\")",
                m.reading,
                m.unit,
                m.unit.dimension()
            )))
        }
        _ => {}
    }
    let q = m.quantity_unit().dimension();
    if !m.carrier.accepts(q) {
        return Err(not_allowed(format!(
            "carrier {} ({}) is measured in {} units such as {}, not {q}",
            m.carrier,
            m.carrier.name_zh(),
            m.carrier.canonical_unit().dimension(),
            m.carrier.canonical_unit()
        )));
    }
    let setting = |field: &'static str, message: String| RegistryError::InvalidSetting {
        meter: m.id.clone(),
        field,
        message,
    };
    if !m.carrier.is_additive() {
        if m.reading != ReadingKind::Interval {
            return Err(setting(
                "reading",
                format!(
                    "{} readings are values at their timestamps: use reading = \"interval\", not {}",
                    m.carrier, m.reading
                ),
            ));
        }
        if m.emission_source.is_some() || m.fuel.is_some() {
            return Err(setting(
                "emission_source",
                format!(
                    "{} meters are not accounted: leave emission_source and fuel out",
                    m.carrier
                ),
            ));
        }
    }
    if let Some(r) = m.rollover {
        if m.reading != ReadingKind::Cumulative {
            return Err(setting(
                "rollover",
                "only cumulative meters have a rollover".into(),
            ));
        }
        if !(r.is_finite() && r > 0.0) {
            return Err(setting(
                "rollover",
                format!("must be a positive number, got {r}"),
            ));
        }
    }
    if m.max_gap_s == Some(0) {
        return Err(setting("max_gap_s", "must be positive".into()));
    }
    if m.interval_s == Some(0) {
        return Err(setting("interval_s", "must be positive".into()));
    }
    match (m.emission_source, m.scope3_category) {
        (Some(EmissionSource::Scope3), Some(1..=15)) | (Some(EmissionSource::Scope3), None) => {}
        (Some(EmissionSource::Scope3), Some(c)) => {
            return Err(setting(
                "scope3_category",
                format!("must be a GHG Protocol category 1–15, got {c}"),
            ))
        }
        (_, Some(_)) => {
            return Err(setting(
                "scope3_category",
                "only meters with emission_source = \"scope3\" have a Scope 3 category".into(),
            ))
        }
        _ => {}
    }
    if m.fuel.as_deref().is_some_and(|f| f.trim().is_empty()) {
        return Err(setting("fuel", "must not be empty".into()));
    }
    Ok(())
}

impl Tree {
    /// Builds and validates a tree: ids non-empty and unique, parents exist, no cycles,
    /// meters on existing nodes, unit fits the reading kind (instantaneous needs a rate unit,
    /// others a quantity unit) and the carrier, settings valid. Returns the first problem.
    pub fn new(file: RegistryFile) -> Result<Tree, RegistryError> {
        let RegistryFile { nodes, meters } = file;
        let mut node_index = HashMap::with_capacity(nodes.len());
        for (i, n) in nodes.iter().enumerate() {
            check_id("node", &n.id)?;
            if node_index.insert(n.id.clone(), i).is_some() {
                return Err(RegistryError::DuplicateNode(n.id.clone()));
            }
        }
        let mut children = vec![Vec::new(); nodes.len()];
        for (i, n) in nodes.iter().enumerate() {
            if let Some(p) = &n.parent {
                let pi = *node_index
                    .get(p)
                    .ok_or_else(|| RegistryError::UnknownParent {
                        node: n.id.clone(),
                        parent: p.clone(),
                    })?;
                children[pi].push(i);
            }
        }
        // Cycle detection: follow parents; a path longer than the node count revisits a node.
        let mut acyclic = vec![false; nodes.len()];
        for start in 0..nodes.len() {
            let mut path = Vec::new();
            let mut seen = HashSet::new();
            let mut cur = Some(start);
            while let Some(i) = cur {
                if acyclic[i] {
                    break;
                }
                if !seen.insert(i) {
                    let pos = path.iter().position(|&p| p == i).unwrap_or(0);
                    let mut cycle: Vec<String> = path[pos..]
                        .iter()
                        .map(|&p: &usize| nodes[p].id.clone())
                        .collect();
                    cycle.push(nodes[i].id.clone());
                    return Err(RegistryError::Cycle(cycle));
                }
                path.push(i);
                cur = nodes[i].parent.as_ref().map(|p| node_index[p]);
            }
            for i in path {
                acyclic[i] = true;
            }
        }
        let mut meter_index = HashMap::with_capacity(meters.len());
        let mut node_meters = vec![Vec::new(); nodes.len()];
        for (i, m) in meters.iter().enumerate() {
            check_id("meter", &m.id)?;
            if meter_index.insert(m.id.clone(), i).is_some() {
                return Err(RegistryError::DuplicateMeter(m.id.clone()));
            }
            let ni = *node_index
                .get(&m.node)
                .ok_or_else(|| RegistryError::UnknownNode {
                    meter: m.id.clone(),
                    node: m.node.clone(),
                })?;
            check_meter(m)?;
            node_meters[ni].push(i);
        }
        Ok(Tree {
            nodes,
            node_index,
            children,
            meters,
            meter_index,
            node_meters,
        })
    }

    /// All nodes in registry order.
    pub fn nodes(&self) -> &[NodeSpec] {
        &self.nodes
    }

    /// All meters in registry order.
    pub fn meters(&self) -> &[MeterSpec] {
        &self.meters
    }

    /// A node by id.
    pub fn node(&self, id: &str) -> Option<&NodeSpec> {
        self.node_index.get(id).map(|&i| &self.nodes[i])
    }

    /// A meter by id.
    pub fn meter(&self, id: &str) -> Option<&MeterSpec> {
        self.meter_index.get(id).map(|&i| &self.meters[i])
    }

    /// Registry index of a meter (stable across merges).
    pub fn meter_index(&self, id: &str) -> Option<usize> {
        self.meter_index.get(id).copied()
    }

    /// Nodes without a parent, in registry order.
    pub fn roots(&self) -> Vec<&NodeSpec> {
        self.nodes.iter().filter(|n| n.parent.is_none()).collect()
    }

    /// Direct children of a node in registry order (empty for unknown ids).
    pub fn children(&self, id: &str) -> Vec<&NodeSpec> {
        self.node_index
            .get(id)
            .map(|&i| self.children[i].iter().map(|&c| &self.nodes[c]).collect())
            .unwrap_or_default()
    }

    /// Ancestors of a node, nearest first (parent, grandparent, …, root); empty for roots
    /// and unknown ids.
    pub fn ancestors(&self, id: &str) -> Vec<&NodeSpec> {
        let mut out = Vec::new();
        let mut cur = self.node(id).and_then(|n| n.parent.as_deref());
        while let Some(p) = cur.and_then(|p| self.node(p)) {
            out.push(p);
            cur = p.parent.as_deref();
        }
        out
    }

    /// Meters attached directly to a node, in registry order.
    pub fn node_meters(&self, id: &str) -> Vec<&MeterSpec> {
        self.node_index
            .get(id)
            .map(|&i| {
                self.node_meters[i]
                    .iter()
                    .map(|&m| &self.meters[m])
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Meters of a node and all its descendants, in registry order (empty for unknown ids).
    pub fn subtree_meters(&self, node_id: &str) -> Vec<&MeterSpec> {
        let Some(&root) = self.node_index.get(node_id) else {
            return Vec::new();
        };
        let mut idx = Vec::new();
        let mut stack = vec![root];
        while let Some(n) = stack.pop() {
            idx.extend_from_slice(&self.node_meters[n]);
            stack.extend_from_slice(&self.children[n]);
        }
        idx.sort_unstable();
        idx.into_iter().map(|i| &self.meters[i]).collect()
    }

    /// Time zone of a node: its own, else the nearest ancestor's, else `Asia/Shanghai`
    /// (also for unknown ids).
    pub fn timezone_of_node(&self, id: &str) -> Tz {
        self.node(id)
            .into_iter()
            .chain(self.ancestors(id))
            .find_map(|n| n.timezone)
            .unwrap_or(DEFAULT_TIMEZONE)
    }

    /// Time zone of a meter's node (`Asia/Shanghai` for unknown meters).
    pub fn timezone_of_meter(&self, meter_id: &str) -> Tz {
        self.meter(meter_id)
            .map_or(DEFAULT_TIMEZONE, |m| self.timezone_of_node(&m.node))
    }

    /// Adds or updates nodes and meters (matched by id). Existing entries keep their position,
    /// new ones are appended. Changing a meter's carrier, unit or reading kind is refused.
    /// The result is validated as a whole; on error the tree is unchanged.
    /// Nodes and meters cannot be removed by merging.
    pub fn merge(&mut self, file: RegistryFile) -> Result<MergeSummary, RegistryError> {
        let mut summary = MergeSummary::default();
        let mut nodes = self.nodes.clone();
        let mut node_index = self.node_index.clone();
        let mut seen = HashSet::new();
        for n in file.nodes {
            if !seen.insert(n.id.clone()) {
                return Err(RegistryError::DuplicateNode(n.id));
            }
            match node_index.get(&n.id) {
                Some(&i) => {
                    if nodes[i] != n {
                        summary.nodes_updated.push(n.id.clone());
                        nodes[i] = n;
                    }
                }
                None => {
                    check_new_id("node", &n.id)?;
                    node_index.insert(n.id.clone(), nodes.len());
                    summary.nodes_added.push(n.id.clone());
                    nodes.push(n);
                }
            }
        }
        let mut meters = self.meters.clone();
        let mut meter_index = self.meter_index.clone();
        let mut seen = HashSet::new();
        for m in file.meters {
            if !seen.insert(m.id.clone()) {
                return Err(RegistryError::DuplicateMeter(m.id));
            }
            match meter_index.get(&m.id) {
                Some(&i) => {
                    let old = &meters[i];
                    let immutable = |field: &'static str, old: String, new: String| {
                        RegistryError::ImmutableMeterField {
                            meter: m.id.clone(),
                            field,
                            old,
                            new,
                        }
                    };
                    if old.carrier != m.carrier {
                        return Err(immutable(
                            "carrier",
                            old.carrier.to_string(),
                            m.carrier.to_string(),
                        ));
                    }
                    if old.unit != m.unit {
                        return Err(immutable("unit", old.unit.to_string(), m.unit.to_string()));
                    }
                    if old.reading != m.reading {
                        return Err(immutable(
                            "reading",
                            old.reading.to_string(),
                            m.reading.to_string(),
                        ));
                    }
                    if old.rollover != m.rollover {
                        check_rollover_is_modulus(&m)?;
                    }
                    if *old != m {
                        summary.meters_updated.push(m.id.clone());
                        meters[i] = m;
                    }
                }
                None => {
                    check_new_id("meter", &m.id)?;
                    check_rollover_is_modulus(&m)?;
                    meter_index.insert(m.id.clone(), meters.len());
                    summary.meters_added.push(m.id.clone());
                    meters.push(m);
                }
            }
        }
        *self = Tree::new(RegistryFile { nodes, meters })?;
        Ok(summary)
    }

    /// The registry as a file (registry order), e.g. to persist it.
    pub fn to_file(&self) -> RegistryFile {
        RegistryFile {
            nodes: self.nodes.clone(),
            meters: self.meters.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = r#"
[[node]]
id = "cn"
name = "华东区域"
kind = "region"

[[node]]
id = "park1"
name = "苏州工业园"
kind = "park"
parent = "cn"

[[node]]
id = "ent01"
name = "某钢铁公司"
kind = "enterprise"
parent = "park1"
industry = "C31"
attributes = { credit_code = "91320000XXXX" }

[[node]]
id = "ws1"
name = "轧钢车间"
kind = "workshop"
parent = "ent01"

[[node]]
id = "ny"
name = "NY office"
kind = "site"
timezone = "America/New_York"

[[meter]]
id = "ent01.main"
name = "总表"
node = "ent01"
carrier = "electricity"
unit = "kWh"
reading = "cumulative"
rollover = 1000000.0

[[meter]]
id = "ws1.p"
name = "车间功率"
node = "ws1"
carrier = "electricity"
unit = "kW"
reading = "instantaneous"
max_gap_s = 1800

[[meter]]
id = "ent01.gas"
name = "天然气"
node = "ent01"
carrier = "natural_gas"
unit = "Nm3"
reading = "interval"

[[meter]]
id = "park1.out"
name = "产量"
node = "park1"
carrier = "production_output"
unit = "t"
reading = "interval"
interval_s = 86400
"#;

    fn tree() -> Tree {
        Tree::new(RegistryFile::from_toml(TOML).unwrap()).unwrap()
    }

    fn ids<T>(v: Vec<&T>, f: impl Fn(&T) -> &str) -> Vec<String> {
        v.into_iter().map(|x| f(x).to_string()).collect()
    }

    #[test]
    fn navigation() {
        let t = tree();
        assert_eq!(t.node("ent01").unwrap().industry.as_deref(), Some("C31"));
        assert_eq!(
            t.node("ent01").unwrap().attributes["credit_code"],
            "91320000XXXX"
        );
        assert_eq!(ids(t.children("park1"), |n| &n.id), ["ent01"]);
        assert_eq!(ids(t.ancestors("ws1"), |n| &n.id), ["ent01", "park1", "cn"]);
        assert!(t.ancestors("cn").is_empty());
        assert_eq!(ids(t.roots(), |n| &n.id), ["cn", "ny"]);
        assert_eq!(
            ids(t.subtree_meters("cn"), |m| &m.id),
            ["ent01.main", "ws1.p", "ent01.gas", "park1.out"]
        );
        assert_eq!(
            ids(t.subtree_meters("ent01"), |m| &m.id),
            ["ent01.main", "ws1.p", "ent01.gas"]
        );
        assert_eq!(
            ids(t.node_meters("ent01"), |m| &m.id),
            ["ent01.main", "ent01.gas"]
        );
        assert!(t.subtree_meters("nope").is_empty());
        assert_eq!(t.timezone_of_node("ws1"), chrono_tz::Asia::Shanghai);
        assert_eq!(t.timezone_of_node("ny"), chrono_tz::America::New_York);
        assert_eq!(t.meter("ws1.p").unwrap().quantity_unit(), Unit::KWh);
        assert_eq!(t.meter("ws1.p").unwrap().effective_max_gap_s(), 1800);
        assert_eq!(t.meter("ent01.main").unwrap().effective_max_gap_s(), 3600);
        assert_eq!(t.meter("ent01.main").unwrap().effective_interval_s(), 900);
        assert_eq!(t.meter("ent01.main").unwrap().quantity_unit(), Unit::KWh);
        assert_eq!(t.meter_index("ent01.gas"), Some(2));
    }

    #[test]
    fn timezone_inheritance() {
        let mut f = RegistryFile::from_toml(TOML).unwrap();
        f.nodes[1].timezone = Some(chrono_tz::Asia::Urumqi);
        let t = Tree::new(f).unwrap();
        assert_eq!(t.timezone_of_node("ws1"), chrono_tz::Asia::Urumqi);
        assert_eq!(t.timezone_of_node("cn"), chrono_tz::Asia::Shanghai);
        assert_eq!(t.timezone_of_meter("ws1.p"), chrono_tz::Asia::Urumqi);
    }

    #[test]
    fn toml_round_trip() {
        let t = tree();
        let text = t.to_file().to_toml();
        let back = RegistryFile::from_toml(&text).unwrap();
        assert_eq!(back, t.to_file());
        assert!(text.contains("[[node]]") && text.contains("[[meter]]"));
        let e = RegistryFile::from_toml("[[meter]]\nid = 1").unwrap_err();
        assert!(matches!(e, RegistryError::Toml(_)));
        let e = RegistryFile::from_toml(&TOML.replace("\"kW\"", "\"kWatt\"")).unwrap_err();
        assert!(e.to_string().contains("kWatt"), "{e}");
    }

    fn err_of(edit: impl FnOnce(&mut RegistryFile)) -> RegistryError {
        let mut f = RegistryFile::from_toml(TOML).unwrap();
        edit(&mut f);
        Tree::new(f).unwrap_err()
    }

    #[test]
    fn validation_errors() {
        assert_eq!(
            err_of(|f| f.nodes.push(f.nodes[0].clone())),
            RegistryError::DuplicateNode("cn".into())
        );
        assert_eq!(
            err_of(|f| f.meters.push(f.meters[0].clone())),
            RegistryError::DuplicateMeter("ent01.main".into())
        );
        assert_eq!(
            err_of(|f| f.nodes[1].parent = Some("mars".into())),
            RegistryError::UnknownParent {
                node: "park1".into(),
                parent: "mars".into()
            }
        );
        let e = err_of(|f| f.nodes[0].parent = Some("ws1".into()));
        assert!(matches!(&e, RegistryError::Cycle(c) if c.len() == 5), "{e}");
        assert!(e.to_string().contains("->"));
        assert!(matches!(
            err_of(|f| f.nodes[0].parent = Some("cn".into())),
            RegistryError::Cycle(_)
        ));
        assert_eq!(
            err_of(|f| f.meters[0].node = "ghost".into()),
            RegistryError::UnknownNode {
                meter: "ent01.main".into(),
                node: "ghost".into()
            }
        );
        let e = err_of(|f| f.meters[1].unit = Unit::KWh);
        assert!(
            e.to_string()
                .contains("instantaneous readings need a rate unit"),
            "{e}"
        );
        let e = err_of(|f| f.meters[0].unit = Unit::KW);
        assert!(e.to_string().contains("need a quantity unit"), "{e}");
        let e = err_of(|f| f.meters[2].unit = Unit::KWh);
        assert!(matches!(e, RegistryError::UnitNotAllowed { .. }), "{e}");
        assert!(e.to_string().contains("natural_gas"), "{e}");
        let e = err_of(|f| f.meters[1].unit = Unit::TPerH);
        assert!(matches!(e, RegistryError::UnitNotAllowed { .. }), "{e}");
        // Air temperature: ℃ interval readings only, never accounted.
        let temperature = |m: &mut MeterSpec| {
            m.carrier = Carrier::AirTemperature;
            m.unit = Unit::DegC;
            m.reading = ReadingKind::Interval;
            m.rollover = None;
            m.emission_source = None;
            m.fuel = None;
        };
        let mut f = RegistryFile::from_toml(TOML).unwrap();
        temperature(&mut f.meters[0]);
        Tree::new(f).expect("an interval ℃ temperature meter is valid");
        let e = err_of(|f| {
            temperature(&mut f.meters[0]);
            f.meters[0].reading = ReadingKind::Cumulative;
        });
        assert!(e.to_string().contains("use reading = \"interval\""), "{e}");
        let e = err_of(|f| {
            temperature(&mut f.meters[0]);
            f.meters[0].unit = Unit::KWh;
        });
        assert!(matches!(e, RegistryError::UnitNotAllowed { .. }), "{e}");
        let e = err_of(|f| f.meters[0].unit = Unit::DegC);
        assert!(matches!(e, RegistryError::UnitNotAllowed { .. }), "{e}");
        let e = err_of(|f| f.meters[0].rollover = Some(-1.0));
        assert!(matches!(
            e,
            RegistryError::InvalidSetting {
                field: "rollover",
                ..
            }
        ));
        let e = err_of(|f| f.meters[2].rollover = Some(10.0));
        assert!(matches!(
            e,
            RegistryError::InvalidSetting {
                field: "rollover",
                ..
            }
        ));
        let e = err_of(|f| f.meters[1].max_gap_s = Some(0));
        assert!(matches!(
            e,
            RegistryError::InvalidSetting {
                field: "max_gap_s",
                ..
            }
        ));
        let e = err_of(|f| f.nodes[0].id = " cn".into());
        assert!(matches!(e, RegistryError::InvalidId { what: "node", .. }));
    }

    #[test]
    fn merge_adds_updates_and_refuses_immutable_changes() {
        let mut t = tree();
        let mut f = RegistryFile::default();
        let mut n = t.node("ws1").unwrap().clone();
        n.name = "冷轧车间".into();
        f.nodes.push(n);
        f.nodes.push(NodeSpec {
            id: "ws2".into(),
            name: "热轧车间".into(),
            kind: "workshop".into(),
            parent: Some("ent01".into()),
            timezone: None,
            industry: None,
            attributes: BTreeMap::new(),
        });
        let mut m = t.meter("ent01.main").unwrap().clone();
        m.name = "总表2".into();
        f.meters.push(m.clone());
        let mut m2 = m.clone();
        m2.id = "ws2.main".into();
        m2.node = "ws2".into();
        f.meters.push(m2);
        f.meters.push(t.meter("ent01.gas").unwrap().clone()); // unchanged
        let s = t.merge(f).unwrap();
        assert_eq!(s.nodes_added, ["ws2"]);
        assert_eq!(s.nodes_updated, ["ws1"]);
        assert_eq!(s.meters_added, ["ws2.main"]);
        assert_eq!(s.meters_updated, ["ent01.main"]);
        assert_eq!(t.meter_index("ws2.main"), Some(4));
        assert_eq!(t.meter_index("ent01.main"), Some(0));
        assert_eq!(t.node("ws1").unwrap().name, "冷轧车间");
        assert_eq!(t.subtree_meters("ent01").len(), 4);

        for (field, edit) in [
            (
                "carrier",
                Box::new(|m: &mut MeterSpec| m.carrier = Carrier::PvGeneration)
                    as Box<dyn Fn(&mut MeterSpec)>,
            ),
            ("unit", Box::new(|m: &mut MeterSpec| m.unit = Unit::MWh)),
            (
                "reading",
                Box::new(|m: &mut MeterSpec| m.reading = ReadingKind::Interval),
            ),
        ] {
            let mut bad = m.clone();
            edit(&mut bad);
            let before = t.to_file();
            let e = t
                .merge(RegistryFile {
                    nodes: vec![],
                    meters: vec![bad],
                })
                .unwrap_err();
            assert!(
                matches!(e, RegistryError::ImmutableMeterField { field: f, .. } if f == field),
                "{e}"
            );
            assert!(e.to_string().contains("cannot be changed"));
            assert_eq!(t.to_file(), before);
        }
        // A rollover set to the register's largest reading instead of its modulus is refused
        // when it is set (it would lose 0.01 per wrap); a stored one still loads.
        for (largest, modulus) in [(99_999.99, "100000"), (999_999.0, "1000000")] {
            let mut wrong = m.clone();
            wrong.rollover = Some(largest);
            let before = t.to_file();
            let e = t
                .merge(RegistryFile {
                    nodes: vec![],
                    meters: vec![wrong],
                })
                .unwrap_err();
            assert!(e.to_string().contains(modulus), "{e}");
            assert_eq!(t.to_file(), before);
        }
        let mut legacy = t.to_file();
        legacy.meters[0].rollover = Some(99_999.99);
        assert!(Tree::new(legacy).is_ok());
        // invalid result leaves the tree unchanged
        let mut orphan = t.node("ws2").unwrap().clone();
        orphan.parent = Some("nowhere".into());
        let before = t.to_file();
        assert!(t
            .merge(RegistryFile {
                nodes: vec![orphan],
                meters: vec![]
            })
            .is_err());
        assert_eq!(t.to_file(), before);
    }

    #[test]
    fn merge_refuses_unsafe_new_ids() {
        let mut t = tree();
        let node = |id: &str| NodeSpec {
            id: id.into(),
            name: "x".into(),
            kind: "site".into(),
            parent: Some("ent01".into()),
            timezone: None,
            industry: None,
            attributes: BTreeMap::new(),
        };
        let long = "m".repeat(MAX_ID_CHARS + 1);
        for id in [
            "../../etc/passwd",
            "..\\..\\boot.ini",
            "<script>alert(1)</script>",
            "m1'; DROP TABLE meters--",
            "m1\"x",
            "a`id`",
            "bell\u{7}",
            "line\nbreak",
            "nul\0",
            long.as_str(),
        ] {
            let before = t.to_file();
            let e = t
                .merge(RegistryFile {
                    nodes: vec![node(id)],
                    meters: vec![],
                })
                .unwrap_err();
            assert!(
                matches!(e, RegistryError::InvalidId { what: "node", .. }),
                "{e}"
            );
            let mut m = t.meter("ent01.gas").unwrap().clone();
            m.id = id.into();
            let e = t
                .merge(RegistryFile {
                    nodes: vec![],
                    meters: vec![m],
                })
                .unwrap_err();
            assert!(
                matches!(e, RegistryError::InvalidId { what: "meter", .. }),
                "{e}"
            );
            let msg = e.to_string();
            assert!(!msg.chars().any(char::is_control), "{msg:?}");
            assert!(msg.len() < 300, "{msg}");
            assert_eq!(t.to_file(), before);
        }
        // ids at the limit, with dots, dashes, spaces and CJK characters are fine
        let ok = "m".repeat(MAX_ID_CHARS);
        for id in ["ws3.line-2_m1", "一号车间 压缩机", ok.as_str()] {
            t.merge(RegistryFile {
                nodes: vec![node(id)],
                meters: vec![],
            })
            .unwrap();
        }
        // a registry loaded from disk keeps the older rule: existing ids stay readable
        let mut f = t.to_file();
        f.nodes.push(node("legacy/id"));
        Tree::new(f).unwrap();
    }

    #[test]
    fn json_keys_singular_or_plural_and_no_unknown_keys() {
        let node = r#"{"id":"p","name":"园区","kind":"park"}"#;
        let singular: RegistryFile =
            serde_json::from_str(&format!(r#"{{"node":[{node}]}}"#)).unwrap();
        let plural: RegistryFile =
            serde_json::from_str(&format!(r#"{{"nodes":[{node}]}}"#)).unwrap();
        assert_eq!(singular, plural);
        assert_eq!(singular.nodes.len(), 1);
        let typo = serde_json::from_str::<RegistryFile>(&format!(r#"{{"nodez":[{node}]}}"#));
        assert!(typo
            .unwrap_err()
            .to_string()
            .contains("unknown field `nodez`"));
        let field = r#"{"node":[{"id":"p","name":"x","kind":"park","timzone":"UTC"}]}"#;
        let err = serde_json::from_str::<RegistryFile>(field).unwrap_err();
        assert!(err.to_string().contains("unknown field `timzone`"), "{err}");
        let toml_typo = RegistryFile::from_toml(
            "[[node]]\nid = \"p\"\nname = \"x\"\nkind = \"park\"\nparnet = \"q\"\n",
        );
        assert!(toml_typo.is_err());
    }

    #[test]
    fn csv_files() {
        let nodes = "\u{feff}id,name,kind,parent,timezone,industry,contact\n\
                     cn,华东,region,,,,\n\
                     # comment\n\
                     park1,园区,park,cn,Asia/Shanghai,,张三\n\
                     ent01,,enterprise,park1,,C31,\n";
        let meters = "id,name,node,carrier,unit,reading,rollover,max_gap_s,interval_s\n\
                      ent01.main,总表,ent01,electricity,kWh,cumulative,1000000,,\n\
                      ent01.p,功率,ent01,electricity,kW,instantaneous,,600,60\n\
                      ent01.gas,燃气,ent01,天然气,万Nm3,interval,,,\n";
        let f = RegistryFile::from_csv(nodes, meters).unwrap();
        assert_eq!(f.nodes.len(), 3);
        assert_eq!(f.nodes[1].attributes["contact"], "张三");
        assert_eq!(f.nodes[2].name, "ent01");
        assert_eq!(f.nodes[2].industry.as_deref(), Some("C31"));
        assert_eq!(f.meters[0].rollover, Some(1_000_000.0));
        assert_eq!(f.meters[1].max_gap_s, Some(600));
        assert_eq!(f.meters[2].unit, Unit::TenKNm3);
        assert_eq!(f.meters[2].carrier, Carrier::NaturalGas);
        Tree::new(f).unwrap();

        let e = parse_meters_csv(
            "id,name,node,carrier,unit,reading\nm1,x,n,electricity,kWatt,interval\n",
        )
        .unwrap_err();
        assert_eq!(
            (
                e.to_string().starts_with("meters.csv line 2: unit:"),
                e.to_string().contains("kWatt")
            ),
            (true, true),
            "{e}"
        );
        let e = parse_meters_csv(
            "id,node,carrier,unit,reading\nm1,n,electricity,kWh,interval\nm2,n,coal,t,interval\n",
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("meters.csv line 3: carrier:"),
            "{e}"
        );
        let e = parse_meters_csv(
            "id,node,carrier,unit,reading,max_gap_s\nm1,n,electricity,kW,instantaneous,-5\n",
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("meters.csv line 2: max_gap_s:"),
            "{e}"
        );
        let e = parse_meters_csv("id,node,carrier,unit\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("meters.csv line 1: header: missing column \"reading\""),
            "{e}"
        );
        let e = parse_nodes_csv("id,name,kind,timezone\nn1,x,site,Mars/Olympus\n").unwrap_err();
        assert!(
            e.to_string().starts_with("nodes.csv line 2: timezone:"),
            "{e}"
        );
        let e = parse_nodes_csv("id,name,kind\n,x,site\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("nodes.csv line 2: id: missing value"),
            "{e}"
        );
    }
}
