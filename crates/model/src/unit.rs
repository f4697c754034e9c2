//! Typed units of measurement.
//!
//! Every [`Unit`] belongs to one [`Dimension`] and has a factor to the dimension's base unit.
//! Conversion is only possible within a dimension. Symbols in the API ([`Unit::symbol`],
//! `Display`, serde) are ASCII (`m3`, not `m³`); parsing also accepts the usual Unicode and
//! Chinese spellings (`m³`, `千瓦时`, `度`, `万元`, ...).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Physical (or economic) dimension of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Energy; base unit J.
    Energy,
    /// Volume; base unit m3 (`Nm3` is treated as m3: volumes are assumed to be at standard conditions).
    Volume,
    /// Mass; base unit kg.
    Mass,
    /// Money; base unit yuan (元).
    Money,
    /// Count of items; base unit pcs.
    Count,
    /// Power; base unit W.
    Power,
    /// Volume flow; base unit m3/h.
    VolumeFlow,
    /// Mass flow; base unit kg/h.
    MassFlow,
    /// Temperature; base unit °C. A state, not a quantity: never summed over meters or time.
    Temperature,
}

impl Dimension {
    /// True for rates (power and flows), which must be integrated over time to give a quantity.
    pub fn is_rate(self) -> bool {
        matches!(
            self,
            Dimension::Power | Dimension::VolumeFlow | Dimension::MassFlow
        )
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dimension::Energy => "energy",
            Dimension::Volume => "volume",
            Dimension::Mass => "mass",
            Dimension::Money => "money",
            Dimension::Count => "count",
            Dimension::Power => "power",
            Dimension::VolumeFlow => "volume flow",
            Dimension::MassFlow => "mass flow",
            Dimension::Temperature => "temperature",
        })
    }
}

/// A unit of measurement. Serialized as its ASCII [`symbol`](Unit::symbol).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    /// Watt-hour.
    Wh,
    /// Kilowatt-hour (度).
    KWh,
    /// Megawatt-hour.
    MWh,
    /// Gigawatt-hour.
    GWh,
    /// Joule.
    J,
    /// Kilojoule.
    KJ,
    /// Megajoule.
    MJ,
    /// Gigajoule.
    GJ,
    /// Cubic metre.
    M3,
    /// Normal cubic metre (标方); converted 1:1 with m3.
    Nm3,
    /// 10^4 normal cubic metres (万Nm3).
    TenKNm3,
    /// Litre.
    L,
    /// Kilogram.
    Kg,
    /// Metric tonne (吨).
    T,
    /// Yuan (元).
    Yuan,
    /// 10^4 yuan (万元).
    TenKYuan,
    /// Pieces (件/台/个).
    Pcs,
    /// Watt.
    W,
    /// Kilowatt.
    KW,
    /// Megawatt.
    MW,
    /// Cubic metres per hour.
    M3PerH,
    /// Normal cubic metres per hour.
    Nm3PerH,
    /// Tonnes per hour.
    TPerH,
    /// Kilograms per hour.
    KgPerH,
    /// Degree Celsius (℃), of temperature readings (weather covariates, critical-peak triggers).
    DegC,
}

/// Errors of unit parsing and conversion.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UnitError {
    /// The text is not a known unit.
    #[error("unknown unit {0:?} (known: Wh, kWh, MWh, GWh, J, kJ, MJ, GJ, m3, Nm3, 10^4 Nm3, L, kg, t, yuan, 10k yuan, pcs, W, kW, MW, m3/h, Nm3/h, t/h, kg/h, degC)")]
    Unknown(String),
    /// Conversion between different dimensions.
    #[error("cannot convert {from} ({from_dim}) to {to} ({to_dim})")]
    Incompatible {
        /// Source unit.
        from: Unit,
        /// Target unit.
        to: Unit,
        /// Source dimension.
        from_dim: Dimension,
        /// Target dimension.
        to_dim: Dimension,
    },
}

impl Unit {
    /// All units, in a stable order.
    pub const ALL: [Unit; 25] = [
        Unit::Wh,
        Unit::KWh,
        Unit::MWh,
        Unit::GWh,
        Unit::J,
        Unit::KJ,
        Unit::MJ,
        Unit::GJ,
        Unit::M3,
        Unit::Nm3,
        Unit::TenKNm3,
        Unit::L,
        Unit::Kg,
        Unit::T,
        Unit::Yuan,
        Unit::TenKYuan,
        Unit::Pcs,
        Unit::W,
        Unit::KW,
        Unit::MW,
        Unit::M3PerH,
        Unit::Nm3PerH,
        Unit::TPerH,
        Unit::KgPerH,
        Unit::DegC,
    ];

    /// The unit's dimension.
    pub fn dimension(self) -> Dimension {
        use Unit::*;
        match self {
            Wh | KWh | MWh | GWh | J | KJ | MJ | GJ => Dimension::Energy,
            M3 | Nm3 | TenKNm3 | L => Dimension::Volume,
            Kg | T => Dimension::Mass,
            Yuan | TenKYuan => Dimension::Money,
            Pcs => Dimension::Count,
            W | KW | MW => Dimension::Power,
            M3PerH | Nm3PerH => Dimension::VolumeFlow,
            TPerH | KgPerH => Dimension::MassFlow,
            DegC => Dimension::Temperature,
        }
    }

