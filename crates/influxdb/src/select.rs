//! SELECT: choosing and grouping series, reading them, and making the rows.

use std::collections::{BTreeMap, BTreeSet};

use chrono_tz::Tz;
use shulv_influxql::{time_range, Dimension, Fill, Select};
use shulv_platform::{Platform, EARLIEST_ACCEPTED_MS, MAX_FUTURE_MS};

use crate::accumulate::{Acc, BucketAccs, Need};
use crate::buckets::Buckets;
use crate::catalog::{Catalog, SeriesRef, FIELD};
use crate::fetch;
use crate::fields::{arithmetic, Column, Fields, Mode};
use crate::filter::{compile, TagFilter};
use crate::result::{Cell, Series};

/// Most cells (groups × time buckets) one SELECT may compute.
pub const MAX_BUCKETS: i64 = 5_000_000;

/// Runs `select` over `catalog`; `now_ms` is the query's `now()`.
pub fn run(
    platform: &Platform,
    catalog: &Catalog,
    select: &Select,
    now_ms: i64,
    aggregates_only: bool,
) -> Result<Vec<Series>, String> {
    let tz = select
        .tz
        .as_deref()
        .map(|z| {
            z.parse::<Tz>()
                .map_err(|_| format!("unable to find time zone {z}"))
        })
        .transpose()?;
    let (group_time, tag_dims) = dimensions(&select.dimensions)?;
    let fields = Fields::new(&select.fields, group_time.map(|g| g.0))?;
    if aggregates_only && fields.mode != Mode::Aggregate {
        return Err(
            "this credential may read aggregates only: select a function such as sum(\"value\")"
                .into(),
        );
    }
    let range = match &select.condition {
        Some(c) => time_range(c, now_ms).map_err(|e| e.to_string())?,
        None => Default::default(),
    };
    let filter = TagFilter::new(select.condition.as_ref())?;
    let selected: Vec<&SeriesRef> = catalog
        .of_sources(&select.sources)?
        .into_iter()
        .filter(|s| filter.matches(s))
        .collect();
    let keys = tag_dims.keys(&selected);
    let groups = group(selected, &keys, select.slimit, select.soffset);

    let from = range.from_ms;
    let (from, to) = match group_time {
        Some(_) => (
            from.ok_or(
                "a GROUP BY time() query needs a lower time bound: add WHERE time > now() - 1d or similar",
            )?,
            range.to_ms.unwrap_or(now_ms + 1),
        ),
        None => (
            from.unwrap_or(EARLIEST_ACCEPTED_MS),
            range.to_ms.unwrap_or(now_ms + MAX_FUTURE_MS + 1),
        ),
    };
    if from >= to || groups.is_empty() {
        return Ok(Vec::new());
    }
    let buckets = match group_time {
        Some((interval, offset)) => Buckets::Every {
            interval,
            offset,
            tz,
        },
        None => Buckets::Whole {
            start: range.from_ms.unwrap_or(0),
        },
    };
    let out = Output {
        select,
        fields: &fields,
        keys: &keys,
        tz,
    };
    let range = (from, to);
    match fields.mode {
        Mode::Aggregate => out.aggregate(platform, &groups, &buckets, range),
        Mode::Raw | Mode::RawTransform => out.raw(platform, &groups, range),
    }
}

/// `GROUP BY` time interval and offset in ms, and the tag dimensions.
fn dimensions(dims: &[Dimension]) -> Result<(Option<(i64, i64)>, TagDims), String> {
    let mut time = None;
    let mut tags = TagDims::default();
    for d in dims {
        match d {
            Dimension::Time { interval, offset } => {
                if time.is_some() {
                    return Err("multiple time dimensions".into());
                }
                let ms = interval.as_nanos() / 1_000_000;
                if ms < 1 || interval.as_nanos() % 1_000_000 != 0 {
                    return Err("GROUP BY time() intervals are whole milliseconds in shulv".into());
                }
                let offset = offset
                    .map_or(0, |o| o.as_nanos() / 1_000_000)
                    .rem_euclid(ms);
                time = Some((ms, offset));
            }
            Dimension::Tag(k) => tags.names.push(k.clone()),
            Dimension::Wildcard => tags.all = true,
            Dimension::Regex(r) => tags.patterns.push(compile(&r.pattern)?),
        }
    }
    Ok((time, tags))
}

/// The tag dimensions of `GROUP BY`.
#[derive(Default)]
struct TagDims {
    names: Vec<String>,
    all: bool,
    patterns: Vec<regex::Regex>,
}

