//! The query engine: any meter or any node of the tree, over a time range, in calendar buckets,
//! with an aggregate, and with units in the answer.
//!
//! Bucket → source: 15 min from raw points; hour, day and month from the store's rollups of the
//! same level; week from day rollups; year from month rollups. A year of monthly totals therefore
//! reads twelve rollup rows per meter and never scans raw points. Node queries roll the quantity
//! series of every meter in the subtree up by carrier, converted to the carrier's canonical unit.

use std::collections::BTreeMap;

use chrono::Offset;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use shulv_model::{bucket_next, bucket_start, Bucket, Carrier, MeterSpec, ReadingKind, Unit};
use shulv_store::{Level, Rollup};

use crate::{Platform, PlatformError};

/// How values inside a bucket are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Aggregate {
    /// Total of the quantities (energy, amount) in the bucket.
    Sum,
    /// Mean of the values in the bucket.
    Mean,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// Latest value (for registers: the register reading).
    Last,
}

impl std::str::FromStr for Aggregate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "sum" => Ok(Aggregate::Sum),
            "mean" | "avg" => Ok(Aggregate::Mean),
            "min" => Ok(Aggregate::Min),
            "max" => Ok(Aggregate::Max),
            "last" => Ok(Aggregate::Last),
            other => Err(format!(
                "unknown aggregate '{other}' (expected sum, mean, min, max or last)"
            )),
        }
    }
}

/// What a query asks for.
#[derive(Clone, Debug)]
pub struct QuerySpec {
    /// A meter id or a node id.
    pub target: Target,
    /// Start of the range (ms UTC); widened to the start of its bucket.
    pub from: i64,
    /// End of the range, exclusive (ms UTC); widened to the end of its bucket.
    pub to: i64,
    /// Calendar bucket, in the target's time zone.
    pub bucket: Bucket,
    /// Aggregate inside each bucket.
    pub aggregate: Aggregate,
    /// For node queries: only this carrier.
    pub carrier: Option<Carrier>,
}

/// The thing being queried.
#[derive(Clone, Debug)]
pub enum Target {
    /// One meter, by id.
    Meter(String),
    /// A node of the tree and everything below it.
    Node(String),
}

/// The answer of a query.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct QueryAnswer {
    /// The meter or node id.
    pub target: String,
    /// `meter` or `node`.
    pub target_kind: String,
    /// IANA time zone of the buckets.
    pub timezone: String,
    /// Start of the first bucket (RFC 3339, local offset).
    pub from: String,
    /// End of the last bucket, exclusive.
    pub to: String,
    /// Bucket name.
    pub bucket: String,
    /// Aggregate name.
    pub aggregate: Aggregate,
    /// Where the numbers came from: `raw` or `rollup:<level>`.
    pub source: String,
    /// One series per meter (meter query) or per carrier (node query).
    pub series: Vec<SeriesAnswer>,
}

/// One series of an answer.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SeriesAnswer {
    /// Energy carrier (能源品种) or non-energy series kind, e.g. `electricity`.
    #[schema(value_type = String)]
    pub carrier: Carrier,
    /// Unit of every value of this series.
    pub unit: String,
    /// Meters that contributed.
    pub meters: Vec<String>,
    /// Buckets that hold data, oldest first.
    pub points: Vec<BucketValue>,
}

/// The value of one bucket.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct BucketValue {
    /// Start of the bucket (RFC 3339, local offset).
    pub start: String,
    /// Start of the bucket (ms UTC).
    pub ts: i64,
    /// The aggregate.
    pub value: f64,
    /// Number of stored points behind the value.
    pub count: u64,
}

/// Partial aggregate of one bucket.
#[derive(Clone, Copy, Debug)]
struct Agg {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    last_ts: i64,
    last: f64,
}

impl Agg {
    fn of_point(ts: i64, v: f64) -> Self {
        Agg {
            count: 1,
            sum: v,
            min: v,
            max: v,
            last_ts: ts,
            last: v,
        }
    }

    fn of_rollup(r: &Rollup) -> Self {
        Agg {
            count: r.count,
            sum: r.sum,
            min: r.min,
            max: r.max,
            last_ts: r.last_ts,
            last: r.last,
        }
    }

    fn merge(&mut self, o: &Agg) {
        self.count += o.count;
        self.sum += o.sum;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        if o.last_ts >= self.last_ts {
            self.last_ts = o.last_ts;
            self.last = o.last;
        }
    }

