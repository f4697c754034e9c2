//! Energy carriers (能源品种) and other metered quantities, and reading kinds.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::unit::{Dimension, Unit};

/// What a meter measures: an energy carrier, an energy-consuming working medium (耗能工质),
/// or an activity quantity used for intensity indicators (production output, value added).
///
/// Serialized as snake_case strings (`natural_gas`, `coal_raw`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Carrier {
    /// 电力
    Electricity,
    /// 天然气
    NaturalGas,
    /// 原煤
    CoalRaw,
    /// 洗精煤
    CoalWashed,
    /// 烟煤
    CoalBituminous,
    /// 无烟煤
    CoalAnthracite,
    /// 褐煤
    CoalLignite,
    /// 焦炭
    Coke,
    /// 柴油
    Diesel,
    /// 汽油
    Gasoline,
    /// 煤油
    Kerosene,
    /// 燃料油
    FuelOil,
    /// 液化石油气
    Lpg,
    /// 热力
    Heat,
    /// 蒸汽
    Steam,
    /// 水 (working medium)
    Water,
    /// 压缩空气 (working medium)
    CompressedAir,
    /// 光伏发电
    PvGeneration,
    /// 产量
    ProductionOutput,
    /// 增加值
    ValueAdded,
    /// 气温: outdoor air temperature (observed or forecast), a covariate of forecasts and the
    /// trigger of temperature-driven critical peaks; not energy, never summed.
    AirTemperature,
    /// 其他
    Other,
}

/// Error for an unknown carrier name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown carrier {0:?} (expected one of: {list})", list = Carrier::ALL.map(|c| c.as_str()).join(", "))]
pub struct UnknownCarrier(pub String);

impl Carrier {
    /// All carriers, in a stable order.
    pub const ALL: [Carrier; 22] = [
        Carrier::Electricity,
        Carrier::NaturalGas,
        Carrier::CoalRaw,
        Carrier::CoalWashed,
        Carrier::CoalBituminous,
        Carrier::CoalAnthracite,
        Carrier::CoalLignite,
        Carrier::Coke,
        Carrier::Diesel,
        Carrier::Gasoline,
        Carrier::Kerosene,
        Carrier::FuelOil,
        Carrier::Lpg,
        Carrier::Heat,
        Carrier::Steam,
        Carrier::Water,
        Carrier::CompressedAir,
        Carrier::PvGeneration,
        Carrier::ProductionOutput,
        Carrier::ValueAdded,
        Carrier::AirTemperature,
        Carrier::Other,
    ];

