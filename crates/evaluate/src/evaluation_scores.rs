//! Step 4 of an evaluation (see evaluation.rs): the rows — every region-year's composite score
//! and rank, the scores of its dimensions and subsystems, their coupling coordination
//! (耦合协调度) and its obstacle degrees (障碍度).

use crate::coupling::{self, Coupling};
use crate::evaluation::{Dimension, EvaluationError, Obstacle, Row, Settings};
use crate::evaluation_samples::Samples;
use crate::regions;
use crate::score::{self, ScoreMethod};
use crate::tree::{Direction, Indicator, IndicatorTree};

/// The results of step 4.
pub(crate) struct Scores {
    /// The first-level dimensions with their weights.
    pub(crate) dimensions: Vec<Dimension>,
    /// The coupled subsystems (empty when the coupling is not computed).
    pub(crate) subsystems: Vec<String>,
    /// True if the subsystem scores and their coupling were computed.
    pub(crate) coupled: bool,
    /// Every region-year, by year then rank.
    pub(crate) rows: Vec<Row>,
    /// Results not computed and why.
    pub(crate) notes: Vec<String>,
}

/// Step 4, scores: the composite score of every sample (weighted sum or TOPSIS), the score of
/// every first-level dimension and the U of every subsystem (Σ w·x' / Σ w over its
/// indicators), the coupling coordination of the subsystems, the obstacle degrees, and the rank
/// within each year.
pub(crate) fn score(
    tree: &IndicatorTree,
    samples: &Samples,
    normalised: &[Vec<f64>],
    w: &[f64],
    settings: &Settings,
) -> Result<Scores, EvaluationError> {
    let inds = tree.indicators();
    let composite = composite_scores(inds, samples, normalised, w, settings);
    let dims = tree.dimensions();
    let dim_of = dimension_of_each(tree, &dims);
    let dimensions = dimension_weights(&dims, &dim_of, w);
    let subsystems = tree.subsystems();
    let sub_of = subsystem_of_each(inds, &subsystems);
    let scope = Scope::of(&subsystems, settings)?;
    let scoring = Scoring {
        inds,
        samples,
        normalised,
        w,
        settings,
        composite,
        dim_of,
        dimension_count: dims.len(),
        sub_of,
        subsystem_count: subsystems.len(),
        scope: &scope,
    };
    let mut rows = (0..samples.count())
        .map(|s| scoring.row(s))
        .collect::<Result<Vec<_>, _>>()?;
    rank_within_years(&mut rows, samples.regions.len());
    Ok(Scores {
        dimensions,
        subsystems: if scope.couple { subsystems } else { Vec::new() },
        coupled: scope.couple,
        rows,
        notes: scope.notes,
    })
}

/// The dimension of every indicator, an index into `dims`.
fn dimension_of_each(tree: &IndicatorTree, dims: &[(&str, &str, &str)]) -> Vec<usize> {
    (0..tree.indicators().len())
        .map(|j| {
            let d = tree.dimension_of(j);
            dims.iter().position(|x| x.0 == d).expect("a dimension")
        })
        .collect()
}

/// The first-level dimensions (一级指标), each weighing the sum of its indicators' weights.
fn dimension_weights(dims: &[(&str, &str, &str)], dim_of: &[usize], w: &[f64]) -> Vec<Dimension> {
    dims.iter()
        .enumerate()
        .map(|(k, (id, zh, en))| Dimension {
            id: id.to_string(),
            zh: zh.to_string(),
            en: en.to_string(),
            weight: (0..dim_of.len())
                .filter(|&j| dim_of[j] == k)
                .map(|j| w[j])
                .sum(),
        })
        .collect()
}

/// The subsystem of every indicator, an index into `subsystems` (0 when it names none).
fn subsystem_of_each(inds: &[Indicator], subsystems: &[String]) -> Vec<usize> {
    inds.iter()
        .map(|i| {
            i.subsystem
                .as_ref()
                .and_then(|s| subsystems.iter().position(|x| x == s))
                .unwrap_or(0)
        })
        .collect()
}

/// The composite score of every sample: the weighted sum Σ w·x', or TOPSIS on the raw (vector
/// norm) or normalised (min–max) values within each normalisation group.
fn composite_scores(
    inds: &[Indicator],
    samples: &Samples,
    normalised: &[Vec<f64>],
    w: &[f64],
    settings: &Settings,
) -> Vec<f64> {
    match settings.score {
        ScoreMethod::WeightedSum => score::weighted_sum(normalised, w),
        ScoreMethod::TopsisVector | ScoreMethod::TopsisMinMax => {
            let vector = settings.score == ScoreMethod::TopsisVector;
            let source = if vector {
                &samples.columns[..]
            } else {
                normalised
            };
            let dirs: Vec<Direction> = inds.iter().map(|i| i.direction).collect();
            let mut out = vec![0.0; samples.count()];
            for g in samples.groups(settings.pooling) {
                let sub: Vec<Vec<f64>> = source.iter().map(|c| c[g.clone()].to_vec()).collect();
                out[g].copy_from_slice(&score::topsis(&sub, w, &dirs, vector));
            }
            out
        }
    }
}