    fn value(&self, aggregate: Aggregate) -> f64 {
        match aggregate {
            Aggregate::Sum => self.sum,
            Aggregate::Mean => self.sum / self.count as f64,
            Aggregate::Min => self.min,
            Aggregate::Max => self.max,
            Aggregate::Last => self.last,
        }
    }
}

/// Buckets of one series: bucket start (ms UTC) → partial aggregate.
type Buckets = BTreeMap<i64, Agg>;

/// A node roll-up group: carrier, unit, contributing meters, summed buckets.
type Group = (Carrier, Unit, Vec<String>, Buckets);

impl Platform {
    /// Answers a query.
    pub fn query(&self, spec: &QuerySpec) -> Result<QueryAnswer, PlatformError> {
        if spec.from >= spec.to {
            return Err(PlatformError::Invalid(
                "'from' must be earlier than 'to'".into(),
            ));
        }
        let registry = self.registry.read();
        let tree = registry.tree();
        let (target_id, kind, tz, members): (String, &str, Tz, Vec<&MeterSpec>) = match &spec.target
        {
            Target::Meter(id) => {
                let meter = tree
                    .meter(id)
                    .ok_or_else(|| PlatformError::NotFound(format!("meter '{id}'")))?;
                if !meter.carrier.is_additive() && spec.aggregate == Aggregate::Sum {
                    return Err(PlatformError::Invalid(format!(
                        "aggregate 'sum' is not defined for {} meter '{id}'; use agg=mean, min, max or last",
                        meter.carrier
                    )));
                }
                (
                    id.clone(),
                    "meter",
                    tree.timezone_of_node(&meter.node),
                    vec![meter],
                )
            }
            Target::Node(id) => {
                if tree.node(id).is_none() {
                    return Err(PlatformError::NotFound(format!("node '{id}'")));
                }
                if spec.aggregate != Aggregate::Sum {
                    return Err(PlatformError::Invalid(format!(
                            "aggregate '{:?}' is not defined for a roll-up over a node; use sum, or query a meter",
                            spec.aggregate
                        ).to_lowercase()));
                }
                let meters = tree
                    .subtree_meters(id)
                    .into_iter()
                    // States such as air temperature are not rolled up over meters.
                    .filter(|m| m.carrier.is_additive())
                    .filter(|m| spec.carrier.is_none_or(|c| m.carrier == c))
                    .collect();
                (id.clone(), "node", tree.timezone_of_node(id), meters)
            }
        };
        let from = bucket_start(spec.from, spec.bucket, tz);
        let last_start = bucket_start(spec.to - 1, spec.bucket, tz);
        let to = bucket_next(last_start, spec.bucket, tz);

        // Which series of each meter answers, and in which unit.
        let mut wanted = Vec::with_capacity(members.len());
        for meter in &members {
            let Some(series) = registry.series_of(&meter.id) else {
                continue;
            };
            let use_raw = match (meter.reading, spec.aggregate) {
                (ReadingKind::Interval, _) | (_, Aggregate::Sum) => false,
                (ReadingKind::Cumulative, Aggregate::Last) => true,
                (ReadingKind::Cumulative, _) => false,
                (ReadingKind::Instantaneous, _) => true,
            };
            let (id, unit) = if use_raw {
                (series.raw, meter.unit)
            } else {
                (series.quantity, meter.quantity_unit())
            };
            wanted.push((*meter, id, unit));
        }
        let ids: Vec<u32> = wanted.iter().map(|w| w.1).collect();
        let (source, mut buckets) = self.bucketed(&ids, spec.bucket, tz, from, to)?;

        let mut series_out: Vec<SeriesAnswer> = Vec::new();
        match spec.target {
            Target::Meter(_) => {
                for (meter, id, unit) in &wanted {
                    let b = buckets.remove(id).unwrap_or_default();
                    series_out.push(SeriesAnswer {
                        carrier: meter.carrier,
                        unit: unit.to_string(),
                        meters: vec![meter.id.clone()],
                        points: points_of(&b, spec.aggregate, tz),
                    });
                }
            }
            Target::Node(_) => {
                // Group by carrier and unit; convert each meter into the carrier's unit.
                let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
                for (meter, id, unit) in &wanted {
                    let target_unit = group_unit(meter.carrier, *unit);
                    let factor = unit.convert(1.0, target_unit).unwrap_or(1.0);
                    let key = (meter.carrier.to_string(), target_unit.to_string());
                    let entry = groups.entry(key).or_insert_with(|| {
                        (meter.carrier, target_unit, Vec::new(), Buckets::new())
                    });
                    entry.2.push(meter.id.clone());
                    if let Some(b) = buckets.get(id) {
                        for (start, agg) in b {
                            let mut scaled = *agg;
                            scaled.sum *= factor;
                            scaled.min *= factor;
                            scaled.max *= factor;
                            scaled.last *= factor;
                            entry
                                .3
                                .entry(*start)
                                .and_modify(|a| a.merge(&scaled))
                                .or_insert(scaled);
                        }
                    }
                }
                for (_, (carrier, unit, meters, b)) in groups {
                    series_out.push(SeriesAnswer {
                        carrier,
                        unit: unit.to_string(),
                        meters,
                        points: points_of(&b, spec.aggregate, tz),
                    });
                }
            }
        }
        Ok(QueryAnswer {
            target: target_id,
            target_kind: kind.to_string(),
            timezone: tz.name().to_string(),
            from: shulv_model::format_local(from, tz),
            to: shulv_model::format_local(to, tz),
            bucket: spec.bucket.as_str().to_string(),
            aggregate: spec.aggregate,
            source,
            series: series_out,
        })
    }

