//! Indicator trees (指标体系): levels of criteria (准则层) above indicators (指标层), with Chinese
//! and English names, units, directions, subsystems and subjective weights, loaded from TOML or
//! JSON and validated so that every error names the entry it is about.
//!
//! ```toml
//! name = "My tree"
//! weighting = "entropy"            # the default method of this tree (optional)
//!
//! [[node]]                          # a criterion; no parent = first level
//! id = "D1"
//! zh = "双化基础支撑"
//! en = "Digital and green infrastructure"
//! weight = 0.2                      # local weight among its siblings (optional)
//!
//! [[indicator]]
//! id = "fibre"
//! parent = "D1"
//! zh = "千兆光网端口"
//! en = "Gigabit fibre ports"
//! unit = "个/万人"
//! direction = "positive"            # or "negative" (cost-type, 负向)
//! subsystem = "digital"             # for coupling coordination (optional)
//! weight = 0.5
//!
//! [[ahp]]                           # judgements among the children of a parent ("" = root)
//! parent = "D1"
//! children = ["fibre", "5g"]
//! matrix = [[1, 2], ["1/2", 1]]
//! ```

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::weights::{self, Ahp, RiTable};

/// Whether larger values are better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Benefit-type (正向): larger is better.
    #[serde(alias = "benefit", alias = "+")]
    Positive,
    /// Cost-type (负向): smaller is better.
    #[serde(alias = "cost", alias = "-")]
    Negative,
}

/// A criterion (a node above the indicators).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Unique id.
    pub id: String,
    /// Parent node id; absent for the first level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Chinese name.
    pub zh: String,
    /// English name.
    pub en: String,
    /// Local weight among its siblings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
}

/// An indicator (a leaf).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// Unique id; the panel names the indicator by it.
    pub id: String,
    /// Parent node id; absent for a flat tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Chinese name.
    pub zh: String,
    /// English name.
    pub en: String,
    /// Unit of the raw values.
    #[serde(default)]
    pub unit: String,
    /// Direction.
    pub direction: Direction,
    /// Subsystem for the coupling (e.g. `digital`, `green`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsystem: Option<String>,
    /// Local weight among its siblings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// True if the template's values for it are illustrative, not data (documentation only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub illustrative: bool,
}

/// An entry of a judgement matrix: a number or a fraction such as `"1/3"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Judgement {
    /// A number.
    Number(f64),
    /// A fraction `a/b` or a number written as text.
    Text(String),
}

/// AHP judgements among the children of one parent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AhpSpec {
    /// The parent node id; empty or absent for the first level.
    #[serde(default)]
    pub parent: String,
    /// The children, in the order of the matrix rows.
    pub children: Vec<String>,
    /// The judgement matrix.
    pub matrix: Vec<Vec<Judgement>>,
}

/// A tree as written in a file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeFile {
    /// Name of the tree.
    pub name: String,
    /// True for a template (not official weights).
    #[serde(default)]
    pub template: bool,
    /// Free text shown with results (source, caveats).
    #[serde(default)]
    pub note: String,
    /// The weighting method this tree is meant for (`entropy`, `critic`, `subjective`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weighting: Option<String>,
    /// Criteria.
    #[serde(default, rename = "node")]
    pub nodes: Vec<Node>,
    /// Indicators.
    #[serde(rename = "indicator")]
    pub indicators: Vec<Indicator>,
    /// AHP judgements.
    #[serde(default)]
    pub ahp: Vec<AhpSpec>,
}

/// A bad tree: where and what.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TreeError {
    /// The file does not parse (TOML/JSON syntax or types; the message has line and column).
    #[error("{source_name}: {message}")]
    Syntax {
        /// File name.
        source_name: String,
        /// Parser message.
        message: String,
    },
    /// An entry breaks a rule.
    #[error("{source_name}: {path}: {message}")]
    Invalid {
        /// File name.
        source_name: String,
        /// The entry, e.g. `indicator[3] (id "fibre").parent`.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Subjective weights asked of a tree that does not give them.
    #[error("subjective weights: {0}")]
    Weights(String),
    /// An AHP matrix refused.
    #[error("[[ahp]] of parent {parent:?}: {error}")]
    Ahp {
        /// The parent ("" = root).
        parent: String,
        /// The AHP error.
        error: weights::WeightError,
    },
}

