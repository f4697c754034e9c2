//! Panels (面板数据): values of indicators for regions and years, imported from
//!
//! - **long** CSV: one value a row, columns region, year, indicator, value (names detected, or
//!   given; a file of one indicator, such as the CEADs emissions, names its value column and
//!   the indicator id instead of an indicator column);
//! - **wide** CSV: columns region, year, then one column per indicator;
//! - the **National Bureau of Statistics** province export (国家统计局 分省年度数据): a title line
//!   `指标：<indicator>(<unit>)`, a header `地区,2023年,2022年,…`, one row per province, then notes
//!   (`注：`, `数据来源：`).
//!
//! An empty cell (or `-`, `…`, `NA`) is a gap: kept as a gap, never filled. Every other cell
//! that is no number is an error naming file, line and column. A value given twice is an error
//! naming both places.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::regions;

/// Bad panel input: where and what.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{source_name}:{line}{}: {message}", column.map(|c| format!(":{c}")).unwrap_or_default())]
pub struct ImportError {
    /// File name.
    pub source_name: String,
    /// 1-based line (0 when the file as a whole is wrong).
    pub line: usize,
    /// 1-based column (field number), if one field is wrong.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// The layout of a panel file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// One value a row.
    Long,
    /// One indicator a column.
    Wide,
    /// National Bureau of Statistics province export.
    Nbs,
}

impl Layout {
    /// Parses `long`, `wide` or `nbs`.
    pub fn parse(s: &str) -> Option<Layout> {
        match s {
            "long" => Some(Layout::Long),
            "wide" => Some(Layout::Wide),
            "nbs" => Some(Layout::Nbs),
            _ => None,
        }
    }

    /// Guesses the layout from the first lines of a CSV text.
    pub fn detect(text: &str) -> Layout {
        let head: Vec<&str> = text.lines().take(6).collect();
        if head
            .iter()
            .any(|l| l.starts_with("数据库") || l.starts_with("指标") || l.starts_with("地区,"))
        {
            return Layout::Nbs;
        }
        let header = head.first().copied().unwrap_or("").to_ascii_lowercase();
        let fields: Vec<&str> = header.split(',').map(str::trim).collect();
        if fields.iter().any(|f| INDICATOR_NAMES.contains(f))
            && fields.iter().any(|f| VALUE_NAMES.contains(f))
        {
            Layout::Long
        } else {
            Layout::Wide
        }
    }
}

const REGION_NAMES: [&str; 7] = [
    "region", "province", "actor_id", "地区", "省份", "code", "adcode",
];
const YEAR_NAMES: [&str; 3] = ["year", "年份", "年"];
const INDICATOR_NAMES: [&str; 3] = ["indicator", "指标", "variable"];
const VALUE_NAMES: [&str; 3] = ["value", "数值", "值"];

/// Column names of a long CSV; `None` = detect from the usual names.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LongColumns {
    /// Region column.
    pub region: Option<String>,
    /// Year column.
    pub year: Option<String>,
    /// Indicator column; absent when the file holds one indicator (see `indicator_id`).
    pub indicator: Option<String>,
    /// Value column.
    pub value: Option<String>,
    /// The indicator id of a file of one indicator.
    pub indicator_id: Option<String>,
}

/// One imported cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// Region key (ISO code of a province, else the name as written).
    pub region: String,
    /// Year.
    pub year: i32,
    /// Indicator id.
    pub indicator: String,
    /// The value; `None` for a cell left empty in the file.
    pub value: Option<f64>,
    /// `file:line:column` of the cell.
    pub origin: String,
}

fn err(source: &str, line: usize, column: Option<usize>, message: String) -> ImportError {
    ImportError {
        source_name: source.into(),
        line,
        column,
        message,
    }
}

fn reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes())
}

/// A value cell: a number, or a gap for an empty/placeholder cell.
fn cell(s: &str) -> Result<Option<f64>, String> {
    let s = s.trim();
    if s.is_empty() || matches!(s, "-" | "--" | "…" | "..." | "NA" | "N/A" | "NaN" | "null") {
        return Ok(None);
    }
    match s.replace(',', "").parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(format!(
            "{s:?} is not a number (leave the cell empty for a gap)"
        )),
    }
}

