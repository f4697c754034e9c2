//! The client against scripted meters on an in-memory pipe: garbage, echoes, stale replies,
//! follow-up frames, error replies and timeouts.

use std::time::Duration;

use shulv_dlt645::frame::control;
use shulv_dlt645::{scan, Address, Client, Di, Error, Frame, Scan, Value};
use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt, DuplexStream};

const METER: &str = "000000001234";
const SHORT: Duration = Duration::from_millis(200);

fn meter() -> Address {
    METER.parse().unwrap()
}

fn reply(control: u8, data: &[u8]) -> Vec<u8> {
    Frame::new(meter(), control, data.to_vec())
        .unwrap()
        .encode(4)
}

/// A meter that answers the n-th request it reads with `replies[n]` (raw bytes, sent as they
/// are), after checking the request is `requests[n]`.
fn scripted(script: Vec<(Frame, Vec<u8>)>) -> DuplexStream {
    let (client_end, meter_end) = duplex(4096);
    scripted_on(meter_end, script);
    client_end
}

/// Runs the script of [`scripted`] on the meter's end of a pipe.
fn scripted_on(mut meter_end: DuplexStream, script: Vec<(Frame, Vec<u8>)>) {
    tokio::spawn(async move {
        let mut buf = Vec::new();
        for (expected, answer) in script {
            let request = loop {
                if let Scan::Frame { frame, end } = scan(&buf) {
                    buf.drain(..end);
                    break frame;
                }
                let mut chunk = [0u8; 64];
                let n = meter_end.read(&mut chunk).await.unwrap();
                assert!(n > 0, "client closed");
                buf.extend_from_slice(&chunk[..n]);
            };
            assert_eq!(request, expected);
            meter_end.write_all(&answer).await.unwrap();
        }
        // Keep the pipe open until the client is done.
        let _ = meter_end.read(&mut [0u8; 1]).await;
    });
}

fn di_reply(control: u8, di: Di, value: &[u8]) -> Vec<u8> {
    let mut data = di.wire().to_vec();
    data.extend_from_slice(value);
    reply(control, &data)
}

#[tokio::test]
async fn reads_through_garbage_and_echo() {
    let di = Di(0x0201_0100);
    let request = Frame::read_data(meter(), di);
    // An RS-485 adapter echoes the request, line noise, then the reply (231.4 V = 14 23).
    let mut answer = request.encode(4);
    answer.extend([0x00, 0x68, 0xFF]);
    answer.extend(di_reply(0x91, di, &[0x14, 0x23]));
    let io = scripted(vec![(request, answer)]);
    let mut client = Client::new(io);
    let v = client.read(meter(), di, SHORT).await.unwrap();
    assert_eq!(v, Value::new(2314, 1));
}

#[tokio::test]
async fn follows_follow_up_frames() {
    let di = Di(0x0001_0000);
    // 12345.6789 (as raw bytes) over three frames: B1, B2 (SEQ 1), 92 (SEQ 2); a follow-up
    // frame's data is DI, data, SEQ.
    let first = di_reply(0xB1, di, &[0x90, 0x78]);
    let second = di_reply(0xB2, di, &[0x56, 1]);
    let third = di_reply(0x92, di, &[0x34, 0x12, 2]);
    let io = scripted(vec![
        (Frame::read_data(meter(), di), first),
        (Frame::read_follow_up(meter(), di, 1), second),
        (Frame::read_follow_up(meter(), di, 2), third),
    ]);
    let mut client = Client::new(io).with_preamble(0);
    let raw = client.read_raw(meter(), di, SHORT).await.unwrap();
    assert_eq!(raw, [0x90, 0x78, 0x56, 0x34, 0x12]);
}

#[tokio::test]
async fn error_reply_is_an_error_with_its_bits() {
    let di = Di(0x0201_0100);
    let io = scripted(vec![(Frame::read_data(meter(), di), reply(0xD1, &[0x02]))]);
    let mut client = Client::new(io);
    let err = client.read(meter(), di, SHORT).await.unwrap_err();
    let Error::ErrorReply {
        control: 0xD1,
        code,
    } = err
    else {
        panic!("{err}");
    };
    assert_eq!(code.reasons(), [("无请求数据", "no requested data")]);
}