/// A validated indicator tree.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IndicatorTree {
    /// The tree as given.
    #[serde(flatten)]
    pub file: TreeFile,
    /// Depth of every indicator (1 = directly under the root).
    pub levels: usize,
}

/// The default template, shipped with the crate (see data/ATTRIBUTION.md).
pub const TEMPLATE_TOML: &str = include_str!("../data/template.toml");

/// The AHP result of one parent.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AhpReport {
    /// The parent ("" = root).
    pub parent: String,
    /// The children, in matrix order.
    pub children: Vec<String>,
    /// Eigenvector, λmax, CI, RI, CR.
    #[serde(flatten)]
    pub result: Ahp,
}

impl IndicatorTree {
    /// Parses TOML and validates it; `source_name` names the file in errors.
    pub fn from_toml(text: &str, source_name: &str) -> Result<Self, TreeError> {
        let file: TreeFile = toml::from_str(text).map_err(|e| TreeError::Syntax {
            source_name: source_name.into(),
            message: e.to_string().trim_end().to_string(),
        })?;
        Self::new(file, source_name)
    }

    /// Parses JSON and validates it.
    pub fn from_json(text: &str, source_name: &str) -> Result<Self, TreeError> {
        let file: TreeFile = serde_json::from_str(text).map_err(|e| TreeError::Syntax {
            source_name: source_name.into(),
            message: e.to_string(),
        })?;
        Self::new(file, source_name)
    }

