//! Frames published in vendor manuals, articles and open-source projects, decoded with the
//! codec and the DI table. Every checksum below was summed by hand (mod 256 from the first 0x68
//! through the data) and agrees with the frame's CS byte.

use shulv_dlt645::frame::control;
use shulv_dlt645::{lookup, scan, Address, Di, Error, ErrorCode, Frame, Scan, Value};

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

/// Decodes a reply and the value of the DI it carries with the table's format.
fn value_of(reply: &str) -> (Frame, Di, Value) {
    let frame = Frame::decode(&hex(reply)).unwrap();
    let data = frame.data();
    let di = Di::from_wire([data[0], data[1], data[2], data[3]]);
    let definition = lookup(di).unwrap();
    let value = definition.format.decode(di, &data[4..]).unwrap();
    (frame, di, value)
}

/// Our encoder must produce the published request byte for byte.
fn assert_request(published: &str, address: &str, di: u32) {
    let bytes = hex(published);
    let preamble = bytes.iter().take_while(|&&b| b == 0xFE).count();
    let frame = Frame::read_data(address.parse().unwrap(), Di(di));
    assert_eq!(frame.encode(preamble), bytes, "{published}");
    assert_eq!(Frame::decode(&bytes).unwrap(), frame);
}

// Source: WuSong0/ProtocolAnalysls, src/main/java/Test.java (comment block: a log of a real
// three-phase meter at address 000000000161, request and reply of each DI).
// CS by hand, e.g. 68+61+01+00+00+00+00+68+91+08+33+33+34+33+59+33+33+33 = 0x38A -> 8A.
#[test]
fn wusong_meter_log() {
    assert_request(
        "68 61 01 00 00 00 00 68 11 04 33 33 34 33 14 16",
        "000000000161",
        0x0001_0000,
    );
    assert_request(
        "68 61 01 00 00 00 00 68 11 04 33 34 34 35 17 16",
        "000000000161",
        0x0201_0100,
    );
    assert_request(
        "68 61 01 00 00 00 00 68 11 04 33 34 35 35 18 16",
        "000000000161",
        0x0202_0100,
    );
    assert_request(
        "68 61 01 00 00 00 00 68 11 04 33 33 36 35 18 16",
        "000000000161",
        0x0203_0000,
    );
    assert_request(
        "68 61 01 00 00 00 00 68 11 04 33 33 39 35 1B 16",
        "000000000161",
        0x0206_0000,
    );
    let cases = [
        (
            "68 61 01 00 00 00 00 68 91 08 33 33 34 33 59 33 33 33 8A 16",
            0x0001_0000,
            "0.26",
        ),
        (
            "68 61 01 00 00 00 00 68 91 06 33 34 34 35 34 43 10 16",
            0x0201_0100,
            "100.1",
        ),
        (
            "68 61 01 00 00 00 00 68 91 07 33 34 35 35 CC 7C 33 16 16",
            0x0202_0100,
            "4.999",
        ),
        (
            "68 61 01 00 00 00 00 68 91 07 33 33 36 35 45 58 33 6B 16",
            0x0203_0000,
            "0.2512",
        ),
        (
            "68 61 01 00 00 00 00 68 91 07 33 33 37 35 64 76 33 A9 16",
            0x0204_0000,
            "0.4331",
        ),
        (
            "68 61 01 00 00 00 00 68 91 07 33 33 38 35 39 83 33 8C 16",
            0x0205_0000,
            "0.5006",
        ),
        (
            "68 61 01 00 00 00 00 68 91 06 33 33 39 35 34 38 09 16",
            0x0206_0000,
            "0.501",
        ),
    ];
    for (reply, di, expected) in cases {
        let (frame, got_di, value) = value_of(reply);
        assert_eq!(frame.address().to_string(), "000000000161");
        assert_eq!(frame.control(), 0x91);
        assert_eq!(got_di, Di(di));
        assert_eq!(value.to_string(), expected, "{reply}");
    }
}

