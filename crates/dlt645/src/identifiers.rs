//! Data identifiers (数据标识 DI3 DI2 DI1 DI0) and the formats of their values.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::{bcd, Demand, MeterTime, Value};

/// A data identifier, written DI3 DI2 DI1 DI0 (`Di(0x0001_0000)` is 正向有功总电能 "00010000");
/// sent DI0 first.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Di(pub u32);

impl Di {
    /// The 4 bytes on the wire (before the 0x33 offset): DI0 first.
    pub const fn wire(self) -> [u8; 4] {
        self.0.to_le_bytes()
    }

    /// From the 4 bytes on the wire (0x33 removed), DI0 first.
    pub const fn from_wire(bytes: [u8; 4]) -> Di {
        Di(u32::from_le_bytes(bytes))
    }
}

impl fmt::Display for Di {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08X}", self.0)
    }
}

/// Parses 8 hex digits DI3 first: "00010000", "00 01 00 00", "02-01-01-00", "0x02010100".
impl FromStr for Di {
    type Err = Error;

    fn from_str(s: &str) -> Result<Di> {
        let text: String = s
            .trim()
            .trim_start_matches("0x")
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '_'))
            .collect();
        if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::Parse {
                what: "data identifier",
                text: s.to_string(),
            });
        }
        u32::from_str_radix(&text, 16)
            .map(Di)
            .map_err(|_| Error::Parse {
                what: "data identifier",
                text: s.to_string(),
            })
    }
}

/// How a value is sent: `len` BCD bytes (least significant first) holding a number with
/// `decimals` decimals; `signed`: the top bit of the last byte is the sign; `time`: 5 more BCD
/// bytes YYMMDDhhmm follow (minute first), as maximum demands have.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Format {
    /// Bytes of the number, 1..=8.
    pub len: u8,
    /// Decimals of the number (XXX.X has 1).
    pub decimals: u8,
    /// Whether the most significant bit is a sign (1 = negative).
    pub signed: bool,
    /// Whether an occurrence time YYMMDDhhmm follows the number.
    pub time: bool,
}

/// Bytes of a YYMMDDhhmm time.
const TIME_LEN: usize = 5;

impl Format {
    /// All bytes of the value in a reply (number and time).
    pub fn byte_len(&self) -> usize {
        usize::from(self.len) + if self.time { TIME_LEN } else { 0 }
    }

    /// Decodes the number of a reply's value bytes (after the DI); a time, if any, is checked
    /// but dropped.
    pub fn decode(&self, di: Di, bytes: &[u8]) -> Result<Value> {
        if bytes.len() != self.byte_len() {
            return Err(Error::ValueLength {
                di,
                expected: self.byte_len(),
                got: bytes.len(),
            });
        }
        let (number, time) = bytes.split_at(usize::from(self.len));
        let mantissa = if self.signed {
            bcd::decode_signed(number)?
        } else {
            bcd::decode_unsigned(number)? as i64
        };
        if self.time {
            decode_time(time, number.len())?;
        }
        Ok(Value::new(mantissa, self.decimals))
    }

    /// Decodes a maximum demand and its time (a format with `time`).
    pub fn decode_demand(&self, di: Di, bytes: &[u8]) -> Result<Demand> {
        if !self.time {
            return Err(Error::ValueLength {
                di,
                expected: self.byte_len() + TIME_LEN,
                got: bytes.len(),
            });
        }
        let value = self.decode(di, bytes)?;
        let at = decode_time(&bytes[usize::from(self.len)..], usize::from(self.len))?;
        Ok(Demand { value, at })
    }

    /// Encodes `value` (at most this format's decimals; fewer are scaled up) and, for a format
    /// with `time`, `at` (its seconds are not sent): the bytes a meter sends after the DI.
    pub fn encode(&self, value: Value, at: Option<&MeterTime>) -> Result<Vec<u8>> {
        let out_of_range = Error::OutOfRange {
            value: value.mantissa(),
            len: usize::from(self.len),
        };
        let scale = self
            .decimals
            .checked_sub(value.decimals())
            .and_then(|d| 10i64.checked_pow(u32::from(d)));
        let Some(mantissa) = scale.and_then(|s| value.mantissa().checked_mul(s)) else {
            return Err(out_of_range);
        };
        let mut out = if self.signed {
            bcd::encode_signed(mantissa, usize::from(self.len))?
        } else {
            let unsigned = u64::try_from(mantissa).map_err(|_| out_of_range)?;
            bcd::encode_unsigned(unsigned, usize::from(self.len))?
        };
        if self.time {
            let at = at.copied().unwrap_or(MeterTime {
                year: 2000,
                month: 0,
                day: 0,
                hour: 0,
                minute: 0,
                second: 0,
            });
            for field in [at.minute, at.hour, at.day, at.month, (at.year % 100) as u8] {
                out.extend(bcd::encode_unsigned(u64::from(field), 1)?);
            }
        }
        Ok(out)
    }
}

