//! Values of every shape a meter sends, shared by the format and dataset tests: integers, two
//! and three decimals, large registers, negative values, full doubles, and values too large
//! for a decimal (|v| ≥ 1e9).

/// Value `i` of series `series` (1–7).
pub fn shape_value(series: u32, i: i64) -> f64 {
    let x = i as f64;
    match series {
        1 => (i * 7 % 1000) as f64,
        2 => ((i * 1234 + 5) % 100_000) as f64 / 100.0,
        3 => ((i * 98_765 + 1) % 1_000_000) as f64 / 1000.0,
        4 => (98_765_432_100 + i * 37) as f64 / 100.0,
        5 => -((i * 125 % 10_000 + 1) as f64) / 100.0,
        6 => (x * 0.37).sin() * 1e3 + 0.1,
        _ => 12_345_678_901.5 + x,
    }
}

/// Decimal places of the series' values (`None`: stored as doubles).
#[allow(dead_code)] // each test binary uses what it needs
pub fn shape_scale(series: u32) -> Option<u8> {
    match series {
        1 => Some(0),
        2 | 4 | 5 => Some(2),
        3 => Some(3),
        _ => None,
    }
}
