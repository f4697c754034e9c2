//! Meter addresses (通信地址) A0..A5.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// A meter address: 6 BCD bytes kept in wire order (A0, the least significant, first), shown
/// as 12 digits most significant first, like the label on the meter: `"000000001234"`.
///
/// A byte 0xAA is a wildcard (缩位寻址, shown `AA`); all six make [`Address::WILDCARD`], which
/// a single meter on the bus answers. 999999999999 is [`Address::BROADCAST`], for commands a
/// meter never answers (广播校时).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Address([u8; 6]);

impl Address {
    /// 999999999999: broadcast, for broadcast time (0x08); no meter replies.
    pub const BROADCAST: Address = Address([0x99; 6]);
    /// AAAAAAAAAAAA: any meter; for reading the address of the one meter on a bus.
    pub const WILDCARD: Address = Address([0xAA; 6]);

    /// An address from its 6 bytes in wire order (A0 first).
    pub const fn from_wire(bytes: [u8; 6]) -> Self {
        Address(bytes)
    }

    /// The 6 bytes in wire order (A0 first).
    pub const fn wire(&self) -> [u8; 6] {
        self.0
    }

    /// Whether a reply from `reply` answers a request to `self`: equal bytes, or 0xAA
    /// (wildcard) in `self`.
    pub fn matches(&self, reply: &Address) -> bool {
        self.0
            .iter()
            .zip(reply.0.iter())
            .all(|(asked, got)| asked == got || *asked == 0xAA)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0.iter().rev() {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// Parses up to 12 digits, most significant first (shorter ones are padded with leading zeros,
/// as the standard pads short addresses); `AA` marks a wildcard byte; spaces are ignored.
impl FromStr for Address {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let parse_error = || Error::Parse {
            what: "meter address",
            text: s.to_string(),
        };
        let text: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        if text.is_empty() || text.len() > 12 || !text.is_ascii() {
            return Err(parse_error());
        }
        let padded = format!("{text:0>12}");
        let mut wire = [0u8; 6];
        for (i, pair) in padded.as_bytes().chunks(2).enumerate() {
            let byte = match pair {
                [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => (a - b'0') << 4 | (b - b'0'),
                [a, b] if a.eq_ignore_ascii_case(&b'a') && b.eq_ignore_ascii_case(&b'a') => 0xAA,
                _ => return Err(parse_error()),
            };
            wire[5 - i] = byte;
        }
        Ok(Address(wire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_most_significant_first() {
        let a: Address = "000000001234".parse().unwrap();
        assert_eq!(a.wire(), [0x34, 0x12, 0, 0, 0, 0]);
        assert_eq!(a.to_string(), "000000001234");
        assert_eq!("1234".parse::<Address>().unwrap(), a);
        assert_eq!("00 00 00 00 12 34".parse::<Address>().unwrap(), a);
        assert_eq!(Address::WILDCARD.to_string(), "AAAAAAAAAAAA");
        assert_eq!(
            "aaaaaaaaaaaa".parse::<Address>().unwrap(),
            Address::WILDCARD
        );
        assert_eq!(Address::BROADCAST.to_string(), "999999999999");
    }

    #[test]
    fn bad_addresses_are_refused() {
        for s in [
            "",
            "1234567890123",
            "00000000123A",
            "0000000012A4",
            "00000000１２34",
        ] {
            assert!(s.parse::<Address>().is_err(), "{s:?}");
        }
    }

    #[test]
    fn wildcard_bytes_match_anything() {
        let meter: Address = "000000001234".parse().unwrap();
        assert!(Address::WILDCARD.matches(&meter));
        assert!("AAAAAAAA1234".parse::<Address>().unwrap().matches(&meter));
        assert!(!"AAAAAAAA1235".parse::<Address>().unwrap().matches(&meter));
        assert!(!meter.matches(&Address::WILDCARD));
    }
}
