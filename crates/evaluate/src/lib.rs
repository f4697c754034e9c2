//! # shulv-evaluate
//!
//! The regional dual-synergy evaluation (区域双化协同成效评价) of shulv (数绿): indicator trees,
//! panels of regions × years × indicators, normalisation, weights (entropy, CRITIC, AHP, manual,
//! combinations), scores (weighted sum, TOPSIS), the coupling coordination of subsystems
//! (耦合协调度), obstacle degrees, tiers and trends, and the report (tables, an SVG choropleth
//! map of the provinces, radar charts, HTML).
//!
//! Pure computation: every function takes text or values and returns values; reading files is
//! the caller's job. Formulas: docs/evaluation.md.

#![warn(missing_docs)]

pub mod coupling;
pub mod evaluation;
mod evaluation_samples;
mod evaluation_scores;
mod evaluation_summary;
mod evaluation_weights;
pub mod normalise;
pub mod panel;
pub mod regions;
pub mod report;
pub mod request;
pub mod score;
pub mod tiers;
pub mod tree;
pub mod weights;

pub use coupling::{couple, Coupling, CouplingForm};
pub use evaluation::{
    evaluate, Evaluation, EvaluationError, GapPolicy, Pooling, Settings, Weighting,
};
pub use panel::{Layout, LongColumns, Panel};
pub use tree::IndicatorTree;
