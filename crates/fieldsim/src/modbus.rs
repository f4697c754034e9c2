//! A Modbus TCP gateway with one or more units (devices behind it) whose holding registers
//! (function 3; function 4 reads the same) hold 32-bit values that follow [`Signal`]s.

use std::future::{ready, Ready};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_modbus::prelude::{ExceptionCode, Request, Response, SlaveRequest};
use tokio_modbus::server::tcp::{accept_tcp_connection, Server};
use tokio_modbus::server::Service;

use crate::Signal;

/// How a value occupies its two registers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Encoding {
    /// IEEE 754 single, big-endian words (`f32`, order `ABCD`).
    F32Abcd,
    /// Unsigned 32-bit count of `resolution` (e.g. 0.01 kWh), low word first (`u32`, order
    /// `CDAB`, as many Chinese meters send energy); rounded down, so a rising total never
    /// reads higher than it is.
    U32Cdab {
        /// The value of one count.
        resolution: f64,
    },
}

/// One 32-bit value at a 0-based register address.
#[derive(Clone)]
pub struct Register {
    /// The first of its two registers (0-based protocol address).
    pub address: u16,
    /// How it is encoded.
    pub encoding: Encoding,
    /// Its value over time.
    pub signal: Signal,
}

impl Register {
    /// The two registers at instant `now_ms`; `None` when the signal has no value or it does
    /// not fit the encoding.
    fn words(&self, now_ms: i64) -> Option<[u16; 2]> {
        let value = (self.signal)(now_ms)?;
        let bits = match self.encoding {
            Encoding::F32Abcd => (value as f32).to_bits(),
            Encoding::U32Cdab { resolution } => {
                let counts = (value / resolution + 1e-6).floor();
                if !(0.0..=f64::from(u32::MAX)).contains(&counts) {
                    return None;
                }
                (counts as u32).rotate_left(16)
            }
        };
        Some([(bits >> 16) as u16, bits as u16])
    }
}

/// One device behind the gateway.
#[derive(Clone)]
pub struct Unit {
    /// Its unit id (slave address).
    pub id: u8,
    /// Its values.
    pub registers: Vec<Register>,
}

impl Unit {
    /// Registers `start..start + count` at `now_ms`: every requested register must belong to a
    /// value (a read may span several), else `IllegalDataAddress`.
    fn read(&self, start: u16, count: u16, now_ms: i64) -> Result<Vec<u16>, ExceptionCode> {
        let mut out = Vec::with_capacity(usize::from(count));
        for address in start..start.saturating_add(count) {
            let (register, word) = self
                .registers
                .iter()
                .find_map(|r| {
                    let offset = address.checked_sub(r.address)?;
                    (offset < 2).then_some((r, usize::from(offset)))
                })
                .ok_or(ExceptionCode::IllegalDataAddress)?;
            let words = register
                .words(now_ms)
                .ok_or(ExceptionCode::ServerDeviceFailure)?;
            out.push(words[word]);
        }
        Ok(out)
    }
}

/// The gateway's answering service (one per connection).
struct Gateway {
    units: Arc<Vec<Unit>>,
}

impl Service for Gateway {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Ready<Result<Self::Response, Self::Exception>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        let Some(unit) = self.units.iter().find(|u| u.id == req.slave) else {
            // No such device on the bus: a real gateway times out; stay silent.
            return ready(Ok(None));
        };
        let now = crate::now_ms();
        ready(match req.request {
            Request::ReadHoldingRegisters(start, count) => unit
                .read(start, count, now)
                .map(|w| Some(Response::ReadHoldingRegisters(w))),
            Request::ReadInputRegisters(start, count) => unit
                .read(start, count, now)
                .map(|w| Some(Response::ReadInputRegisters(w))),
            _ => Err(ExceptionCode::IllegalFunction),
        })
    }
}

/// Serves the gateway with `units` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, units: Vec<Unit>) -> std::io::Result<()> {
    let units = Arc::new(units);
    let new_service = move |_addr| {
        Ok(Some(Gateway {
            units: units.clone(),
        }))
    };
    let on_connected = |stream, addr| {
        let new_service = new_service.clone();
        async move { accept_tcp_connection(stream, addr, new_service) }
    };
    let on_error = |e| tracing::debug!("simulated Modbus device: {e}");
    Server::new(listener).serve(&on_connected, on_error).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register(encoding: Encoding, value: f64) -> Register {
        Register {
            address: 10,
            encoding,
            signal: Arc::new(move |_| Some(value)),
        }
    }

    #[test]
    fn encodings_put_the_words_where_the_point_table_says() {
        let f = register(Encoding::F32Abcd, 123.5).words(0).unwrap();
        assert_eq!(
            f32::from_bits(u32::from(f[0]) << 16 | u32::from(f[1])),
            123.5
        );
        let u = register(Encoding::U32Cdab { resolution: 0.01 }, 123_456.78)
            .words(0)
            .unwrap();
        assert_eq!(u32::from(u[1]) << 16 | u32::from(u[0]), 12_345_678);
        assert!(register(Encoding::U32Cdab { resolution: 0.01 }, -1.0)
            .words(0)
            .is_none());
    }

    #[test]
    fn reads_outside_the_values_are_refused() {
        let d = Unit {
            id: 1,
            registers: vec![register(Encoding::F32Abcd, 1.0)],
        };
        assert_eq!(d.read(10, 2, 0).unwrap().len(), 2);
        assert_eq!(d.read(9, 2, 0), Err(ExceptionCode::IllegalDataAddress));
        assert_eq!(d.read(11, 2, 0), Err(ExceptionCode::IllegalDataAddress));
    }
}
