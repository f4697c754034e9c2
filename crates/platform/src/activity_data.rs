//! Scope 3 activity data entered without a meter (purchased goods, transport, business travel,
//! waste …): a quantity for a node and period with the emission factor the user applies and its
//! source. Accounts of the node, or of any node above it, for a period that contains the
//! record's period include it in Scope 3.
//!
//! The records are `activity-data.json` in the data directory, replaced atomically under one
//! lock, like the certificate book, so an acknowledged record survives a crash.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shulv_carbon::{FactorRef, Status, SuppliedActivity};

use crate::accounting::Period;
use crate::{Platform, PlatformError};

/// A Scope 3 record to add.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActivityRecord {
    /// Unique id of the record.
    pub id: String,
    /// Node (enterprise, site …) the activity belongs to.
    pub node: String,
    /// Period it covers: `2025`, `2025-Q2` or `2025-03`.
    pub period: String,
    /// GHG Protocol Scope 3 category, 1–15 (4 upstream transport, 6 business travel …).
    pub category: u8,
    /// What it is (`road freight of raw materials`).
    pub description: String,
    /// Quantity.
    pub quantity: f64,
    /// Its unit as you name it (`t·km`, `t`, `万元`, `passenger·km`).
    pub unit: String,
    /// Emission factor per unit of `unit`.
    pub factor: f64,
    /// The factor's unit: `kgCO2e/<unit>` or `tCO2e/<unit>`, with `<unit>` as in `unit`.
    pub factor_unit: String,
    /// Where the factor comes from (publisher, document, table).
    pub factor_source: String,
    /// Verification status of the factor: V1, V2, S (default) or U.
    #[serde(default = "third_party")]
    pub factor_status: Status,
}

fn third_party() -> Status {
    Status::S
}

/// A stored Scope 3 record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActivityRecord {
    /// What was entered.
    #[serde(flatten)]
    pub spec: NewActivityRecord,
    /// When (ms UTC).
    pub recorded_at: i64,
    /// Who entered it.
    pub recorded_by: String,
}

impl ActivityRecord {
    /// The record as inventory input, the factor converted to tCO2e per unit.
    fn supplied(&self) -> SuppliedActivity {
        let s = &self.spec;
        let per_t = if s.factor_unit.starts_with("kgCO2e/") {
            1e-3
        } else {
            1.0
        };
        SuppliedActivity {
            id: s.id.clone(),
            category: s.category,
            description: s.description.clone(),
            quantity: s.quantity,
            unit: s.unit.clone(),
            factor: FactorRef {
                id: format!("user:activity:{}", s.id),
                version: 1,
                value: s.factor * per_t,
                unit: format!("tCO2e/{}", s.unit),
                document: s.factor_source.clone(),
                table: String::new(),
                status: s.factor_status,
            },
        }
    }
}

/// The stored records.
pub(crate) struct ActivityBook {
    path: PathBuf,
    list: Vec<ActivityRecord>,
}

impl ActivityBook {
    pub(crate) fn open(data_dir: &Path) -> Result<Self, PlatformError> {
        let path = data_dir.join(ActivityBook::FILE);
        let list = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| PlatformError::Corrupt(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(PlatformError::Io(format!("{}: {e}", path.display()))),
        };
        Ok(ActivityBook { path, list })
    }

    /// File name in the data directory.
    pub(crate) const FILE: &'static str = "activity-data.json";

    fn save(&self, list: &[ActivityRecord]) -> Result<(), PlatformError> {
        let bytes =
            serde_json::to_vec_pretty(list).map_err(|e| PlatformError::Io(e.to_string()))?;
        crate::registry::write_atomically(&self.path, &bytes)
    }
}