impl TagDims {
    /// The tag keys to group by: named ones in order, then every (or every matching) key of
    /// the selected series, sorted.
    fn keys(&self, series: &[&SeriesRef]) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        for n in &self.names {
            if !keys.contains(n) {
                keys.push(n.clone());
            }
        }
        if self.all || !self.patterns.is_empty() {
            let present: BTreeSet<&str> = series
                .iter()
                .flat_map(|s| s.tags.keys().map(String::as_str))
                .collect();
            for k in present {
                if (self.all || self.patterns.iter().any(|p| p.is_match(k)))
                    && !keys.iter().any(|x| x == k)
                {
                    keys.push(k.to_string());
                }
            }
        }
        keys
    }
}

/// A group: measurement and the values of the group keys.
type GroupKey = (String, Vec<String>);

/// A group's key and its series.
type Group<'a> = (GroupKey, Vec<&'a SeriesRef>);

fn group<'a>(
    series: Vec<&'a SeriesRef>,
    keys: &[String],
    slimit: Option<u64>,
    soffset: Option<u64>,
) -> Vec<Group<'a>> {
    let mut groups: BTreeMap<GroupKey, Vec<&SeriesRef>> = BTreeMap::new();
    for s in series {
        let values = keys.iter().map(|k| s.tag(k).to_string()).collect();
        groups
            .entry((s.measurement.clone(), values))
            .or_default()
            .push(s);
    }
    let skip = usize::try_from(soffset.unwrap_or(0)).unwrap_or(usize::MAX);
    let take = slimit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    groups.into_iter().skip(skip).take(take).collect()
}

/// Values of series in different units are never added up.
fn check_units(measurement: &str, members: &[&SeriesRef]) -> Result<(), String> {
    let units: BTreeSet<&str> = members.iter().map(|s| s.tag("unit")).collect();
    if units.len() > 1 {
        let list: Vec<&str> = units.into_iter().collect();
        return Err(format!(
            "series of '{measurement}' in one group have different units ({}); add GROUP BY \"unit\" or WHERE \"unit\" = '{}'",
            list.join(", "),
            list[0]
        ));
    }
    Ok(())
}

/// True if the answer shows a selector's own point time: one selector, no GROUP BY time().
fn shows_point_time(fields: &Fields) -> bool {
    matches!(&fields.columns[..], [(_, Column::Aggregate(i))] if fields.aggregates[*i].is_selector())
}

/// What shapes the rows of one SELECT.
struct Output<'a> {
    select: &'a Select,
    fields: &'a Fields,
    keys: &'a [String],
    tz: Option<Tz>,
}

