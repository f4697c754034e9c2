//! Fuzzes the DL/T 645 decoder: bytes from a meter, a serial line or a TCP gateway.
//!
//! Invariants beyond "no panic": `scan` consumes the stream front to back and every frame it
//! finds lies inside the input and re-encodes to the same bytes; `Frame::decode` accepts
//! exactly what re-encodes to its input (preamble aside); every table value of a frame's data
//! either is an error or prints as an exact decimal with its format's decimals that parses back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shulv_dlt645::{scan, Frame, Scan, Value, TABLE};

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = Frame::decode(data) {
        let preamble = data.iter().take_while(|&&b| b == 0xFE).count().min(4);
        assert_eq!(frame.encode(preamble), data, "decode accepted what it does not encode");
    }

    let mut rest = data;
    while !rest.is_empty() {
        match scan(rest) {
            Scan::Frame { frame, end } => {
                assert!(end <= rest.len());
                let len = 12 + frame.data().len();
                assert_eq!(frame.encode(0), &rest[end - len..end]);
                values(&frame);
                rest = &rest[end..];
            }
            Scan::Invalid { start, .. } => {
                assert!(start < rest.len());
                rest = &rest[start + 1..];
            }
            Scan::Incomplete { start } => {
                assert!(start <= rest.len());
                break;
            }
        }
    }
});

/// Decodes the frame's data after a DI with every format of the table.
fn values(frame: &Frame) {
    let Some(bytes) = frame.data().get(4..) else {
        return;
    };
    for d in TABLE {
        let Ok(value) = d.format.decode(d.di, bytes) else {
            continue;
        };
        assert_eq!(value.decimals(), d.format.decimals);
        let text = value.to_string();
        assert_eq!(text.parse::<Value>().unwrap(), value, "{text}");
        let _ = d.format.decode_demand(d.di, bytes);
    }
}