/// Which of the subsystem scores, coupling and obstacle degrees can be computed.
struct Scope {
    /// At least 2 subsystems and values in [0, 1]: subsystem scores and their coupling.
    couple: bool,
    /// Values in [0, 1] (not z-scores): obstacle degrees.
    unit: bool,
    /// What is not computed and why.
    notes: Vec<String>,
}

impl Scope {
    /// The scope of the tree's `subsystems` under `settings`; refuses subsystem weights that do
    /// not match the subsystems.
    fn of(subsystems: &[String], settings: &Settings) -> Result<Scope, EvaluationError> {
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
                "coupling and obstacle degrees not computed: z-score values are not in [0, 1]"
                    .into(),
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
        Ok(Scope {
            couple,
            unit,
            notes,
        })
    }
}

/// What the row of a sample is computed from.
struct Scoring<'a> {
    inds: &'a [Indicator],
    samples: &'a Samples,
    /// `normalised[j][s]`: the normalised value x' of indicator j in sample s.
    normalised: &'a [Vec<f64>],
    /// The weight of every indicator.
    w: &'a [f64],
    settings: &'a Settings,
    /// The composite score of every sample.
    composite: Vec<f64>,
    /// The dimension of every indicator, an index into the tree's dimensions.
    dim_of: Vec<usize>,
    dimension_count: usize,
    /// The subsystem of every indicator, an index into the tree's subsystems.
    sub_of: Vec<usize>,
    subsystem_count: usize,
    scope: &'a Scope,
}

impl Scoring<'_> {
    /// The row of sample s (ranked later).
    fn row(&self, s: usize) -> Result<Row, EvaluationError> {
        let nr = self.samples.regions.len();
        let region = &self.samples.regions[s % nr];
        let year = self.samples.years[s / nr];
        let dimension_scores = (0..self.dimension_count)
            .map(|k| self.weighted_mean(s, |j| self.dim_of[j] == k))
            .collect();
        let (subsystem_scores, coupling) = if self.scope.couple {
            let (u, c) = self.coupling(s, region, year)?;
            (u, Some(c))
        } else {
            (Vec::new(), None)
        };
        let values: Vec<f64> = self.normalised.iter().map(|c| c[s]).collect();
        let (dimension_obstacles, obstacles) = if self.scope.unit {
            self.obstacle_degrees(&values)
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(Row {
            region: region.clone(),
            zh: regions::display_name(region, "zh"),
            en: regions::display_name(region, "en"),
            year,
            score: self.composite[s],
            rank: 0,
            dimension_scores,
            subsystem_scores,
            coupling,
            dimension_obstacles,
            obstacles,
            normalised: values,
        })
    }

    /// Σ w·x' / Σ w over the indicators j with `members(j)` in sample s (0 when they weigh
    /// nothing).
    fn weighted_mean(&self, s: usize, members: impl Fn(usize) -> bool) -> f64 {
        let (num, den) = (0..self.inds.len())
            .filter(|&j| members(j))
            .fold((0.0, 0.0), |(n, d), j| {
                (n + self.w[j] * self.normalised[j][s], d + self.w[j])
            });
        if den > 0.0 {
            num / den
        } else {
            0.0
        }
    }

    /// The score U of every subsystem in sample s and their coupling coordination.
    fn coupling(
        &self,
        s: usize,
        region: &str,
        year: i32,
    ) -> Result<(Vec<f64>, Coupling), EvaluationError> {
        let u: Vec<f64> = (0..self.subsystem_count)
            .map(|k| self.weighted_mean(s, |j| self.sub_of[j] == k))
            .collect();
        let c = coupling::couple(&u, &self.settings.subsystem_weights, self.settings.coupling)
            .map_err(|error| EvaluationError::Coupling {
                region: region.to_string(),
                year,
                error,
            })?;
        Ok((u, c))
    }

    /// The obstacle degrees (障碍度, %) of a sample's normalised `values`: the sum over every
    /// dimension, and the largest indicators (at most `settings.obstacles`, none of zero).
    fn obstacle_degrees(&self, values: &[f64]) -> (Vec<f64>, Vec<Obstacle>) {
        let o = score::obstacle(values, self.w);
        let by_dim = (0..self.dimension_count)
            .map(|k| {
                (0..self.inds.len())
                    .filter(|&j| self.dim_of[j] == k)
                    .map(|j| o[j])
                    .sum()
            })
            .collect();
        let mut order: Vec<usize> = (0..o.len()).collect();
        order.sort_by(|&a, &b| o[b].total_cmp(&o[a]));
        let top = order
            .into_iter()
            .take(self.settings.obstacles)
            .filter(|&j| o[j] > 0.0)
            .map(|j| Obstacle {
                indicator: self.inds[j].id.clone(),
                share: o[j],
            })
            .collect();
        (by_dim, top)
    }
}

/// Ranks the rows of every year (`regions` consecutive rows) by score, ties in region order,
/// and sorts each year's rows by rank.
fn rank_within_years(rows: &mut [Row], regions: usize) {
    for chunk in rows.chunks_mut(regions) {
        let mut order: Vec<usize> = (0..chunk.len()).collect();
        order.sort_by(|&a, &b| chunk[b].score.total_cmp(&chunk[a].score).then(a.cmp(&b)));
        for (rank, i) in order.into_iter().enumerate() {
            chunk[i].rank = rank + 1;
        }
        chunk.sort_by_key(|r| r.rank);
    }
}