    /// Bucketed partial aggregates of `series` over `[from, to)` (bucket-aligned).
    fn bucketed(
        &self,
        series: &[u32],
        bucket: Bucket,
        tz: Tz,
        from: i64,
        to: i64,
    ) -> Result<(String, BTreeMap<u32, Buckets>), PlatformError> {
        let level = match bucket {
            Bucket::Hour if whole_hour_offsets(tz, from, to) => Some(Level::Hour),
            Bucket::Day | Bucket::Week => Some(Level::Day),
            Bucket::Month | Bucket::Year => Some(Level::Month),
            _ => None,
        };
        let mut out: BTreeMap<u32, Buckets> = BTreeMap::new();
        match level {
            Some(level) => {
                for row in self.store.rollups(series, level, from, to)? {
                    let start = bucket_start(row.bucket_start, bucket, tz);
                    let agg = Agg::of_rollup(&row);
                    out.entry(row.series)
                        .or_default()
                        .entry(start)
                        .and_modify(|a| a.merge(&agg))
                        .or_insert(agg);
                }
                Ok((format!("rollup:{}", level_name(level)), out))
            }
            None => {
                let mut raw = self.store.raw_many(series, &[(from, to)])?;
                for &s in series {
                    let b = out.entry(s).or_default();
                    for (ts, v) in raw.remove(&s).unwrap_or_default() {
                        let agg = Agg::of_point(ts, v);
                        b.entry(bucket_start(ts, bucket, tz))
                            .and_modify(|a| a.merge(&agg))
                            .or_insert(agg);
                    }
                }
                Ok(("raw".to_string(), out))
            }
        }
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Hour => "hour",
        Level::Day => "day",
        Level::Month => "month",
    }
}

/// True if `tz` is a whole number of hours from UTC over the range, so UTC hour rollups are local hours.
pub(crate) fn whole_hour_offsets(tz: Tz, from: i64, to: i64) -> bool {
    whole_offsets(tz, from, to, 3600)
}

/// True if `tz` is a whole number of `step_s` seconds from UTC over the range.
pub(crate) fn whole_offsets(tz: Tz, from: i64, to: i64, step_s: i64) -> bool {
    [from, to - 1].iter().all(|&ms| {
        chrono::DateTime::from_timestamp_millis(ms).is_some_and(|t| {
            i64::from(t.with_timezone(&tz).offset().fix().local_minus_utc()) % step_s == 0
        })
    })
}

/// Unit in which a carrier's meters are rolled up: the carrier's canonical unit when the meter's
/// unit converts to it, else the meter's own unit (a separate group).
pub fn group_unit(carrier: Carrier, unit: Unit) -> Unit {
    let canonical = carrier.canonical_unit();
    if unit.convert(1.0, canonical).is_ok() {
        canonical
    } else {
        unit
    }
}

fn points_of(b: &Buckets, aggregate: Aggregate, tz: Tz) -> Vec<BucketValue> {
    b.iter()
        .map(|(&ts, agg)| BucketValue {
            start: shulv_model::format_local(ts, tz),
            ts,
            value: agg.value(aggregate),
            count: agg.count,
        })
        .collect()
}
