//! shulv's meters seen as InfluxDB series.
//!
//! - Databases: [`DEFAULT_DATABASE`] (everything the caller may see) and every node id in the
//!   caller's scope (that node's subtree).
//! - Measurement: the meter's carrier (`electricity`, `natural_gas`, `air_temperature`, …).
//! - One series per meter, tagged `meter`, `node` (the meter's node), `carrier`, `unit`, and
//!   one tag per node kind on the path from the meter's node to the root (`enterprise`, `park`,
//!   …; the nearest node of a kind), valued with that node's id.
//! - One field, [`FIELD`]: the meter's quantity per reading in the carrier's roll-up unit (the
//!   numbers of `/api/v1/query`), or the reading itself for states such as air temperature.
//!
//! Aggregates-only callers see no `meter` tag.

use std::collections::{BTreeMap, BTreeSet};

use shulv_influxql::{MeasurementName, Source};
use shulv_model::{MeterSpec, Tree};
use shulv_platform::{group_unit, MeterSeries, Platform};

/// The database that holds everything the caller may see.
pub const DEFAULT_DATABASE: &str = "shulv";
/// The one field of every measurement.
pub const FIELD: &str = "value";
/// The only retention policy.
pub const RETENTION_POLICY: &str = "autogen";
/// The tag of the meter id, hidden from aggregates-only callers.
pub const METER_TAG: &str = "meter";
/// Names a node kind cannot take as a tag.
const RESERVED: &[&str] = &["time", FIELD, METER_TAG, "node", "carrier", "unit"];

/// Who asks, as far as the catalog is concerned.
pub struct Caller<'a> {
    /// True if the caller may see node `id` of the tree (its scope).
    pub node_visible: &'a dyn Fn(&Tree, &str) -> bool,
    /// True if the caller may read node roll-ups only, not individual meters.
    pub aggregates_only: bool,
}

/// One meter as an InfluxDB series.
#[derive(Debug, Clone)]
pub struct SeriesRef {
    /// The measurement (the carrier).
    pub measurement: String,
    /// Tag key → value.
    pub tags: BTreeMap<String, String>,
    /// The store series holding the field's values.
    pub store: u32,
    /// Factor from the store's unit to the `unit` tag.
    pub factor: f64,
    /// Nominal milliseconds between two points (to bound what a query reads).
    pub interval_ms: i64,
}

impl SeriesRef {
    /// The value of tag `key`; InfluxDB treats a missing tag as the empty string.
    pub fn tag(&self, key: &str) -> &str {
        self.tags.get(key).map_or("", String::as_str)
    }
}

/// The series of one database.
#[derive(Debug, Default)]
pub struct Catalog {
    /// The database's name.
    pub database: String,
    /// Every series, in registry order.
    pub series: Vec<SeriesRef>,
}

/// The databases the caller may query: [`DEFAULT_DATABASE`], then visible node ids in tree order.
pub fn databases(platform: &Platform, caller: &Caller<'_>) -> Vec<String> {
    platform.with_tree(|tree| {
        std::iter::once(DEFAULT_DATABASE.to_string())
            .chain(
                tree.nodes()
                    .iter()
                    .filter(|n| (caller.node_visible)(tree, &n.id))
                    .map(|n| n.id.clone()),
            )
            .collect()
    })
}

impl Catalog {
    /// The series of database `db`, as `caller` may see them.
    pub fn open(platform: &Platform, db: &str, caller: &Caller<'_>) -> Result<Catalog, String> {
        platform.with_series(|tree, series_of| {
            let meters: Vec<&MeterSpec> = if db == DEFAULT_DATABASE {
                tree.meters().iter().collect()
            } else if tree.node(db).is_some() && (caller.node_visible)(tree, db) {
                tree.subtree_meters(db)
            } else {
                return Err(format!("database not found: {db}"));
            };
            let series = meters
                .into_iter()
                .filter(|m| (caller.node_visible)(tree, &m.node))
                .filter_map(|m| Some(series_ref(tree, m, series_of(&m.id)?, caller)))
                .collect();
            Ok(Catalog {
                database: db.to_string(),
                series,
            })
        })
    }