#[tokio::test]
async fn silent_meter_times_out() {
    let (io, _meter_end) = duplex(64);
    let mut client = Client::new(io);
    let err = client
        .read(meter(), Di(0x0001_0000), SHORT)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(d) if d == SHORT), "{err}");
}

#[tokio::test]
async fn stale_replies_are_passed_over() {
    let di = Di(0x0001_0000);
    // First a late reply to an earlier request (another DI), then the real one.
    let mut answer = di_reply(0x91, Di(0x0201_0100), &[0x14, 0x23]);
    answer.extend(di_reply(0x91, di, &[0x67, 0x45, 0x23, 0x01]));
    let io = scripted(vec![(Frame::read_data(meter(), di), answer)]);
    let mut client = Client::new(io);
    let v = client.read(meter(), di, SHORT).await.unwrap();
    assert_eq!(v.to_string(), "12345.67");
}

#[tokio::test]
async fn only_a_wrong_reply_is_reported_precisely() {
    let di = Di(0x0001_0000);
    let other: Address = "000000009999".parse().unwrap();
    let mut data = di.wire().to_vec();
    data.extend([0x67, 0x45, 0x23, 0x01]);
    let wrong_address = Frame::new(other, 0x91, data).unwrap().encode(0);
    let io = scripted(vec![(Frame::read_data(meter(), di), wrong_address)]);
    let mut client = Client::new(io);
    let err = client.read(meter(), di, SHORT).await.unwrap_err();
    assert!(
        matches!(err, Error::AddressMismatch { got, .. } if got == other),
        "{err}"
    );

    let io = scripted(vec![(
        Frame::read_data(meter(), di),
        reply(0x93, &meter().wire()),
    )]);
    let mut client = Client::new(io);
    let err = client.read(meter(), di, SHORT).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnexpectedControl {
                expected: 0x91,
                got: 0x93
            }
        ),
        "{err}"
    );

    let mut corrupt = di_reply(0x91, di, &[0x67, 0x45, 0x23, 0x01]);
    let cs = corrupt.len() - 2;
    corrupt[cs] = corrupt[cs].wrapping_add(1);
    let io = scripted(vec![(Frame::read_data(meter(), di), corrupt)]);
    let mut client = Client::new(io);
    let err = client.read(meter(), di, SHORT).await.unwrap_err();
    assert!(matches!(err, Error::BadChecksum { .. }), "{err}");
}

#[tokio::test]
async fn stray_bytes_before_a_request_are_drained() {
    let di = Di(0x0201_0100);
    let (io, mut meter_end) = duplex(4096);
    // A late reply (same meter, same DI, 999.9 V) already waits when the client sends.
    meter_end
        .write_all(&di_reply(0x91, di, &[0x99, 0x99]))
        .await
        .unwrap();
    scripted_on(
        meter_end,
        vec![(
            Frame::read_data(meter(), di),
            di_reply(0x91, di, &[0x14, 0x23]),
        )],
    );
    let mut client = Client::new(io);
    assert_eq!(
        client.read(meter(), di, SHORT).await.unwrap(),
        Value::new(2314, 1)
    );
}

#[tokio::test]
async fn reads_the_address_and_closed_pipes() {
    let io = scripted(vec![(
        Frame::read_address(),
        reply(control::READ_ADDRESS | control::REPLY, &meter().wire()),
    )]);
    let mut client = Client::new(io);
    assert_eq!(client.read_address(SHORT).await.unwrap(), meter());

    let (io, meter_end) = duplex(64);
    drop(meter_end);
    let mut client = Client::new(io);
    let err = client.read_address(SHORT).await.unwrap_err();
    assert!(matches!(err, Error::Closed | Error::Io(_)), "{err}");
}

#[tokio::test]
async fn unknown_di_needs_a_format() {
    let (io, _meter_end) = duplex(64);
    let mut client = Client::new(io);
    let err = client
        .read(meter(), Di(0x0400_0402), SHORT)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownDi(Di(0x0400_0402))), "{err}");
}
