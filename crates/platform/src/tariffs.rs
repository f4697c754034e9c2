//! Tariffs (分时电价) stored versioned in the data directory, and the 15-minute electricity
//! import of a node that bills (bills.rs) and schedules (schedules.rs) are computed from.
//!
//! User tariffs live under `<data>/tariffs/<id>--<version>.toml` (fsynced, never changed; a
//! new monthly table is a new version) and are loaded at every start after the shipped presets.

use std::path::Path;

use serde::Serialize;
use shulv_model::{Bucket, Carrier};
use shulv_tariff::{PeriodKind, Status, Tariff, TariffFile, TariffLibrary};

use crate::{Aggregate, Platform, PlatformError, QuerySpec, Target};

/// A tariff version in a listing.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TariffSummary {
    /// Identifier.
    pub id: String,
    /// Version.
    pub version: String,
    /// Name.
    pub name: String,
    /// Region.
    pub region: String,
    /// Who it applies to.
    pub applies_to: String,
    /// `builtin` (a shipped preset) or the file under `tariffs/`.
    pub source: String,
    /// Periods used.
    pub periods: Vec<PeriodKind>,
    /// All-in price of each period, yuan/kWh.
    pub prices: Vec<PeriodPrice>,
    /// Provenance of each part (`windows`, `ratios`, `component.purchase`, `basic`, ...).
    pub provenance: Vec<PartProvenance>,
    /// The critical-peak temperature trigger (a day's maximum at or above it, ℃), if the
    /// tariff has one: a bill or schedule may then name a temperature meter.
    pub temperature_trigger_c: Option<f64>,
}

/// The all-in price of a period.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PeriodPrice {
    /// Period.
    pub period: PeriodKind,
    /// Chinese name.
    pub label: String,
    /// yuan/kWh.
    pub price: f64,
}

/// Provenance of one part of a tariff: the part and its [`shulv_tariff::Provenance`]'s fields, listed here
/// (not flattened) so that the OpenAPI schema admits `part` beside them.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PartProvenance {
    /// Part (`windows`, `ratios`, `component.purchase`, `basic`, ...).
    pub part: String,
    /// Confirmation status.
    pub status: Status,
    /// Document or table it comes from.
    pub source: String,
}

fn summary(t: &Tariff, source: &str) -> TariffSummary {
    let f = t.file();
    TariffSummary {
        id: f.id.clone(),
        version: f.version.clone(),
        name: f.name.clone(),
        region: f.region.clone(),
        applies_to: f.applies_to.clone(),
        source: source.to_string(),
        periods: t.periods(),
        prices: t
            .periods()
            .into_iter()
            .map(|p| PeriodPrice {
                period: p,
                label: p.label_zh().into(),
                price: t.price(p),
            })
            .collect(),
        provenance: t
            .provenance()
            .into_iter()
            .map(|(part, p)| PartProvenance {
                part,
                status: p.status,
                source: p.source,
            })
            .collect(),
        temperature_trigger_c: f
            .critical_peak
            .as_ref()
            .and_then(|c| c.temperature_trigger_c),
    }
}

/// The tariff library: presets plus user files, with the file each version came from.
#[derive(Clone, Debug)]
pub(crate) struct Tariffs {
    library: TariffLibrary,
    sources: Vec<(String, String, String)>,
}

impl Tariffs {
    pub(crate) fn source(&self, t: &Tariff) -> String {
        self.sources
            .iter()
            .find(|(id, v, _)| id == t.id() && v == t.version())
            .map(|(_, _, s)| s.clone())
            .unwrap_or_else(|| "builtin".into())
    }
}

