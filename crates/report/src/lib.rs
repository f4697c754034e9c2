//! # shulv-report
//!
//! Downloadable forms of an energy and carbon account ([`shulv_platform::Account`]): an XLSX
//! workbook ([`xlsx`]) and a printable HTML report ([`html`], print it to PDF from a browser), in
//! Chinese or English. Both carry every number of the account and link it to what is behind it:
//! each inventory line to the meter data it was computed from (quantity, stored points, the
//! rollup read) and to the factors (id, version, value, document, table, verification status),
//! and the whole report to the regime and settings used, so a reader can recompute any figure.

mod html;
mod labels;
mod xlsx;

pub use html::html;
pub use labels::Lang;
pub use xlsx::xlsx;

/// Why a workbook could not be written.
#[derive(Debug, thiserror::Error)]
#[error("writing the XLSX workbook: {0}")]
pub struct ReportError(#[from] rust_xlsxwriter::XlsxError);

/// The serde name of a settings value (`cn_mee_nbs`, `average`, `AR6`).
fn name_of<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// `id:version` pins, comma separated, or `-`.
fn pins_of(settings: &shulv_carbon::Settings) -> String {
    if settings.pins.is_empty() {
        return "-".into();
    }
    let pins: Vec<String> = settings
        .pins
        .iter()
        .map(|(id, v)| format!("{id}:{v}"))
        .collect();
    pins.join(", ")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use shulv_carbon::{
        comprehensive_energy, inventory, Activity, EnergySettings, Library, Location, Settings,
    };
    use shulv_model::{Carrier, Unit};
    use shulv_platform::{Account, MeterQuantity};

    use super::*;

    /// The account of one enterprise with purchased electricity and natural gas.
    pub(crate) fn account() -> Account {
        let lib = Library::builtin();
        let act = |meter: &str, carrier, quantity, unit| Activity {
            meter: meter.into(),
            carrier,
            source: None,
            scope3_category: None,
            fuel: None,
            quantity,
            unit,
            location: Location::default(),
        };
        let acts = [
            act("grid<main>", Carrier::Electricity, 1_000_000.0, Unit::KWh),
            act("boiler-gas", Carrier::NaturalGas, 50_000.0, Unit::M3),
        ];
        let settings = Settings {
            allow_unconfirmed: true,
            ..Settings::default()
        };
        let energy = EnergySettings {
            allow_unconfirmed: true,
            ..EnergySettings::default()
        };
        let meters = acts
            .iter()
            .map(|a| MeterQuantity {
                meter: a.meter.clone(),
                node: "ent1".into(),
                carrier: a.carrier,
                quantity: a.quantity,
                unit: a.unit.to_string(),
                points: 35_040,
                source: "rollup:month".into(),
            })
            .collect();
        Account {
            node: "ent1".into(),
            name: "一号企业 & Co".into(),
            period: "2025".into(),
            timezone: "Asia/Shanghai".into(),
            meters,
            inventory: inventory(&lib, &settings, 2025, &acts, &[], &[]).unwrap(),
            energy: comprehensive_energy(&lib, &energy, &acts).unwrap(),
            value_added_10k_yuan: Some(2_000.0),
            output: BTreeMap::new(),
            carbon_intensity_t_per_10k_yuan: None,
            energy_intensity_tce_per_10k_yuan: None,
            intensity_per_output: BTreeMap::new(),
        }
    }

    #[test]
    fn settings_names_are_their_serde_names() {
        let s = Settings::default();
        assert_eq!(name_of(&s.regime), "cn_mee_nbs");
        assert_eq!(name_of(&s.gwp), "AR6");
        assert_eq!(pins_of(&s), "-");
    }
}
