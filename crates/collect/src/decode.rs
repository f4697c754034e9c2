//! Register values to numbers: data types, byte and word orders, BCD.

use std::fmt;
use std::str::FromStr;

/// The data type of a point, i.e. how many registers it spans and how they are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    /// One coil or discrete input (functions 1 and 2): 0 or 1.
    Bit,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
    /// Four BCD digits in one register (0x1234 → 1234).
    Bcd16,
    /// Eight BCD digits in two registers.
    Bcd32,
}

impl DataType {
    /// Every type, in the order the docs list them.
    pub const ALL: [DataType; 11] = [
        DataType::Bit,
        DataType::U16,
        DataType::I16,
        DataType::U32,
        DataType::I32,
        DataType::U64,
        DataType::I64,
        DataType::F32,
        DataType::F64,
        DataType::Bcd16,
        DataType::Bcd32,
    ];

    /// Registers (or bits, for [`DataType::Bit`]) the type spans.
    pub fn width(self) -> u16 {
        match self {
            DataType::Bit | DataType::U16 | DataType::I16 | DataType::Bcd16 => 1,
            DataType::U32 | DataType::I32 | DataType::F32 | DataType::Bcd32 => 2,
            DataType::U64 | DataType::I64 | DataType::F64 => 4,
        }
    }

    /// The name used in point tables.
    pub fn name(self) -> &'static str {
        match self {
            DataType::Bit => "bit",
            DataType::U16 => "u16",
            DataType::I16 => "i16",
            DataType::U32 => "u32",
            DataType::I32 => "i32",
            DataType::U64 => "u64",
            DataType::I64 => "i64",
            DataType::F32 => "f32",
            DataType::F64 => "f64",
            DataType::Bcd16 => "bcd16",
            DataType::Bcd32 => "bcd32",
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DataType {
    type Err = String;

    /// Case-insensitive; also accepts the common spellings `uint16`, `int32`, `float`, `double`.
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "bit" | "bool" | "coil" => DataType::Bit,
            "u16" | "uint16" | "word" => DataType::U16,
            "i16" | "int16" => DataType::I16,
            "u32" | "uint32" | "dword" => DataType::U32,
            "i32" | "int32" => DataType::I32,
            "u64" | "uint64" => DataType::U64,
            "i64" | "int64" => DataType::I64,
            "f32" | "float" | "float32" | "real" => DataType::F32,
            "f64" | "double" | "float64" => DataType::F64,
            "bcd16" | "bcd" => DataType::Bcd16,
            "bcd32" => DataType::Bcd32,
            _ => {
                return Err(format!(
                    "unknown type {s:?} (expected u16, i16, u32, i32, u64, i64, f32, f64, bcd16, bcd32 or bit)"
                ))
            }
        })
    }
}

/// Byte and word order of a multi-register value, named by where the bytes of the big-endian
/// value `A B C D` (most significant first) arrive on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    /// Big-endian bytes and words (the Modbus standard).
    Abcd,
    /// Words swapped, bytes in each word big-endian ("word swap", common on Schneider, Chinese meters).
    Cdab,
    /// Bytes swapped in each word, words in order ("byte swap").
    Badc,
    /// Little-endian throughout.
    Dcba,
}

impl ByteOrder {
    /// The four orders, in the order `probe` prints them.
    pub const ALL: [ByteOrder; 4] = [
        ByteOrder::Abcd,
        ByteOrder::Cdab,
        ByteOrder::Badc,
        ByteOrder::Dcba,
    ];

    /// The name used in point tables.
    pub fn name(self) -> &'static str {
        match self {
            ByteOrder::Abcd => "ABCD",
            ByteOrder::Cdab => "CDAB",
            ByteOrder::Badc => "BADC",
            ByteOrder::Dcba => "DCBA",
        }
    }

    fn swaps_words(self) -> bool {
        matches!(self, ByteOrder::Cdab | ByteOrder::Dcba)
    }

    fn swaps_bytes(self) -> bool {
        matches!(self, ByteOrder::Badc | ByteOrder::Dcba)
    }
}

impl fmt::Display for ByteOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ByteOrder {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.trim().to_ascii_uppercase().as_str() {
            "ABCD" | "AB" | "BE" | "BIG" => ByteOrder::Abcd,
            "CDAB" => ByteOrder::Cdab,
            "BADC" | "BA" => ByteOrder::Badc,
            "DCBA" | "LE" | "LITTLE" => ByteOrder::Dcba,
            _ => {
                return Err(format!(
                    "unknown byte order {s:?} (expected ABCD, CDAB, BADC or DCBA)"
                ))
            }
        })
    }
}