/// YYMMDDhhmm sent minute first; `offset` is where it starts in the value (for BCD errors).
fn decode_time(bytes: &[u8], offset: usize) -> Result<MeterTime> {
    let mut fields = [0u8; TIME_LEN];
    for (i, b) in bytes.iter().enumerate() {
        fields[i] = bcd::decode_unsigned(std::slice::from_ref(b)).map_err(|_| Error::Bcd {
            byte: offset + i,
            value: *b,
        })? as u8;
    }
    let [minute, hour, day, month, year] = fields;
    Ok(MeterTime {
        year: 2000 + u16::from(year),
        month,
        day,
        hour,
        minute,
        second: 0,
    })
}

/// One data identifier of the table: names, unit and format.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Definition {
    /// The identifier.
    pub di: Di,
    /// The standard's name.
    pub name_zh: &'static str,
    /// An English name.
    pub name_en: &'static str,
    /// Unit ("" for none).
    pub unit: &'static str,
    /// How the value is sent.
    pub format: Format,
}

/// Formats named after the standard's notation (X a digit, `_S` with a sign bit).
pub mod formats {
    use super::Format;

    const fn number(len: u8, decimals: u8, signed: bool) -> Format {
        Format {
            len,
            decimals,
            signed,
            time: false,
        }
    }

    /// XXXXXX.XX, 4 bytes: energy.
    pub const XXXXXX_XX: Format = number(4, 2, false);
    /// XXXXXX.XX with a sign bit: combined (组合) energy.
    pub const XXXXXX_XX_S: Format = number(4, 2, true);
    /// XX.XXXX then YYMMDDhhmm, 3 + 5 bytes: maximum demand and its time.
    pub const XX_XXXX_TIME: Format = Format {
        len: 3,
        decimals: 4,
        signed: false,
        time: true,
    };
    /// XX.XXXX with a sign bit, 3 bytes: power, present demand.
    pub const XX_XXXX_S: Format = number(3, 4, true);
    /// XXX.XXX with a sign bit, 3 bytes: current.
    pub const XXX_XXX_S: Format = number(3, 3, true);
    /// XXX.X, 2 bytes: voltage, phase angle.
    pub const XXX_X: Format = number(2, 1, false);
    /// XXX.X with a sign bit, 2 bytes: temperature.
    pub const XXX_X_S: Format = number(2, 1, true);
    /// X.XXX with a sign bit, 2 bytes: power factor.
    pub const X_XXX_S: Format = number(2, 3, true);
    /// XX.XX, 2 bytes: frequency, battery voltage.
    pub const XX_XX: Format = number(2, 2, false);
    /// XXXXXXXX, 4 bytes: counts, minutes.
    pub const XXXXXXXX: Format = number(4, 0, false);
}

use formats::*;

const fn d(
    di: u32,
    zh: &'static str,
    en: &'static str,
    unit: &'static str,
    f: Format,
) -> Definition {
    Definition {
        di: Di(di),
        name_zh: zh,
        name_en: en,
        unit,
        format: f,
    }
}