    /// The measurements, sorted.
    pub fn measurements(&self) -> BTreeSet<&str> {
        self.series.iter().map(|s| s.measurement.as_str()).collect()
    }

    /// The series of the measurements `sources` name (all of them when `sources` is empty).
    pub fn of_sources(&self, sources: &[Source]) -> Result<Vec<&SeriesRef>, String> {
        let mut names: Vec<&MeasurementName> = Vec::with_capacity(sources.len());
        for s in sources {
            if let Some(db) = &s.database {
                if *db != self.database {
                    return Err(format!(
                        "reading database '{db}' from database '{}' is not supported by shulv; query it with db={db}",
                        self.database
                    ));
                }
            }
            if let Some(rp) = &s.retention_policy {
                if rp != RETENTION_POLICY {
                    return Err(format!("retention policy not found: {rp}"));
                }
            }
            names.push(&s.name);
        }
        let matchers = names
            .iter()
            .map(|n| NameMatcher::new(n))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self
            .series
            .iter()
            .filter(|s| matchers.is_empty() || matchers.iter().any(|m| m.is_match(&s.measurement)))
            .collect())
    }
}

/// A measurement name or pattern, compiled.
pub enum NameMatcher {
    /// An exact name.
    Exact(String),
    /// A pattern.
    Pattern(regex::Regex),
}

impl NameMatcher {
    /// Compiles `name`.
    pub fn new(name: &MeasurementName) -> Result<Self, String> {
        Ok(match name {
            MeasurementName::Name(n) => NameMatcher::Exact(n.clone()),
            MeasurementName::Regex(r) => NameMatcher::Pattern(crate::filter::compile(&r.pattern)?),
        })
    }

    /// True if `name` matches.
    pub fn is_match(&self, name: &str) -> bool {
        match self {
            NameMatcher::Exact(n) => n == name,
            NameMatcher::Pattern(r) => r.is_match(name),
        }
    }
}

fn series_ref(tree: &Tree, meter: &MeterSpec, ids: MeterSeries, caller: &Caller<'_>) -> SeriesRef {
    let (store, unit, factor) = if meter.carrier.is_additive() {
        let quantity = meter.quantity_unit();
        let unit = group_unit(meter.carrier, quantity);
        (
            ids.quantity,
            unit,
            quantity.convert(1.0, unit).unwrap_or(1.0),
        )
    } else {
        (ids.raw, meter.unit, 1.0)
    };
    let mut tags = BTreeMap::new();
    let path = std::iter::once(tree.node(&meter.node))
        .flatten()
        .chain(tree.ancestors(&meter.node));
    for node in path {
        if let Some(key) = kind_tag(&node.kind) {
            tags.entry(key).or_insert_with(|| node.id.clone());
        }
    }
    if !caller.aggregates_only {
        tags.insert(METER_TAG.to_string(), meter.id.clone());
    }
    tags.insert("node".to_string(), meter.node.clone());
    tags.insert("carrier".to_string(), meter.carrier.to_string());
    tags.insert("unit".to_string(), unit.to_string());
    SeriesRef {
        measurement: meter.carrier.to_string(),
        tags,
        store,
        factor,
        interval_ms: i64::from(meter.effective_interval_s().max(1)) * 1000,
    }
}

/// The tag key of a node kind: lower case, `_` for anything but letters and digits; `None`
/// when empty or reserved.
fn kind_tag(kind: &str) -> Option<String> {
    let key: String = kind
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_lowercase().next().unwrap_or(c)
            } else {
                '_'
            }
        })
        .collect();
    (!key.is_empty() && !RESERVED.contains(&key.as_str())).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::kind_tag;

    #[test]
    fn node_kinds_become_tag_keys() {
        assert_eq!(kind_tag("Enterprise").as_deref(), Some("enterprise"));
        assert_eq!(
            kind_tag("production line").as_deref(),
            Some("production_line")
        );
        assert_eq!(kind_tag("车间").as_deref(), Some("车间"));
        assert_eq!(kind_tag("meter"), None);
        assert_eq!(kind_tag(" "), None);
    }
}
