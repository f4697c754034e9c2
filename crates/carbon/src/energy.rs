//! Comprehensive energy consumption (综合能耗, GB/T 2589-2020) in tonnes of standard coal (tce).
//!
//! tce = Σ quantity × coefficient, 1 kgce = 29 307 kJ. The electricity convention (当量值 or
//! 等价值) and the natural-gas coefficient are explicit settings, stated in the result. Coal
//! types without an Appendix A coefficient (bituminous, anthracite, lignite) and meters with
//! their own fuel use the fuel's NCV: tce/t = NCV (GJ/t) / 29.307. Energy-consuming working
//! media (water, compressed air) are not counted. On-site PV is counted as electricity
//! consumed; the non-fossil deduction is a separate policy view, never a change to the
//! physical total.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shulv_model::{Carrier, Unit};

use crate::inventory::Activity;
use crate::library::{FactorRef, Library, NcvBasis, Status};

/// GJ per tonne of standard coal.
pub const GJ_PER_TCE: f64 = 29.307;

/// How electricity converts to standard coal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ElectricityConvention {
    /// 当量值: calorific equivalent, 0.1229 kgce/kWh.
    Calorific,
    /// 等价值: the year's thermal-power coal consumption per kWh, given by the user.
    Equivalent {
        /// kgce per kWh.
        kgce_per_kwh: f64,
    },
}

/// Which natural-gas coefficient applies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GasCoefficient {
    /// 气田天然气 gas-field natural gas, 1.2143 kgce/m³.
    GasField,
    /// 油田天然气 oil-field natural gas, 1.3300 kgce/m³.
    OilField,
    /// From the NCV of the natural gas fuel (389.31 GJ/10⁴Nm³ by default): 1.3284 kgce/m³.
    FromNcv,
}

/// Settings of the comprehensive energy account.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnergySettings {
    /// Electricity convention.
    pub electricity: ElectricityConvention,
    /// Natural-gas coefficient.
    pub natural_gas: GasCoefficient,
    /// Let coefficients that are not confirmed (status S) be chosen by default (as in the
    /// inventory's [`Settings`](crate::Settings)); a meter's own fuel and a 等价值 given in
    /// the request are explicit choices.
    #[serde(default)]
    pub allow_unconfirmed: bool,
}

impl Default for EnergySettings {
    fn default() -> Self {
        EnergySettings {
            electricity: ElectricityConvention::Calorific,
            natural_gas: GasCoefficient::GasField,
            allow_unconfirmed: false,
        }
    }
}

/// One meter's contribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnergyLine {
    /// Meter id.
    pub meter: String,
    /// Carrier.
    #[schema(value_type = String)]
    pub carrier: Carrier,
    /// Quantity in the coefficient's unit.
    pub quantity: f64,
    /// That unit.
    pub unit: String,
    /// The coefficient used.
    pub coefficient: FactorRef,
    /// Standard coal, tce.
    pub tce: f64,
}

/// Comprehensive energy consumption of an entity in a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnergyAccount {
    /// Settings used.
    pub settings: EnergySettings,
    /// Lines.
    pub lines: Vec<EnergyLine>,
    /// 综合能耗, tce.
    pub total_tce: f64,
    /// tce per carrier.
    pub by_carrier: BTreeMap<String, f64>,
    /// Policy view: non-fossil energy (on-site PV) excluded, tce.
    pub excluding_non_fossil_tce: f64,
}

/// Why the account could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EnergyError {
    /// A meter's quantity cannot be converted.
    #[error("meter {meter}: {message}")]
    Meter {
        /// Meter id.
        meter: String,
        /// What is wrong.
        message: String,
    },
    /// Coefficients that are not confirmed would be defaults, and the settings do not allow it.
    #[error("综合能耗: {}", crate::inventory::unconfirmed_message(.0))]
    Unconfirmed(Vec<FactorRef>),
}

