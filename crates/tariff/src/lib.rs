//! Time-of-use electricity tariffs (分时电价) for shulv.
//!
//! A tariff is a versioned, monthly table in a TOML file: windows of the periods
//! 尖峰/高峰/平段/低谷/深谷 by month, holiday rules, a temperature-triggered critical peak, price
//! components (energy purchase, T&D, funds) of which some float with the period, and the prices
//! of the basic charge (基本电费) of two-part users. Every part carries its provenance: the shipped
//! presets ([`TariffLibrary::builtin`]) mark which parts are confirmed and which are example
//! prices to replace. [`bill()`] turns metered import into a bill broken down by period and
//! component, with the basic charge by capacity, contract demand (105 % double charge, 40 %
//! floor) or actual maximum demand; [`compare_basic`] compares those methods on the same data.
//! The format is described in `docs/optimisation.md`.

mod bill;
mod tariff;

use std::collections::BTreeMap;

pub use bill::{
    bill, compare_basic, BasicBill, BasicComparison, BasicMethod, BasicMonth, Bill, BillError,
    BillInput, ComponentLine, MaxDemand, PeriodLine,
};
pub use tariff::{
    BasicPrices, Component, CriticalPeak, DayFlags, HolidayRule, PeriodKind, Provenance, Ratios,
    Season, Status, Tariff, TariffError, TariffFile, Window, SLOTS_PER_DAY,
};

/// The shipped presets: (file name, text).
pub const PRESETS: [(&str, &str); 3] = [
    (
        "cn-gd-1-10kv-two-part.toml",
        include_str!("../data/cn-gd-1-10kv-two-part.toml"),
    ),
    (
        "cn-js-1-10kv-two-part.toml",
        include_str!("../data/cn-js-1-10kv-two-part.toml"),
    ),
    (
        "cn-zj-1-10kv-two-part.toml",
        include_str!("../data/cn-zj-1-10kv-two-part.toml"),
    ),
];

/// Every version of every known tariff. Versions are never changed: a new monthly table is a
/// new version, and a request names a version or takes the latest one added.
#[derive(Clone, Debug, Default)]
pub struct TariffLibrary {
    tariffs: BTreeMap<String, Vec<Tariff>>,
}

impl TariffLibrary {
    /// The shipped presets.
    pub fn builtin() -> TariffLibrary {
        let mut lib = TariffLibrary::default();
        for (name, text) in PRESETS {
            lib.add_toml(name, text)
                .expect("shipped tariff presets are valid");
        }
        lib
    }

    /// Validates a tariff file and adds it as a new version. Refuses a version that exists.
    pub fn add_toml(&mut self, file: &str, text: &str) -> Result<&Tariff, TariffError> {
        let t = Tariff::from_toml(file, text)?;
        self.add(file, t)
    }

    /// Adds a validated tariff as a new version. Refuses a version that exists.
    pub fn add(&mut self, file: &str, t: Tariff) -> Result<&Tariff, TariffError> {
        let versions = self.tariffs.entry(t.id().to_string()).or_default();
        if versions.iter().any(|v| v.version() == t.version()) {
            return Err(TariffError {
                file: file.to_string(),
                field: "version".into(),
                message: format!(
                    "tariff {} already has version {}; a changed table is a new version",
                    t.id(),
                    t.version()
                ),
            });
        }
        versions.push(t);
        Ok(versions.last().expect("just pushed"))
    }

    /// A tariff by id, at `version` or the latest version added.
    pub fn get(&self, id: &str, version: Option<&str>) -> Option<&Tariff> {
        let versions = self.tariffs.get(id)?;
        match version {
            Some(v) => versions.iter().find(|t| t.version() == v),
            None => versions.last(),
        }
    }

    /// Every tariff, every version, by id then in the order added.
    pub fn all(&self) -> impl Iterator<Item = &Tariff> {
        self.tariffs.values().flatten()
    }
}

#[cfg(test)]
mod tests;
