//! The whole evaluation: tree + panel + settings in, ranked and explained results out.
//!
//! Samples are region-years. Steps, each named in [`Provenance`]:
//! 1. gaps are refused, or their regions dropped, or filled by linear interpolation between the
//!    nearest years of the same region — only when the settings say so, and every filled cell
//!    is listed;
//! 2. every indicator column is normalised, over all samples (pooled) or within each year;
//! 3. weights: entropy or CRITIC on the normalised matrix (pooled over all samples), the
//!    tree's subjective weights (manual or AHP), or a combination;
//! 4. scores: weighted sum or TOPSIS (within each year when normalisation is per year), the
//!    score of every first-level dimension (Σ w·x' / Σ w over its indicators), the score U_s
//!    of every subsystem (the same within the subsystem) and their coupling coordination;
//! 5. obstacle degrees, tiers of the last year, trends over the years.

use serde::{Deserialize, Serialize};

use crate::coupling::{self, Coupling, CouplingForm};
use crate::normalise::{self, Normalisation};
use crate::panel::{self, Flag, Panel, QualitySettings};
use crate::regions;
use crate::score::{self, ScoreMethod};
use crate::tiers::{self, TierMethod};
use crate::tree::{AhpReport, Direction, IndicatorTree, TreeError};
use crate::weights::{self, Combination, RiTable, WeightError};

/// Whether normalisation (and TOPSIS) runs over all years at once or year by year.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// One min and max over all region-years: scores are comparable across years.
    #[default]
    Pooled,
    /// Min and max within each year: a cross-section per year, not comparable over time.
    PerYear,
}

/// What to do with gaps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapPolicy {
    /// Refuse the evaluation and list the gaps.
    #[default]
    Refuse,
    /// Leave out every region with a gap (listed in the result).
    DropRegions,
    /// Fill interior gaps linearly between the nearest years of the same region (every filled
    /// cell listed); gaps at the ends of a series are still refused.
    Interpolate,
}

/// The weighting method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    /// Entropy weights (熵权法).
    Entropy,
    /// CRITIC weights.
    Critic,
    /// The tree's weights: manual `weight` values or `[[ahp]]` judgements.
    Subjective,
    /// The tree's subjective weights combined with an objective method (see
    /// [`Settings::objective`] and [`Settings::combination`]).
    Combined,
}

impl Weighting {
    /// Parses a method name.
    pub fn parse(s: &str) -> Option<Weighting> {
        match s.trim() {
            "entropy" => Some(Weighting::Entropy),
            "critic" => Some(Weighting::Critic),
            "subjective" | "manual" | "ahp" => Some(Weighting::Subjective),
            "combined" => Some(Weighting::Combined),
            _ => None,
        }
    }
}