// Source: juejin.cn/post/7468708001337491510 (电能表DLT645协议解析, §(四) 数据解析): read
// 00000000 from meter 202107072529 with 4 wake-up bytes; the reply is 317.76 kWh.
// CS by hand: 68+29+25+07+07+21+20+68+11+04+33+33+33+33 = 0x24E -> 4E.
#[test]
fn juejin_combined_energy() {
    assert_request(
        "FE FE FE FE 68 29 25 07 07 21 20 68 11 04 33 33 33 33 4E 16",
        "202107072529",
        0x0000_0000,
    );
    let (frame, di, value) =
        value_of("FE FE FE FE 68 29 25 07 07 21 20 68 91 08 33 33 33 33 A9 4A 36 33 2E 16");
    assert_eq!(frame.address().to_string(), "202107072529");
    assert_eq!(di, Di(0));
    assert_eq!(value, Value::new(31_776, 2));
    assert_eq!(value.to_string(), "317.76");
}

// Source: the same article, §(二) 示例报文: FE FE FE FE 68 62 01 76 00 00 81 68 11 04 35 37
// 33 37 15 16, reading 04000402 (表号, meter number) from 810000760162.
// Source: blog.csdn.net/rat412 (对DLT645-2007规约指令的简单解析): "68 684098092104 68 11 04
// 33333433 20 16", reading 00010000 from 042109984068.
#[test]
fn published_requests() {
    let bytes = hex("FE FE FE FE 68 62 01 76 00 00 81 68 11 04 35 37 33 37 15 16");
    let frame = Frame::decode(&bytes).unwrap();
    assert_eq!(
        frame,
        Frame::read_data("810000760162".parse().unwrap(), Di(0x0400_0402))
    );
    assert_request(
        "68 68 40 98 09 21 04 68 11 04 33 33 34 33 20 16",
        "042109984068",
        0x0001_0000,
    );
}

// Source: zcx1218029121/go645, protocol_test.go (TestDecode, TestRead): reply
// 681401003182216891083333343339333333f116 (00010000 = 0.06 kWh from 218231000114) and the
// request 68610100000000681104333334331416.
// Source: dwdcth/go645, dlt_test.go (comments): "68 01 00 00 00 00 00 68 91 08 33 33 34 33 59
// b3 55 44 dc 16" = 11228026 (112280.26 kWh).
#[test]
fn go645_frames() {
    let (frame, di, value) =
        value_of("68 14 01 00 31 82 21 68 91 08 33 33 34 33 39 33 33 33 F1 16");
    assert_eq!(frame.address().to_string(), "218231000114");
    assert_eq!((di, value), (Di(0x0001_0000), Value::new(6, 2)));
    let (_, _, value) = value_of("68 01 00 00 00 00 00 68 91 08 33 33 34 33 59 B3 55 44 DC 16");
    assert_eq!(value.to_string(), "112280.26");
}

// Source: dwdcth/go645, dlt_test.go (comments): read address request "FE FE FE FE 68 AA AA AA
// AA AA AA 68 13 00 DF 16" and the replies "68 01 00 00 00 00 00 68 93 06 34 33 33 33 33 33 9D
// 16" (meter 000000000001) and "68 08 02 02 41 22 00 68 93 06 3B 35 35 74 55 33 79 16"
// (meter 002241020208). CS by hand: 68+AA×6+68+13+00 = 0x4DF -> DF.
#[test]
fn read_address_frames() {
    let request = hex("FE FE FE FE 68 AA AA AA AA AA AA 68 13 00 DF 16");
    assert_eq!(Frame::read_address().encode(4), request);
    for (reply, address) in [
        (
            "68 01 00 00 00 00 00 68 93 06 34 33 33 33 33 33 9D 16",
            "000000000001",
        ),
        (
            "68 08 02 02 41 22 00 68 93 06 3B 35 35 74 55 33 79 16",
            "002241020208",
        ),
    ] {
        let frame = Frame::decode(&hex(reply)).unwrap();
        assert_eq!(frame.control(), control::READ_ADDRESS | control::REPLY);
        let data: [u8; 6] = frame.data().try_into().unwrap();
        assert_eq!(Address::from_wire(data).to_string(), address);
        assert_eq!(frame.address().to_string(), address);
    }
}