/// The common data identifiers of DL/T 645-2007 appendix A (current values, 当前) with their
/// formats (see [`formats`]). Combined (组合) energies, currents, powers, power factors and the
/// temperature carry a sign bit. 费率1..4 are usually 尖, 峰, 平, 谷, but the meter's tariff
/// settings decide.
#[rustfmt::skip]
pub const TABLE: &[Definition] = &[
    d(0x0000_0000, "组合有功总电能", "combined active energy", "kWh", XXXXXX_XX_S),
    d(0x0000_0100, "组合有功费率1电能", "combined active energy, tariff 1", "kWh", XXXXXX_XX_S),
    d(0x0000_0200, "组合有功费率2电能", "combined active energy, tariff 2", "kWh", XXXXXX_XX_S),
    d(0x0000_0300, "组合有功费率3电能", "combined active energy, tariff 3", "kWh", XXXXXX_XX_S),
    d(0x0000_0400, "组合有功费率4电能", "combined active energy, tariff 4", "kWh", XXXXXX_XX_S),
    d(0x0001_0000, "正向有功总电能", "forward active energy", "kWh", XXXXXX_XX),
    d(0x0001_0100, "正向有功费率1电能", "forward active energy, tariff 1", "kWh", XXXXXX_XX),
    d(0x0001_0200, "正向有功费率2电能", "forward active energy, tariff 2", "kWh", XXXXXX_XX),
    d(0x0001_0300, "正向有功费率3电能", "forward active energy, tariff 3", "kWh", XXXXXX_XX),
    d(0x0001_0400, "正向有功费率4电能", "forward active energy, tariff 4", "kWh", XXXXXX_XX),
    d(0x0002_0000, "反向有功总电能", "reverse active energy", "kWh", XXXXXX_XX),
    d(0x0002_0100, "反向有功费率1电能", "reverse active energy, tariff 1", "kWh", XXXXXX_XX),
    d(0x0002_0200, "反向有功费率2电能", "reverse active energy, tariff 2", "kWh", XXXXXX_XX),
    d(0x0002_0300, "反向有功费率3电能", "reverse active energy, tariff 3", "kWh", XXXXXX_XX),
    d(0x0002_0400, "反向有功费率4电能", "reverse active energy, tariff 4", "kWh", XXXXXX_XX),
    d(0x0003_0000, "组合无功1总电能", "combined reactive energy 1", "kvarh", XXXXXX_XX_S),
    d(0x0004_0000, "组合无功2总电能", "combined reactive energy 2", "kvarh", XXXXXX_XX_S),
    d(0x0005_0000, "第一象限无功总电能", "quadrant I reactive energy", "kvarh", XXXXXX_XX),
    d(0x0006_0000, "第二象限无功总电能", "quadrant II reactive energy", "kvarh", XXXXXX_XX),
    d(0x0007_0000, "第三象限无功总电能", "quadrant III reactive energy", "kvarh", XXXXXX_XX),
    d(0x0008_0000, "第四象限无功总电能", "quadrant IV reactive energy", "kvarh", XXXXXX_XX),
    d(0x0101_0000, "正向有功总最大需量及发生时间", "forward active maximum demand", "kW", XX_XXXX_TIME),
    d(0x0102_0000, "反向有功总最大需量及发生时间", "reverse active maximum demand", "kW", XX_XXXX_TIME),
    d(0x0201_0100, "A相电压", "phase A voltage", "V", XXX_X),
    d(0x0201_0200, "B相电压", "phase B voltage", "V", XXX_X),
    d(0x0201_0300, "C相电压", "phase C voltage", "V", XXX_X),
    d(0x0202_0100, "A相电流", "phase A current", "A", XXX_XXX_S),
    d(0x0202_0200, "B相电流", "phase B current", "A", XXX_XXX_S),
    d(0x0202_0300, "C相电流", "phase C current", "A", XXX_XXX_S),
    d(0x0203_0000, "瞬时总有功功率", "active power", "kW", XX_XXXX_S),
    d(0x0203_0100, "瞬时A相有功功率", "active power, phase A", "kW", XX_XXXX_S),
    d(0x0203_0200, "瞬时B相有功功率", "active power, phase B", "kW", XX_XXXX_S),
    d(0x0203_0300, "瞬时C相有功功率", "active power, phase C", "kW", XX_XXXX_S),
    d(0x0204_0000, "瞬时总无功功率", "reactive power", "kvar", XX_XXXX_S),
    d(0x0204_0100, "瞬时A相无功功率", "reactive power, phase A", "kvar", XX_XXXX_S),
    d(0x0204_0200, "瞬时B相无功功率", "reactive power, phase B", "kvar", XX_XXXX_S),
    d(0x0204_0300, "瞬时C相无功功率", "reactive power, phase C", "kvar", XX_XXXX_S),
    d(0x0205_0000, "瞬时总视在功率", "apparent power", "kVA", XX_XXXX_S),
    d(0x0205_0100, "瞬时A相视在功率", "apparent power, phase A", "kVA", XX_XXXX_S),
    d(0x0205_0200, "瞬时B相视在功率", "apparent power, phase B", "kVA", XX_XXXX_S),
    d(0x0205_0300, "瞬时C相视在功率", "apparent power, phase C", "kVA", XX_XXXX_S),
    d(0x0206_0000, "总功率因数", "power factor", "", X_XXX_S),
    d(0x0206_0100, "A相功率因数", "power factor, phase A", "", X_XXX_S),
    d(0x0206_0200, "B相功率因数", "power factor, phase B", "", X_XXX_S),
    d(0x0206_0300, "C相功率因数", "power factor, phase C", "", X_XXX_S),
    d(0x0207_0100, "A相相角", "phase angle, phase A", "°", XXX_X),
    d(0x0207_0200, "B相相角", "phase angle, phase B", "°", XXX_X),
    d(0x0207_0300, "C相相角", "phase angle, phase C", "°", XXX_X),
    d(0x0280_0001, "零线电流", "neutral current", "A", XXX_XXX_S),
    d(0x0280_0002, "电网频率", "grid frequency", "Hz", XX_XX),
    d(0x0280_0003, "一分钟有功总平均功率", "one-minute mean active power", "kW", XX_XXXX_S),
    d(0x0280_0004, "当前有功需量", "present active demand", "kW", XX_XXXX_S),
    d(0x0280_0005, "当前无功需量", "present reactive demand", "kvar", XX_XXXX_S),
    d(0x0280_0006, "当前视在需量", "present apparent demand", "kVA", XX_XXXX_S),
    d(0x0280_0007, "表内温度", "meter temperature", "℃", XXX_X_S),
    d(0x0280_0008, "时钟电池电压(内部)", "clock battery voltage (internal)", "V", XX_XX),
    d(0x0280_0009, "停电抄表电池电压(外部)", "meter-reading battery voltage (external)", "V", XX_XX),
    d(0x0280_000A, "内部电池工作时间", "internal battery running time", "min", XXXXXXXX),
];

