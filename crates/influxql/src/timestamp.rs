//! RFC 3339 timestamps in time conditions (`time >= '2025-01-01T00:00:00Z'`).

/// Nanoseconds since the Unix epoch of `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` or
/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; without a zone the time is UTC, as in InfluxDB.
/// `None` if the text is not such a timestamp or lies outside the `i64` nanosecond range.
pub(crate) fn parse_ns(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let year = digits(b, 0, 4)?;
    expect(b, 4, b'-')?;
    let month = digits(b, 5, 2)?;
    expect(b, 7, b'-')?;
    let day = digits(b, 8, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut secs = days_from_civil(year, month, day) * 86_400;
    let mut nanos = 0;
    if b.len() > 10 {
        if b[10] != b'T' && b[10] != b't' && b[10] != b' ' {
            return None;
        }
        let (h, m, s) = (digits(b, 11, 2)?, digits(b, 14, 2)?, digits(b, 17, 2)?);
        expect(b, 13, b':')?;
        expect(b, 16, b':')?;
        if h > 23 || m > 59 || s > 59 {
            return None;
        }
        secs += h * 3600 + m * 60 + s;
        let mut i = 19;
        if b.get(i) == Some(&b'.') {
            let n = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 || n > 9 {
                return None;
            }
            nanos = digits(b, i + 1, n)? * 10_i64.pow(9 - n as u32);
            i += 1 + n;
        }
        match b.get(i) {
            None => {}
            Some(b'Z' | b'z') if i + 1 == b.len() => {}
            Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() => {
                expect(b, i + 3, b':')?;
                let (oh, om) = (digits(b, i + 1, 2)?, digits(b, i + 4, 2)?);
                if oh > 23 || om > 59 {
                    return None;
                }
                let off = oh * 3600 + om * 60;
                secs += if sign == b'+' { -off } else { off };
            }
            _ => return None,
        }
    }
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let s = b.get(at..at + n)?;
    if !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0, |acc, c| acc * 10 + i64::from(c - b'0')))
}

fn expect(b: &[u8], at: usize, c: u8) -> Option<()> {
    (b.get(at) == Some(&c)).then_some(())
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_ns;

    #[test]
    fn accepted_forms() {
        let s = 1_735_689_600_000_000_000; // 2025-01-01T00:00:00Z
        assert_eq!(parse_ns("2025-01-01T00:00:00Z"), Some(s));
        assert_eq!(parse_ns("2025-01-01"), Some(s));
        assert_eq!(parse_ns("2025-01-01 00:00:00"), Some(s));
        assert_eq!(parse_ns("2025-01-01T08:00:00+08:00"), Some(s));
        assert_eq!(parse_ns("2025-01-01T00:00:00.5Z"), Some(s + 500_000_000));
        assert_eq!(parse_ns("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_ns("2024-02-29T12:00:00Z"),
            Some(1_709_208_000_000_000_000)
        );
    }

    #[test]
    fn refused_forms() {
        for t in [
            "",
            "2025",
            "2025-13-01",
            "2025-02-29",
            "2025-01-01T24:00:00Z",
            "2025-01-01T00:00:00+0800",
            "2025-01-01T00:00:00.Z",
            "2025-01-01T00:00:00Zjunk",
            "9999-01-01T00:00:00Z",
            "yesterday",
        ] {
            assert_eq!(parse_ns(t), None, "{t}");
        }
    }
}