// Source: npm package dlt645 (sandxin/dlt645), README example: the voltage block 0201FF00,
// "68 60 64 02 09 22 04 68 91 0a 33 32 34 35 47 56 33 33 33 33 97 16", A = 231.4 V, B = C = 0.
// The block is not in the table (it is three XXX.X values); decode each 2-byte part.
#[test]
fn voltage_block() {
    let frame = Frame::decode(&hex(
        "68 60 64 02 09 22 04 68 91 0A 33 32 34 35 47 56 33 33 33 33 97 16",
    ))
    .unwrap();
    let data = frame.data();
    assert_eq!(
        Di::from_wire([data[0], data[1], data[2], data[3]]),
        Di(0x0201_FF00)
    );
    let format = lookup(Di(0x0201_0100)).unwrap().format;
    let phases: Vec<String> = data[4..]
        .chunks(2)
        .map(|b| format.decode(Di(0x0201_FF00), b).unwrap().to_string())
        .collect();
    assert_eq!(phases, ["231.4", "0.0", "0.0"]);
}

// Source: a public Go test (package protocol_stack, TestParseDLT645Frame; repository not named
// by the code index): "FE FE FE FE 68 60 07 92 04 00 91 68 D1 01 37 67 16", an error reply with
// ERR 0x04 (密码错/未授权). CS by hand: 68+60+07+92+04+00+91+68+D1+01+37 = 0x367 -> 67.
// Source: a public Java AmmeterUtils test (repository not named by the index):
// "FEFEFEFE6811111111111168D101353D16", ERR 0x02 (无请求数据).
#[test]
fn error_replies_name_their_bits() {
    let frame = Frame::decode(&hex("FE FE FE FE 68 60 07 92 04 00 91 68 D1 01 37 67 16")).unwrap();
    assert_eq!(frame.control(), 0xD1);
    assert_eq!(frame.address().to_string(), "910004920760");
    assert_eq!(
        ErrorCode(frame.data()[0]).reasons(),
        [("密码错/未授权", "wrong password or not authorised")]
    );
    let frame = Frame::decode(&hex("FE FE FE FE 68 11 11 11 11 11 11 68 D1 01 35 3D 16")).unwrap();
    let code = ErrorCode(frame.data()[0]);
    assert_eq!(
        code.to_string(),
        "无请求数据 (no requested data) (ERR 0x02)"
    );
    assert_eq!(ErrorCode(0x41).reasons().len(), 2);
}

#[test]
fn precise_errors_for_broken_frames() {
    let good = hex("68 61 01 00 00 00 00 68 91 06 33 34 34 35 34 43 10 16");
    let mut bad_cs = good.clone();
    bad_cs[16] = 0x11;
    assert!(matches!(
        Frame::decode(&bad_cs),
        Err(Error::BadChecksum {
            expected: 0x10,
            got: 0x11
        })
    ));
    let mut bad_end = good.clone();
    bad_end[17] = 0x17;
    assert!(matches!(
        Frame::decode(&bad_end),
        Err(Error::BadEnd { got: 0x17 })
    ));
    assert!(matches!(
        Frame::decode(&good[..17]),
        Err(Error::LengthMismatch {
            declared: 6,
            actual: 5
        })
    ));
    let mut longer = good.clone();
    longer.push(0x16);
    assert!(matches!(
        Frame::decode(&longer),
        Err(Error::LengthMismatch {
            declared: 6,
            actual: 7
        })
    ));
    assert!(matches!(
        Frame::decode(&good[..11]),
        Err(Error::Truncated { len: 11 })
    ));
    let mut bad_start = good.clone();
    bad_start[7] = 0x69;
    assert!(matches!(
        Frame::decode(&bad_start),
        Err(Error::BadStart { at: 7, got: 0x69 })
    ));
    // A BCD nibble above 9 names its byte.
    let format = lookup(Di(0x0201_0100)).unwrap().format;
    assert!(matches!(
        format.decode(Di(0x0201_0100), &[0x01, 0xA0]),
        Err(Error::Bcd {
            byte: 1,
            value: 0xA0
        })
    ));
}

