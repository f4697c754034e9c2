//! Step 3 of an evaluation (see evaluation.rs): the weight of every indicator.

use crate::evaluation::{EvaluationError, Settings, Weighting};
use crate::tree::{AhpReport, IndicatorTree};
use crate::weights::{self, WeightError};

/// The weights of the indicators, in the tree's order, and how they were found.
pub(crate) struct Weights {
    /// The final weight w of every indicator.
    pub(crate) w: Vec<f64>,
    /// The objective weights, when computed.
    pub(crate) objective: Option<Vec<f64>>,
    /// The subjective weights, when computed.
    pub(crate) subjective: Option<Vec<f64>>,
    /// What the provenance says of the method.
    pub(crate) label: String,
    /// AHP results of the tree's judgement matrices, when the subjective weights were computed.
    pub(crate) ahp: Vec<AhpReport>,
}

/// Step 3, weights: entropy (熵权法) or CRITIC on the normalised columns (pooled over all
/// samples), the tree's subjective weights (manual or AHP), or the two combined as
/// `settings.combination` says.
pub(crate) fn weigh(
    tree: &IndicatorTree,
    normalised: &[Vec<f64>],
    method: Weighting,
    settings: &Settings,
) -> Result<Weights, EvaluationError> {
    let subjective = || tree.subjective_weights(settings.ri_table, settings.force_ahp);
    Ok(match method {
        Weighting::Entropy | Weighting::Critic => {
            let o = objective_weights(tree, normalised, method)?;
            let label = if method == Weighting::Entropy {
                "entropy (熵权法), pooled over all samples"
            } else {
                "CRITIC, pooled over all samples"
            };
            Weights {
                w: o.clone(),
                objective: Some(o),
                subjective: None,
                label: label.to_string(),
                ahp: Vec::new(),
            }
        }
        Weighting::Subjective => {
            let (s, ahp) = subjective()?;
            Weights {
                w: s.clone(),
                objective: None,
                subjective: Some(s),
                label: "subjective (the tree's weights / AHP)".to_string(),
                ahp,
            }
        }
        Weighting::Combined => {
            let (s, ahp) = subjective()?;
            let o = objective_weights(tree, normalised, settings.objective)?;
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
            Weights {
                w,
                objective: Some(o),
                subjective: Some(s),
                label,
                ahp,
            }
        }
    })
}

/// CRITIC weights for [`Weighting::Critic`], entropy weights (熵权法) otherwise.
fn objective_weights(
    tree: &IndicatorTree,
    normalised: &[Vec<f64>],
    method: Weighting,
) -> Result<Vec<f64>, WeightError> {
    match method {
        Weighting::Critic => weights::critic(normalised),
        _ => {
            let names: Vec<String> = tree.indicators().iter().map(|i| i.id.clone()).collect();
            weights::entropy(normalised, &names)
        }
    }
}