    /// The snake_case identifier (same as serde and `Display`).
    pub fn as_str(self) -> &'static str {
        use Carrier::*;
        match self {
            Electricity => "electricity",
            NaturalGas => "natural_gas",
            CoalRaw => "coal_raw",
            CoalWashed => "coal_washed",
            CoalBituminous => "coal_bituminous",
            CoalAnthracite => "coal_anthracite",
            CoalLignite => "coal_lignite",
            Coke => "coke",
            Diesel => "diesel",
            Gasoline => "gasoline",
            Kerosene => "kerosene",
            FuelOil => "fuel_oil",
            Lpg => "lpg",
            Heat => "heat",
            Steam => "steam",
            Water => "water",
            CompressedAir => "compressed_air",
            PvGeneration => "pv_generation",
            ProductionOutput => "production_output",
            ValueAdded => "value_added",
            AirTemperature => "air_temperature",
            Other => "other",
        }
    }

    /// Chinese name.
    pub fn name_zh(self) -> &'static str {
        use Carrier::*;
        match self {
            Electricity => "电力",
            NaturalGas => "天然气",
            CoalRaw => "原煤",
            CoalWashed => "洗精煤",
            CoalBituminous => "烟煤",
            CoalAnthracite => "无烟煤",
            CoalLignite => "褐煤",
            Coke => "焦炭",
            Diesel => "柴油",
            Gasoline => "汽油",
            Kerosene => "煤油",
            FuelOil => "燃料油",
            Lpg => "液化石油气",
            Heat => "热力",
            Steam => "蒸汽",
            Water => "水",
            CompressedAir => "压缩空气",
            PvGeneration => "光伏发电",
            ProductionOutput => "产量",
            ValueAdded => "增加值",
            AirTemperature => "气温",
            Other => "其他",
        }
    }

    /// True for energy carriers (fuels, electricity, heat, steam, PV generation).
    /// False for working media (water, compressed air), activity quantities and `other`.
    pub fn is_energy(self) -> bool {
        !matches!(
            self,
            Carrier::Water
                | Carrier::CompressedAir
                | Carrier::ProductionOutput
                | Carrier::ValueAdded
                | Carrier::AirTemperature
                | Carrier::Other
        )
    }

    /// False for states (air temperature), whose readings are neither summed over time nor
    /// rolled up over the meters of a node; true for every quantity carrier.
    pub fn is_additive(self) -> bool {
        self != Carrier::AirTemperature
    }

    /// Unit in which quantities of this carrier are reported and rolled up:
    /// electricity and PV kWh; natural gas m3; coals, coke, oils and LPG t; heat and steam GJ;
    /// water and compressed air m3; value added 10k yuan (万元); air temperature ℃.
    /// Production output has no fixed unit: `Pcs` is returned as the default, while any
    /// count, mass or volume unit is accepted (see [`Carrier::accepts`]). `Other` returns `Pcs`
    /// and accepts any quantity dimension but temperature.
    pub fn canonical_unit(self) -> Unit {
        use Carrier::*;
        match self {
            Electricity | PvGeneration => Unit::KWh,
            NaturalGas | Water | CompressedAir => Unit::M3,
            CoalRaw | CoalWashed | CoalBituminous | CoalAnthracite | CoalLignite | Coke
            | Diesel | Gasoline | Kerosene | FuelOil | Lpg => Unit::T,
            Heat | Steam => Unit::GJ,
            ValueAdded => Unit::TenKYuan,
            AirTemperature => Unit::DegC,
            ProductionOutput | Other => Unit::Pcs,
        }
    }

    /// Whether a quantity of `dim` (not a rate) is acceptable for this carrier:
    /// the dimension of the canonical unit, any of count/mass/volume for production output,
    /// and any quantity dimension but temperature for `other`.
    pub fn accepts(self, dim: Dimension) -> bool {
        match self {
            Carrier::ProductionOutput => {
                matches!(dim, Dimension::Count | Dimension::Mass | Dimension::Volume)
            }
            Carrier::Other => !dim.is_rate() && dim != Dimension::Temperature,
            // Steam meters usually read tonnes; converting t to GJ needs the steam's enthalpy,
            // which is an accounting factor, not a unit conversion.
            Carrier::Steam => matches!(dim, Dimension::Energy | Dimension::Mass),
            // Liquid fuels are metered by mass or by volume (litres at the pump).
            Carrier::Diesel | Carrier::Gasoline | Carrier::Kerosene | Carrier::FuelOil => {
                matches!(dim, Dimension::Mass | Dimension::Volume)
            }
            c => c.canonical_unit().dimension() == dim,
        }
    }
}

impl fmt::Display for Carrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Carrier {
    type Err = UnknownCarrier;

    /// Accepts the snake_case identifier (case-insensitive, `-` or space for `_`) or the Chinese name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let norm = t.to_ascii_lowercase().replace(['-', ' '], "_");
        Carrier::ALL
            .into_iter()
            .find(|c| c.as_str() == norm || c.name_zh() == t)
            .ok_or_else(|| UnknownCarrier(s.to_string()))
    }
}

/// What a meter's quantity means for carbon accounting (GHG Protocol scopes). Without it a
/// fuel is stationary combustion (Scope 1), electricity and heat are purchases (Scope 2).
/// Serialized as `stationary`, `mobile`, `process`, `scope3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmissionSource {
    /// Stationary combustion of a fuel (固定燃烧), Scope 1.
    Stationary,
    /// Mobile combustion (移动燃烧: own vehicles), Scope 1.
    Mobile,
    /// Process emissions (过程排放) from a user-defined factor per unit of activity, Scope 1.
    Process,
    /// Value-chain activity data (Scope 3), with a category 1–15.
    Scope3,
}

impl FromStr for EmissionSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "stationary" => Ok(EmissionSource::Stationary),
            "mobile" => Ok(EmissionSource::Mobile),
            "process" => Ok(EmissionSource::Process),
            "scope3" => Ok(EmissionSource::Scope3),
            other => Err(format!(
                "unknown emission source {other:?} (expected stationary, mobile, process or scope3)"
            )),
        }
    }
}

