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
//!    of every subsystem (the same within the subsystem) and their coupling coordination,
//!    the obstacle degrees of every region-year and its rank within the year;
//! 5. tiers of the last year, trends over the years, macro-region means of the last year.
//!
//! [`evaluate`] runs them in turn: step 1 is in evaluation_samples.rs (with the choice of the
//! panel's columns and years), step 2 here, step 3 in evaluation_weights.rs, step 4 in
//! evaluation_scores.rs and step 5 in evaluation_summary.rs.

use serde::{Deserialize, Serialize};

use crate::coupling::{self, Coupling, CouplingForm};
use crate::evaluation_samples::{self, Samples};
use crate::evaluation_weights::{self, Weights};
use crate::normalise::{self, Normalisation};
use crate::panel::{Flag, Panel, QualitySettings};
use crate::regions;
use crate::score::ScoreMethod;
use crate::tiers::TierMethod;
use crate::tree::{AhpReport, Direction, Indicator, IndicatorTree, TreeError};
use crate::weights::{Combination, RiTable, WeightError};
use crate::{evaluation_scores, evaluation_summary};

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

/// Runs the evaluation: the settings checked and the panel's columns and years selected, then
/// the five steps of the module documentation in turn.
pub fn evaluate(
    tree: &IndicatorTree,
    panel: &Panel,
    settings: &Settings,
) -> Result<Evaluation, EvaluationError> {
    let (settings, method) = resolve_settings(tree, settings)?;
    let inds = tree.indicators();
    let selection = evaluation_samples::select(inds, panel, &settings)?;
    // 1. gaps
    let samples = evaluation_samples::gather_samples(inds, panel, &selection, settings.gaps)?;
    // 2. normalisation
    let normalised = normalise_samples(inds, &samples, &settings)?;
    // 3. weights
    let weights = evaluation_weights::weigh(tree, &normalised, method, &settings)?;
    // 4. scores
    let scores = evaluation_scores::score(tree, &samples, &normalised, &weights.w, &settings)?;
    // 5. tiers, trends, macro-regions
    let summary = evaluation_summary::summarise(&scores.rows, &samples, scores.coupled, &settings)?;

    let indicators = indicator_weights(tree, &weights);
    let provenance = provenance(tree, settings, weights.label, &samples, scores.coupled);
    Ok(Evaluation {
        provenance,
        indicators,
        dimensions: scores.dimensions,
        subsystems: scores.subsystems,
        ahp: weights.ahp,
        rows: scores.rows,
        tiers: summary.tiers,
        trends: summary.trends,
        macro_regions: summary.macro_regions,
        flags: selection.flags,
        excluded: samples.excluded,
        filled: samples.filled,
        ignored_indicators: selection.ignored_indicators,
        notes: scores.notes,
    })
}

/// The settings checked, with the weighting method resolved (the settings', else the tree's,
/// else entropy) and filled in; the method is returned beside them.
fn resolve_settings(
    tree: &IndicatorTree,
    settings: &Settings,
) -> Result<(Settings, Weighting), EvaluationError> {
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
    Ok((settings, method))
}

/// Step 2, normalisation: every indicator column of the samples normalised in its direction,
/// over all samples (pooled) or within each year; `normalised[j][s]` as in [`Samples`].
fn normalise_samples(
    inds: &[Indicator],
    samples: &Samples,
    settings: &Settings,
) -> Result<Vec<Vec<f64>>, EvaluationError> {
    let nr = samples.regions.len();
    let mut normalised = vec![vec![0.0; samples.count()]; inds.len()];
    for (j, col) in samples.columns.iter().enumerate() {
        for g in samples.groups(settings.pooling) {
            let n =
                normalise::normalise(&col[g.clone()], inds[j].direction, &settings.normalisation)
                    .map_err(|error| EvaluationError::Normalise {
                    indicator: inds[j].id.clone(),
                    year: (settings.pooling == Pooling::PerYear)
                        .then(|| samples.years[g.start / nr]),
                    error,
                })?;
            normalised[j][g].copy_from_slice(&n);
        }
    }
    Ok(normalised)
}

/// Every indicator of the tree with its dimension and weights.
fn indicator_weights(tree: &IndicatorTree, weights: &Weights) -> Vec<IndicatorWeight> {
    tree.indicators()
        .iter()
        .enumerate()
        .map(|(j, i)| IndicatorWeight {
            id: i.id.clone(),
            zh: i.zh.clone(),
            en: i.en.clone(),
            unit: i.unit.clone(),
            direction: i.direction,
            subsystem: i.subsystem.clone(),
            dimension: tree.dimension_of(j).to_string(),
            weight: weights.w[j],
            objective: weights.objective.as_ref().map(|o| o[j]),
            subjective: weights.subjective.as_ref().map(|s| s[j]),
        })
        .collect()
}

/// What the evaluation was computed from and how.
fn provenance(
    tree: &IndicatorTree,
    settings: Settings,
    weighting: String,
    samples: &Samples,
    coupled: bool,
) -> Provenance {
    Provenance {
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
        weighting,
        score: settings.score.label().to_string(),
        coupling: if coupled {
            settings.coupling.formula().to_string()
        } else {
            "not computed".into()
        },
        tiers: settings.tiers.label(),
        regions: samples.regions.len(),
        years: samples.years.clone(),
        samples: samples.count(),
        settings,
    }
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