fn year(s: &str) -> Result<i32, String> {
    let t = s.trim().trim_end_matches('年');
    match t.parse::<i32>() {
        Ok(y) if (1900..=2200).contains(&y) => Ok(y),
        _ => Err(format!("{s:?} is not a year")),
    }
}

fn find(header: &[String], wanted: &Option<String>, names: &[&str]) -> Option<usize> {
    match wanted {
        Some(w) => header.iter().position(|h| h == w),
        None => header
            .iter()
            .position(|h| names.contains(&h.to_ascii_lowercase().as_str())),
    }
}

/// Reads a long CSV.
pub fn parse_long(
    text: &str,
    source: &str,
    columns: &LongColumns,
) -> Result<Vec<Observation>, ImportError> {
    let mut rows = reader(text).into_records();
    let header: Vec<String> = match rows.next() {
        Some(Ok(r)) => r.iter().map(str::to_string).collect(),
        _ => return Err(err(source, 1, None, "no header line".into())),
    };
    let need = |wanted: &Option<String>, names: &[&str], what: &str| {
        find(&header, wanted, names).ok_or_else(|| {
            err(
                source,
                1,
                None,
                format!(
                    "no {what} column ({}); the header is {header:?}",
                    wanted.as_ref().map_or_else(
                        || format!("looked for {names:?}"),
                        |w| format!("asked for {w:?}")
                    )
                ),
            )
        })
    };
    let rc = need(&columns.region, &REGION_NAMES, "region")?;
    let yc = need(&columns.year, &YEAR_NAMES, "year")?;
    let vc = need(&columns.value, &VALUE_NAMES, "value")?;
    let ic = match (&columns.indicator, &columns.indicator_id) {
        (None, Some(_)) => None,
        (wanted, _) => Some(need(wanted, &INDICATOR_NAMES, "indicator")?),
    };
    let mut out = Vec::new();
    for (i, row) in rows.enumerate() {
        let line = i + 2;
        let row = row.map_err(|e| err(source, line, None, e.to_string()))?;
        if row.iter().all(str::is_empty) {
            continue;
        }
        let field = |c: usize| {
            row.get(c).ok_or_else(|| {
                err(
                    source,
                    line,
                    Some(c + 1),
                    format!("the row has only {} fields", row.len()),
                )
            })
        };
        let region = field(rc)?;
        if region.is_empty() {
            return Err(err(source, line, Some(rc + 1), "empty region".into()));
        }
        let y = year(field(yc)?).map_err(|m| err(source, line, Some(yc + 1), m))?;
        let indicator = match ic {
            Some(c) => field(c)?.to_string(),
            None => columns.indicator_id.clone().unwrap_or_default(),
        };
        let value = cell(field(vc)?).map_err(|m| err(source, line, Some(vc + 1), m))?;
        out.push(Observation {
            region: regions::region_key(region),
            year: y,
            indicator,
            value,
            origin: format!("{source}:{line}:{}", vc + 1),
        });
    }
    Ok(out)
}

