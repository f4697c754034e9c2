//! Step 5 of an evaluation (see evaluation.rs): tiers of the last year, trends over the years
//! and the macro-region (四大板块) means.

use crate::evaluation::{EvaluationError, MacroMean, Row, Settings, TierRow, Trend};
use crate::evaluation_samples::Samples;
use crate::regions;
use crate::tiers::{self, TierMethod};

/// The results of step 5.
pub(crate) struct Summary {
    /// Tiers of the last year, by score.
    pub(crate) tiers: Vec<TierRow>,
    /// Trends, by region.
    pub(crate) trends: Vec<Trend>,
    /// Macro-region means of the last year (provinces only).
    pub(crate) macro_regions: Vec<MacroMean>,
}

/// Step 5, tiers, trends, macro-regions: from the ranked `rows` of step 4 (by year, each year
/// one row a region), the tiers and the macro-region means of the last year and every region's
/// trend over the years (of D too, when `coupled`).
pub(crate) fn summarise(
    rows: &[Row],
    samples: &Samples,
    coupled: bool,
    settings: &Settings,
) -> Result<Summary, EvaluationError> {
    let nr = samples.regions.len();
    let last = &rows[(samples.years.len() - 1) * nr..];
    Ok(Summary {
        tiers: tier_rows(last, &settings.tiers)?,
        trends: trends(rows, samples, coupled),
        macro_regions: macro_means(last),
    })
}

/// The tier of every region in the rows of the last year.
fn tier_rows(last: &[Row], method: &TierMethod) -> Result<Vec<TierRow>, EvaluationError> {
    let last_scores: Vec<f64> = last.iter().map(|r| r.score).collect();
    let tier_of = tiers::tiers(&last_scores, method).map_err(EvaluationError::Settings)?;
    Ok(last
        .iter()
        .zip(&tier_of)
        .map(|(r, &tier)| TierRow {
            region: r.region.clone(),
            score: r.score,
            tier,
        })
        .collect())
}

/// Every region's score and rank in the first and last year, the least-squares slope of its
/// score per year and, when `coupled`, the same of its coupling coordination D.
fn trends(rows: &[Row], samples: &Samples, coupled: bool) -> Vec<Trend> {
    let ny = samples.years.len();
    let year_values: Vec<f64> = samples.years.iter().map(|&y| y as f64).collect();
    samples
        .regions
        .iter()
        .map(|region| {
            let mine: Vec<&Row> = rows.iter().filter(|r| &r.region == region).collect();
            let s: Vec<f64> = mine.iter().map(|r| r.score).collect();
            let d = coupled.then(|| {
                let d: Vec<f64> = mine
                    .iter()
                    .map(|r| r.coupling.map_or(0.0, |c| c.d))
                    .collect();
                [d[0], d[ny - 1], slope(&year_values, &d)]
            });
            Trend {
                region: region.clone(),
                first: s[0],
                last: s[ny - 1],
                slope: slope(&year_values, &s),
                rank_first: mine[0].rank,
                rank_last: mine[ny - 1].rank,
                d,
            }
        })
        .collect()
}

/// The mean score of every macro-region (四大板块) over the provinces in the rows of the last
/// year, highest first.
fn macro_means(last: &[Row]) -> Vec<MacroMean> {
    let mut macro_regions: Vec<MacroMean> = Vec::new();
    for r in last {
        let Some(p) = regions::province(&r.region) else {
            continue;
        };
        match macro_regions
            .iter_mut()
            .find(|m| m.macro_region == p.macro_region)
        {
            Some(m) => {
                m.mean += r.score;
                m.regions += 1;
            }
            None => macro_regions.push(MacroMean {
                macro_region: p.macro_region,
                regions: 1,
                mean: r.score,
            }),
        }
    }
    for m in &mut macro_regions {
        m.mean /= m.regions as f64;
    }
    macro_regions.sort_by(|a, b| b.mean.total_cmp(&a.mean));
    macro_regions
}

/// Least-squares slope of `y` on `x` (0 for a single point).
fn slope(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let sxx: f64 = x.iter().map(|v| (v - mx).powi(2)).sum();
    if sxx == 0.0 {
        return 0.0;
    }
    x.iter()
        .zip(y)
        .map(|(a, b)| (a - mx) * (b - my))
        .sum::<f64>()
        / sxx
}