    /// TOML unless `source_name` ends in `.json`.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, TreeError> {
        if source_name.to_ascii_lowercase().ends_with(".json") {
            Self::from_json(text, source_name)
        } else {
            Self::from_toml(text, source_name)
        }
    }

    /// The shipped template built on the report's six dimensions (not the official weights).
    pub fn template() -> Self {
        Self::from_toml(TEMPLATE_TOML, "template.toml").expect("the shipped template is valid")
    }

    /// Validates a tree: unique ids, known parents, no cycle, every criterion with children,
    /// weights positive, AHP matrices matching the children of their parent.
    pub fn new(file: TreeFile, source_name: &str) -> Result<Self, TreeError> {
        let bad = |path: String, message: String| TreeError::Invalid {
            source_name: source_name.into(),
            path,
            message,
        };
        if file.indicators.is_empty() {
            return Err(bad("indicator".into(), "the tree has no indicators".into()));
        }
        let mut seen: HashMap<&str, String> = HashMap::new();
        let entries = file
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                (
                    format!("node[{i}] (id {:?})", n.id),
                    &n.id,
                    &n.parent,
                    n.weight,
                )
            })
            .chain(file.indicators.iter().enumerate().map(|(i, n)| {
                (
                    format!("indicator[{i}] (id {:?})", n.id),
                    &n.id,
                    &n.parent,
                    n.weight,
                )
            }))
            .collect::<Vec<_>>();
        for (path, id, _, weight) in &entries {
            if id.trim().is_empty() {
                return Err(bad(format!("{path}.id"), "an id must not be empty".into()));
            }
            if let Some(first) = seen.insert(id.as_str(), path.clone()) {
                return Err(bad(
                    format!("{path}.id"),
                    format!("id {id:?} is already used by {first}"),
                ));
            }
            if let Some(w) = weight {
                if !(w.is_finite() && *w >= 0.0) {
                    return Err(bad(
                        format!("{path}.weight"),
                        format!("a weight must be a number ≥ 0, got {w}"),
                    ));
                }
            }
        }
        let node_ids: HashSet<&str> = file.nodes.iter().map(|n| n.id.as_str()).collect();
        for (path, _, parent, _) in &entries {
            if let Some(p) = parent {
                if !node_ids.contains(p.as_str()) {
                    let what = if seen.contains_key(p.as_str()) {
                        "is an indicator; only a [[node]] can have children"
                    } else {
                        "is no [[node]] of this tree"
                    };
                    return Err(bad(format!("{path}.parent"), format!("{p:?} {what}")));
                }
            }
        }
        let parent_of: HashMap<&str, Option<&str>> = file
            .nodes
            .iter()
            .map(|n| (n.id.as_str(), n.parent.as_deref()))
            .collect();
        let depth = |start: Option<&str>| -> Option<usize> {
            let mut d = 1;
            let mut at = start;
            while let Some(p) = at {
                d += 1;
                if d > file.nodes.len() + 1 {
                    return None;
                }
                at = parent_of[p];
            }
            Some(d)
        };
        for (i, n) in file.nodes.iter().enumerate() {
            if depth(n.parent.as_deref()).is_none() {
                return Err(bad(
                    format!("node[{i}] (id {:?}).parent", n.id),
                    "the parents form a cycle".into(),
                ));
            }
            let has_child = entries
                .iter()
                .any(|(_, _, parent, _)| parent.as_deref() == Some(n.id.as_str()));
            if !has_child {
                return Err(bad(
                    format!("node[{i}] (id {:?})", n.id),
                    "a criterion without indicators or criteria under it".into(),
                ));
            }
        }
        let mut levels = 0;
        for n in &file.indicators {
            levels = levels.max(depth(n.parent.as_deref()).unwrap_or(1));
        }
        for (i, spec) in file.ahp.iter().enumerate() {
            let path = format!("ahp[{i}] (parent {:?})", spec.parent);
            let parent = (!spec.parent.is_empty()).then_some(spec.parent.as_str());
            if let Some(p) = parent {
                if !node_ids.contains(p) {
                    return Err(bad(
                        format!("{path}.parent"),
                        format!("{p:?} is no [[node]]"),
                    ));
                }
            }
            let mut expected: Vec<&str> = entries
                .iter()
                .filter(|(_, _, par, _)| par.as_deref() == parent)
                .map(|(_, id, _, _)| id.as_str())
                .collect();
            let mut given: Vec<&str> = spec.children.iter().map(String::as_str).collect();
            expected.sort_unstable();
            given.sort_unstable();
            if expected != given {
                return Err(bad(
                    format!("{path}.children"),
                    format!("must list exactly the children {expected:?}, got {given:?}"),
                ));
            }
            if file.ahp[..i].iter().any(|s| s.parent == spec.parent) {
                return Err(bad(path, "a second [[ahp]] for the same parent".into()));
            }
            matrix(spec).map_err(|(r, c, m)| bad(format!("{path}.matrix[{r}][{c}]"), m))?;
            if spec.matrix.len() != spec.children.len()
                || spec
                    .matrix
                    .iter()
                    .any(|row| row.len() != spec.children.len())
            {
                return Err(bad(
                    format!("{path}.matrix"),
                    format!(
                        "must be {n} × {n} for {n} children",
                        n = spec.children.len()
                    ),
                ));
            }
        }
        Ok(IndicatorTree { file, levels })
    }

    /// The indicators, in file order.
    pub fn indicators(&self) -> &[Indicator] {
        &self.file.indicators
    }

    /// The first-level criterion (dimension, 一级指标) above indicator `j`; the indicator
    /// itself for a flat tree.
    pub fn dimension_of(&self, j: usize) -> &str {
        let mut at = self.file.indicators[j].parent.as_deref();
        let mut top = self.file.indicators[j].id.as_str();
        while let Some(p) = at {
            top = p;
            at = self.node(p).and_then(|n| n.parent.as_deref());
        }
        top
    }

    /// The first-level entries (dimensions), in file order.
    pub fn dimensions(&self) -> Vec<(&str, &str, &str)> {
        let nodes = self
            .file
            .nodes
            .iter()
            .filter(|n| n.parent.is_none())
            .map(|n| (n.id.as_str(), n.zh.as_str(), n.en.as_str()));
        let leaves = self
            .file
            .indicators
            .iter()
            .filter(|n| n.parent.is_none())
            .map(|n| (n.id.as_str(), n.zh.as_str(), n.en.as_str()));
        nodes.chain(leaves).collect()
    }

    /// The node `id`.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.file.nodes.iter().find(|n| n.id == id)
    }

    /// The subsystems named by the indicators, in order of first appearance; empty unless every
    /// indicator names one.
    pub fn subsystems(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for ind in &self.file.indicators {
            match &ind.subsystem {
                Some(s) if !out.contains(s) => out.push(s.clone()),
                Some(_) => {}
                None => return Vec::new(),
            }
        }
        out
    }

    /// Global subjective weights of the indicators: the product of the local weights on the
    /// path from the root, where the children of a parent are weighted by its `[[ahp]]` or,
    /// without one, by their `weight` values (normalised among siblings).
    pub fn subjective_weights(
        &self,
        table: RiTable,
        force: bool,
    ) -> Result<(Vec<f64>, Vec<AhpReport>), TreeError> {
        let mut local: HashMap<&str, f64> = HashMap::new();
        let mut reports = Vec::new();
        let mut parents: Vec<Option<&str>> = vec![None];
        parents.extend(self.file.nodes.iter().map(|n| Some(n.id.as_str())));
        for parent in parents {
            let children: Vec<(&str, Option<f64>)> = self
                .file
                .nodes
                .iter()
                .filter(|n| n.parent.as_deref() == parent)
                .map(|n| (n.id.as_str(), n.weight))
                .chain(
                    self.file
                        .indicators
                        .iter()
                        .filter(|n| n.parent.as_deref() == parent)
                        .map(|n| (n.id.as_str(), n.weight)),
                )
                .collect();
            if children.is_empty() {
                continue;
            }
            let key = parent.unwrap_or("");
            if let Some(spec) = self.file.ahp.iter().find(|s| s.parent == key) {
                let m = matrix(spec).expect("validated");
                let result = weights::ahp(&m, table, force).map_err(|error| TreeError::Ahp {
                    parent: key.into(),
                    error,
                })?;
                for (child, w) in spec.children.iter().zip(&result.weights) {
                    let id = children.iter().find(|c| c.0 == child).expect("validated").0;
                    local.insert(id, *w);
                }
                reports.push(AhpReport {
                    parent: key.into(),
                    children: spec.children.clone(),
                    result,
                });
                continue;
            }
            let raw: Option<Vec<f64>> = children.iter().map(|c| c.1).collect();
            let raw = raw.ok_or_else(|| {
                let missing: Vec<&str> = children
                    .iter()
                    .filter(|c| c.1.is_none())
                    .map(|c| c.0)
                    .collect();
                TreeError::Weights(format!(
                    "the children of {} have neither an [[ahp]] nor weights ({} without `weight`)",
                    parent.map_or("the root".to_string(), |p| format!("{p:?}")),
                    missing.join(", ")
                ))
            })?;
            let w = weights::manual(&raw).map_err(|e| TreeError::Weights(e.to_string()))?;
            for (c, w) in children.iter().zip(w) {
                local.insert(c.0, w);
            }
        }
        let global = self
            .file
            .indicators
            .iter()
            .map(|ind| {
                let mut w = local[ind.id.as_str()];
                let mut at = ind.parent.as_deref();
                while let Some(p) = at {
                    w *= local[p];
                    at = self.node(p).and_then(|n| n.parent.as_deref());
                }
                w
            })
            .collect();
        Ok((global, reports))
    }
}