/// Why registers did not give a number.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// A BCD register holds a nibble above 9.
    #[error("invalid BCD digits 0x{0:X}")]
    Bcd(u64),
    /// A float register pair holds NaN or an infinity.
    #[error("not a number ({0})")]
    NotFinite(f64),
    /// Fewer registers than the type spans (a bug in request planning).
    #[error("{have} registers for a {ty}")]
    Short {
        /// Registers given.
        have: usize,
        /// The type asked for.
        ty: DataType,
    },
}

/// The raw bytes of `regs` in big-endian value order after undoing `order`.
fn value_bytes(regs: &[u16], order: ByteOrder) -> Vec<u8> {
    let mut words: Vec<u16> = regs.to_vec();
    if order.swaps_bytes() {
        for w in &mut words {
            *w = w.swap_bytes();
        }
    }
    if order.swaps_words() {
        words.reverse();
    }
    words.iter().flat_map(|w| w.to_be_bytes()).collect()
}

fn be_u64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

fn bcd(raw: u64, digits: u32) -> Result<f64, DecodeError> {
    let mut value = 0u64;
    for i in (0..digits).rev() {
        let nibble = (raw >> (4 * i)) & 0xF;
        if nibble > 9 {
            return Err(DecodeError::Bcd(raw));
        }
        value = value * 10 + nibble;
    }
    Ok(value as f64)
}

