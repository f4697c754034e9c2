//! Decoded values: exact decimals, and the time stamps some data carry.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// An exact decimal number: `mantissa × 10^-decimals`, as the meter sent it (no float rounding).
///
/// `Value::new(23140, 2)` is 231.40; `Display` prints every decimal the format has ("231.40").
/// Equality compares digits and decimals as sent: 231.4 (2314, 1) is not 231.40 (23140, 2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Value {
    mantissa: i64,
    decimals: u8,
}

impl Value {
    /// `mantissa × 10^-decimals`.
    pub const fn new(mantissa: i64, decimals: u8) -> Self {
        Value { mantissa, decimals }
    }

    /// The integer of the digits as sent.
    pub const fn mantissa(&self) -> i64 {
        self.mantissa
    }

    /// How many of the digits are decimals.
    pub const fn decimals(&self) -> u8 {
        self.decimals
    }

    /// The nearest `f64` (one correctly rounded division of two exact numbers for up to 15
    /// significant digits and 22 decimals).
    pub fn to_f64(&self) -> f64 {
        self.mantissa as f64 / 10f64.powi(i32::from(self.decimals))
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.unsigned_abs().to_string();
        let decimals = usize::from(self.decimals);
        let sign = if self.mantissa < 0 { "-" } else { "" };
        if decimals == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = decimals + 1);
        let (int, frac) = padded.split_at(padded.len() - decimals);
        write!(f, "{sign}{int}.{frac}")
    }
}

/// Parses a plain decimal ("-12.345", "231.4", "7"); the decimals are those written.
impl FromStr for Value {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let parse_error = || Error::Parse {
            what: "decimal value",
            text: s.to_string(),
        };
        let (negative, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty()
            || !all_digits(int)
            || !all_digits(frac)
            || (body.contains('.') && frac.is_empty())
        {
            return Err(parse_error());
        }
        let decimals = u8::try_from(frac.len()).map_err(|_| parse_error())?;
        let magnitude: i128 = format!("{int}{frac}").parse().map_err(|_| parse_error())?;
        let mantissa = i64::try_from(if negative { -magnitude } else { magnitude })
            .map_err(|_| parse_error())?;
        Ok(Value::new(mantissa, decimals))
    }
}

/// A meter's date and time as sent (two-digit years are 20YY). Not checked for being a real
/// date: a meter that has no maximum demand yet reports zeros.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct MeterTime {
    /// 2000 + YY.
    pub year: u16,
    /// 1..=12 on a real date.
    pub month: u8,
    /// 1..=31 on a real date.
    pub day: u8,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// 0..=59; 0 where the data has no seconds (demand times are YYMMDDhhmm).
    pub second: u8,
}

impl fmt::Display for MeterTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// A maximum demand (最大需量) and when it occurred (发生时间).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Demand {
    /// The demand, e.g. kW.
    pub value: Value,
    /// When it occurred, to the minute.
    pub at: MeterTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_exact() {
        assert_eq!(Value::new(23140, 2).to_string(), "231.40");
        assert_eq!(Value::new(-12345, 3).to_string(), "-12.345");
        assert_eq!(Value::new(5, 3).to_string(), "0.005");
        assert_eq!(Value::new(-5, 4).to_string(), "-0.0005");
        assert_eq!(Value::new(42, 0).to_string(), "42");
        assert_eq!(Value::new(i64::MIN, 2).to_string(), "-92233720368547758.08");
    }

    #[test]
    fn to_f64_is_the_nearest_double() {
        assert_eq!(Value::new(1234567, 2).to_f64(), 12345.67);
        assert_eq!(Value::new(-987, 3).to_f64(), -0.987);
        assert_eq!(Value::new(4998, 2).to_f64(), 49.98);
    }

    #[test]
    fn parse_round_trips_display() {
        for s in ["231.40", "-12.345", "0.005", "42", "-0.0005"] {
            assert_eq!(s.parse::<Value>().unwrap().to_string(), s);
        }
        for s in ["", "-", ".5", "5.", "1.2.3", "1e3", "+1", "12a"] {
            assert!(s.parse::<Value>().is_err(), "{s:?}");
        }
    }
}