/// Reads a wide CSV: region, year, then one column per indicator (header = indicator id).
pub fn parse_wide(text: &str, source: &str) -> Result<Vec<Observation>, ImportError> {
    let mut rows = reader(text).into_records();
    let header: Vec<String> = match rows.next() {
        Some(Ok(r)) => r.iter().map(str::to_string).collect(),
        _ => return Err(err(source, 1, None, "no header line".into())),
    };
    let rc = find(&header, &None, &REGION_NAMES).ok_or_else(|| {
        err(
            source,
            1,
            None,
            format!("no region column (one of {REGION_NAMES:?}) in {header:?}"),
        )
    })?;
    let yc = find(&header, &None, &YEAR_NAMES).ok_or_else(|| {
        err(
            source,
            1,
            None,
            format!("no year column (one of {YEAR_NAMES:?}) in {header:?}"),
        )
    })?;
    let indicators: Vec<(usize, &String)> = header
        .iter()
        .enumerate()
        .filter(|(c, h)| *c != rc && *c != yc && !h.is_empty())
        .collect();
    if indicators.is_empty() {
        return Err(err(source, 1, None, "no indicator columns".into()));
    }
    let mut out = Vec::new();
    for (i, row) in rows.enumerate() {
        let line = i + 2;
        let row = row.map_err(|e| err(source, line, None, e.to_string()))?;
        if row.iter().all(str::is_empty) {
            continue;
        }
        if row.len() != header.len() {
            return Err(err(
                source,
                line,
                None,
                format!("{} fields, the header has {}", row.len(), header.len()),
            ));
        }
        let region = regions::region_key(&row[rc]);
        let y = year(&row[yc]).map_err(|m| err(source, line, Some(yc + 1), m))?;
        for &(c, name) in &indicators {
            let value = cell(&row[c]).map_err(|m| err(source, line, Some(c + 1), m))?;
            out.push(Observation {
                region: region.clone(),
                year: y,
                indicator: name.clone(),
                value,
                origin: format!("{source}:{line}:{}", c + 1),
            });
        }
    }
    Ok(out)
}

/// Reads a National Bureau of Statistics province export. The indicator id is `indicator_id`
/// if given, else the title after `指标：`.
pub fn parse_nbs(
    text: &str,
    source: &str,
    indicator_id: Option<&str>,
) -> Result<Vec<Observation>, ImportError> {
    let mut title: Option<String> = None;
    let mut header: Option<(usize, Vec<Option<i32>>)> = None;
    let mut out = Vec::new();
    for (i, row) in reader(text).into_records().enumerate() {
        let line = i + 1;
        let row = row.map_err(|e| err(source, line, None, e.to_string()))?;
        let first = row.get(0).unwrap_or("");
        if header.is_none() {
            if let Some(t) = first
                .strip_prefix("指标：")
                .or_else(|| first.strip_prefix("指标:"))
            {
                title = Some(t.trim().to_string());
            } else if first == "地区" {
                let years = row
                    .iter()
                    .skip(1)
                    .map(|h| if h.is_empty() { None } else { year(h).ok() })
                    .collect::<Vec<_>>();
                if let Some(c) = row
                    .iter()
                    .skip(1)
                    .zip(&years)
                    .position(|(h, y)| !h.is_empty() && y.is_none())
                {
                    return Err(err(
                        source,
                        line,
                        Some(c + 2),
                        format!("{:?} is not a year such as 2022年", &row[c + 1]),
                    ));
                }
                header = Some((line, years));
            }
            continue;
        }
        if first.is_empty() && row.iter().all(str::is_empty) {
            continue;
        }
        if first.starts_with("注") || first.starts_with("数据来源") {
            break;
        }
        let (_, years) = header.as_ref().expect("checked");
        let indicator = match (indicator_id, &title) {
            (Some(id), _) => id.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => {
                return Err(err(
                    source,
                    line,
                    None,
                    "no `指标：` title line before the header and no indicator id given".into(),
                ))
            }
        };
        let region = regions::region_key(first);
        for (c, y) in years.iter().enumerate() {
            let Some(y) = y else { continue };
            let value = cell(row.get(c + 1).unwrap_or(""))
                .map_err(|m| err(source, line, Some(c + 2), m))?;
            out.push(Observation {
                region: region.clone(),
                year: *y,
                indicator: indicator.clone(),
                value,
                origin: format!("{source}:{line}:{}", c + 2),
            });
        }
    }
    if header.is_none() {
        return Err(err(
            source,
            0,
            None,
            "no header line starting with 地区 (the NBS export layout)".into(),
        ));
    }
    Ok(out)
}

/// Reads `text` as `layout` (detected if `None`).
pub fn parse_csv(
    text: &str,
    source: &str,
    layout: Option<Layout>,
    columns: &LongColumns,
) -> Result<Vec<Observation>, ImportError> {
    match layout.unwrap_or_else(|| Layout::detect(text)) {
        Layout::Long => parse_long(text, source, columns),
        Layout::Wide => parse_wide(text, source),
        Layout::Nbs => parse_nbs(text, source, columns.indicator_id.as_deref()),
    }
}

