//! `/api/v1/evaluations`: the regional dual-synergy evaluation (区域双化协同成效评价) over HTTP.
//! Thin handlers over `shulv-evaluate` (the same `request::run` the CLI calls); the evaluation
//! reads only what the request carries, not the store.

use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use shulv_evaluate::request::{self, PanelInput};
use shulv_evaluate::tree::TreeFile;
use shulv_evaluate::{IndicatorTree, Settings};

use crate::error::{ApiError, ErrorBody};

/// An evaluation request.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluationRequest {
    /// The indicator tree, as in a tree file (`name`, `node`, `indicator`, `ahp`, …); absent:
    /// the shipped template (not the official weights).
    #[schema(value_type = Option<Object>)]
    pub tree: Option<TreeFile>,
    /// Panel files: `{"name": "...", "csv": "...", "layout": "long|wide|nbs", "columns": {...}}`.
    #[schema(value_type = Vec<Object>)]
    pub panels: Vec<PanelInput>,
    /// Settings (normalisation, pooling, weighting, score, coupling, tiers, gaps, years, …);
    /// absent fields take their defaults.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: Settings,
}

/// The default template, as JSON and as the TOML file it ships as.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TemplateBody {
    /// The tree.
    #[schema(value_type = Object)]
    pub tree: TreeFile,
    /// The same tree as TOML.
    pub toml: String,
}

/// The default indicator tree: a template on the six dimensions of the national report, not
/// the official weights.
#[utoipa::path(get, path = "/api/v1/evaluations/template", tag = "evaluation",
    responses((status = 200, body = TemplateBody)))]
pub async fn template() -> Json<TemplateBody> {
    Json(TemplateBody {
        tree: IndicatorTree::template().file,
        toml: shulv_evaluate::tree::TEMPLATE_TOML.to_string(),
    })
}

/// Evaluate a panel with an indicator tree: ranking, dimension scores, coupling coordination,
/// obstacle degrees, tiers, trends, data-quality flags, and the method and settings used.
#[utoipa::path(post, path = "/api/v1/evaluations", tag = "evaluation",
    request_body = EvaluationRequest,
    responses((status = 200, description = "The evaluation (see docs/evaluation.md)", body = Object),
        (status = 400, description = "Bad tree, panel or settings; the message names the entry, file, line and column", body = ErrorBody)))]
pub async fn evaluate(
    Json(body): Json<EvaluationRequest>,
) -> Result<Json<shulv_evaluate::Evaluation>, ApiError> {
    let result = tokio::task::spawn_blocking(move || -> Result<_, String> {
        let tree = match body.tree {
            Some(file) => IndicatorTree::new(file, "request.tree").map_err(|e| e.to_string())?,
            None => IndicatorTree::template(),
        };
        request::run(&tree, &body.panels, &body.settings).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    result
        .map(Json)
        .map_err(|m| ApiError::new(StatusCode::BAD_REQUEST, m))
}
