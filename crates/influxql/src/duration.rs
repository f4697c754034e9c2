//! InfluxQL duration literals: `15m`, `1h30m`, `1700000000000ms`.

/// A span of time in nanoseconds, as written in a duration literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    nanos: i64,
}

/// Units in the order they must be tried (longest first where one is a prefix of another).
const UNITS: &[(&str, i64)] = &[
    ("ns", 1),
    ("ms", 1_000_000),
    ("u", 1_000),
    ("µ", 1_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
    ("w", 604_800_000_000_000),
];

impl Duration {
    /// The duration of `nanos` nanoseconds.
    pub const fn from_nanos(nanos: i64) -> Self {
        Duration { nanos }
    }

    /// Length in nanoseconds (negative for a negated offset such as `time(1h, -15m)`).
    pub const fn as_nanos(self) -> i64 {
        self.nanos
    }

    /// Parses `<digits><unit>` repeated (`1h30m`); units are `ns u µ ms s m h d w`.
    /// `None` for anything else or a total beyond the range of `i64` nanoseconds.
    pub fn parse(text: &str) -> Option<Duration> {
        let mut rest = text;
        let mut total: i64 = 0;
        if rest.is_empty() {
            return None;
        }
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            let n: i64 = rest[..digits].parse().ok()?;
            rest = &rest[digits..];
            let (unit, scale) = UNITS.iter().find(|(u, _)| rest.starts_with(u))?;
            rest = &rest[unit.len()..];
            total = total.checked_add(n.checked_mul(*scale)?)?;
        }
        Some(Duration { nanos: total })
    }
}

#[cfg(test)]
mod tests {
    use super::Duration;

    #[test]
    fn units_and_combinations() {
        let cases = [
            ("1ns", 1),
            ("1u", 1_000),
            ("1µ", 1_000),
            ("1ms", 1_000_000),
            ("1s", 1_000_000_000),
            ("15m", 900_000_000_000),
            ("1h30m", 5_400_000_000_000),
            ("7d", 604_800_000_000_000),
            ("1w", 604_800_000_000_000),
            ("1700000000000ms", 1_700_000_000_000_000_000),
        ];
        for (text, nanos) in cases {
            assert_eq!(
                Duration::parse(text),
                Some(Duration::from_nanos(nanos)),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_bad_durations() {
        for text in ["", "h", "1", "1x", "1hm", "99999999999999w", "1.5h", "1h-"] {
            assert_eq!(Duration::parse(text), None, "{text}");
        }
    }
}