    /// Factor to the dimension's base unit (J, m3, kg, yuan, pcs, W, m3/h, kg/h, °C).
    pub fn factor(self) -> f64 {
        use Unit::*;
        match self {
            Wh => 3_600.0,
            KWh => 3_600_000.0,
            MWh => 3_600_000_000.0,
            GWh => 3_600_000_000_000.0,
            J => 1.0,
            KJ => 1e3,
            MJ => 1e6,
            GJ => 1e9,
            M3 | Nm3 => 1.0,
            TenKNm3 => 1e4,
            L => 1e-3,
            Kg => 1.0,
            T => 1e3,
            Yuan => 1.0,
            TenKYuan => 1e4,
            Pcs => 1.0,
            W => 1.0,
            KW => 1e3,
            MW => 1e6,
            M3PerH | Nm3PerH => 1.0,
            TPerH => 1e3,
            KgPerH => 1.0,
            DegC => 1.0,
        }
    }

    /// Canonical ASCII symbol; `FromStr` accepts it back.
    pub fn symbol(self) -> &'static str {
        use Unit::*;
        match self {
            Wh => "Wh",
            KWh => "kWh",
            MWh => "MWh",
            GWh => "GWh",
            J => "J",
            KJ => "kJ",
            MJ => "MJ",
            GJ => "GJ",
            M3 => "m3",
            Nm3 => "Nm3",
            TenKNm3 => "10^4 Nm3",
            L => "L",
            Kg => "kg",
            T => "t",
            Yuan => "yuan",
            TenKYuan => "10k yuan",
            Pcs => "pcs",
            W => "W",
            KW => "kW",
            MW => "MW",
            M3PerH => "m3/h",
            Nm3PerH => "Nm3/h",
            TPerH => "t/h",
            KgPerH => "kg/h",
            DegC => "degC",
        }
    }

    /// True for rate units (power, flows).
    pub fn is_rate(self) -> bool {
        self.dimension().is_rate()
    }

    /// The quantity unit obtained by integrating this rate over hours
    /// (kW→kWh, W→Wh, MW→MWh, m3/h→m3, Nm3/h→Nm3, t/h→t, kg/h→kg); `None` for quantities.
    pub fn integrated(self) -> Option<Unit> {
        use Unit::*;
        match self {
            W => Some(Wh),
            KW => Some(KWh),
            MW => Some(MWh),
            M3PerH => Some(M3),
            Nm3PerH => Some(Nm3),
            TPerH => Some(T),
            KgPerH => Some(Kg),
            _ => None,
        }
    }

    /// Converts `value` in this unit to unit `to`; only within one dimension.
    pub fn convert(self, value: f64, to: Unit) -> Result<f64, UnitError> {
        if self.dimension() != to.dimension() {
            return Err(UnitError::Incompatible {
                from: self,
                to,
                from_dim: self.dimension(),
                to_dim: to.dimension(),
            });
        }
        if self == to || self.factor() == to.factor() {
            return Ok(value);
        }
        Ok(value * (self.factor() / to.factor()))
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl FromStr for Unit {
    type Err = UnitError;

    /// Parses a unit as users write it: case-insensitive, spaces ignored, `³` = `3`,
    /// Chinese names accepted (度, 千瓦时, 立方米, 方, 标方, 万Nm3, 吨, 千克, 公斤, 升, 元, 万元, 件, 台, 个, ℃, 摄氏度).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| match c {
                '³' => '3',
                '⁴' => '4',
                '·' | '*' => '.',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        use Unit::*;
        let unit = match norm.as_str() {
            "wh" => Wh,
            "kwh" | "度" | "千瓦时" | "kw.h" => KWh,
            "mwh" | "兆瓦时" | "mw.h" => MWh,
            "gwh" | "gw.h" => GWh,
            "j" => J,
            "kj" => KJ,
            "mj" => MJ,
            "gj" | "吉焦" => GJ,
            "m3" | "m^3" | "立方米" | "方" => M3,
            "nm3" | "nm^3" | "标方" | "标立方米" => Nm3,
            "10^4nm3" | "10^4nm^3" | "万nm3" | "10knm3" | "万标方" | "1e4nm3" => TenKNm3,
            "l" | "升" | "litre" | "liter" => L,
            "kg" | "千克" | "公斤" => Kg,
            "t" | "吨" | "ton" | "tonne" => T,
            "yuan" | "元" | "cny" | "rmb" => Yuan,
            "10kyuan" | "万元" | "10^4yuan" | "1e4yuan" => TenKYuan,
            "pcs" | "pc" | "piece" | "pieces" | "件" | "台" | "个" => Pcs,
            "w" | "瓦" => W,
            "kw" | "千瓦" => KW,
            "mw" | "兆瓦" => MW,
            "m3/h" | "m^3/h" => M3PerH,
            "nm3/h" | "nm^3/h" => Nm3PerH,
            "t/h" => TPerH,
            "kg/h" => KgPerH,
            "degc" | "°c" | "℃" | "摄氏度" | "celsius" => DegC,
            _ => return Err(UnitError::Unknown(s.to_string())),
        };
        Ok(unit)
    }
}