fn validate(r: &NewActivityRecord, i: usize) -> Result<(), PlatformError> {
    let bad = |field: &str, msg: String| {
        PlatformError::Invalid(format!("records[{i}] ({}): {field}: {msg}", r.id))
    };
    if r.id.trim().is_empty() || r.id.contains(['/', '?', '#']) {
        return Err(bad("id", "must be a non-empty name without / ? #".into()));
    }
    r.period.parse::<Period>().map_err(|e| bad("period", e))?;
    if !(1..=15).contains(&r.category) {
        return Err(bad(
            "category",
            format!("{} is not a Scope 3 category (1–15)", r.category),
        ));
    }
    if r.description.trim().is_empty() {
        return Err(bad("description", "must say what the activity is".into()));
    }
    if !(r.quantity.is_finite() && r.quantity >= 0.0) {
        return Err(bad(
            "quantity",
            format!("must be a finite number ≥ 0, got {}", r.quantity),
        ));
    }
    if r.unit.trim().is_empty() {
        return Err(bad("unit", "must not be empty".into()));
    }
    if !(r.factor.is_finite() && r.factor >= 0.0) {
        return Err(bad(
            "factor",
            format!("must be a finite number ≥ 0, got {}", r.factor),
        ));
    }
    let per = r
        .factor_unit
        .strip_prefix("kgCO2e/")
        .or_else(|| r.factor_unit.strip_prefix("tCO2e/"));
    if per != Some(r.unit.as_str()) {
        return Err(bad(
            "factor_unit",
            format!(
                "{:?} must be kgCO2e/{u} or tCO2e/{u} (per the record's unit)",
                r.factor_unit,
                u = r.unit
            ),
        ));
    }
    if r.factor_source.trim().is_empty() {
        return Err(bad(
            "factor_source",
            "must name where the factor comes from".into(),
        ));
    }
    Ok(())
}

impl Platform {
    /// Adds Scope 3 records; refuses the whole batch if an id exists, a node is unknown or a
    /// field is invalid. Returns how many were added.
    pub fn add_activity_records(
        &self,
        batch: Vec<NewActivityRecord>,
        by: &str,
    ) -> Result<usize, PlatformError> {
        let mut book = self.activity_data.lock();
        let now = chrono::Utc::now().timestamp_millis();
        let mut next = book.list.clone();
        for (i, r) in batch.into_iter().enumerate() {
            validate(&r, i)?;
            if self.with_tree(|t| t.node(&r.node).is_none()) {
                return Err(PlatformError::Invalid(format!(
                    "records[{i}] ({}): node: {:?} is not in the registry",
                    r.id, r.node
                )));
            }
            if next.iter().any(|x| x.spec.id == r.id) {
                // Worded alike whoever holds the id, so that a scoped caller learns nothing
                // about records outside its scope.
                return Err(PlatformError::Invalid(format!(
                    "records[{i}]: id {:?} is not available: choose another id",
                    r.id
                )));
            }
            next.push(ActivityRecord {
                spec: r,
                recorded_at: now,
                recorded_by: by.to_string(),
            });
        }
        let added = next.len() - book.list.len();
        book.save(&next)?;
        book.list = next;
        Ok(added)
    }

    /// Deletes record `id`; returns it.
    pub fn delete_activity_record(&self, id: &str) -> Result<ActivityRecord, PlatformError> {
        let mut book = self.activity_data.lock();
        let i = book
            .list
            .iter()
            .position(|r| r.spec.id == id)
            .ok_or_else(|| PlatformError::NotFound(format!("activity record {id:?}")))?;
        let mut next = book.list.clone();
        let removed = next.remove(i);
        book.save(&next)?;
        book.list = next;
        Ok(removed)
    }

    /// Every stored Scope 3 record.
    pub fn activity_records(&self) -> Vec<ActivityRecord> {
        self.activity_data.lock().list.clone()
    }

    /// Records of `node` or a node below it whose period lies inside `period`, and notes on
    /// those left out because they cover a longer period.
    pub(crate) fn supplied_for(
        &self,
        node: &str,
        period: Period,
    ) -> (Vec<SuppliedActivity>, Vec<String>) {
        let (from, to) = period.dates();
        let list = self.activity_data.lock().list.clone();
        let mut notes = Vec::new();
        let supplied = self.with_tree(|t| {
            list.iter()
                .filter(|r| {
                    r.spec.node == node || t.ancestors(&r.spec.node).iter().any(|a| a.id == node)
                })
                .filter(|r| {
                    let Ok(p) = r.spec.period.parse::<Period>() else {
                        return false;
                    };
                    let (a, b) = p.dates();
                    let inside = from <= a && b <= to;
                    if !inside && a < to && from < b {
                        notes.push(format!(
                            "Scope 3 activity record {} covers {}, longer than {period}: left out (enter it per month to include it)",
                            r.spec.id, r.spec.period
                        ));
                    }
                    inside
                })
                .map(ActivityRecord::supplied)
                .collect()
        });
        (supplied, notes)
    }
}
