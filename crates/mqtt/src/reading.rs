//! The decoded reading handed to the sink, its line-protocol line, and the value checks.

/// One decoded reading of one meter.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// shulv meter id.
    pub meter: String,
    /// Epoch milliseconds (UTC).
    pub ts_ms: i64,
    /// The value after scale and offset; always finite and within the declared range.
    pub value: f64,
    /// Unit as sent or configured (the server converts it to the meter's unit, e.g. MWh → kWh).
    pub unit: Option<String>,
}

impl Reading {
    /// The line-protocol line: `<meter>[,unit=<unit>] value=<v> <ms>`, with `\`, `,` and space
    /// escaped in the meter id (and `=` too in the unit). Timestamps are milliseconds, so the
    /// write URL carries `precision=ms`.
    pub fn to_line_protocol(&self) -> String {
        let mut s = escape(&self.meter, &[',', ' ']);
        if let Some(unit) = &self.unit {
            s.push_str(",unit=");
            s.push_str(&escape(unit, &[',', '=', ' ']));
        }
        s.push_str(&format!(" value={} {}", self.value, self.ts_ms));
        s
    }
}

fn escape(text: &str, special: &[char]) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if c == '\\' || special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Checks a meter id built from a template or taken from a line: not empty, no control
/// characters, no surrounding spaces, not starting with `#` (a comment in line protocol).
pub(crate) fn check_meter(meter: &str) -> Result<(), String> {
    if meter.is_empty() {
        return Err("meter id is empty".into());
    }
    if meter.trim() != meter || meter.chars().any(char::is_control) || meter.starts_with('#') {
        return Err(format!(
            "meter id {meter:?} has control characters, surrounding spaces or a leading #"
        ));
    }
    Ok(())
}

/// Scale, offset and declared range of a value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ValueRule {
    pub scale: f64,
    pub offset: f64,
    pub min: f64,
    pub max: f64,
}

impl ValueRule {
    /// `raw × scale + offset` (a scale of 1/n divides by n, so `12345 × 0.01` is `123.45`),
    /// refused when not finite or outside `min..=max`.
    pub fn apply(&self, raw: f64) -> Result<f64, String> {
        let inverse = 1.0 / self.scale;
        let scaled = if self.scale.abs() < 1.0 && (inverse - inverse.round()).abs() < 1e-9 {
            raw / inverse.round()
        } else {
            raw * self.scale
        };
        let v = scaled + self.offset;
        if !v.is_finite() {
            return Err(format!("not a finite number after scaling ({v})"));
        }
        if v < self.min || v > self.max {
            return Err(format!(
                "{v} is outside the declared range {}..={}",
                self.min, self.max
            ));
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shulv_ingest::{line_protocol, Instant, Precision};

    #[test]
    fn line_protocol_round_trips_through_the_ingest_parser() {
        let r = Reading {
            meter: "site 1,pm\\01".into(),
            ts_ms: 1_735_660_800_000,
            value: 52811.2,
            unit: Some("k W,h=".into()),
        };
        let line = r.to_line_protocol();
        assert_eq!(
            line,
            "site\\ 1\\,pm\\\\01,unit=k\\ W\\,h\\= value=52811.2 1735660800000"
        );
        let parsed = line_protocol::parse(&line, Precision::Ms);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let back = &parsed.readings[0];
        assert_eq!(back.meter, "site 1,pm\\01");
        assert_eq!(back.unit.as_deref(), Some("k W,h="));
        assert_eq!(back.value, 52811.2);
        assert_eq!(back.ts, Instant::Utc(1_735_660_800_000));
    }

    #[test]
    fn rules_scale_and_refuse() {
        let rule = ValueRule {
            scale: 0.01,
            offset: 0.0,
            min: 0.0,
            max: 1000.0,
        };
        assert_eq!(rule.apply(12345.0), Ok(123.45));
        assert!(rule.apply(-1.0).unwrap_err().contains("outside"));
        assert!(rule.apply(f64::NAN).unwrap_err().contains("finite"));
        assert!(check_meter("").is_err());
        assert!(check_meter("#pm").is_err());
        assert!(check_meter("pm\n1").is_err());
        assert!(check_meter("PM-01.Ep_imp").is_ok());
    }
}