impl Serialize for Unit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.symbol())
    }
}

impl<'de> Deserialize<'de> for Unit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_round_trip() {
        for u in Unit::ALL {
            assert_eq!(u.symbol().parse::<Unit>().unwrap(), u, "{u}");
            assert_eq!(u.to_string(), u.symbol());
        }
    }

    #[test]
    fn parses_user_spellings() {
        assert_eq!("KWH".parse::<Unit>().unwrap(), Unit::KWh);
        assert_eq!("kwh".parse::<Unit>().unwrap(), Unit::KWh);
        assert_eq!("度".parse::<Unit>().unwrap(), Unit::KWh);
        assert_eq!("m³".parse::<Unit>().unwrap(), Unit::M3);
        assert_eq!("Nm³".parse::<Unit>().unwrap(), Unit::Nm3);
        assert_eq!("万Nm3".parse::<Unit>().unwrap(), Unit::TenKNm3);
        assert_eq!("10kNm3".parse::<Unit>().unwrap(), Unit::TenKNm3);
        assert_eq!("10^4 Nm3".parse::<Unit>().unwrap(), Unit::TenKNm3);
        assert_eq!("万元".parse::<Unit>().unwrap(), Unit::TenKYuan);
        assert_eq!("10k yuan".parse::<Unit>().unwrap(), Unit::TenKYuan);
        assert_eq!("元".parse::<Unit>().unwrap(), Unit::Yuan);
        assert_eq!("台".parse::<Unit>().unwrap(), Unit::Pcs);
        assert_eq!("件".parse::<Unit>().unwrap(), Unit::Pcs);
        assert_eq!(" m3/h ".parse::<Unit>().unwrap(), Unit::M3PerH);
        assert_eq!("Nm³/h".parse::<Unit>().unwrap(), Unit::Nm3PerH);
        assert_eq!("T/h".parse::<Unit>().unwrap(), Unit::TPerH);
        for t in ["degC", "°C", "℃", "摄氏度"] {
            assert_eq!(t.parse::<Unit>().unwrap(), Unit::DegC, "{t}");
        }
        assert!(!Unit::DegC.is_rate());
        assert!(Unit::DegC.convert(1.0, Unit::KWh).is_err());
        assert!(matches!(
            "furlong".parse::<Unit>(),
            Err(UnitError::Unknown(_))
        ));
        assert!("".parse::<Unit>().is_err());
    }

    #[test]
    fn converts_within_dimension() {
        assert_eq!(Unit::KWh.convert(1.0, Unit::MJ).unwrap(), 3.6);
        assert!((Unit::KWh.convert(1000.0, Unit::GJ).unwrap() - 3.6).abs() < 1e-12);
        assert_eq!(Unit::MWh.convert(1.0, Unit::KWh).unwrap(), 1000.0);
        assert_eq!(Unit::T.convert(2.5, Unit::Kg).unwrap(), 2500.0);
        assert_eq!(Unit::TenKNm3.convert(1.5, Unit::Nm3).unwrap(), 15000.0);
        assert_eq!(Unit::Nm3.convert(7.0, Unit::M3).unwrap(), 7.0);
        assert_eq!(Unit::L.convert(1000.0, Unit::M3).unwrap(), 1.0);
        assert_eq!(Unit::Yuan.convert(25000.0, Unit::TenKYuan).unwrap(), 2.5);
        assert_eq!(Unit::KW.convert(2.0, Unit::W).unwrap(), 2000.0);
        let err = Unit::KWh.convert(1.0, Unit::KW).unwrap_err();
        assert!(err
            .to_string()
            .contains("cannot convert kWh (energy) to kW (power)"));
    }

    #[test]
    fn integration() {
        assert_eq!(Unit::KW.integrated(), Some(Unit::KWh));
        assert_eq!(Unit::W.integrated(), Some(Unit::Wh));
        assert_eq!(Unit::MW.integrated(), Some(Unit::MWh));
        assert_eq!(Unit::M3PerH.integrated(), Some(Unit::M3));
        assert_eq!(Unit::Nm3PerH.integrated(), Some(Unit::Nm3));
        assert_eq!(Unit::TPerH.integrated(), Some(Unit::T));
        assert_eq!(Unit::KgPerH.integrated(), Some(Unit::Kg));
        for u in Unit::ALL {
            assert_eq!(u.integrated().is_some(), u.is_rate(), "{u}");
        }
    }

    #[test]
    fn serde_as_symbol() {
        let json = serde_json::to_string(&Unit::TenKNm3).unwrap();
        assert_eq!(json, "\"10^4 Nm3\"");
        assert_eq!(serde_json::from_str::<Unit>("\"kwh\"").unwrap(), Unit::KWh);
        assert!(serde_json::from_str::<Unit>("\"x\"").is_err());
    }
}