impl Output<'_> {
    /// Aggregates per group and bucket.
    fn aggregate(
        &self,
        platform: &Platform,
        groups: &[Group<'_>],
        buckets: &Buckets,
        (from, to): (i64, i64),
    ) -> Result<Vec<Series>, String> {
        let cells = buckets.count(from, to).saturating_mul(groups.len() as i64);
        if cells > MAX_BUCKETS {
            return Err(format!(
                "max-select-buckets limit exceeded: ({cells}/{MAX_BUCKETS}); use a longer GROUP BY time() interval or a shorter range"
            ));
        }
        for (key, members) in groups {
            check_units(&key.0, members)?;
        }
        let fields = self.fields;
        let mut need = fields
            .aggregates
            .iter()
            .map(|a| a.need())
            .max()
            .unwrap_or(Need::Rollups);
        if matches!(buckets, Buckets::Whole { .. }) && shows_point_time(fields) {
            need = need.max(Need::First);
        }
        let members: Vec<Vec<&SeriesRef>> = groups.iter().map(|g| g.1.clone()).collect();
        let starts = buckets.starts(from, to);
        let accs = fetch::aggregate(
            platform.store(),
            &members,
            (from, to),
            buckets,
            &starts,
            need,
        )?;
        Ok(groups
            .iter()
            .zip(accs)
            .filter_map(|((key, _), accs)| self.aggregate_series(key, &accs, buckets, &starts))
            .collect())
    }

    /// Stored points (or their transformations), one row each.
    fn raw(
        &self,
        platform: &Platform,
        groups: &[Group<'_>],
        (from, to): (i64, i64),
    ) -> Result<Vec<Series>, String> {
        let select = self.select;
        let mode = self.fields.mode;
        let descending = select.descending && mode == Mode::Raw;
        let wanted = match (mode, select.limit) {
            (Mode::Raw, Some(l)) => Some(
                usize::try_from(l.saturating_add(select.offset.unwrap_or(0))).unwrap_or(usize::MAX),
            ),
            _ => None,
        };
        let members: Vec<Vec<&SeriesRef>> = groups.iter().map(|g| g.1.clone()).collect();
        let points = fetch::points(platform.store(), &members, from, to, descending, wanted)?;
        Ok(groups
            .iter()
            .zip(points)
            .filter_map(|((key, members), pts)| self.raw_series(key, members, &pts))
            .collect())
    }

    fn series(&self, key: &GroupKey, columns: Vec<String>, values: Vec<Vec<Cell>>) -> Series {
        let tags = self
            .keys
            .iter()
            .cloned()
            .zip(key.1.iter().cloned())
            .collect();
        let mut all = vec!["time".to_string()];
        all.extend(columns);
        Series {
            name: Some(key.0.clone()),
            tags,
            columns: all,
            values,
            tz: self.tz,
        }
    }

    /// Applies ORDER BY, OFFSET and LIMIT to rows in ascending time order.
    fn page(&self, mut rows: Vec<Vec<Cell>>, already_ordered: bool) -> Vec<Vec<Cell>> {
        if self.select.descending && !already_ordered {
            rows.reverse();
        }
        let skip = usize::try_from(self.select.offset.unwrap_or(0)).unwrap_or(usize::MAX);
        let take = self
            .select
            .limit
            .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
        rows.into_iter().skip(skip).take(take).collect()
    }

    fn aggregate_series(
        &self,
        key: &GroupKey,
        accs: &BucketAccs,
        buckets: &Buckets,
        all_starts: &[i64],
    ) -> Option<Series> {
        if accs.is_empty() {
            return None;
        }
        let fields = self.fields;
        let mut starts = all_starts.to_vec();
        if self.select.fill == Fill::None {
            starts.retain(|&s| accs.get(s).is_some_and(|a| a.count > 0));
        }
        let empty = Acc::default();
        let mut columns: Vec<Vec<Option<f64>>> = Vec::with_capacity(fields.aggregates.len());
        let mut point_times: Vec<Vec<Option<i64>>> = Vec::with_capacity(fields.aggregates.len());
        for spec in &fields.aggregates {
            let values: Vec<Option<(f64, Option<i64>)>> = starts
                .iter()
                .map(|&s| spec.value(accs.get(s).unwrap_or(&empty)))
                .collect();
            point_times.push(values.iter().map(|v| v.and_then(|v| v.1)).collect());
            let mut column: Vec<Option<f64>> = values.iter().map(|v| v.map(|v| v.0)).collect();
            let is_count = spec.function == shulv_influxql::Function::Count;
            if is_count && self.select.fill == Fill::Null {
                // InfluxDB counts 0 in empty buckets; other fills replace those zeros.
                column.iter_mut().for_each(|c| *c = c.or(Some(0.0)));
            }
            fill(&mut column, &starts, self.select.fill);
            columns.push(column);
        }
        let outputs: Vec<Vec<Option<f64>>> = fields
            .columns
            .iter()
            .map(|(_, c)| evaluate(c, &starts, &columns, None))
            .collect();
        let integer: Vec<bool> = fields
            .columns
            .iter()
            .map(|(_, c)| matches!(c, Column::Aggregate(i) if fields.aggregates[*i].function == shulv_influxql::Function::Count))
            .collect();
        let has_transform = fields.columns.iter().any(|(_, c)| has_transform(c));
        let point_time = matches!(buckets, Buckets::Whole { .. }) && shows_point_time(fields);
        let mut rows = Vec::with_capacity(starts.len());
        for (i, &start) in starts.iter().enumerate() {
            if has_transform && outputs.iter().all(|c| c[i].is_none()) {
                continue;
            }
            let time = if point_time {
                point_times[0][i].unwrap_or(start)
            } else {
                start
            };
            let mut row = vec![Cell::Time(time)];
            for (c, is_int) in outputs.iter().zip(&integer) {
                row.push(match c[i] {
                    Some(v) if *is_int && v.fract() == 0.0 => Cell::Integer(v as i64),
                    v => Cell::number(v),
                });
            }
            rows.push(row);
        }
        let names = fields.columns.iter().map(|(n, _)| n.clone()).collect();
        Some(self.series(key, names, self.page(rows, false)))
    }

    fn raw_series(
        &self,
        key: &GroupKey,
        members: &[&SeriesRef],
        points: &[fetch::RawPoint],
    ) -> Option<Series> {
        if points.is_empty() {
            return None;
        }
        let mut columns: Vec<(String, Column)> = Vec::new();
        if self.fields.star {
            let mut names: BTreeSet<&str> = members
                .iter()
                .flat_map(|s| s.tags.keys().map(String::as_str))
                .filter(|k| !self.keys.iter().any(|g| g == k))
                .collect();
            names.insert(FIELD);
            for n in names {
                let c = if n == FIELD {
                    Column::Value
                } else {
                    Column::Tag(n.to_string())
                };
                columns.push((n.to_string(), c));
            }
        }
        columns.extend(self.fields.columns.iter().cloned());
        let names = columns.iter().map(|(n, _)| n.clone()).collect();
        let times: Vec<i64> = points.iter().map(|p| p.0).collect();
        let values: Vec<Option<f64>> = points.iter().map(|p| Some(p.1)).collect();
        let rows: Vec<Vec<Cell>> = if self.fields.mode == Mode::RawTransform {
            let outputs: Vec<Vec<Option<f64>>> = columns
                .iter()
                .map(|(_, c)| evaluate(c, &times, &[], Some(&values)))
                .collect();
            (0..points.len())
                .filter(|&i| outputs.iter().any(|c| c[i].is_some()))
                .map(|i| {
                    let mut row = vec![Cell::Time(times[i])];
                    row.extend(outputs.iter().map(|c| Cell::number(c[i])));
                    row
                })
                .collect()
        } else {
            points
                .iter()
                .map(|&(ts, v, i)| {
                    let mut row = vec![Cell::Time(ts)];
                    row.extend(columns.iter().map(|(_, c)| raw_cell(c, v, members[i])));
                    row
                })
                .collect()
        };
        let ordered = self.fields.mode == Mode::Raw;
        Some(self.series(key, names, self.page(rows, ordered)))
    }
}

/// One cell of a raw row.
fn raw_cell(c: &Column, value: f64, series: &SeriesRef) -> Cell {
    match c {
        Column::Tag(k) => match series.tags.get(k) {
            Some(v) => Cell::text(v.clone()),
            None => Cell::Null,
        },
        _ => Cell::number(raw_number(c, value)),
    }
}

fn raw_number(c: &Column, value: f64) -> Option<f64> {
    match c {
        Column::Value => Some(value),
        Column::Const(k) => Some(*k),
        Column::Binary(op, a, b) => arithmetic(*op, raw_number(a, value), raw_number(b, value)),
        _ => None,
    }
}

/// The values of column `c` at `times`, from the aggregate columns or the raw values.
fn evaluate(
    c: &Column,
    times: &[i64],
    aggregates: &[Vec<Option<f64>>],
    raw: Option<&[Option<f64>]>,
) -> Vec<Option<f64>> {
    match c {
        Column::Const(k) => vec![Some(*k); times.len()],
        Column::Aggregate(i) => aggregates[*i].clone(),
        Column::Value => raw.map_or_else(|| vec![None; times.len()], <[_]>::to_vec),
        Column::Tag(_) => vec![None; times.len()],
        Column::Transform(t, inner) => t.apply(times, &evaluate(inner, times, aggregates, raw)),
        Column::Binary(op, a, b) => {
            let (a, b) = (
                evaluate(a, times, aggregates, raw),
                evaluate(b, times, aggregates, raw),
            );
            a.into_iter()
                .zip(b)
                .map(|(x, y)| arithmetic(*op, x, y))
                .collect()
        }
    }
}

fn has_transform(c: &Column) -> bool {
    match c {
        Column::Transform(..) => true,
        Column::Binary(_, a, b) => has_transform(a) || has_transform(b),
        _ => false,
    }
}

/// `fill(…)` of the empty buckets of one aggregate column.
fn fill(column: &mut [Option<f64>], starts: &[i64], how: Fill) {
    match how {
        Fill::Null | Fill::None => {}
        Fill::Value(v) => column
            .iter_mut()
            .filter(|c| c.is_none())
            .for_each(|c| *c = Some(v)),
        Fill::Previous => {
            let mut last = None;
            for c in column.iter_mut() {
                match c {
                    Some(v) => last = Some(*v),
                    None => *c = last,
                }
            }
        }
        Fill::Linear => {
            let known: Vec<usize> = (0..column.len()).filter(|&i| column[i].is_some()).collect();
            for w in known.windows(2) {
                let (a, b) = (w[0], w[1]);
                let (va, vb) = (column[a].unwrap_or(0.0), column[b].unwrap_or(0.0));
                let (ta, tb) = (starts[a] as f64, starts[b] as f64);
                for (i, cell) in column.iter_mut().enumerate().take(b).skip(a + 1) {
                    *cell = Some(va + (vb - va) * (starts[i] as f64 - ta) / (tb - ta));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fill;
    use shulv_influxql::Fill;

    #[test]
    fn fills_empty_buckets() {
        let starts = [0, 10, 20, 30, 40];
        let base = [None, Some(1.0), None, Some(5.0), None];
        let mut c = base;
        fill(&mut c, &starts, Fill::Linear);
        assert_eq!(c, [None, Some(1.0), Some(3.0), Some(5.0), None]);
        let mut c = base;
        fill(&mut c, &starts, Fill::Previous);
        assert_eq!(c, [None, Some(1.0), Some(1.0), Some(5.0), Some(5.0)]);
        let mut c = base;
        fill(&mut c, &starts, Fill::Value(0.0));
        assert_eq!(c, [Some(0.0), Some(1.0), Some(0.0), Some(5.0), Some(0.0)]);
    }
}