/// Every setting of an evaluation; the defaults are those printed in the docs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Normalisation of the indicator columns.
    pub normalisation: Normalisation,
    /// Pooled over years or per year.
    pub pooling: Pooling,
    /// The weighting method; absent: the tree's `weighting`, else entropy.
    pub weighting: Option<Weighting>,
    /// The objective half of `combined` (entropy or critic).
    pub objective: Weighting,
    /// How `combined` mixes subjective and objective weights.
    pub combination: Combination,
    /// The RI table of the AHP consistency check.
    pub ri_table: RiTable,
    /// Accept AHP matrices with CR ≥ 0.10.
    pub force_ahp: bool,
    /// The scoring method.
    pub score: ScoreMethod,
    /// The coupling form.
    pub coupling: CouplingForm,
    /// Weights α of the subsystems in T, in the order of the tree's subsystems (empty: equal).
    pub subsystem_weights: Vec<f64>,
    /// Tiers of the last year.
    pub tiers: TierMethod,
    /// Gaps.
    pub gaps: GapPolicy,
    /// First and last year to evaluate (inclusive); absent: every year of the panel.
    pub years: Option<[i32; 2]>,
    /// Thresholds of the data-quality flags.
    pub quality: QualitySettings,
    /// How many of the largest obstacles to list per region-year.
    pub obstacles: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            normalisation: Normalisation::default(),
            pooling: Pooling::default(),
            weighting: None,
            objective: Weighting::Entropy,
            combination: Combination::Linear {
                subjective_share: 0.5,
            },
            ri_table: RiTable::default(),
            force_ahp: false,
            score: ScoreMethod::default(),
            coupling: CouplingForm::default(),
            subsystem_weights: Vec::new(),
            tiers: TierMethod::default(),
            gaps: GapPolicy::default(),
            years: None,
            quality: QualitySettings::default(),
            obstacles: 3,
        }
    }
}

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvaluationError {
    /// The tree (or its subjective weights).
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// An indicator of the tree is not in the panel.
    #[error("indicator {0:?} of the tree is not in the panel (the panel has {1:?})")]
    MissingIndicator(String, Vec<String>),
    /// Gaps under [`GapPolicy::Refuse`] (or not interpolable).
    #[error("{} gaps in the panel, e.g. {}; fill them in the data, or choose gaps = drop_regions or interpolate", .0.len(), .0.iter().take(5).cloned().collect::<Vec<_>>().join("; "))]
    Gaps(Vec<String>),
    /// Normalisation of a column.
    #[error("indicator {indicator:?}{}: {error}", .year.map(|y| format!(" in {y}")).unwrap_or_default())]
    Normalise {
        /// Indicator id.
        indicator: String,
        /// The year, when normalised per year.
        year: Option<i32>,
        /// The error.
        error: normalise::NormaliseError,
    },
    /// Weights.
    #[error(transparent)]
    Weights(#[from] WeightError),
    /// Coupling.
    #[error("coupling of {region} {year}: {error}")]
    Coupling {
        /// Region key.
        region: String,
        /// Year.
        year: i32,
        /// The error.
        error: coupling::CouplingError,
    },
    /// Settings that do not fit together.
    #[error("settings: {0}")]
    Settings(String),
}

/// What the result was computed from and how.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Provenance {
    /// `shulv-evaluate` version.
    pub engine: String,
    /// Name of the tree.
    pub tree: String,
    /// True if the tree is a template (not official weights).
    pub template: bool,
    /// The tree's note.
    pub tree_note: String,
    /// The settings, with the weighting resolved.
    pub settings: Settings,
    /// Human-readable labels of each step.
    pub normalisation: String,
    /// Weighting label.
    pub weighting: String,
    /// Score label.
    pub score: String,
    /// Coupling formula.
    pub coupling: String,
    /// Tier method label.
    pub tiers: String,
    /// Regions evaluated.
    pub regions: usize,
    /// Years evaluated.
    pub years: Vec<i32>,
    /// Samples (region-years).
    pub samples: usize,
}

/// An indicator with its weights.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IndicatorWeight {
    /// Id.
    pub id: String,
    /// Chinese name.
    pub zh: String,
    /// English name.
    pub en: String,
    /// Unit.
    pub unit: String,
    /// Direction.
    pub direction: Direction,
    /// Subsystem.
    pub subsystem: Option<String>,
    /// First-level dimension.
    pub dimension: String,
    /// Final weight.
    pub weight: f64,
    /// Objective weight, when one was computed.
    pub objective: Option<f64>,
    /// Subjective weight, when one was computed.
    pub subjective: Option<f64>,
}

/// A first-level dimension and its weight (sum of its indicators').
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dimension {
    /// Id.
    pub id: String,
    /// Chinese name.
    pub zh: String,
    /// English name.
    pub en: String,
    /// Σ of the weights of its indicators.
    pub weight: f64,
}

/// The largest obstacle of a region-year.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Obstacle {
    /// Indicator id.
    pub indicator: String,
    /// Share of the region-year's total obstacle, in %.
    pub share: f64,
}

/// The results of one region in one year.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// Region key.
    pub region: String,
    /// Chinese name.
    pub zh: String,
    /// English name.
    pub en: String,
    /// Year.
    pub year: i32,
    /// Composite score.
    pub score: f64,
    /// Rank within the year (1 = best).
    pub rank: usize,
    /// Score of every dimension, in [`Evaluation::dimensions`] order.
    pub dimension_scores: Vec<f64>,
    /// U of every subsystem, in [`Evaluation::subsystems`] order.
    pub subsystem_scores: Vec<f64>,
    /// Coupling of the subsystems.
    pub coupling: Option<Coupling>,
    /// Obstacle degree of every dimension (%), in dimension order.
    pub dimension_obstacles: Vec<f64>,
    /// The largest indicator obstacles.
    pub obstacles: Vec<Obstacle>,
    /// The normalised values, in indicator order.
    pub normalised: Vec<f64>,
}

