//! Errors of the codec and the client.

use crate::{Address, Di, ErrorCode};

/// Everything that can go wrong decoding a frame or talking to a meter.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A frame's data field is longer than its one-byte length L allows.
    #[error("data field of {len} bytes is longer than 255")]
    DataTooLong { len: usize },
    /// Fewer bytes than the smallest frame (12 after the preamble).
    #[error("frame truncated: {len} bytes after the preamble, at least 12 needed")]
    Truncated { len: usize },
    /// The byte where a start byte 0x68 belongs holds something else.
    #[error("no start byte 0x68 at byte {at}: got {got:#04x}")]
    BadStart { at: usize, got: u8 },
    /// The length byte L disagrees with the number of data bytes present.
    #[error("length mismatch: L says {declared} data bytes, the frame has {actual}")]
    LengthMismatch { declared: u8, actual: usize },
    /// The checksum byte is not the sum of the bytes from the first 0x68 through the data.
    #[error("bad checksum: expected {expected:#04x}, got {got:#04x}")]
    BadChecksum { expected: u8, got: u8 },
    /// The last byte is not the end byte 0x16.
    #[error("bad end byte: expected 0x16, got {got:#04x}")]
    BadEnd { got: u8 },
    /// A reply came from another address than the one asked.
    #[error("address mismatch: asked {expected}, reply from {got}")]
    AddressMismatch { expected: Address, got: Address },
    /// A reply carries a control code that does not answer the request.
    #[error("unexpected control code {got:#04x} (expected {expected:#04x})")]
    UnexpectedControl { expected: u8, got: u8 },
    /// The meter answered with an error reply (从站异常应答).
    #[error("meter error reply (control {control:#04x}): {code}")]
    ErrorReply { control: u8, code: ErrorCode },
    /// A reply is for another data identifier than the one asked.
    #[error("data identifier mismatch: asked {expected}, reply for {got}")]
    DiMismatch { expected: Di, got: Di },
    /// A reply's data field is too short to hold what it must.
    #[error("reply data of {got} bytes, {expected} expected")]
    ShortReply { expected: usize, got: usize },
    /// A value's bytes are not the length its format says.
    #[error("value of {di}: {got} bytes, its format has {expected}")]
    ValueLength { di: Di, expected: usize, got: usize },
    /// A nibble above 9 in BCD data; `byte` counts from the first byte on the wire (0).
    #[error("invalid BCD byte {value:#04x} at byte {byte} of the value")]
    Bcd { byte: usize, value: u8 },
    /// A BCD field longer than [`crate::bcd::MAX_LEN`] bytes.
    #[error("BCD field of {len} bytes, at most 8 handled")]
    BcdTooLong { len: usize },
    /// A number does not fit the BCD format it is to be written in.
    #[error("{value} does not fit {len} BCD bytes")]
    OutOfRange { value: i64, len: usize },
    /// A data identifier that the table does not know, read without a format.
    #[error("unknown data identifier {0}: read it with an explicit Format")]
    UnknownDi(Di),
    /// An address, data identifier or value string that does not parse.
    #[error("cannot parse {what} {text:?}")]
    Parse { what: &'static str, text: String },
    /// More follow-up frames (后续帧) than the sequence number can count.
    #[error("more than 255 follow-up frames")]
    TooManyFollowUps,
    /// No complete reply within the timeout.
    #[error("no reply within {0:?}")]
    Timeout(std::time::Duration),
    /// The transport closed (end of stream).
    #[error("connection closed by the peer")]
    Closed,
    /// An I/O error of the transport.
    #[error("transport: {0}")]
    Io(#[from] std::io::Error),
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
