//! `shulv collect probe`: one read of a register range, printed in every type, byte order and
//! common scale, to find a device's settings.

use std::fmt::Write as _;
use std::time::Duration;

use crate::decode::{decode, ByteOrder, DataType};
use crate::modbus::{read, Link, ReadError};
use crate::point_table::Function;

/// The scales printed next to the integer values.
const SCALES: [f64; 4] = [1.0, 0.1, 0.01, 0.001];

/// Reads `count` registers (or bits) at `address` of `unit` once and formats them.
pub async fn probe(
    link: &Link,
    unit: u8,
    function: Function,
    address: u16,
    count: u16,
    timeout: Duration,
) -> Result<String, ReadError> {
    let mut ctx = link.connect(timeout).await?;
    tokio_modbus::prelude::SlaveContext::set_slave(&mut ctx, tokio_modbus::Slave(unit));
    let words = read(&mut ctx, function, address, count, timeout).await?;
    Ok(format(function, address, &words))
}

fn scaled(v: f64, scales: &[f64]) -> String {
    scales
        .iter()
        .map(|s| format!("{:>14}", crate::reading::scale(v, *s, 0.0)))
        .collect()
}

/// The table of `words` read with `function` from `address`.
pub fn format(function: Function, address: u16, words: &[u16]) -> String {
    let mut out = String::new();
    if function.is_bits() {
        let _ = writeln!(out, "function {} from {address}:", function.code());
        for (i, w) in words.iter().enumerate() {
            let _ = writeln!(out, "{:>6}  {w}", usize::from(address) + i);
        }
        return out;
    }
    let _ = writeln!(
        out,
        "function {}, 0-based addresses (Modicon {}):\n\
         \n16-bit registers (BADC/DCBA swap the two bytes)\n\
         {:>6}  {:>6}  {:>5}  {:>14}{:>14}{:>14}{:>14}",
        function.code(),
        match function {
            Function::Holding => format!("4{:05}", u32::from(address) + 1),
            _ => format!("3{:05}", u32::from(address) + 1),
        },
        "addr",
        "hex",
        "order",
        "×1",
        "×0.1",
        "×0.01",
        "×0.001"
    );
    for (i, w) in words.iter().enumerate() {
        let at = usize::from(address) + i;
        for (ty, order) in [
            (DataType::U16, ByteOrder::Abcd),
            (DataType::I16, ByteOrder::Abcd),
            (DataType::U16, ByteOrder::Badc),
            (DataType::I16, ByteOrder::Badc),
        ] {
            let v = decode(&[*w], ty, order).unwrap_or(f64::NAN);
            let _ = writeln!(
                out,
                "{at:>6}  0x{w:04X}  {:>5}  {}",
                format!("{ty} {}", &order.name()[..2]),
                scaled(v, &SCALES)
            );
        }
    }
    if words.len() >= 2 {
        let _ = writeln!(
            out,
            "\n32-bit values starting at each register\n{:>6}  {:>5}  {:>12}  {:>12}  {:>16}  {:>14}{:>14}{:>14}",
            "addr", "order", "u32", "i32", "f32", "i32×0.1", "i32×0.01", "i32×0.001"
        );
        for i in 0..words.len() - 1 {
            let at = usize::from(address) + i;
            let pair = &words[i..i + 2];
            for order in ByteOrder::ALL {
                let u = decode(pair, DataType::U32, order).unwrap_or(f64::NAN);
                let s = decode(pair, DataType::I32, order).unwrap_or(f64::NAN);
                let f = match decode(pair, DataType::F32, order) {
                    Ok(f) => format!("{f}"),
                    Err(_) => "NaN/inf".to_string(),
                };
                let _ = writeln!(
                    out,
                    "{at:>6}  {order}  {u:>12}  {s:>12}  {f:>16}{}",
                    scaled(s, &SCALES[1..])
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_order_of_a_float_is_shown() {
        // 230.5f32 = 0x43668000, sent word-swapped (CDAB).
        let text = format(Function::Holding, 10, &[0x8000, 0x4366]);
        assert!(text.contains("Modicon 400011"), "{text}");
        let cdab = text
            .lines()
            .find(|l| l.trim_start().starts_with("10  CDAB"))
            .unwrap();
        assert!(cdab.contains("230.5"), "{cdab}");
        assert!(text.contains("0x8000"), "{text}");
        let u16_line = text.lines().find(|l| l.contains("0x4366  u16 AB")).unwrap();
        assert!(
            u16_line.contains("17254") && u16_line.contains("17.254"),
            "{u16_line}"
        );
    }

    #[test]
    fn bits_are_listed() {
        let text = format(Function::Coils, 0, &[1, 0]);
        assert!(text.contains("     0  1\n     1  0"), "{text}");
    }
}