#[test]
fn scan_skips_garbage_and_finds_the_frame() {
    let frame = hex("FE FE FE FE 68 61 01 00 00 00 00 68 91 06 33 34 34 35 34 43 10 16");
    // Garbage with a stray 0x68 that is no frame start, then the frame, then the next bytes.
    let mut stream = hex("00 68 12 FF 16 FE");
    stream.extend(&frame);
    stream.extend(hex("FE FE 68 61"));
    let Scan::Frame { frame: found, end } = scan(&stream) else {
        panic!("no frame");
    };
    assert_eq!(end, 6 + frame.len());
    assert_eq!(found, Frame::decode(&frame).unwrap());
    assert!(matches!(
        scan(&stream[end..]),
        Scan::Incomplete { start: 2 }
    ));
    // Half a frame: keep it from its start.
    assert!(matches!(
        scan(&stream[..12]),
        Scan::Incomplete { start: 10 }
    ));
    assert!(matches!(
        scan(&hex("00 01 02")),
        Scan::Incomplete { start: 3 }
    ));
    // A corrupt frame is reported where it starts.
    let mut corrupt = stream.clone();
    corrupt[6 + 20] ^= 0xFF;
    assert!(matches!(
        scan(&corrupt),
        Scan::Invalid {
            error: Error::BadChecksum { .. },
            start: 10
        }
    ));
}

// Source: a public C source of a concentrator (BroadcastTime_TxDATA_DL645, comment "645-07广播校时";
// repository not named by the code index): "68 99 99 99 99 99 99 68 08 06 84 55 43 38 39 4A
// 4B 16", i.e. 2017-06-05 10:22:51 sent seconds first. CS by hand: 0x64B -> 4B.
#[test]
fn broadcast_time_frame() {
    let time = shulv_dlt645::MeterTime {
        year: 2017,
        month: 6,
        day: 5,
        hour: 10,
        minute: 22,
        second: 51,
    };
    let frame = Frame::broadcast_time(&time).unwrap();
    assert_eq!(
        frame.encode(0),
        hex("68 99 99 99 99 99 99 68 08 06 84 55 43 38 39 4A 4B 16")
    );
    assert_eq!(frame.address(), Address::BROADCAST);
    let bad = shulv_dlt645::MeterTime {
        second: 100,
        ..time
    };
    assert!(matches!(
        Frame::broadcast_time(&bad),
        Err(Error::OutOfRange { .. })
    ));
}

#[test]
fn replies_are_checked_against_their_request() {
    let meter: Address = "000000000161".parse().unwrap();
    let request = Frame::read_data(meter, Di(0x0201_0100));
    let reply = Frame::decode(&hex(
        "68 61 01 00 00 00 00 68 91 06 33 34 34 35 34 43 10 16",
    ))
    .unwrap();
    reply.answers(&request).unwrap();
    reply
        .answers(&Frame::read_data(Address::WILDCARD, Di(0x0201_0100)))
        .unwrap();
    let other = Frame::read_data("000000000162".parse().unwrap(), Di(0x0201_0100));
    assert!(matches!(
        reply.answers(&other),
        Err(Error::AddressMismatch { .. })
    ));
    assert!(matches!(
        reply.answers(&Frame::new(meter, control::READ_ADDRESS, vec![]).unwrap()),
        Err(Error::UnexpectedControl {
            expected: 0x93,
            got: 0x91
        })
    ));
    let error = Frame::new(meter, 0xD1, vec![0x04]).unwrap();
    let Err(Error::ErrorReply {
        control: 0xD1,
        code,
    }) = error.answers(&request)
    else {
        panic!("not an error reply");
    };
    assert_eq!(code, ErrorCode(0x04));
}