/// The presets plus every `tariffs/*.toml`, in name order.
pub(crate) fn load_tariffs(data_dir: &Path) -> Result<Tariffs, PlatformError> {
    let mut t = Tariffs {
        library: TariffLibrary::builtin(),
        sources: Vec::new(),
    };
    let dir = data_dir.join("tariffs");
    for path in crate::registry::sorted_files(&dir) {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name.starts_with('.') || !name.ends_with(".toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| PlatformError::Io(format!("{}: {e}", path.display())))?;
        let added = t
            .library
            .add_toml(&format!("tariffs/{name}"), &text)
            .map_err(|e| PlatformError::Corrupt(e.to_string()))?;
        t.sources.push((
            added.id().to_string(),
            added.version().to_string(),
            format!("tariffs/{name}"),
        ));
    }
    Ok(t)
}

/// One step of the 15-minute data bills and schedules use.
pub(crate) const STEP_MS: i64 = 900_000;

/// 15-minute import energy of a node: (start ms, kWh), the meters and the data source.
pub(crate) struct Intervals {
    pub points: Vec<(i64, f64)>,
    pub meters: Vec<String>,
    pub source: String,
}

impl Platform {
    /// Every tariff version, presets first.
    pub fn tariffs(&self) -> Vec<TariffSummary> {
        let t = self.tariffs.read();
        t.library.all().map(|x| summary(x, &t.source(x))).collect()
    }

    /// One tariff version as in its file.
    pub fn tariff(&self, id: &str, version: Option<&str>) -> Result<TariffFile, PlatformError> {
        self.tariffs
            .read()
            .library
            .get(id, version)
            .map(|t| t.file().clone())
            .ok_or_else(|| match version {
                Some(v) => PlatformError::NotFound(format!("tariff '{id}' version '{v}'")),
                None => PlatformError::NotFound(format!("tariff '{id}'")),
            })
    }

    pub(crate) fn tariff_obj(
        &self,
        id: &str,
        version: Option<&str>,
    ) -> Result<Tariff, PlatformError> {
        self.tariffs
            .read()
            .library
            .get(id, version)
            .cloned()
            .ok_or_else(|| PlatformError::NotFound(format!("tariff '{id}'")))
    }

    /// Validates a tariff file (TOML) and stores it as a new version under `tariffs/`.
    pub fn add_tariff(&self, text: &str) -> Result<TariffSummary, PlatformError> {
        let mut lib = self.tariffs.write();
        let t = Tariff::from_toml("<request>", text)
            .map_err(|e| PlatformError::Invalid(e.to_string()))?;
        let name = format!("{}--{}.toml", t.id(), t.version());
        let mut next = lib.clone();
        let added = next
            .library
            .add(&name, t)
            .map_err(|e| PlatformError::Conflict(e.to_string()))?;
        let out = summary(added, &format!("tariffs/{name}"));
        next.sources
            .push((out.id.clone(), out.version.clone(), out.source.clone()));
        let dir = self.data_dir.join("tariffs");
        std::fs::create_dir_all(&dir)
            .map_err(|e| PlatformError::Io(format!("{}: {e}", dir.display())))?;
        crate::registry::write_atomically(&dir.join(&name), text.as_bytes())?;
        *lib = next;
        Ok(out)
    }

    /// Import energy of the node's electricity meters per 15 minutes in [from, to).
    pub(crate) fn electricity_intervals(
        &self,
        node: &str,
        from: i64,
        to: i64,
    ) -> Result<Intervals, PlatformError> {
        let answer = self.query(&QuerySpec {
            target: Target::Node(node.to_string()),
            from,
            to,
            bucket: Bucket::Min15,
            aggregate: Aggregate::Sum,
            carrier: Some(Carrier::Electricity),
        })?;
        let Some(series) = answer.series.first() else {
            return Err(PlatformError::Invalid(format!(
                "node '{node}' has no electricity meters with data in the range"
            )));
        };
        let to_kwh = series
            .unit
            .parse::<shulv_model::Unit>()
            .ok()
            .and_then(|u| u.convert(1.0, shulv_model::Unit::KWh).ok())
            .ok_or_else(|| {
                PlatformError::Invalid(format!(
                    "electricity of node '{node}' is in {}, not an energy unit",
                    series.unit
                ))
            })?;
        let points = series
            .points
            .iter()
            .map(|p| (p.ts, p.value * to_kwh))
            .collect();
        Ok(Intervals {
            points,
            meters: series.meters.clone(),
            source: answer.source,
        })
    }
}