/// The standard-coal coefficient (per `unit`) of an activity, with its provenance.
fn coefficient(
    lib: &Library,
    settings: &EnergySettings,
    a: &Activity,
) -> Result<Option<(FactorRef, Unit, f64)>, EnergyError> {
    let err = |message: String| EnergyError::Meter {
        meter: a.meter.clone(),
        message,
    };
    let shipped = |id: &str,
                   unit: Unit,
                   per_unit: f64|
     -> Result<Option<(FactorRef, Unit, f64)>, EnergyError> {
        let f = lib
            .other(id, None)
            .ok_or_else(|| err(format!("coefficient {id} missing from the library")))?;
        Ok(Some((f.factor.clone(), unit, f.factor.value * per_unit)))
    };
    let from_ncv = |fuel_id: Option<&str>,
                    carrier: Carrier|
     -> Result<Option<(FactorRef, Unit, f64)>, EnergyError> {
        let fuel = match fuel_id {
            Some(id) => lib.fuel(id, None),
            None => lib.default_fuel("cn_ndrc_other", carrier),
        }
        .ok_or_else(|| err(format!("no fuel with an NCV for {}", carrier.as_str())))?;
        let ncv = fuel
            .ncv
            .ok_or_else(|| err(format!("fuel {} has no NCV", fuel.factor.id)))?;
        let (unit, tce) = match fuel.ncv_basis {
            NcvBasis::PerTonne => (Unit::T, ncv / GJ_PER_TCE),
            NcvBasis::PerTenKNm3 => (Unit::TenKNm3, ncv / GJ_PER_TCE),
        };
        let f = FactorRef {
            id: format!("ncv:{}", fuel.factor.id),
            version: fuel.factor.version,
            value: tce,
            unit: format!("tce/{unit}"),
            document: format!(
                "NCV {ncv} {} / 29.307 GJ/tce ({})",
                fuel.factor.unit, fuel.factor.document
            ),
            table: fuel.factor.table.clone(),
            status: fuel.factor.status,
        };
        Ok(Some((f, unit, tce)))
    };
    use Carrier::*;
    match a.carrier {
        Electricity | PvGeneration => match settings.electricity {
            ElectricityConvention::Calorific => {
                shipped("gbt2589:electricity_calorific", Unit::KWh, 1e-3)
            }
            ElectricityConvention::Equivalent { kgce_per_kwh } => {
                if !(kgce_per_kwh > 0.0 && kgce_per_kwh < 1.0) {
                    return Err(err(format!(
                        "等价值 coefficient {kgce_per_kwh} kgce/kWh is outside (0, 1)"
                    )));
                }
                let f = FactorRef {
                    id: "user:electricity_equivalent".into(),
                    version: 1,
                    value: kgce_per_kwh,
                    unit: "kgce/kWh".into(),
                    document: "等价值 given in the request".into(),
                    table: String::new(),
                    status: Status::S,
                };
                Ok(Some((f, Unit::KWh, kgce_per_kwh * 1e-3)))
            }
        },
        NaturalGas if a.fuel.is_some() => from_ncv(a.fuel.as_deref(), NaturalGas),
        NaturalGas => match settings.natural_gas {
            GasCoefficient::GasField => shipped("gbt2589:natural_gas_gas_field", Unit::M3, 1e-3),
            GasCoefficient::OilField => shipped("gbt2589:natural_gas_oil_field", Unit::M3, 1e-3),
            GasCoefficient::FromNcv => from_ncv(None, NaturalGas),
        },
        _ if a.fuel.is_some() && a.source != Some(shulv_model::EmissionSource::Process) => {
            from_ncv(a.fuel.as_deref(), a.carrier)
        }
        CoalRaw => shipped("gbt2589:coal_raw", Unit::T, 1.0),
        CoalWashed => shipped("gbt2589:coal_washed", Unit::T, 1.0),
        Coke => shipped("gbt2589:coke", Unit::T, 1.0),
        FuelOil => shipped("gbt2589:fuel_oil", Unit::T, 1.0),
        Gasoline => shipped("gbt2589:gasoline", Unit::T, 1.0),
        Kerosene => shipped("gbt2589:kerosene", Unit::T, 1.0),
        Diesel => shipped("gbt2589:diesel", Unit::T, 1.0),
        Lpg => shipped("gbt2589:lpg", Unit::T, 1.0),
        CoalBituminous | CoalAnthracite | CoalLignite => from_ncv(None, a.carrier),
        Heat | Steam => shipped("gbt2589:heat", Unit::GJ, 1.0),
        Water | CompressedAir | ProductionOutput | ValueAdded | AirTemperature | Other => Ok(None),
    }
}

