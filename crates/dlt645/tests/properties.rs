//! Property tests: frames and values round-trip, and no input makes the decoder panic.

use proptest::prelude::*;
use shulv_dlt645::{bcd, scan, Address, Frame, MeterTime, Scan, Value, TABLE};

fn frame() -> impl Strategy<Value = Frame> {
    (
        any::<[u8; 6]>(),
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..=255),
    )
        .prop_map(|(a, c, data)| Frame::new(Address::from_wire(a), c, data).unwrap())
}

proptest! {
    #[test]
    fn encode_then_decode_round_trips(f in frame(), preamble in 0usize..=4) {
        let bytes = f.encode(preamble);
        prop_assert_eq!(bytes.len(), preamble + 12 + f.data().len());
        prop_assert_eq!(Frame::decode(&bytes).unwrap(), f);
    }

    #[test]
    fn scan_finds_a_frame_after_garbage(
        f in frame(),
        preamble in 0usize..=4,
        garbage in prop::collection::vec(any::<u8>().prop_filter("no start byte", |b| *b != 0x68), 0..64),
        tail in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        let encoded = f.encode(preamble);
        let mut stream = garbage.clone();
        stream.extend(&encoded);
        stream.extend(&tail);
        match scan(&stream) {
            Scan::Frame { frame, end } => {
                prop_assert_eq!(frame, f);
                prop_assert_eq!(end, garbage.len() + encoded.len());
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = Frame::decode(&bytes);
        match scan(&bytes) {
            Scan::Frame { frame, end } => {
                let len = 12 + frame.data().len();
                prop_assert!(end >= len && end <= bytes.len());
                prop_assert_eq!(Frame::decode(&bytes[end - len..end]).unwrap(), frame);
            }
            Scan::Incomplete { start } => prop_assert!(start <= bytes.len()),
            Scan::Invalid { start, .. } => prop_assert!(start < bytes.len()),
        }
        for d in TABLE {
            let n = d.format.byte_len().min(bytes.len());
            let _ = d.format.decode(d.di, &bytes[..n]);
            let _ = d.format.decode_demand(d.di, &bytes[..n]);
        }
        let _ = bcd::decode_signed(&bytes[..bytes.len().min(10)]);
    }

    #[test]
    fn table_values_round_trip(index in 0..TABLE.len(), raw in any::<i64>(), minute in 0u8..60) {
        let d = &TABLE[index];
        let f = d.format;
        // A signed field's top digit leaves its high bit to the sign: at most 7.
        let digits = 2 * u32::from(f.len);
        let limit = if f.signed { 8 * 10i64.pow(digits - 1) } else { 10i64.pow(digits) };
        let mantissa = if f.signed { raw % limit } else { raw.rem_euclid(limit) };
        let value = Value::new(mantissa, f.decimals);
        let at = MeterTime { year: 2026, month: 12, day: 7, hour: 15, minute, second: 0 };
        let bytes = f.encode(value, Some(&at)).unwrap();
        prop_assert_eq!(bytes.len(), f.byte_len());
        prop_assert_eq!(f.decode(d.di, &bytes).unwrap(), value);
        if f.time {
            prop_assert_eq!(f.decode_demand(d.di, &bytes).unwrap().at, at);
        }
    }

    #[test]
    fn value_display_parses_back(mantissa in any::<i64>(), decimals in 0u8..=18) {
        let v = Value::new(mantissa, decimals);
        let text = v.to_string();
        prop_assert_eq!(text.parse::<Value>().unwrap(), v);
        // Exact in f64 up to 2^53: then to_f64 is the correctly rounded decimal, as parse is.
        if mantissa.unsigned_abs() < 1 << 53 {
            prop_assert_eq!(text.parse::<f64>().unwrap(), v.to_f64());
        }
    }
}
