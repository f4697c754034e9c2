//! The entry points the CLI and the HTTP API share: file contents in, results out.

use serde::{Deserialize, Serialize};

use crate::coupling::{self, Coupling, CouplingForm};
use crate::evaluation::{self, Evaluation, EvaluationError, Settings};
use crate::panel::{self, ImportError, Layout, LongColumns, Panel};
use crate::tree::{IndicatorTree, TreeError};

/// One panel file given as text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PanelInput {
    /// A name for errors (the file name).
    pub name: String,
    /// The CSV text.
    pub csv: String,
    /// `long`, `wide` or `nbs`; absent: detected.
    pub layout: Option<Layout>,
    /// Column names of a long CSV.
    pub columns: LongColumns,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The tree.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// A panel file.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// Settings that do not parse.
    #[error("{0}")]
    Settings(String),
    /// The evaluation.
    #[error(transparent)]
    Evaluation(#[from] EvaluationError),
}

/// Parses settings from TOML (`name` for errors).
pub fn settings_from_toml(text: &str, name: &str) -> Result<Settings, RunError> {
    toml::from_str(text)
        .map_err(|e| RunError::Settings(format!("{name}: {}", e.to_string().trim_end())))
}

/// Reads and merges the panel files.
pub fn load_panel(inputs: &[PanelInput]) -> Result<Panel, RunError> {
    let mut obs = Vec::new();
    for p in inputs {
        obs.extend(panel::parse_csv(&p.csv, &p.name, p.layout, &p.columns)?);
    }
    Ok(Panel::from_observations(&obs)?)
}

/// Tree + panel files + settings → evaluation.
pub fn run(
    tree: &IndicatorTree,
    panels: &[PanelInput],
    settings: &Settings,
) -> Result<Evaluation, RunError> {
    let panel = load_panel(panels)?;
    Ok(evaluation::evaluate(tree, &panel, settings)?)
}

/// One row of a coupling table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CouplingRow {
    /// 1-based line of the CSV.
    pub line: usize,
    /// The other fields of the row (labels), as written.
    pub labels: Vec<String>,
    /// The subsystem scores.
    pub u: Vec<f64>,
    /// C, T, D and classes.
    pub coupling: Coupling,
}

/// C, T and D for every row of a CSV of subsystem scores (`columns` names the U columns).
pub fn coupling_table(
    csv_text: &str,
    name: &str,
    columns: &[String],
    alpha: &[f64],
    form: CouplingForm,
) -> Result<(Vec<String>, Vec<CouplingRow>), ImportError> {
    let bad = |line: usize, column: Option<usize>, message: String| ImportError {
        source_name: name.into(),
        line,
        column,
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(csv_text.trim_start_matches('\u{feff}').as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| bad(1, None, e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    let idx: Vec<usize> = columns
        .iter()
        .map(|c| {
            header.iter().position(|h| h == c).ok_or_else(|| {
                bad(
                    1,
                    None,
                    format!("no column {c:?}; the header is {header:?}"),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let labels: Vec<String> = header
        .iter()
        .enumerate()
        .filter(|(i, _)| !idx.contains(i))
        .map(|(_, h)| h.clone())
        .collect();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| bad(line, None, e.to_string()))?;
        let u = idx
            .iter()
            .map(|&c| {
                let s = record.get(c).unwrap_or("");
                s.parse::<f64>()
                    .map_err(|_| bad(line, Some(c + 1), format!("{s:?} is not a number")))
            })
            .collect::<Result<Vec<f64>, _>>()?;
        let coupling = coupling::couple(&u, alpha, form).map_err(|e| {
            let column = match e {
                coupling::CouplingError::OutOfRange { index, .. } => Some(idx[index - 1] + 1),
                _ => None,
            };
            bad(line, column, e.to_string())
        })?;
        let labels = record
            .iter()
            .enumerate()
            .filter(|(c, _)| !idx.contains(c))
            .map(|(_, v)| v.to_string())
            .collect();
        rows.push(CouplingRow {
            line,
            labels,
            u,
            coupling,
        });
    }
    Ok((labels, rows))
}