/// The tier of a region in the last year.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TierRow {
    /// Region key.
    pub region: String,
    /// Score.
    pub score: f64,
    /// Tier (1 = top).
    pub tier: usize,
}

/// How a region moved over the years.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trend {
    /// Region key.
    pub region: String,
    /// Score of the first year.
    pub first: f64,
    /// Score of the last year.
    pub last: f64,
    /// Least-squares slope of the score per year.
    pub slope: f64,
    /// Rank in the first year.
    pub rank_first: usize,
    /// Rank in the last year.
    pub rank_last: usize,
    /// D in the first and last year and its slope per year, when coupled.
    pub d: Option<[f64; 3]>,
}

/// Mean score of a macro-region (四大板块) in the last year.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MacroMean {
    /// Macro-region.
    pub macro_region: regions::MacroRegion,
    /// Regions counted.
    pub regions: usize,
    /// Mean score.
    pub mean: f64,
}

/// The result of an evaluation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    /// How it was computed.
    pub provenance: Provenance,
    /// Indicators and weights.
    pub indicators: Vec<IndicatorWeight>,
    /// First-level dimensions.
    pub dimensions: Vec<Dimension>,
    /// Subsystems of the coupling (empty when the tree names none).
    pub subsystems: Vec<String>,
    /// AHP results of the tree's judgement matrices.
    pub ahp: Vec<AhpReport>,
    /// Every region-year, by year then rank.
    pub rows: Vec<Row>,
    /// Tiers of the last year, by score.
    pub tiers: Vec<TierRow>,
    /// Trends, by region.
    pub trends: Vec<Trend>,
    /// Macro-region means of the last year (provinces only).
    pub macro_regions: Vec<MacroMean>,
    /// Data-quality flags of the panel (gaps, breaks, outliers) within the evaluated years.
    pub flags: Vec<Flag>,
    /// Regions left out and why.
    pub excluded: Vec<String>,
    /// Cells filled by interpolation.
    pub filled: Vec<String>,
    /// Panel indicators not in the tree (ignored).
    pub ignored_indicators: Vec<String>,
    /// Steps skipped and why.
    pub notes: Vec<String>,
}