/// Comprehensive energy consumption of `activities` (Scope 3 activity is not the entity's own
/// consumption and is left out).
pub fn comprehensive_energy(
    lib: &Library,
    settings: &EnergySettings,
    activities: &[Activity],
) -> Result<EnergyAccount, EnergyError> {
    let mut lines = Vec::new();
    let mut by_carrier: BTreeMap<String, f64> = BTreeMap::new();
    let mut total = 0.0;
    let mut non_fossil = 0.0;
    let mut unconfirmed_defaults: Vec<FactorRef> = Vec::new();
    for a in activities {
        if a.source == Some(shulv_model::EmissionSource::Scope3) {
            continue;
        }
        let Some((coef, unit, tce_per_unit)) = coefficient(lib, settings, a)? else {
            continue;
        };
        let q = a
            .unit
            .convert(a.quantity, unit)
            .map_err(|e| EnergyError::Meter {
                meter: a.meter.clone(),
                message: format!("{e}; the {} coefficient is per {unit}", a.carrier.as_str()),
            })?;
        let explicit = a.fuel.is_some() || coef.id.starts_with("user:");
        if !coef.status.is_confirmed()
            && !explicit
            && !unconfirmed_defaults.iter().any(|f| f.id == coef.id)
        {
            unconfirmed_defaults.push(coef.clone());
        }
        let tce = q * tce_per_unit;
        total += tce;
        if a.carrier == Carrier::PvGeneration {
            non_fossil += tce;
        }
        *by_carrier
            .entry(a.carrier.as_str().to_string())
            .or_default() += tce;
        lines.push(EnergyLine {
            meter: a.meter.clone(),
            carrier: a.carrier,
            quantity: q,
            unit: unit.to_string(),
            coefficient: coef,
            tce,
        });
    }
    if !unconfirmed_defaults.is_empty() && !settings.allow_unconfirmed {
        return Err(EnergyError::Unconfirmed(unconfirmed_defaults));
    }
    Ok(EnergyAccount {
        settings: *settings,
        lines,
        total_tce: total,
        by_carrier,
        excluding_non_fossil_tce: total - non_fossil,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Location;

    fn act(carrier: Carrier, quantity: f64, unit: Unit) -> Activity {
        Activity {
            meter: "m".into(),
            carrier,
            source: None,
            scope3_category: None,
            fuel: None,
            quantity,
            unit,
            location: Location::default(),
        }
    }

    fn tce(settings: &EnergySettings, a: Activity) -> f64 {
        comprehensive_energy(&Library::builtin(), settings, &[a])
            .unwrap()
            .total_tce
    }

    #[test]
    fn only_confirmed_coefficients_are_defaults() {
        let lib = Library::builtin();
        let strict = EnergySettings::default();
        // The calorific electricity coefficient is confirmed (V2): no opt-in needed.
        let e = comprehensive_energy(&lib, &strict, &[act(Carrier::Electricity, 1e3, Unit::KWh)]);
        assert!((e.unwrap().total_tce - 0.1229).abs() < 1e-12);
        // The Appendix A coal coefficient is status S: refused by default, named in the error.
        let coal = [act(Carrier::CoalRaw, 1.0, Unit::T)];
        let err = comprehensive_energy(&lib, &strict, &coal).unwrap_err();
        assert!(matches!(&err, EnergyError::Unconfirmed(f) if f[0].id == "gbt2589:coal_raw"));
        assert!(err.to_string().contains("allow_unconfirmed=true"), "{err}");
        let allowed = EnergySettings {
            allow_unconfirmed: true,
            ..strict
        };
        assert!(comprehensive_energy(&lib, &allowed, &coal).is_ok());
        // A 等价值 given by the user is an explicit choice.
        let eq = EnergySettings {
            electricity: ElectricityConvention::Equivalent { kgce_per_kwh: 0.3 },
            ..strict
        };
        let e = comprehensive_energy(&lib, &eq, &[act(Carrier::Electricity, 1e3, Unit::KWh)]);
        assert!((e.unwrap().total_tce - 0.3).abs() < 1e-12);
    }

    #[test]
    fn gbt_2589_coefficients_in_tce_not_kgce() {
        let s = EnergySettings {
            allow_unconfirmed: true,
            ..EnergySettings::default()
        };
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(
            tce(&s, act(Carrier::Electricity, 1000.0, Unit::KWh)),
            0.1229
        ));
        assert!(close(
            tce(&s, act(Carrier::Electricity, 1.0, Unit::MWh)),
            0.1229
        ));
        assert!(close(
            tce(&s, act(Carrier::CoalRaw, 1000.0, Unit::Kg)),
            0.7143
        ));
        assert!(close(tce(&s, act(Carrier::CoalWashed, 1.0, Unit::T)), 0.9));
        assert!(close(tce(&s, act(Carrier::Coke, 1.0, Unit::T)), 0.9714));
        assert!(close(tce(&s, act(Carrier::Diesel, 1.0, Unit::T)), 1.4571));
        assert!(close(tce(&s, act(Carrier::Gasoline, 1.0, Unit::T)), 1.4714));
        assert!(close(tce(&s, act(Carrier::Lpg, 1.0, Unit::T)), 1.7143));
        assert!(close(tce(&s, act(Carrier::FuelOil, 1.0, Unit::T)), 1.4286));
        // Heat 0.03412 kgce/MJ: 1 GJ = 34.12 kgce; MJ and GJ meters agree.
        assert!(close(tce(&s, act(Carrier::Heat, 1.0, Unit::GJ)), 0.03412));
        assert!(close(
            tce(&s, act(Carrier::Steam, 1000.0, Unit::MJ)),
            0.03412
        ));
        // Natural gas: the coefficient is a setting; 10^4 Nm3 and m3 agree.
        assert!(close(
            tce(&s, act(Carrier::NaturalGas, 1.0, Unit::TenKNm3)),
            12.143
        ));
        let oil = EnergySettings {
            natural_gas: GasCoefficient::OilField,
            ..s
        };
        assert!(close(
            tce(&oil, act(Carrier::NaturalGas, 10_000.0, Unit::M3)),
            13.3
        ));
        let ncv = EnergySettings {
            natural_gas: GasCoefficient::FromNcv,
            ..s
        };
        assert!(close(
            tce(&ncv, act(Carrier::NaturalGas, 1.0, Unit::TenKNm3)),
            389.31 / GJ_PER_TCE
        ));
        // Bituminous coal has no Appendix A row: its NDRC NCV is used.
        assert!(close(
            tce(&s, act(Carrier::CoalBituminous, 1.0, Unit::T)),
            23.204 / GJ_PER_TCE
        ));
        // 等价值 with the user's coefficient.
        let eq = EnergySettings {
            electricity: ElectricityConvention::Equivalent { kgce_per_kwh: 0.3 },
            ..s
        };
        assert!(close(
            tce(&eq, act(Carrier::Electricity, 1000.0, Unit::KWh)),
            0.3
        ));
        // Working media are not energy.
        assert_eq!(tce(&s, act(Carrier::Water, 100.0, Unit::M3)), 0.0);
    }

    #[test]
    fn pv_is_consumption_and_the_non_fossil_view_is_separate() {
        let lib = Library::builtin();
        let acts = [
            act(Carrier::Electricity, 1000.0, Unit::KWh),
            act(Carrier::PvGeneration, 500.0, Unit::KWh),
        ];
        let e = comprehensive_energy(&lib, &EnergySettings::default(), &acts).unwrap();
        assert!((e.total_tce - 0.18435).abs() < 1e-12);
        assert!((e.excluding_non_fossil_tce - 0.1229).abs() < 1e-12);
        let bad = [act(Carrier::Diesel, 10.0, Unit::L)];
        let allowed = EnergySettings {
            allow_unconfirmed: true,
            ..EnergySettings::default()
        };
        let err = comprehensive_energy(&lib, &allowed, &bad).unwrap_err();
        assert!(err.to_string().contains("per t"), "{err}");
    }
}
