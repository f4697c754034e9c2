//! The SHOW statements Grafana's query editor and the clients send.

use std::collections::{BTreeMap, BTreeSet};

use shulv_influxql::{
    ShowFieldKeys, ShowMeasurements, ShowSeries, ShowTagKeys, ShowTagValues, TagKeySelector,
};

use crate::catalog::{Catalog, NameMatcher, SeriesRef, FIELD, RETENTION_POLICY};
use crate::filter::{compile, TagFilter};
use crate::result::{Cell, Series};

/// `SHOW DATABASES`
pub fn databases(names: Vec<String>) -> Vec<Series> {
    let rows = names.into_iter().map(|n| vec![Cell::Text(n)]).collect();
    vec![Series::plain(Some("databases"), &["name"], rows)]
}

/// `SHOW RETENTION POLICIES`: the one policy, kept forever.
pub fn retention_policies() -> Vec<Series> {
    let row = vec![
        Cell::text(RETENTION_POLICY),
        Cell::text("0s"),
        Cell::text("168h0m0s"),
        Cell::Integer(1),
        Cell::Bool(true),
    ];
    let columns = [
        "name",
        "duration",
        "shardGroupDuration",
        "replicaN",
        "default",
    ];
    vec![Series::plain(None, &columns, vec![row])]
}

/// `SHOW MEASUREMENTS`
pub fn measurements(catalog: &Catalog, s: &ShowMeasurements) -> Result<Vec<Series>, String> {
    let filter = TagFilter::new(s.condition.as_ref())?;
    let with = s
        .with_measurement
        .as_ref()
        .map(NameMatcher::new)
        .transpose()?;
    let names: BTreeSet<&str> = catalog
        .series
        .iter()
        .filter(|r| filter.matches(r))
        .map(|r| r.measurement.as_str())
        .filter(|m| with.as_ref().is_none_or(|w| w.is_match(m)))
        .collect();
    let rows = page(names.into_iter(), s.limit, s.offset)
        .map(|n| vec![Cell::text(n)])
        .collect::<Vec<_>>();
    Ok(non_empty(Series::plain(
        Some("measurements"),
        &["name"],
        rows,
    )))
}

/// `SHOW TAG KEYS`: one series per measurement.
pub fn tag_keys(catalog: &Catalog, s: &ShowTagKeys) -> Result<Vec<Series>, String> {
    let filter = TagFilter::new(s.condition.as_ref())?;
    let mut keys: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in selected(catalog, &s.sources, &filter)? {
        let entry = keys.entry(r.measurement.as_str()).or_default();
        entry.extend(r.tags.keys().map(String::as_str));
    }
    Ok(keys
        .into_iter()
        .map(|(m, ks)| {
            let rows = page(ks.into_iter(), s.limit, s.offset)
                .map(|k| vec![Cell::text(k)])
                .collect();
            Series::plain(Some(m), &["tagKey"], rows)
        })
        .filter(|s| !s.values.is_empty())
        .collect())
}

/// `SHOW TAG VALUES WITH KEY …`: one series per measurement, rows of key and value.
pub fn tag_values(catalog: &Catalog, s: &ShowTagValues) -> Result<Vec<Series>, String> {
    let filter = TagFilter::new(s.condition.as_ref())?;
    let wanted: Box<dyn Fn(&str) -> bool> = match &s.key {
        TagKeySelector::Eq(k) => {
            let k = k.clone();
            Box::new(move |key| key == k)
        }
        TagKeySelector::In(ks) => {
            let ks = ks.clone();
            Box::new(move |key| ks.iter().any(|k| k == key))
        }
        TagKeySelector::Regex(r) => {
            let re = compile(&r.pattern)?;
            Box::new(move |key| re.is_match(key))
        }
    };
    let mut pairs: BTreeMap<&str, BTreeSet<(&str, &str)>> = BTreeMap::new();
    for r in selected(catalog, &s.sources, &filter)? {
        let entry = pairs.entry(r.measurement.as_str()).or_default();
        for (k, v) in &r.tags {
            if wanted(k) {
                entry.insert((k.as_str(), v.as_str()));
            }
        }
    }
    Ok(pairs
        .into_iter()
        .map(|(m, kvs)| {
            let rows = page(kvs.into_iter(), s.limit, s.offset)
                .map(|(k, v)| vec![Cell::text(k), Cell::text(v)])
                .collect();
            Series::plain(Some(m), &["key", "value"], rows)
        })
        .filter(|s| !s.values.is_empty())
        .collect())
}

/// `SHOW FIELD KEYS`: `value`, a float, in every measurement.
pub fn field_keys(catalog: &Catalog, s: &ShowFieldKeys) -> Result<Vec<Series>, String> {
    let measurements: BTreeSet<&str> = selected(catalog, &s.sources, &TagFilter::All)?
        .map(|r| r.measurement.as_str())
        .collect();
    Ok(measurements
        .into_iter()
        .map(|m| {
            let row = vec![Cell::text(FIELD), Cell::text("float")];
            Series::plain(Some(m), &["fieldKey", "fieldType"], vec![row])
        })
        .collect())
}

/// `SHOW SERIES`: the series keys (`measurement,tag=value,…`).
pub fn series(catalog: &Catalog, s: &ShowSeries) -> Result<Vec<Series>, String> {
    let filter = TagFilter::new(s.condition.as_ref())?;
    let keys: BTreeSet<String> = selected(catalog, &s.sources, &filter)?
        .map(series_key)
        .collect();
    let rows = page(keys.into_iter(), s.limit, s.offset)
        .map(|k| vec![Cell::Text(k)])
        .collect();
    Ok(non_empty(Series::plain(None, &["key"], rows)))
}

/// The series of `sources` that pass `filter`.
fn selected<'a>(
    catalog: &'a Catalog,
    sources: &[shulv_influxql::Source],
    filter: &'a TagFilter,
) -> Result<impl Iterator<Item = &'a SeriesRef> + 'a, String> {
    Ok(catalog
        .of_sources(sources)?
        .into_iter()
        .filter(move |r| filter.matches(r)))
}

/// InfluxDB's series key, with its line-protocol escapes.
fn series_key(r: &SeriesRef) -> String {
    let escape = |s: &str| {
        s.replace('\\', "\\\\")
            .replace(',', "\\,")
            .replace('=', "\\=")
            .replace(' ', "\\ ")
    };
    let mut key = escape(&r.measurement);
    for (k, v) in &r.tags {
        key.push(',');
        key.push_str(&escape(k));
        key.push('=');
        key.push_str(&escape(v));
    }
    key
}

fn page<T>(
    items: impl Iterator<Item = T>,
    limit: Option<u64>,
    offset: Option<u64>,
) -> impl Iterator<Item = T> {
    let offset = usize::try_from(offset.unwrap_or(0)).unwrap_or(usize::MAX);
    let limit = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    items.skip(offset).take(limit)
}

/// InfluxDB leaves `series` out when there is nothing to list.
fn non_empty(series: Series) -> Vec<Series> {
    if series.values.is_empty() {
        Vec::new()
    } else {
        vec![series]
    }
}
