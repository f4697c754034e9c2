//! The samples of an evaluation (see evaluation.rs): which columns and years of the panel it
//! reads, and step 1, the gaps — refused, their regions dropped, or filled by interpolation.

use std::ops::Range;

use crate::evaluation::{EvaluationError, GapPolicy, Pooling, Settings};
use crate::panel::{self, Flag, Panel};
use crate::tree::Indicator;

/// What of the panel an evaluation reads.
pub(crate) struct Selection {
    /// The panel column of every indicator of the tree, in the tree's order.
    pub(crate) columns: Vec<usize>,
    /// The evaluated years: (index in the panel, year).
    pub(crate) years: Vec<(usize, i32)>,
    /// Panel indicators not in the tree (ignored).
    pub(crate) ignored_indicators: Vec<String>,
    /// Data-quality flags of the tree's indicators within the evaluated years.
    pub(crate) flags: Vec<Flag>,
}

/// The tree's indicator columns of the panel (every one must be there), the panel indicators
/// left out, the years within `settings.years` (at least one) and their data-quality flags.
pub(crate) fn select(
    inds: &[Indicator],
    panel: &Panel,
    settings: &Settings,
) -> Result<Selection, EvaluationError> {
    let columns: Vec<usize> = inds
        .iter()
        .map(|i| {
            panel.indicator_index(&i.id).ok_or_else(|| {
                EvaluationError::MissingIndicator(i.id.clone(), panel.indicators.clone())
            })
        })
        .collect::<Result<_, _>>()?;
    let ignored_indicators: Vec<String> = panel
        .indicators
        .iter()
        .filter(|p| !inds.iter().any(|i| &i.id == *p))
        .cloned()
        .collect();
    let years: Vec<(usize, i32)> = panel
        .years
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, y)| settings.years.is_none_or(|[a, b]| (a..=b).contains(y)))
        .collect();
    if years.is_empty() {
        return Err(EvaluationError::Settings(format!(
            "no panel year in {:?} (the panel has {:?})",
            settings.years, panel.years
        )));
    }
    let year_set: Vec<i32> = years.iter().map(|y| y.1).collect();
    let flags: Vec<Flag> = panel::quality(panel, &settings.quality)
        .into_iter()
        .filter(|f| year_set.contains(&f.year) && inds.iter().any(|i| i.id == f.indicator))
        .collect();
    Ok(Selection {
        columns,
        years,
        ignored_indicators,
        flags,
    })
}

/// The raw region-year samples, gaps dealt with.
pub(crate) struct Samples {
    /// The regions evaluated, in panel order.
    pub(crate) regions: Vec<String>,
    /// The years evaluated.
    pub(crate) years: Vec<i32>,
    /// `columns[j][s]`: the raw value of indicator j in sample s = y · regions + r.
    pub(crate) columns: Vec<Vec<f64>>,
    /// Regions left out and why.
    pub(crate) excluded: Vec<String>,
    /// Cells filled by interpolation.
    pub(crate) filled: Vec<String>,
}

impl Samples {
    /// The number of samples (region-years).
    pub(crate) fn count(&self) -> usize {
        self.regions.len() * self.years.len()
    }

    /// The ranges of samples normalised (and scored by TOPSIS) together: all of them, or each
    /// year's.
    pub(crate) fn groups(&self, pooling: Pooling) -> Vec<Range<usize>> {
        let nr = self.regions.len();
        match pooling {
            Pooling::Pooled => std::iter::once(0..self.count()).collect(),
            Pooling::PerYear => (0..self.years.len())
                .map(|y| y * nr..(y + 1) * nr)
                .collect(),
        }
    }
}