/// A dense region × year × indicator cube.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Panel {
    /// Region keys, provinces first in division-code order, then the others by name.
    pub regions: Vec<String>,
    /// Years, ascending.
    pub years: Vec<i32>,
    /// Indicator ids, in order of first appearance.
    pub indicators: Vec<String>,
    /// values[(ind · regions + region) · years + year]
    #[serde(skip)]
    values: Vec<Option<f64>>,
}

impl Panel {
    /// Builds the cube from observations; a cell given twice (even with the same value) is an
    /// error naming both places.
    pub fn from_observations(obs: &[Observation]) -> Result<Panel, ImportError> {
        let mut indicators: Vec<String> = Vec::new();
        let mut seen: HashMap<(&str, i32, &str), &str> = HashMap::new();
        for o in obs {
            if let Some(first) = seen.insert((&o.region, o.year, &o.indicator), &o.origin) {
                let (file, line, col) = split_origin(&o.origin);
                return Err(ImportError {
                    source_name: file,
                    line,
                    column: col,
                    message: format!(
                        "{} {} {} given twice (first at {first})",
                        o.region, o.year, o.indicator
                    ),
                });
            }
            if !indicators.contains(&o.indicator) {
                indicators.push(o.indicator.clone());
            }
        }
        let mut regions: Vec<String> = obs
            .iter()
            .map(|o| o.region.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        regions.sort_by_key(|r| {
            let pos = regions::PROVINCES.iter().position(|p| p.iso == r);
            (pos.is_none(), pos, r.clone())
        });
        let years: Vec<i32> = obs
            .iter()
            .map(|o| o.year)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut panel = Panel {
            values: vec![None; regions.len() * years.len() * indicators.len()],
            regions,
            years,
            indicators,
        };
        for o in obs {
            let idx = panel.index(
                panel.indicator_index(&o.indicator).expect("listed"),
                panel.region_index(&o.region).expect("listed"),
                panel.year_index(o.year).expect("listed"),
            );
            panel.values[idx] = o.value;
        }
        Ok(panel)
    }

    fn index(&self, ind: usize, region: usize, year: usize) -> usize {
        (ind * self.regions.len() + region) * self.years.len() + year
    }

    /// Position of an indicator id.
    pub fn indicator_index(&self, id: &str) -> Option<usize> {
        self.indicators.iter().position(|i| i == id)
    }

    /// Position of a region key.
    pub fn region_index(&self, key: &str) -> Option<usize> {
        self.regions.iter().position(|r| r == key)
    }

    /// Position of a year.
    pub fn year_index(&self, year: i32) -> Option<usize> {
        self.years.iter().position(|y| *y == year)
    }

    /// The value of indicator `ind`, region `region`, year `year` (positions).
    pub fn get(&self, ind: usize, region: usize, year: usize) -> Option<f64> {
        self.values[self.index(ind, region, year)]
    }
}

fn split_origin(origin: &str) -> (String, usize, Option<usize>) {
    let mut parts = origin.rsplitn(3, ':');
    let col = parts.next().and_then(|c| c.parse().ok());
    let line = parts.next().and_then(|l| l.parse().ok()).unwrap_or(0);
    let file = parts.next().unwrap_or(origin).to_string();
    (file, line, col)
}

/// What a data-quality flag is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// A missing value.
    Gap,
    /// A value far from its neighbours in time (a level break in the series).
    Break,
    /// A value far from the other regions of the same year.
    Outlier,
}

/// A data-quality flag (never acted on silently: the evaluation reports it).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Flag {
    /// Kind.
    pub kind: FlagKind,
    /// Region key.
    pub region: String,
    /// Indicator id.
    pub indicator: String,
    /// Year.
    pub year: i32,
    /// The value (none for a gap).
    pub value: Option<f64>,
    /// What the value was compared with (median of the neighbours or of the year).
    pub reference: Option<f64>,
    /// Explanation.
    pub message: String,
}

