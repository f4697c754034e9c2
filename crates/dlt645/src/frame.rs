//! Frames (帧): encoding, decoding and finding them in a byte stream.
//!
//! ```text
//! [FE × 0..4] 68 A0 A1 A2 A3 A4 A5 68 C L DATA(L bytes, each +0x33) CS 16
//! ```
//! CS is the sum mod 256 of every byte from the first 0x68 through the data.

use std::fmt;

use crate::error::{Error, Result};
use crate::{bcd, Address, Di, MeterTime};

/// Wake-up byte (前导字节) sent before a frame.
pub const PREAMBLE_BYTE: u8 = 0xFE;
/// At most this many wake-up bytes precede a frame.
pub const MAX_PREAMBLE: usize = 4;
/// Start byte (帧起始符).
pub const START: u8 = 0x68;
/// End byte (结束符).
pub const END: u8 = 0x16;
/// Offset added to every data byte on the wire.
pub const DATA_OFFSET: u8 = 0x33;
/// Bytes of a frame without preamble and data: 68, A0..A5, 68, C, L, CS, 16.
pub const OVERHEAD: usize = 12;

/// Control codes (控制码 C) and their bits.
pub mod control {
    /// 广播校时: broadcast time, never answered.
    pub const BROADCAST_TIME: u8 = 0x08;
    /// 读数据: read data; normal reply 0x91, with follow-up frames 0xB1, error 0xD1.
    pub const READ_DATA: u8 = 0x11;
    /// 读后续数据: read the next follow-up frame; replies 0x92, 0xB2, 0xD2.
    pub const READ_FOLLOW_UP: u8 = 0x12;
    /// 读通信地址: read the address; reply 0x93.
    pub const READ_ADDRESS: u8 = 0x13;
    /// D7: the frame is a meter's reply (从站发出的应答帧).
    pub const REPLY: u8 = 0x80;
    /// D6: error reply (从站异常应答); its data is one [`ErrorCode`](crate::ErrorCode) byte.
    pub const ERROR: u8 = 0x40;
    /// D5: follow-up frames come (有后续数据帧).
    pub const FOLLOW_UP: u8 = 0x20;
    /// D4..D0: the function code.
    pub const FUNCTION: u8 = 0x1F;
}

/// The error byte of an error reply (错误信息字 ERR), one bit a reason.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ErrorCode(pub u8);

impl ErrorCode {
    /// Bit 0..6 reasons, in Chinese and English; bit 7 is reserved.
    pub const BITS: [(&'static str, &'static str); 7] = [
        ("其他错误", "other error"),
        ("无请求数据", "no requested data"),
        ("密码错/未授权", "wrong password or not authorised"),
        ("通信速率不能更改", "baud rate cannot be changed"),
        ("年时区数超", "too many yearly time zones"),
        ("日时段数超", "too many daily periods"),
        ("费率数超", "too many tariffs"),
    ];

    /// The named reasons set in this byte (Chinese, English), in bit order.
    pub fn reasons(self) -> Vec<(&'static str, &'static str)> {
        let mut out: Vec<_> = (0..7)
            .filter(|bit| self.0 & (1 << bit) != 0)
            .map(|bit| Self::BITS[bit])
            .collect();
        if self.0 & 0x80 != 0 {
            out.push(("保留位", "reserved bit 7"));
        }
        out
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reasons = self.reasons();
        if reasons.is_empty() {
            return write!(f, "no reason given (ERR {:#04x})", self.0);
        }
        for (i, (zh, en)) in reasons.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{zh} ({en})")?;
        }
        write!(f, " (ERR {:#04x})", self.0)
    }
}

/// One frame: address, control code and the data field as meant (0x33 already removed).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Frame {
    address: Address,
    control: u8,
    data: Vec<u8>,
}

impl Frame {
    /// A frame; `data` is the plain data field (at most 255 bytes), without the 0x33 offset.
    pub fn new(address: Address, control: u8, data: Vec<u8>) -> Result<Frame> {
        if data.len() > usize::from(u8::MAX) {
            return Err(Error::DataTooLong { len: data.len() });
        }
        Ok(Frame {
            address,
            control,
            data,
        })
    }

    /// Read data (0x11) of `di` from `address`.
    pub fn read_data(address: Address, di: Di) -> Frame {
        Frame {
            address,
            control: control::READ_DATA,
            data: di.wire().to_vec(),
        }
    }

    /// Read follow-up frame number `seq` (1, 2, ...) of `di` (0x12).
    pub fn read_follow_up(address: Address, di: Di, seq: u8) -> Frame {
        let mut data = di.wire().to_vec();
        data.push(seq);
        Frame {
            address,
            control: control::READ_FOLLOW_UP,
            data,
        }
    }

    /// Read the address (0x13) of the single meter on the bus, sent to AAAAAAAAAAAA.
    pub fn read_address() -> Frame {
        Frame {
            address: Address::WILDCARD,
            control: control::READ_ADDRESS,
            data: Vec::new(),
        }
    }

    /// Broadcast time (0x08) to 999999999999: data YYMMDDhhmmss, seconds first on the wire.
    pub fn broadcast_time(time: &MeterTime) -> Result<Frame> {
        let fields = [
            time.second,
            time.minute,
            time.hour,
            time.day,
            time.month,
            (time.year % 100) as u8,
        ];
        let mut data = Vec::with_capacity(6);
        for field in fields {
            data.extend(bcd::encode_unsigned(u64::from(field), 1)?);
        }
        Ok(Frame {
            address: Address::BROADCAST,
            control: control::BROADCAST_TIME,
            data,
        })
    }