/// Step 1, gaps: the selected values of every region, where a region with gaps is refused
/// (every gap listed), dropped ([`GapPolicy::DropRegions`]) or, for interior gaps, filled by
/// linear interpolation ([`GapPolicy::Interpolate`], every filled cell listed). At least two
/// samples must remain.
pub(crate) fn gather_samples(
    inds: &[Indicator],
    panel: &Panel,
    selection: &Selection,
    policy: GapPolicy,
) -> Result<Samples, EvaluationError> {
    let mut excluded = Vec::new();
    let mut filled = Vec::new();
    let mut gaps = Vec::new();
    let mut regions_used = Vec::new();
    // raw[j][r][y] over the selected regions and years
    let mut raw: Vec<Vec<Vec<f64>>> = vec![Vec::new(); inds.len()];
    for (r, name) in panel.regions.iter().enumerate() {
        let region = region_series(inds, panel, selection, policy, r);
        filled.extend(region.filled);
        if region.gaps.is_empty() {
            regions_used.push(name.clone());
            for (j, s) in region.series.into_iter().enumerate() {
                raw[j].push(s);
            }
        } else if policy == GapPolicy::DropRegions {
            excluded.push(format!(
                "{name}: {} gaps ({})",
                region.gaps.len(),
                region
                    .gaps
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        } else {
            gaps.extend(region.gaps);
        }
    }
    if !gaps.is_empty() {
        return Err(EvaluationError::Gaps(gaps));
    }
    let nr = regions_used.len();
    let ny = selection.years.len();
    if nr * ny < 2 {
        return Err(EvaluationError::Settings(format!(
            "{nr} regions × {ny} years: at least 2 samples are needed"
        )));
    }
    let columns = raw
        .iter()
        .map(|per_region| (0..nr * ny).map(|s| per_region[s % nr][s / nr]).collect())
        .collect();
    Ok(Samples {
        regions: regions_used,
        years: selection.years.iter().map(|y| y.1).collect(),
        columns,
        excluded,
        filled,
    })
}

/// One region's series over the selected years, with its gaps and filled cells.
struct RegionSeries {
    /// `series[j][y]`: indicator j in the y-th selected year (NaN at a gap).
    series: Vec<Vec<f64>>,
    /// The cells still missing, as `region year indicator`.
    gaps: Vec<String>,
    /// The cells filled by interpolation, as `region year indicator: value`.
    filled: Vec<String>,
}

/// The series of region `r` over the selected years, gaps filled where the policy allows.
fn region_series(
    inds: &[Indicator],
    panel: &Panel,
    selection: &Selection,
    policy: GapPolicy,
    r: usize,
) -> RegionSeries {
    let region = &panel.regions[r];
    let mut out = RegionSeries {
        series: Vec::with_capacity(inds.len()),
        gaps: Vec::new(),
        filled: Vec::new(),
    };
    for (j, &c) in selection.columns.iter().enumerate() {
        let all: Vec<Option<f64>> = (0..panel.years.len()).map(|y| panel.get(c, r, y)).collect();
        let mut series = Vec::with_capacity(selection.years.len());
        for &(y, year) in &selection.years {
            match all[y] {
                Some(v) => series.push(v),
                None => {
                    let fill = (policy == GapPolicy::Interpolate)
                        .then(|| interpolate(&all, y, &panel.years))
                        .flatten();
                    match fill {
                        Some(v) => {
                            out.filled
                                .push(format!("{region} {year} {}: {v}", inds[j].id));
                            series.push(v);
                        }
                        None => {
                            out.gaps.push(format!("{region} {year} {}", inds[j].id));
                            series.push(f64::NAN);
                        }
                    }
                }
            }
        }
        out.series.push(series);
    }
    out
}

/// Linear interpolation of `series[at]` between the nearest present years before and after.
fn interpolate(series: &[Option<f64>], at: usize, years: &[i32]) -> Option<f64> {
    let before = (0..at).rev().find_map(|t| series[t].map(|v| (t, v)))?;
    let after = (at + 1..series.len()).find_map(|t| series[t].map(|v| (t, v)))?;
    let (y0, y1, y) = (
        years[before.0] as f64,
        years[after.0] as f64,
        years[at] as f64,
    );
    Some(before.1 + (after.1 - before.1) * (y - y0) / (y1 - y0))
}