/// Thresholds of the quality checks.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QualitySettings {
    /// A jump from one year to the next by more than this factor (up or down) starts a break.
    pub break_factor: f64,
    /// A break that jumps back within `2 · window` years is a run of bad values; the median
    /// of the values within `window` years around the run is its reference.
    pub window: usize,
    /// A value whose robust z-score (0.6745·|x − median|/MAD) among the regions of its year
    /// exceeds this is an outlier.
    pub outlier_z: f64,
}

impl Default for QualitySettings {
    fn default() -> Self {
        QualitySettings {
            break_factor: 3.0,
            window: 3,
            outlier_z: 5.0,
        }
    }
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// Level breaks of a series of positive values: a run of at most `2 · window` years that
/// starts with a jump by more than `break_factor` (up or down) and ends with a jump back the
/// other way is flagged year by year. A jump that never comes back is not flagged: fast growth
/// from a low level (a new technology) looks the same, and either side could be the wrong one.
/// Returns (position, reference, message), the reference being the median of the values just
/// outside the run.
fn breaks(series: &[Option<f64>], settings: &QualitySettings) -> Vec<(usize, f64, String)> {
    let limit = settings.break_factor.ln();
    let step = |t: usize| match (series[t - 1], series[t]) {
        (Some(a), Some(b)) if a > 0.0 && b > 0.0 => {
            let s = (b / a).ln();
            (s.abs() > limit).then_some(s)
        }
        _ => None,
    };
    let outside = |from: usize, to: usize| {
        let lo = from.saturating_sub(settings.window);
        let hi = (to + settings.window).min(series.len() - 1);
        let mut v: Vec<f64> = (lo..=hi)
            .filter(|t| *t < from || *t > to)
            .filter_map(|t| series[t])
            .collect();
        median(&mut v).unwrap_or(f64::NAN)
    };
    let mut out = Vec::new();
    let mut t = 1;
    while t < series.len() {
        let Some(up) = step(t) else {
            t += 1;
            continue;
        };
        let back = (t + 1..series.len().min(t + 1 + 2 * settings.window))
            .find(|&u| step(u).is_some_and(|s| s.signum() != up.signum()));
        match back {
            Some(end) => {
                let reference = outside(t, end - 1);
                for (y, value) in series.iter().enumerate().take(end).skip(t) {
                    let x = value.unwrap_or(f64::NAN);
                    out.push((y, reference, format!(
                        "{x} in a run of {} year(s) that jumps by a factor {:.1} and back; the values around it have median {reference}",
                        end - t,
                        up.abs().exp()
                    )));
                }
                t = end + 1;
            }
            None => t += 1,
        }
    }
    out
}

/// Gaps, breaks and outliers of `panel`.
pub fn quality(panel: &Panel, settings: &QualitySettings) -> Vec<Flag> {
    let mut flags = Vec::new();
    let ny = panel.years.len();
    for (j, ind) in panel.indicators.iter().enumerate() {
        for (r, region) in panel.regions.iter().enumerate() {
            let series: Vec<Option<f64>> = (0..ny).map(|y| panel.get(j, r, y)).collect();
            for (y, v) in series.iter().enumerate() {
                if v.is_none() {
                    flags.push(Flag {
                        kind: FlagKind::Gap,
                        region: region.clone(),
                        indicator: ind.clone(),
                        year: panel.years[y],
                        value: None,
                        reference: None,
                        message: "no value (not filled)".into(),
                    });
                }
            }
            flags.extend(
                breaks(&series, settings)
                    .into_iter()
                    .map(|(y, reference, message)| Flag {
                        kind: FlagKind::Break,
                        region: region.clone(),
                        indicator: ind.clone(),
                        year: panel.years[y],
                        value: series[y],
                        reference: Some(reference),
                        message,
                    }),
            );
        }
        for (y, &year) in panel.years.iter().enumerate() {
            let values: Vec<(usize, f64)> = (0..panel.regions.len())
                .filter_map(|r| panel.get(j, r, y).map(|v| (r, v)))
                .collect();
            if values.len() < 5 {
                continue;
            }
            let m = median(&mut values.iter().map(|v| v.1).collect::<Vec<_>>()).expect("≥ 5");
            let mad = median(&mut values.iter().map(|v| (v.1 - m).abs()).collect::<Vec<_>>())
                .expect("≥ 5");
            if mad == 0.0 {
                continue;
            }
            for (r, v) in values {
                let z = 0.6745 * (v - m).abs() / mad;
                if z > settings.outlier_z {
                    flags.push(Flag {
                        kind: FlagKind::Outlier,
                        region: panel.regions[r].clone(),
                        indicator: ind.clone(),
                        year,
                        value: Some(v),
                        reference: Some(m),
                        message: format!(
                            "robust z-score {z:.1} against the {year} median {m} of all regions"
                        ),
                    });
                }
            }
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_wide_and_nbs_agree() {
        let long = "region,year,indicator,value\n江苏,2020,x,1.5\nCN-ZJ,2020,x,2\nJS,2021,x,\n";
        let wide = "province,year,x\n江苏省,2020,1.5\n浙江,2020,2\n江苏,2021,\n";
        let nbs = "数据库：分省年度数据\n指标：x\n时间：2021-2020\n地区,2021年,2020年\n江苏省,,1.5\n浙江省,,2\n注：test\n数据来源：国家统计局\n";
        let a = Panel::from_observations(
            &parse_csv(long, "l.csv", None, &LongColumns::default()).unwrap(),
        )
        .unwrap();
        let b = Panel::from_observations(
            &parse_csv(wide, "w.csv", None, &LongColumns::default()).unwrap(),
        )
        .unwrap();
        let c = Panel::from_observations(
            &parse_csv(nbs, "n.csv", None, &LongColumns::default()).unwrap(),
        )
        .unwrap();
        assert_eq!(a.regions, vec!["CN-JS", "CN-ZJ"]);
        assert_eq!(a.get(0, 0, 0), Some(1.5));
        assert_eq!(a.get(0, 0, 1), None);
        for p in [&b, &c] {
            assert_eq!(p.regions, a.regions);
            assert_eq!(p.years, a.years);
            for r in 0..2 {
                for y in 0..2 {
                    assert_eq!(p.get(0, r, y), a.get(0, r, y));
                }
            }
        }
        let gaps = quality(&c, &QualitySettings::default());
        assert_eq!(gaps.iter().filter(|f| f.kind == FlagKind::Gap).count(), 2);
    }

    #[test]
    fn a_run_that_jumps_and_comes_back_is_a_break_a_one_way_rise_is_not() {
        let q = QualitySettings::default();
        let series: Vec<Option<f64>> = [17.6, 17.4, 0.8, 0.9, 1.1, 55.3, 65.8].map(Some).to_vec();
        let found: Vec<usize> = breaks(&series, &q).into_iter().map(|b| b.0).collect();
        assert_eq!(found, vec![2, 3, 4]);
        let rising: Vec<Option<f64>> = [1.0, 1.2, 5.0, 9.0, 12.0].map(Some).to_vec();
        assert!(breaks(&rising, &q).is_empty());
        // no step is measured across a gap: the drop to 1.0 is not seen, the rise after it
        // never comes back
        let gap = vec![Some(10.0), None, Some(1.0), Some(10.0)];
        assert!(breaks(&gap, &q).is_empty());
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = parse_wide("region,year,x,y\nJS,2020,1,abc\n", "w.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "w.csv:2:4: \"abc\" is not a number (leave the cell empty for a gap)"
        );
        let e = parse_wide("region,year,x\nJS,20x0,1\n", "w.csv").unwrap_err();
        assert_eq!((e.line, e.column), (2, Some(2)));
        let obs = parse_wide("region,year,x\nJS,2020,1\n江苏,2020,2\n", "w.csv").unwrap();
        let e = Panel::from_observations(&obs).unwrap_err();
        assert_eq!(
            (e.source_name.as_str(), e.line, e.column),
            ("w.csv", 3, Some(3))
        );
        assert!(e.message.contains("first at w.csv:2:3"), "{e}");
        let e = parse_long("a,b\n1,2\n", "l.csv", &LongColumns::default()).unwrap_err();
        assert!(e.to_string().contains("no region column"), "{e}");
    }
}