/// How a meter's readings relate to quantities. Serialized as `interval`, `cumulative`,
/// `instantaneous`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadingKind {
    /// Each reading is the quantity of the interval that starts at its timestamp.
    Interval,
    /// Register value (meter index); quantities are differences of consecutive readings,
    /// with optional rollover (`MeterSpec::rollover`) and meter replacements.
    Cumulative,
    /// Instantaneous rate (power, flow); integrated by the trapezoid rule between samples
    /// at most `MeterSpec::max_gap_s` apart (default 3600 s).
    Instantaneous,
}

/// Error for an unknown reading kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown reading kind {0:?} (expected interval, cumulative or instantaneous)")]
pub struct UnknownReadingKind(pub String);

impl ReadingKind {
    /// The snake_case identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            ReadingKind::Interval => "interval",
            ReadingKind::Cumulative => "cumulative",
            ReadingKind::Instantaneous => "instantaneous",
        }
    }
}

impl fmt::Display for ReadingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReadingKind {
    type Err = UnknownReadingKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "interval" => Ok(ReadingKind::Interval),
            "cumulative" | "register" => Ok(ReadingKind::Cumulative),
            "instantaneous" | "rate" => Ok(ReadingKind::Instantaneous),
            _ => Err(UnknownReadingKind(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Carrier::ALL {
            assert_eq!(c.as_str().parse::<Carrier>().unwrap(), c);
            assert_eq!(c.name_zh().parse::<Carrier>().unwrap(), c);
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{c}\""));
            assert_eq!(serde_json::from_str::<Carrier>(&json).unwrap(), c);
            assert!(c.accepts(c.canonical_unit().dimension()), "{c}");
        }
        assert_eq!(
            "Natural-Gas".parse::<Carrier>().unwrap(),
            Carrier::NaturalGas
        );
        assert_eq!(Carrier::CoalRaw.name_zh(), "原煤");
        assert_eq!(Carrier::CoalWashed.name_zh(), "洗精煤");
        let e = "uranium".parse::<Carrier>().unwrap_err().to_string();
        assert!(e.contains("uranium") && e.contains("natural_gas"), "{e}");
    }

    #[test]
    fn energy_and_units() {
        assert!(Carrier::Electricity.is_energy());
        assert!(Carrier::Steam.is_energy());
        assert!(Carrier::PvGeneration.is_energy());
        assert!(!Carrier::Water.is_energy());
        assert!(!Carrier::ProductionOutput.is_energy());
        assert_eq!(Carrier::Electricity.canonical_unit(), Unit::KWh);
        assert_eq!(Carrier::NaturalGas.canonical_unit(), Unit::M3);
        assert_eq!(Carrier::Lpg.canonical_unit(), Unit::T);
        assert_eq!(Carrier::Steam.canonical_unit(), Unit::GJ);
        assert_eq!(Carrier::ValueAdded.canonical_unit(), Unit::TenKYuan);
        assert!(Carrier::ProductionOutput.accepts(Dimension::Mass));
        assert!(Carrier::ProductionOutput.accepts(Dimension::Count));
        assert!(!Carrier::ProductionOutput.accepts(Dimension::Energy));
        assert!(Carrier::ValueAdded.accepts(Dimension::Money));
        assert!(Carrier::AirTemperature.accepts(Dimension::Temperature));
        assert!(!Carrier::AirTemperature.is_energy());
        assert!(!Carrier::AirTemperature.is_additive());
        assert!(!Carrier::Other.accepts(Dimension::Temperature));
        assert!(!Carrier::Electricity.accepts(Dimension::Temperature));
        assert_eq!("气温".parse::<Carrier>().unwrap(), Carrier::AirTemperature);
        assert!(!Carrier::Electricity.accepts(Dimension::Volume));
        assert!(Carrier::Other.accepts(Dimension::Energy));
        assert!(Carrier::Steam.accepts(Dimension::Mass));
        assert!(Carrier::Diesel.accepts(Dimension::Volume));
        assert!(!Carrier::Steam.accepts(Dimension::Volume));
        assert!(!Carrier::Other.accepts(Dimension::Power));
    }

    #[test]
    fn reading_kinds() {
        for k in [
            ReadingKind::Interval,
            ReadingKind::Cumulative,
            ReadingKind::Instantaneous,
        ] {
            assert_eq!(k.as_str().parse::<ReadingKind>().unwrap(), k);
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{k}\""));
        }
        assert!("sometimes".parse::<ReadingKind>().is_err());
    }
}