    /// The address field.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The control code.
    pub fn control(&self) -> u8 {
        self.control
    }

    /// The data field without the 0x33 offset.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Whether a meter sent it (D7).
    pub fn is_reply(&self) -> bool {
        self.control & control::REPLY != 0
    }

    /// Checks that this frame is a meter's reply to `request`: from its address (0xAA bytes
    /// of the request match any), with its function code; an error reply (D6) becomes
    /// [`Error::ErrorReply`] with its [`ErrorCode`].
    pub fn answers(&self, request: &Frame) -> Result<()> {
        if !request.address.matches(&self.address) {
            return Err(Error::AddressMismatch {
                expected: request.address,
                got: self.address,
            });
        }
        let expected = request.control | control::REPLY;
        if self.control & (control::REPLY | control::FUNCTION) != expected {
            return Err(Error::UnexpectedControl {
                expected,
                got: self.control,
            });
        }
        if self.control & control::ERROR != 0 {
            return Err(Error::ErrorReply {
                control: self.control,
                code: ErrorCode(self.data.first().copied().unwrap_or(0)),
            });
        }
        Ok(())
    }

    /// The frame on the wire, after `preamble` wake-up bytes 0xFE (at most 4 are sent).
    pub fn encode(&self, preamble: usize) -> Vec<u8> {
        let preamble = preamble.min(MAX_PREAMBLE);
        let mut out = Vec::with_capacity(preamble + OVERHEAD + self.data.len());
        out.resize(preamble, PREAMBLE_BYTE);
        out.push(START);
        out.extend_from_slice(&self.address.wire());
        out.push(START);
        out.push(self.control);
        // Frame::new keeps data within 255 bytes.
        out.push(self.data.len() as u8);
        out.extend(self.data.iter().map(|b| b.wrapping_add(DATA_OFFSET)));
        out.push(checksum(&out[preamble..]));
        out.push(END);
        out
    }

    /// Decodes exactly one frame, optionally preceded by up to 4 wake-up bytes.
    pub fn decode(bytes: &[u8]) -> Result<Frame> {
        let preamble = bytes
            .iter()
            .take(MAX_PREAMBLE)
            .take_while(|&&b| b == PREAMBLE_BYTE)
            .count();
        let frame = &bytes[preamble..];
        if frame.len() < OVERHEAD {
            return Err(Error::Truncated { len: frame.len() });
        }
        for at in [0, 7] {
            if frame[at] != START {
                return Err(Error::BadStart {
                    at: preamble + at,
                    got: frame[at],
                });
            }
        }
        let declared = frame[9];
        if frame.len() != OVERHEAD + usize::from(declared) {
            return Err(Error::LengthMismatch {
                declared,
                actual: frame.len() - OVERHEAD,
            });
        }
        check(frame)
    }
}

/// What [`scan`] found at the front of a byte stream.
#[derive(Debug)]
pub enum Scan {
    /// A valid frame; it ends before byte `end` (everything before `end` is used up).
    Frame { frame: Frame, end: usize },
    /// No complete frame yet. Bytes before `start` are not part of any frame and can be
    /// dropped; read more and scan again.
    Incomplete { start: usize },
    /// A frame-shaped candidate at `start` is corrupt (bad checksum or end byte). Drop the
    /// bytes through `start` and scan again: the stream may hold a good frame further on.
    Invalid { error: Error, start: usize },
}

/// Finds the first frame in `buf`, skipping garbage and wake-up bytes before it.
///
/// A candidate is a 0x68 with another 0x68 seven bytes on; its length byte L tells where it
/// ends. Never panics, whatever `buf` holds.
pub fn scan(buf: &[u8]) -> Scan {
    let mut from = 0;
    while let Some(offset) = buf[from..].iter().position(|&b| b == START) {
        let start = from + offset;
        let rest = &buf[start..];
        if rest.len() < 10 {
            return Scan::Incomplete { start };
        }
        if rest[7] != START {
            from = start + 1;
            continue;
        }
        let len = OVERHEAD + usize::from(rest[9]);
        if rest.len() < len {
            return Scan::Incomplete { start };
        }
        return match check(&rest[..len]) {
            Ok(frame) => Scan::Frame {
                frame,
                end: start + len,
            },
            Err(error) => Scan::Invalid { error, start },
        };
    }
    Scan::Incomplete { start: buf.len() }
}

/// Sum mod 256 of `bytes`.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |sum, b| sum.wrapping_add(*b))
}

/// Checks checksum and end byte of `frame` (starts at 0x68, length agrees with L) and decodes it.
fn check(frame: &[u8]) -> Result<Frame> {
    let cs_at = frame.len() - 2;
    let expected = checksum(&frame[..cs_at]);
    if frame[cs_at] != expected {
        return Err(Error::BadChecksum {
            expected,
            got: frame[cs_at],
        });
    }
    if frame[cs_at + 1] != END {
        return Err(Error::BadEnd {
            got: frame[cs_at + 1],
        });
    }
    let mut address = [0u8; 6];
    address.copy_from_slice(&frame[1..7]);
    Ok(Frame {
        address: Address::from_wire(address),
        control: frame[8],
        data: frame[10..cs_at]
            .iter()
            .map(|b| b.wrapping_sub(DATA_OFFSET))
            .collect(),
    })
}