/// The table's definition of `di`, if it has one.
pub fn lookup(di: Di) -> Option<&'static Definition> {
    TABLE.iter().find(|d| d.di == di)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_without_duplicates_and_formats_are_sane() {
        for w in TABLE.windows(2) {
            assert!(w[0].di < w[1].di, "{} then {}", w[0].di, w[1].di);
        }
        for d in TABLE {
            assert!((1..=4).contains(&d.format.len), "{}", d.di);
            assert!(usize::from(d.format.decimals) <= 2 * usize::from(d.format.len));
            assert!(!d.name_zh.is_empty() && !d.name_en.is_empty());
        }
    }

    #[test]
    fn di_parses_in_the_usual_spellings() {
        for s in ["02010100", "02 01 01 00", "02-01-01-00", "0x02010100"] {
            assert_eq!(s.parse::<Di>().unwrap(), Di(0x0201_0100), "{s}");
        }
        assert_eq!(Di(0x0201_0100).to_string(), "02010100");
        assert_eq!(Di(0x0201_0100).wire(), [0x00, 0x01, 0x01, 0x02]);
        for s in ["0201010", "020101000", "0201010G", ""] {
            assert!(s.parse::<Di>().is_err(), "{s:?}");
        }
    }

    #[test]
    fn demand_with_its_time() {
        let d = lookup(Di(0x0101_0000)).unwrap();
        // 12.3456 kW at 2026-12-07 15:30: 56 34 12, then minute, hour, day, month, year.
        let bytes = [0x56, 0x34, 0x12, 0x30, 0x15, 0x07, 0x12, 0x26];
        let demand = d.format.decode_demand(d.di, &bytes).unwrap();
        assert_eq!(demand.value, Value::new(123_456, 4));
        assert_eq!(demand.at.to_string(), "2026-12-07 15:30:00");
        assert_eq!(
            d.format.encode(demand.value, Some(&demand.at)).unwrap(),
            bytes
        );
        assert_eq!(
            d.format.decode(d.di, &bytes).unwrap(),
            Value::new(123_456, 4)
        );
        let err = d.format.decode(d.di, &bytes[..3]).unwrap_err();
        assert!(
            matches!(
                err,
                Error::ValueLength {
                    expected: 8,
                    got: 3,
                    ..
                }
            ),
            "{err}"
        );
        let err = d
            .format
            .decode(d.di, &[0x56, 0x34, 0x12, 0x3A, 0x15, 0x07, 0x12, 0x26]);
        assert!(matches!(
            err,
            Err(Error::Bcd {
                byte: 3,
                value: 0x3A
            })
        ));
    }

    #[test]
    fn encode_scales_up_and_refuses_what_does_not_fit() {
        let voltage = lookup(Di(0x0201_0100)).unwrap().format;
        assert_eq!(
            voltage.encode(Value::new(231, 0), None).unwrap(),
            [0x10, 0x23]
        );
        assert!(voltage.encode(Value::new(2314, 2), None).is_err());
        assert!(voltage.encode(Value::new(-1, 1), None).is_err());
        assert!(voltage.encode(Value::new(10_000, 1), None).is_err());
    }
}
