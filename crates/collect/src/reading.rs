//! From raw number to checked value to line-protocol line.

use crate::point_table::Point;

/// Why a decoded number is not forwarded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValueError {
    /// NaN or infinite after scaling.
    #[error("not a finite number after scaling ({0})")]
    NotFinite(f64),
    /// Outside the point's declared range.
    #[error("{value} is outside the declared range {min}..={max}")]
    OutOfRange {
        /// The scaled value.
        value: f64,
        /// Declared minimum (−∞ if none).
        min: f64,
        /// Declared maximum (+∞ if none).
        max: f64,
    },
}

/// `raw × scale + offset`; a scale of 1/n is applied as a division by n, so `12345 × 0.01`
/// gives the decimal `123.45` and not `123.45000000000002`.
pub fn scale(raw: f64, scale: f64, offset: f64) -> f64 {
    let inverse = 1.0 / scale;
    let scaled = if scale.abs() < 1.0 && (inverse - inverse.round()).abs() < 1e-9 {
        raw / inverse.round()
    } else {
        raw * scale
    };
    scaled + offset
}

/// The value of `point` for the raw number, or why it is refused.
pub fn value(point: &Point, raw: f64) -> Result<f64, ValueError> {
    let v = scale(raw, point.scale, point.offset);
    if !v.is_finite() {
        return Err(ValueError::NotFinite(v));
    }
    let min = point.min.unwrap_or(f64::NEG_INFINITY);
    let max = point.max.unwrap_or(f64::INFINITY);
    if v < min || v > max {
        return Err(ValueError::OutOfRange { value: v, min, max });
    }
    Ok(v)
}

fn escape(text: &str, special: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The line-protocol line of a reading: `<meter>[,unit=<unit>] value=<v> <ms>` (the measurement
/// is the meter id; timestamps in ms, so the write URL carries `precision=ms`).
pub fn line(point: &Point, value: f64, ts_ms: i64) -> Vec<u8> {
    let mut s = escape(&point.meter, &[',', ' ']);
    if !point.unit.is_empty() {
        s.push_str(",unit=");
        s.push_str(&escape(&point.unit, &[',', '=', ' ']));
    }
    s.push_str(&format!(" value={value} {ts_ms}"));
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::point_table::Source;

    fn point(min: Option<f64>, max: Option<f64>) -> Point {
        Point {
            name: "p".into(),
            line: 2,
            source: Source::Dlt645(0),
            scale: 0.1,
            offset: -40.0,
            unit: "℃".into(),
            min,
            max,
            meter: "site.t 1".into(),
            kind: None,
        }
    }

    #[test]
    fn decimal_scales_give_decimal_values() {
        assert_eq!(scale(12345.0, 0.01, 0.0), 123.45);
        assert_eq!(scale(12345.0, 0.001, 0.0), 12.345);
        assert_eq!(scale(7.0, 0.1, 0.0), 0.7);
        assert_eq!(scale(3.0, 2.5, 1.0), 8.5);
        assert_eq!(scale(3.0, 1.0, 0.0), 3.0);
    }

    #[test]
    fn range_and_nan() {
        assert_eq!(value(&point(None, None), 655.0), Ok(25.5));
        assert!(matches!(
            value(&point(Some(-30.0), Some(60.0)), 1100.0),
            Err(ValueError::OutOfRange { .. })
        ));
        assert!(matches!(
            value(&point(None, None), f64::NAN),
            Err(ValueError::NotFinite(_))
        ));
    }

    #[test]
    fn lines_escape_the_meter_and_unit() {
        let l = line(&point(None, None), 25.5, 1_740_787_200_000);
        assert_eq!(
            String::from_utf8(l).unwrap(),
            "site.t\\ 1,unit=℃ value=25.5 1740787200000"
        );
    }
}