/// Runs the evaluation.
pub fn evaluate(
    tree: &IndicatorTree,
    panel: &Panel,
    settings: &Settings,
) -> Result<Evaluation, EvaluationError> {
    let mut settings = settings.clone();
    settings
        .normalisation
        .validate()
        .map_err(EvaluationError::Settings)?;
    let method = match settings.weighting {
        Some(w) => w,
        None => match &tree.file.weighting {
            Some(name) => Weighting::parse(name).ok_or_else(|| {
                EvaluationError::Settings(format!(
                    "the tree's weighting {name:?} is none of entropy, critic, subjective, combined"
                ))
            })?,
            None => Weighting::Entropy,
        },
    };
    settings.weighting = Some(method);
    if !matches!(settings.objective, Weighting::Entropy | Weighting::Critic) {
        return Err(EvaluationError::Settings(
            "objective must be entropy or critic".into(),
        ));
    }
    if settings.score == ScoreMethod::TopsisMinMax
        && !matches!(settings.normalisation, Normalisation::MinMax { .. })
    {
        return Err(EvaluationError::Settings(
            "topsis_min_max runs on the min–max matrix: choose min–max normalisation".into(),
        ));
    }
    let inds = tree.indicators();
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

    // 1. gaps
    let mut excluded = Vec::new();
    let mut filled = Vec::new();
    let mut gaps = Vec::new();
    let mut regions_used = Vec::new();
    // raw[j][r][y] over the selected regions and years
    let mut raw: Vec<Vec<Vec<f64>>> = vec![Vec::new(); inds.len()];
    for (r, region) in panel.regions.iter().enumerate() {
        let mut region_gaps = Vec::new();
        let mut series_of = Vec::with_capacity(inds.len());
        for (j, &c) in columns.iter().enumerate() {
            let all: Vec<Option<f64>> =
                (0..panel.years.len()).map(|y| panel.get(c, r, y)).collect();
            let mut series = Vec::with_capacity(years.len());
            for &(y, year) in &years {
                match all[y] {
                    Some(v) => series.push(v),
                    None => {
                        let fill = (settings.gaps == GapPolicy::Interpolate)
                            .then(|| interpolate(&all, y, &panel.years))
                            .flatten();
                        match fill {
                            Some(v) => {
                                filled.push(format!("{region} {year} {}: {v}", inds[j].id));
                                series.push(v);
                            }
                            None => {
                                region_gaps.push(format!("{region} {year} {}", inds[j].id));
                                series.push(f64::NAN);
                            }
                        }
                    }
                }
            }
            series_of.push(series);
        }
        if region_gaps.is_empty() {
            regions_used.push(region.clone());
            for (j, s) in series_of.into_iter().enumerate() {
                raw[j].push(s);
            }
        } else if settings.gaps == GapPolicy::DropRegions {
            excluded.push(format!(
                "{region}: {} gaps ({})",
                region_gaps.len(),
                region_gaps
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        } else {
            gaps.extend(region_gaps);
        }
    }
    if !gaps.is_empty() {
        return Err(EvaluationError::Gaps(gaps));
    }
    let nr = regions_used.len();
    let ny = years.len();
    if nr * ny < 2 {
        return Err(EvaluationError::Settings(format!(
            "{nr} regions × {ny} years: at least 2 samples are needed"
        )));
    }
    // sample s = y · nr + r
    let sample_count = nr * ny;
    let raw_cols: Vec<Vec<f64>> = raw
        .iter()
        .map(|per_region| {
            (0..sample_count)
                .map(|s| per_region[s % nr][s / nr])
                .collect()
        })
        .collect();

    // 2. normalisation
    let groups: Vec<std::ops::Range<usize>> = match settings.pooling {
        Pooling::Pooled => std::iter::once(0..sample_count).collect(),
        Pooling::PerYear => (0..ny).map(|y| y * nr..(y + 1) * nr).collect(),
    };
    let mut norm_cols = vec![vec![0.0; sample_count]; inds.len()];
    for (j, col) in raw_cols.iter().enumerate() {
        for g in &groups {
            let n =
                normalise::normalise(&col[g.clone()], inds[j].direction, &settings.normalisation)
                    .map_err(|error| EvaluationError::Normalise {
                    indicator: inds[j].id.clone(),
                    year: (settings.pooling == Pooling::PerYear).then(|| years[g.start / nr].1),
                    error,
                })?;
            norm_cols[j][g.clone()].copy_from_slice(&n);
        }
    }

    // 3. weights
    let names: Vec<String> = inds.iter().map(|i| i.id.clone()).collect();
    let objective_of = |m: Weighting| -> Result<Vec<f64>, WeightError> {
        match m {
            Weighting::Critic => weights::critic(&norm_cols),
            _ => weights::entropy(&norm_cols, &names),
        }
    };
    let mut ahp = Vec::new();
    let mut subjective_of = || -> Result<Vec<f64>, EvaluationError> {
        let (w, reports) = tree.subjective_weights(settings.ri_table, settings.force_ahp)?;
        ahp = reports;
        Ok(w)
    };
    let (w, objective, subjective, weighting_label) = match method {
        Weighting::Entropy | Weighting::Critic => {
            let o = objective_of(method)?;
            let label = if method == Weighting::Entropy {
                "entropy (熵权法), pooled over all samples"
            } else {
                "CRITIC, pooled over all samples"
            };
            (o.clone(), Some(o), None, label.to_string())
        }
        Weighting::Subjective => {
            let s = subjective_of()?;
            (
                s.clone(),
                None,
                Some(s),
                "subjective (the tree's weights / AHP)".to_string(),
            )
        }
        Weighting::Combined => {
            let s = subjective_of()?;
            let o = objective_of(settings.objective)?;
            let w = weights::combine(&s, &o, settings.combination)?;
            let label = format!(
                "combined: subjective (tree/AHP) with {} by {:?}",
                if settings.objective == Weighting::Critic {
                    "CRITIC"
                } else {
                    "entropy"
                },
                settings.combination
            );
            (w, Some(o), Some(s), label)
        }
    };

    // 4. scores
    let scores: Vec<f64> = match settings.score {
        ScoreMethod::WeightedSum => score::weighted_sum(&norm_cols, &w),
        ScoreMethod::TopsisVector | ScoreMethod::TopsisMinMax => {
            let vector = settings.score == ScoreMethod::TopsisVector;
            let source = if vector { &raw_cols } else { &norm_cols };
            let dirs: Vec<Direction> = inds.iter().map(|i| i.direction).collect();
            let mut out = vec![0.0; sample_count];
            for g in &groups {
                let sub: Vec<Vec<f64>> = source.iter().map(|c| c[g.clone()].to_vec()).collect();
                out[g.clone()].copy_from_slice(&score::topsis(&sub, &w, &dirs, vector));
            }
            out
        }
    };
    let dims = tree.dimensions();
    let dim_of: Vec<usize> = (0..inds.len())
        .map(|j| {
            let d = tree.dimension_of(j);
            dims.iter().position(|x| x.0 == d).expect("a dimension")
        })
        .collect();
    let dimensions: Vec<Dimension> = dims
        .iter()
        .enumerate()
        .map(|(k, (id, zh, en))| Dimension {
            id: id.to_string(),
            zh: zh.to_string(),
            en: en.to_string(),
            weight: (0..inds.len())
                .filter(|&j| dim_of[j] == k)
                .map(|j| w[j])
                .sum(),
        })
        .collect();
    let subsystems = tree.subsystems();
    let sub_of: Vec<usize> = inds
        .iter()
        .map(|i| {
            i.subsystem
                .as_ref()
                .and_then(|s| subsystems.iter().position(|x| x == s))
                .unwrap_or(0)
        })
        .collect();
    let mut notes = Vec::new();
    let unit = settings.normalisation.in_unit_interval();
    let couple = subsystems.len() >= 2 && unit;
    if subsystems.len() < 2 {
        notes.push(format!(
            "coupling not computed: the tree names {} subsystem(s); every indicator needs a `subsystem` and at least 2 must differ",
            subsystems.len()
        ));
    } else if !unit {
        notes.push(
            "coupling and obstacle degrees not computed: z-score values are not in [0, 1]".into(),
        );
    }
    if couple
        && !settings.subsystem_weights.is_empty()
        && settings.subsystem_weights.len() != subsystems.len()
    {
        return Err(EvaluationError::Settings(format!(
            "{} subsystem weights for the subsystems {subsystems:?}",
            settings.subsystem_weights.len()
        )));
    }
    let weighted_mean = |s: usize, members: &dyn Fn(usize) -> bool| -> f64 {
        let (num, den) = (0..inds.len())
            .filter(|&j| members(j))
            .fold((0.0, 0.0), |(n, d), j| {
                (n + w[j] * norm_cols[j][s], d + w[j])
            });
        if den > 0.0 {
            num / den
        } else {
            0.0
        }
    };
    let mut rows = Vec::with_capacity(sample_count);
    for s in 0..sample_count {
        let (r, y) = (s % nr, s / nr);
        let region = &regions_used[r];
        let dimension_scores = (0..dims.len())
            .map(|k| weighted_mean(s, &|j| dim_of[j] == k))
            .collect();
        let (subsystem_scores, coupling) = if couple {
            let u: Vec<f64> = (0..subsystems.len())
                .map(|k| weighted_mean(s, &|j| sub_of[j] == k))
                .collect();
            let c = coupling::couple(&u, &settings.subsystem_weights, settings.coupling).map_err(
                |error| EvaluationError::Coupling {
                    region: region.clone(),
                    year: years[y].1,
                    error,
                },
            )?;
            (u, Some(c))
        } else {
            (Vec::new(), None)
        };
        let values: Vec<f64> = norm_cols.iter().map(|c| c[s]).collect();
        let (dimension_obstacles, obstacles) = if unit {
            let o = score::obstacle(&values, &w);
            let by_dim = (0..dims.len())
                .map(|k| {
                    (0..inds.len())
                        .filter(|&j| dim_of[j] == k)
                        .map(|j| o[j])
                        .sum()
                })
                .collect();
            let mut order: Vec<usize> = (0..o.len()).collect();
            order.sort_by(|&a, &b| o[b].total_cmp(&o[a]));
            let top = order
                .into_iter()
                .take(settings.obstacles)
                .filter(|&j| o[j] > 0.0)
                .map(|j| Obstacle {
                    indicator: inds[j].id.clone(),
                    share: o[j],
                })
                .collect();
            (by_dim, top)
        } else {
            (Vec::new(), Vec::new())
        };
        rows.push(Row {
            region: region.clone(),
            zh: regions::display_name(region, "zh"),
            en: regions::display_name(region, "en"),
            year: years[y].1,
            score: scores[s],
            rank: 0,
            dimension_scores,
            subsystem_scores,
            coupling,
            dimension_obstacles,
            obstacles,
            normalised: values,
        });
    }
    for chunk in rows.chunks_mut(nr) {
        let mut order: Vec<usize> = (0..chunk.len()).collect();
        order.sort_by(|&a, &b| chunk[b].score.total_cmp(&chunk[a].score).then(a.cmp(&b)));
        for (rank, i) in order.into_iter().enumerate() {
            chunk[i].rank = rank + 1;
        }
        chunk.sort_by_key(|r| r.rank);
    }

    // 5. tiers, trends, macro-regions
    let last = &rows[(ny - 1) * nr..];
    let last_scores: Vec<f64> = last.iter().map(|r| r.score).collect();
    let tier_of = tiers::tiers(&last_scores, &settings.tiers).map_err(EvaluationError::Settings)?;
    let tiers: Vec<TierRow> = last
        .iter()
        .zip(&tier_of)
        .map(|(r, &tier)| TierRow {
            region: r.region.clone(),
            score: r.score,
            tier,
        })
        .collect();
    let year_values: Vec<f64> = years.iter().map(|y| y.1 as f64).collect();
    let trends = regions_used
        .iter()
        .map(|region| {
            let mine: Vec<&Row> = rows.iter().filter(|r| &r.region == region).collect();
            let s: Vec<f64> = mine.iter().map(|r| r.score).collect();
            let d = couple.then(|| {
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
        .collect();
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

    let indicators = inds
        .iter()
        .enumerate()
        .map(|(j, i)| IndicatorWeight {
            id: i.id.clone(),
            zh: i.zh.clone(),
            en: i.en.clone(),
            unit: i.unit.clone(),
            direction: i.direction,
            subsystem: i.subsystem.clone(),
            dimension: dims[dim_of[j]].0.to_string(),
            weight: w[j],
            objective: objective.as_ref().map(|o| o[j]),
            subjective: subjective.as_ref().map(|s| s[j]),
        })
        .collect();
    let provenance = Provenance {
        engine: format!("shulv-evaluate {}", env!("CARGO_PKG_VERSION")),
        tree: tree.file.name.clone(),
        template: tree.file.template,
        tree_note: tree.file.note.clone(),
        normalisation: format!(
            "{}, {}",
            settings.normalisation.label(),
            match settings.pooling {
                Pooling::Pooled => "pooled over all years",
                Pooling::PerYear => "per year",
            }
        ),
        weighting: weighting_label,
        score: settings.score.label().to_string(),
        coupling: if couple {
            settings.coupling.formula().to_string()
        } else {
            "not computed".into()
        },
        tiers: settings.tiers.label(),
        regions: nr,
        years: year_set,
        samples: sample_count,
        settings,
    };
    Ok(Evaluation {
        provenance,
        indicators,
        dimensions,
        subsystems: if couple { subsystems } else { Vec::new() },
        ahp,
        rows,
        tiers,
        trends,
        macro_regions,
        flags,
        excluded,
        filled,
        ignored_indicators,
        notes,
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::panel::{parse_wide, Panel};

    const TREE: &str = r#"
name = "t"
[[indicator]]
id = "d"
zh = "数"
en = "d"
direction = "positive"
subsystem = "digital"
weight = 1
[[indicator]]
id = "g"
zh = "绿"
en = "g"
direction = "negative"
subsystem = "green"
weight = 1
"#;

    fn panel(csv: &str) -> Panel {
        Panel::from_observations(&parse_wide(csv, "p.csv").unwrap()).unwrap()
    }

    /// Default settings but one tier: three regions cannot make the default four tiers.
    fn settings() -> Settings {
        Settings {
            tiers: TierMethod::Quantiles { classes: 1 },
            ..Settings::default()
        }
    }

    fn tree() -> IndicatorTree {
        IndicatorTree::from_toml(TREE, "t.toml").unwrap()
    }

    const GAPPY: &str = "region,year,d,g\nA,2020,1,5\nA,2021,,4\nA,2022,3,3\nB,2020,2,6\nB,2021,3,5\nB,2022,4,\nC,2020,5,1\nC,2021,6,2\nC,2022,7,3\n";

    #[test]
    fn gaps_are_refused_dropped_or_interpolated_and_always_listed() {
        let p = panel(GAPPY);
        let refused = evaluate(&tree(), &p, &settings()).unwrap_err();
        assert!(refused.to_string().starts_with("2 gaps"), "{refused}");
        let dropped = evaluate(
            &tree(),
            &p,
            &Settings {
                gaps: GapPolicy::DropRegions,
                ..settings()
            },
        )
        .unwrap();
        assert_eq!(dropped.provenance.regions, 1);
        assert_eq!(dropped.excluded.len(), 2);
        assert_eq!(dropped.flags.len(), 2);
        // B 2022 g is at the end of its series: not interpolable, still refused
        let interpolated = evaluate(
            &tree(),
            &p,
            &Settings {
                gaps: GapPolicy::Interpolate,
                ..settings()
            },
        )
        .unwrap_err();
        assert!(
            interpolated.to_string().contains("B 2022 g"),
            "{interpolated}"
        );
        let inner = GAPPY.replace("B,2022,4,", "B,2022,4,4");
        let e = evaluate(
            &tree(),
            &panel(&inner),
            &Settings {
                gaps: GapPolicy::Interpolate,
                ..settings()
            },
        )
        .unwrap();
        assert_eq!(e.filled, vec!["A 2021 d: 2".to_string()]);
    }

    #[test]
    fn every_method_runs_and_names_itself() {
        let full = GAPPY
            .replace("A,2021,,4", "A,2021,2,4")
            .replace("B,2022,4,", "B,2022,4,4");
        let p = panel(&full);
        for (weighting, score, pooling) in [
            (
                Weighting::Critic,
                ScoreMethod::TopsisMinMax,
                Pooling::PerYear,
            ),
            (
                Weighting::Combined,
                ScoreMethod::TopsisVector,
                Pooling::Pooled,
            ),
            (
                Weighting::Subjective,
                ScoreMethod::WeightedSum,
                Pooling::PerYear,
            ),
        ] {
            let s = Settings {
                weighting: Some(weighting),
                score,
                pooling,
                coupling: CouplingForm::Corrected,
                ..settings()
            };
            let e = evaluate(&tree(), &p, &s).unwrap();
            assert_eq!(e.provenance.settings.weighting, Some(weighting));
            assert_eq!(e.rows.len(), 9);
            assert!(e.rows.iter().all(|r| r.coupling.is_some()));
            let sum: f64 = e.indicators.iter().map(|i| i.weight).sum();
            assert!((sum - 1.0).abs() < 1e-12);
            // ranks within each year are 1, 2, 3
            for year in [2020, 2021, 2022] {
                let mut ranks: Vec<usize> = e
                    .rows
                    .iter()
                    .filter(|r| r.year == year)
                    .map(|r| r.rank)
                    .collect();
                ranks.sort_unstable();
                assert_eq!(ranks, vec![1, 2, 3]);
            }
            assert_eq!(e.trends.len(), 3);
        }
        // z-score values are not in [0, 1]: entropy refuses them, coupling is skipped
        let z = Settings {
            normalisation: Normalisation::ZScore,
            ..settings()
        };
        assert!(matches!(
            evaluate(&tree(), &p, &z),
            Err(EvaluationError::Weights(WeightError::EntropyDomain(..)))
        ));
        let z = Settings {
            weighting: Some(Weighting::Subjective),
            ..z
        };
        let e = evaluate(&tree(), &p, &z).unwrap();
        assert!(e.subsystems.is_empty() && !e.notes.is_empty());
    }
}
