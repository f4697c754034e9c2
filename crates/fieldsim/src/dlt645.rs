//! A DL/T 645-2007 meter behind a transparent TCP gateway (串口服务器): it answers 读数据 (0x11)
//! for the data identifiers it has and 读通信地址 (0x13), every reply after four wake-up bytes,
//! like a meter on RS-485.

use std::collections::HashMap;
use std::sync::Arc;

use shulv_dlt645::frame::control;
use shulv_dlt645::{lookup, scan, Address, Di, ErrorCode, Frame, Scan, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::Signal;

/// Wake-up bytes (FE) before each reply.
const PREAMBLE: usize = 4;
/// ERR bit 1: 无请求数据 (no requested data).
const NO_DATA: ErrorCode = ErrorCode(0x02);

/// The meter: its address and a signal per data identifier (in the identifier's unit).
#[derive(Clone)]
pub struct Meter {
    /// Its address (通信地址).
    pub address: Address,
    /// Values by identifier; each must be in the table of `shulv-dlt645`.
    pub values: HashMap<Di, Signal>,
}

impl Meter {
    /// The reply to `request` at `now_ms`, or `None` for a frame to another meter or one a
    /// meter does not answer.
    fn reply(&self, request: &Frame, now_ms: i64) -> Option<Frame> {
        if request.is_reply() || !request.address().matches(&self.address) {
            return None;
        }
        let answer = |code: u8, data: Vec<u8>| Frame::new(self.address, code, data).ok();
        match request.control() {
            control::READ_ADDRESS => answer(
                control::READ_ADDRESS | control::REPLY,
                self.address.wire().to_vec(),
            ),
            control::READ_DATA => {
                let error = || {
                    answer(
                        control::READ_DATA | control::REPLY | control::ERROR,
                        vec![NO_DATA.0],
                    )
                };
                let Ok(di) = <[u8; 4]>::try_from(request.data()).map(Di::from_wire) else {
                    return error();
                };
                match self.encode(di, now_ms) {
                    Some(bytes) => {
                        let mut data = di.wire().to_vec();
                        data.extend(bytes);
                        answer(control::READ_DATA | control::REPLY, data)
                    }
                    None => error(),
                }
            }
            _ => None,
        }
    }

    /// The value bytes of `di` at `now_ms` in the standard's format, rounded down to its
    /// decimals (a rising total never reads higher than it is).
    fn encode(&self, di: Di, now_ms: i64) -> Option<Vec<u8>> {
        let format = lookup(di)?.format;
        let value = (self.values.get(&di)?)(now_ms)?;
        let mantissa = (value * 10f64.powi(i32::from(format.decimals)) + 1e-6).floor();
        format
            .encode(Value::new(mantissa as i64, format.decimals), None)
            .ok()
    }
}

/// Serves `meter` to every connection on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, meter: Meter) -> std::io::Result<()> {
    let meter = Arc::new(meter);
    loop {
        let (stream, _) = listener.accept().await?;
        let meter = meter.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(stream, &meter).await {
                tracing::debug!("simulated DL/T 645 meter: {e}");
            }
        });
    }
}

/// Answers the requests of one connection until it closes.
async fn answer(mut stream: TcpStream, meter: &Meter) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        loop {
            match scan(&buf) {
                Scan::Frame { frame, end } => {
                    buf.drain(..end);
                    if let Some(reply) = meter.reply(&frame, crate::now_ms()) {
                        stream.write_all(&reply.encode(PREAMBLE)).await?;
                    }
                }
                Scan::Incomplete { start } => {
                    buf.drain(..start);
                    break;
                }
                Scan::Invalid { start, .. } => {
                    buf.drain(..=start);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENERGY: Di = Di(0x0001_0000);

    fn meter() -> Meter {
        Meter {
            address: "000012345678".parse().unwrap(),
            values: HashMap::from([(ENERGY, Arc::new(|_| Some(1234.567)) as Signal)]),
        }
    }

    #[tokio::test]
    async fn answers_a_read_over_tcp() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let at = listener.local_addr().unwrap();
        let server = tokio::spawn(serve(listener, meter()));
        let stream = TcpStream::connect(at).await.unwrap();
        let mut client = shulv_dlt645::Client::new(stream);
        let value = client
            .read(meter().address, ENERGY, std::time::Duration::from_secs(2))
            .await
            .expect("the meter answers");
        assert_eq!(value, Value::new(123_456, 2));
        server.abort();
    }

    #[test]
    fn unknown_identifiers_get_an_error_reply_and_other_meters_none() {
        let m = meter();
        let reply = m
            .reply(&Frame::read_data(m.address, Di(0x0201_0100)), 0)
            .unwrap();
        assert_eq!(reply.control(), 0xD1);
        assert_eq!(reply.data(), [0x02]);
        let other: Address = "000000000001".parse().unwrap();
        assert!(m.reply(&Frame::read_data(other, ENERGY), 0).is_none());
    }
}
