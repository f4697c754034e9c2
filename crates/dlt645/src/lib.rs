//! DL/T 645-2007 (多功能电能表通信协议), the protocol of Chinese multifunction electricity
//! meters on RS-485, for shulv's field collection.
//!
//! - [`frame`]: frames with their wake-up bytes, 0x33 offset, checksum and end byte;
//!   [`Frame::decode`] for one frame, [`scan`] to find a frame in a byte stream with garbage
//!   before it. Every malformed input is a precise [`Error`], never a panic.
//! - [`bcd`]: packed BCD, least significant byte first, with the sign bit the standard uses.
//! - [`identifiers`]: data identifiers ([`Di`]) and the [`TABLE`] of the common ones with
//!   names, units and formats; values decode to an exact decimal [`Value`].
//! - [`Client`]: reads meters over any tokio byte transport (TCP to a transparent gateway,
//!   a serial port), following follow-up frames.
//!
//! See the crate's README.md for the table and the sources of the test frames.

mod address;
pub mod bcd;
mod client;
mod error;
pub mod frame;
pub mod identifiers;
mod value;

pub use address::Address;
pub use client::Client;
pub use error::{Error, Result};
pub use frame::{scan, ErrorCode, Frame, Scan};
pub use identifiers::{lookup, Definition, Di, Format, TABLE};
pub use value::{Demand, MeterTime, Value};