/// Decodes the first `ty.width()` registers of `regs` as `ty` in `order` (16-bit types use only
/// the byte swap of BADC/DCBA). [`DataType::Bit`] reads `regs[0] != 0`.
pub fn decode(regs: &[u16], ty: DataType, order: ByteOrder) -> Result<f64, DecodeError> {
    let width = usize::from(ty.width());
    if regs.len() < width {
        return Err(DecodeError::Short {
            have: regs.len(),
            ty,
        });
    }
    let bytes = value_bytes(&regs[..width], order);
    let raw = be_u64(&bytes);
    let value = match ty {
        DataType::Bit => f64::from(u8::from(regs[0] != 0)),
        DataType::U16 | DataType::U32 | DataType::U64 => raw as f64,
        DataType::I16 => f64::from(raw as u16 as i16),
        DataType::I32 => f64::from(raw as u32 as i32),
        DataType::I64 => raw as i64 as f64,
        DataType::F32 => f64::from(f32::from_bits(raw as u32)),
        DataType::F64 => f64::from_bits(raw),
        DataType::Bcd16 => bcd(raw, 4)?,
        DataType::Bcd32 => bcd(raw, 8)?,
    };
    if value.is_finite() {
        Ok(value)
    } else {
        Err(DecodeError::NotFinite(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The registers a device sends for `value` of `ty` in `order`: the inverse of [`decode`].
    fn encode(value: f64, ty: DataType, order: ByteOrder) -> Vec<u16> {
        let width = usize::from(ty.width());
        let raw: u64 = match ty {
            DataType::Bit => u64::from(value != 0.0),
            DataType::U16 | DataType::U32 | DataType::U64 => value as u64,
            DataType::I16 => value as i16 as u16 as u64,
            DataType::I32 => value as i32 as u32 as u64,
            DataType::I64 => value as i64 as u64,
            DataType::F32 => u64::from((value as f32).to_bits()),
            DataType::F64 => value.to_bits(),
            DataType::Bcd16 | DataType::Bcd32 => {
                let mut v = value as u64;
                let mut out = 0u64;
                for i in 0..(4 * width as u32) {
                    out |= (v % 10) << (4 * i);
                    v /= 10;
                }
                out
            }
        };
        let bytes = raw.to_be_bytes();
        let mut words: Vec<u16> = bytes[8 - 2 * width..]
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        if order.swaps_words() {
            words.reverse();
        }
        if order.swaps_bytes() {
            for w in &mut words {
                *w = w.swap_bytes();
            }
        }
        words
    }

    #[test]
    fn thirty_two_bits_in_each_order() {
        // 0x12345678 as it arrives on the wire in each order.
        let wire = [
            (ByteOrder::Abcd, [0x1234, 0x5678]),
            (ByteOrder::Cdab, [0x5678, 0x1234]),
            (ByteOrder::Badc, [0x3412, 0x7856]),
            (ByteOrder::Dcba, [0x7856, 0x3412]),
        ];
        for (order, regs) in wire {
            assert_eq!(
                decode(&regs, DataType::U32, order).unwrap(),
                f64::from(0x1234_5678u32),
                "{order}"
            );
            assert_eq!(
                encode(f64::from(0x1234_5678u32), DataType::U32, order),
                regs
            );
        }
    }

    #[test]
    fn sixty_four_bits_in_each_order() {
        let value = 0x0102_0304_0506_0708u64;
        let wire = [
            (ByteOrder::Abcd, [0x0102, 0x0304, 0x0506, 0x0708]),
            (ByteOrder::Cdab, [0x0708, 0x0506, 0x0304, 0x0102]),
            (ByteOrder::Badc, [0x0201, 0x0403, 0x0605, 0x0807]),
            (ByteOrder::Dcba, [0x0807, 0x0605, 0x0403, 0x0201]),
        ];
        for (order, regs) in wire {
            assert_eq!(decode(&regs, DataType::U64, order).unwrap(), value as f64);
        }
    }

    #[test]
    fn floats_known_bit_patterns() {
        // 123.456f32 = 0x42F6E979 (IEEE 754).
        assert_eq!(
            decode(&[0x42F6, 0xE979], DataType::F32, ByteOrder::Abcd).unwrap(),
            f64::from(123.456f32)
        );
        assert_eq!(
            decode(&[0xE979, 0x42F6], DataType::F32, ByteOrder::Cdab).unwrap(),
            f64::from(123.456f32)
        );
        // -1.5f64 = 0xBFF8000000000000.
        assert_eq!(
            decode(&[0xBFF8, 0, 0, 0], DataType::F64, ByteOrder::Abcd).unwrap(),
            -1.5
        );
        assert_eq!(
            decode(&[0, 0, 0, 0xF8BF], DataType::F64, ByteOrder::Dcba).unwrap(),
            -1.5
        );
    }

    #[test]
    fn signed_sixteen_and_byte_swap() {
        assert_eq!(
            decode(&[0xFFFE], DataType::I16, ByteOrder::Abcd).unwrap(),
            -2.0
        );
        assert_eq!(
            decode(&[0xFEFF], DataType::I16, ByteOrder::Badc).unwrap(),
            -2.0
        );
        assert_eq!(
            decode(&[0xFEFF], DataType::I16, ByteOrder::Dcba).unwrap(),
            -2.0
        );
        assert_eq!(
            decode(&[0xFFFE], DataType::U16, ByteOrder::Cdab).unwrap(),
            65534.0
        );
        assert_eq!(
            decode(&[0xFFFF, 0xFFFE], DataType::I32, ByteOrder::Abcd).unwrap(),
            -2.0
        );
        assert_eq!(
            decode(
                &[0xFFFF, 0xFFFF, 0xFFFF, 0xFFFD],
                DataType::I64,
                ByteOrder::Abcd
            )
            .unwrap(),
            -3.0
        );
    }

    #[test]
    fn bcd_digits_and_bad_nibbles() {
        assert_eq!(
            decode(&[0x1234], DataType::Bcd16, ByteOrder::Abcd).unwrap(),
            1234.0
        );
        assert_eq!(
            decode(&[0x5678, 0x1234], DataType::Bcd32, ByteOrder::Cdab).unwrap(),
            12_345_678.0
        );
        assert_eq!(
            decode(&[0x12A4], DataType::Bcd16, ByteOrder::Abcd),
            Err(DecodeError::Bcd(0x12A4))
        );
    }

    #[test]
    fn nan_and_infinity_are_errors() {
        assert!(matches!(
            decode(&[0x7FC0, 0], DataType::F32, ByteOrder::Abcd),
            Err(DecodeError::NotFinite(_))
        ));
        assert!(matches!(
            decode(&[0x7FF0, 0, 0, 0], DataType::F64, ByteOrder::Abcd),
            Err(DecodeError::NotFinite(_))
        ));
    }

    #[test]
    fn encode_inverts_decode_for_every_type_and_order() {
        let samples = [0.0, 1.0, 4321.0, 65535.0];
        for ty in DataType::ALL {
            for order in ByteOrder::ALL {
                for &v in &samples {
                    let v = match ty {
                        DataType::Bit => f64::from(u8::from(v != 0.0)),
                        DataType::Bcd16 => v % 10_000.0,
                        DataType::I16 => v - 32768.0,
                        DataType::I32 | DataType::I64 => -v * 3.0,
                        DataType::F32 | DataType::F64 => v / 4.0 - 1.25,
                        _ => v,
                    };
                    let regs = encode(v, ty, order);
                    assert_eq!(regs.len(), usize::from(ty.width()));
                    assert_eq!(decode(&regs, ty, order).unwrap(), v, "{ty} {order} {v}");
                }
            }
        }
    }

    #[test]
    fn short_input_is_an_error() {
        assert!(matches!(
            decode(&[1], DataType::U32, ByteOrder::Abcd),
            Err(DecodeError::Short { .. })
        ));
    }

    #[test]
    fn names_parse_back() {
        for ty in DataType::ALL {
            assert_eq!(ty.name().parse::<DataType>().unwrap(), ty);
        }
        for order in ByteOrder::ALL {
            assert_eq!(order.name().parse::<ByteOrder>().unwrap(), order);
        }
        assert!("xyz".parse::<DataType>().is_err());
        assert!("ACBD".parse::<ByteOrder>().is_err());
    }
}