/// The numbers of a judgement matrix, or (row, column, message) of the first bad entry.
fn matrix(spec: &AhpSpec) -> Result<Vec<Vec<f64>>, (usize, usize, String)> {
    spec.matrix
        .iter()
        .enumerate()
        .map(|(r, row)| {
            row.iter()
                .enumerate()
                .map(|(c, j)| {
                    judgement(j).ok_or((r, c, format!("{j:?} is not a number or a fraction a/b")))
                })
                .collect()
        })
        .collect()
}

fn judgement(j: &Judgement) -> Option<f64> {
    match j {
        Judgement::Number(v) => Some(*v),
        Judgement::Text(t) => match t.split_once('/') {
            Some((a, b)) => Some(a.trim().parse::<f64>().ok()? / b.trim().parse::<f64>().ok()?),
            None => t.trim().parse().ok(),
        },
    }
    .filter(|v| v.is_finite() && *v > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TREE: &str = r#"
name = "t"
[[node]]
id = "A"
zh = "甲"
en = "A"
weight = 3
[[node]]
id = "B"
zh = "乙"
en = "B"
weight = 1
[[indicator]]
id = "a1"
parent = "A"
zh = "a1"
en = "a1"
direction = "positive"
weight = 1
[[indicator]]
id = "a2"
parent = "A"
zh = "a2"
en = "a2"
direction = "cost"
weight = 1
[[indicator]]
id = "b1"
parent = "B"
zh = "b1"
en = "b1"
direction = "positive"
"#;

    #[test]
    fn subjective_weights_multiply_down_the_tree() {
        let t = IndicatorTree::from_toml(TREE, "t.toml").unwrap();
        // b1 has no weight: even as the only child of B its weight must be given
        match t.subjective_weights(RiTable::Saaty, false) {
            Err(TreeError::Weights(m)) => assert!(m.contains("\"B\"") && m.contains("b1"), "{m}"),
            other => panic!("{other:?}"),
        }
        let t = IndicatorTree::from_toml(&format!("{TREE}weight = 1\n"), "t.toml").unwrap();
        let (w, _) = t.subjective_weights(RiTable::Saaty, false).unwrap();
        assert_eq!(w, vec![0.375, 0.375, 0.25]);
        assert_eq!(t.dimension_of(2), "B");
        assert_eq!(t.levels, 2);
        assert_eq!(t.indicators()[1].direction, Direction::Negative);
    }

    #[test]
    fn errors_name_the_entry() {
        let bad = TREE.replace("parent = \"B\"", "parent = \"C\"");
        let e = IndicatorTree::from_toml(&bad, "t.toml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.toml: indicator[2] (id \"b1\").parent: \"C\" is no [[node]] of this tree"
        );
        let dup = TREE.replace("id = \"a2\"", "id = \"a1\"");
        let e = IndicatorTree::from_toml(&dup, "t.toml").unwrap_err();
        assert!(e.to_string().contains("indicator[1] (id \"a1\").id"), "{e}");
        let dir = TREE.replace("\"cost\"", "\"upward\"");
        let e = IndicatorTree::from_toml(&dir, "t.toml").unwrap_err();
        assert!(matches!(e, TreeError::Syntax { .. }));
        assert!(e.to_string().contains("line"), "{e}");
        let ahp = format!("{TREE}weight = 1\n[[ahp]]\nparent = \"A\"\nchildren = [\"a1\", \"b1\"]\nmatrix = [[1, 2], [\"1/2\", 1]]\n");
        let e = IndicatorTree::from_toml(&ahp, "t.toml").unwrap_err();
        assert!(
            e.to_string().contains("ahp[0] (parent \"A\").children"),
            "{e}"
        );
        let ahp = ahp
            .replace("\"b1\"]", "\"a2\"]")
            .replace("\"1/2\"", "\"x\"");
        let e = IndicatorTree::from_toml(&ahp, "t.toml").unwrap_err();
        assert!(e.to_string().contains("matrix[1][0]"), "{e}");
    }

    #[test]
    fn the_template_is_valid_and_labelled() {
        let t = IndicatorTree::template();
        assert!(t.file.template);
        assert!(t.file.note.contains("not the official"), "{}", t.file.note);
        assert_eq!(t.dimensions().len(), 6);
        assert_eq!(t.indicators().len(), 27);
        assert_eq!(t.levels, 3);
        assert_eq!(
            t.subsystems(),
            vec!["digital".to_string(), "green".to_string()]
        );
        let second = t.file.nodes.iter().filter(|n| n.parent.is_some()).count();
        assert_eq!(second, 14);
        let (w, _) = t.subjective_weights(RiTable::Saaty, false).unwrap();
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
