//! Packed BCD as DL/T 645 sends it: two decimal digits a byte, least significant byte first.

use crate::error::{Error, Result};

/// The longest BCD field handled: 8 bytes, 16 digits.
pub const MAX_LEN: usize = 8;

/// Decodes `bytes` (least significant first) into an unsigned number.
pub fn decode_unsigned(bytes: &[u8]) -> Result<u64> {
    digits(bytes, false)
}

/// Decodes `bytes` (least significant first) whose most significant byte's top bit is the sign
/// (1 = negative), as the standard's signed quantities (currents, powers, power factors) are.
pub fn decode_signed(bytes: &[u8]) -> Result<i64> {
    let magnitude = digits(bytes, true)? as i64;
    let negative = bytes.last().is_some_and(|b| b & 0x80 != 0);
    Ok(if negative { -magnitude } else { magnitude })
}

/// Encodes `value` into `len` BCD bytes, least significant first.
pub fn encode_unsigned(value: u64, len: usize) -> Result<Vec<u8>> {
    let out_of_range = || Error::OutOfRange {
        value: i64::try_from(value).unwrap_or(i64::MAX),
        len,
    };
    if len > MAX_LEN {
        return Err(Error::BcdTooLong { len });
    }
    let mut rest = value;
    let mut out = Vec::with_capacity(len);
    for _ in 0..len {
        let low = (rest % 10) as u8;
        let high = (rest / 10 % 10) as u8;
        out.push(high << 4 | low);
        rest /= 100;
    }
    if rest != 0 {
        return Err(out_of_range());
    }
    Ok(out)
}

/// Encodes `value` into `len` BCD bytes with the sign in the top bit of the most significant
/// byte, so the magnitude has one bit less in its leading digit (at most 7).
pub fn encode_signed(value: i64, len: usize) -> Result<Vec<u8>> {
    let mut out = encode_unsigned(value.unsigned_abs(), len).map_err(|e| match e {
        Error::OutOfRange { len, .. } => Error::OutOfRange { value, len },
        e => e,
    })?;
    let Some(top) = out.last_mut() else {
        return if value == 0 {
            Ok(out)
        } else {
            Err(Error::OutOfRange { value, len })
        };
    };
    if *top & 0x80 != 0 {
        return Err(Error::OutOfRange { value, len });
    }
    if value < 0 {
        *top |= 0x80;
    }
    Ok(out)
}

fn digits(bytes: &[u8], signed: bool) -> Result<u64> {
    if bytes.len() > MAX_LEN {
        return Err(Error::BcdTooLong { len: bytes.len() });
    }
    let last = bytes.len().saturating_sub(1);
    let mut value = 0u64;
    for (i, &raw) in bytes.iter().enumerate().rev() {
        let b = if signed && i == last { raw & 0x7F } else { raw };
        let (high, low) = (b >> 4, b & 0x0F);
        if high > 9 || low > 9 {
            return Err(Error::Bcd {
                byte: i,
                value: raw,
            });
        }
        value = value * 100 + u64::from(high) * 10 + u64::from(low);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_significant_byte_first() {
        // 123456.78 kWh travels as 78 56 34 12 (DL/T 645-2007 §4.3, 传输次序).
        assert_eq!(
            decode_unsigned(&[0x78, 0x56, 0x34, 0x12]).unwrap(),
            12_345_678
        );
        assert_eq!(
            encode_unsigned(12_345_678, 4).unwrap(),
            [0x78, 0x56, 0x34, 0x12]
        );
    }

    #[test]
    fn sign_bit_of_the_most_significant_byte() {
        assert_eq!(decode_signed(&[0x45, 0x23, 0x81]).unwrap(), -12_345);
        assert_eq!(decode_signed(&[0x45, 0x23, 0x01]).unwrap(), 12_345);
        assert_eq!(encode_signed(-12_345, 3).unwrap(), [0x45, 0x23, 0x81]);
        assert!(matches!(
            encode_signed(800_000, 3),
            Err(Error::OutOfRange { .. })
        ));
    }

    #[test]
    fn nibble_above_nine_names_the_byte() {
        let err = decode_unsigned(&[0x12, 0x3A, 0x00]).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Bcd {
                    byte: 1,
                    value: 0x3A
                }
            ),
            "{err}"
        );
        // In a signed field the sign bit is not a digit, but the rest of the byte is.
        assert!(matches!(
            decode_signed(&[0x00, 0xFA]),
            Err(Error::Bcd {
                byte: 1,
                value: 0xFA
            })
        ));
    }

    #[test]
    fn out_of_range_and_too_long() {
        assert!(matches!(
            encode_unsigned(100, 1),
            Err(Error::OutOfRange { value: 100, len: 1 })
        ));
        assert!(matches!(
            decode_unsigned(&[0; 9]),
            Err(Error::BcdTooLong { len: 9 })
        ));
        assert_eq!(encode_signed(0, 0).unwrap(), Vec::<u8>::new());
    }
}
