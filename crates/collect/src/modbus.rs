//! Modbus channels: one connection per gateway or bus, its devices polled one after the other
//! on the wall clock.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_modbus::client::{Context, Reader};
use tokio_modbus::prelude::SlaveContext;
use tokio_modbus::Slave;

use crate::config::{Channel, ChannelKind, Device, Parity, Serial};
use crate::decode::decode;
use crate::metrics::Metrics;
use crate::plan::{plan, slice, Request};
use crate::point_table::{Function, Source};
use crate::reading::{line, value};
use crate::schedule::{backoff, next_slot, now_ms, slot_at_or_after};

/// Why a request got no registers.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// No answer within the device's timeout.
    #[error("timeout after {0:?}")]
    Timeout(Duration),
    /// The device answered with a Modbus exception.
    #[error("Modbus exception {0}")]
    Exception(String),
    /// Connection or framing failure.
    #[error("{0}")]
    Transport(String),
}

impl ReadError {
    /// The reason label in metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            ReadError::Timeout(_) => "timeout",
            ReadError::Exception(_) => "exception",
            ReadError::Transport(_) => "transport",
        }
    }

    /// True if the device did not answer at all (the connection is dropped and remade).
    fn is_silence(&self) -> bool {
        !matches!(self, ReadError::Exception(_))
    }
}

/// How to open a Modbus connection.
#[derive(Debug, Clone)]
pub enum Link {
    /// Modbus TCP to `host:port`.
    Tcp(String),
    /// Modbus RTU on a serial port.
    Rtu(Serial),
    /// Modbus RTU framing over a TCP serial server at `host:port`.
    RtuOverTcp(String),
}

impl Link {
    /// The link of a Modbus channel (None for other protocols).
    pub fn of(kind: &ChannelKind) -> Option<Link> {
        match kind {
            ChannelKind::ModbusTcp(a) => Some(Link::Tcp(a.clone())),
            ChannelKind::ModbusRtu(s) => Some(Link::Rtu(s.clone())),
            ChannelKind::ModbusRtuOverTcp(a) => Some(Link::RtuOverTcp(a.clone())),
            ChannelKind::Dlt645Serial(_) | ChannelKind::Dlt645Tcp(_) => None,
        }
    }

    /// Opens the connection (within `timeout`).
    pub async fn connect(&self, timeout: Duration) -> Result<Context, ReadError> {
        let open = async {
            match self {
                Link::Tcp(addr) => {
                    let stream = tokio::net::TcpStream::connect(addr).await?;
                    stream.set_nodelay(true)?;
                    Ok::<_, io::Error>(tokio_modbus::client::tcp::attach(stream))
                }
                Link::RtuOverTcp(addr) => {
                    let stream = tokio::net::TcpStream::connect(addr).await?;
                    stream.set_nodelay(true)?;
                    Ok(tokio_modbus::client::rtu::attach(stream))
                }
                Link::Rtu(serial) => {
                    let port = open_serial(serial)?;
                    Ok(tokio_modbus::client::rtu::attach(port))
                }
            }
        };
        match tokio::time::timeout(timeout, open).await {
            Ok(Ok(ctx)) => Ok(ctx),
            Ok(Err(e)) => Err(ReadError::Transport(format!("connect: {e}"))),
            Err(_) => Err(ReadError::Timeout(timeout)),
        }
    }
}

/// Opens a serial port with the line settings.
fn open_serial(s: &Serial) -> io::Result<tokio_serial::SerialStream> {
    use tokio_serial::{DataBits, SerialPortBuilderExt, StopBits};
    let parity = match s.parity {
        Parity::None => tokio_serial::Parity::None,
        Parity::Even => tokio_serial::Parity::Even,
        Parity::Odd => tokio_serial::Parity::Odd,
    };
    let data_bits = match s.data_bits {
        5 => DataBits::Five,
        6 => DataBits::Six,
        7 => DataBits::Seven,
        _ => DataBits::Eight,
    };
    let stop_bits = if s.stop_bits == 2 {
        StopBits::Two
    } else {
        StopBits::One
    };
    tokio_serial::new(&s.path, s.baud)
        .parity(parity)
        .data_bits(data_bits)
        .stop_bits(stop_bits)
        .open_native_async()
        .map_err(io::Error::from)
}

/// One read of `count` registers or bits (bits as 0/1) at `address` with `function`.
pub async fn read(
    ctx: &mut Context,
    function: Function,
    address: u16,
    count: u16,
    timeout: Duration,
) -> Result<Vec<u16>, ReadError> {
    let bits = |v: Vec<bool>| v.into_iter().map(u16::from).collect::<Vec<u16>>();
    let call = async {
        match function {
            Function::Holding => ctx.read_holding_registers(address, count).await,
            Function::Input => ctx.read_input_registers(address, count).await,
            Function::Coils => ctx.read_coils(address, count).await.map(|r| r.map(bits)),
            Function::DiscreteInputs => ctx
                .read_discrete_inputs(address, count)
                .await
                .map(|r| r.map(bits)),
        }
    };
    match tokio::time::timeout(timeout, call).await {
        Err(_) => Err(ReadError::Timeout(timeout)),
        Ok(Err(e)) => Err(ReadError::Transport(e.to_string())),
        Ok(Ok(Err(exception))) => Err(ReadError::Exception(format!("{exception:?}"))),
        Ok(Ok(Ok(mut words))) => {
            // Coil answers are padded to whole bytes.
            words.truncate(usize::from(count));
            if words.len() < usize::from(count) {
                return Err(ReadError::Transport(format!(
                    "{} values in an answer for {count}",
                    words.len()
                )));
            }
            Ok(words)
        }
    }
}

/// A device's plan and its state between polls.
struct Polled {
    device: Device,
    requests: Vec<Request>,
    next_ms: i64,
}

/// The connection of a channel, made when needed and dropped after a silence.
struct Connection {
    link: Link,
    ctx: Option<Context>,
}

impl Connection {
    async fn read(
        &mut self,
        unit: u8,
        r: &Request,
        timeout: Duration,
    ) -> Result<Vec<u16>, ReadError> {
        if self.ctx.is_none() {
            self.ctx = Some(self.link.connect(timeout).await?);
        }
        let ctx = self.ctx.as_mut().expect("connected");
        ctx.set_slave(Slave(unit));
        let result = read(ctx, r.function, r.address, r.count, timeout).await;
        if let Err(e) = &result {
            if e.is_silence() {
                // A late answer must not be taken for the next request's.
                self.ctx = None;
            }
        }
        result
    }
}

/// Polls the devices of a Modbus `channel` forever, sending each poll's lines to `out`.
pub async fn run(
    channel: Channel,
    link: Link,
    out: mpsc::Sender<Vec<Vec<u8>>>,
    metrics: Arc<Metrics>,
) {
    let mut conn = Connection { link, ctx: None };
    let now = now_ms();
    let mut devices: Vec<Polled> = channel
        .devices
        .into_iter()
        .map(|device| {
            let requests = plan(
                &device.points,
                device.max_gap,
                device.max_registers,
                device.max_bits,
            );
            let period = device.period.as_millis() as i64;
            Polled {
                next_ms: slot_at_or_after(now, period),
                requests,
                device,
            }
        })
        .collect();
    loop {
        let Some(i) = (0..devices.len()).min_by_key(|&i| devices[i].next_ms) else {
            return;
        };
        let slot = devices[i].next_ms;
        let wait = slot - now_ms();
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        }
        let d = &mut devices[i];
        let (lines, failures) = poll(&mut conn, d, slot, &metrics).await;
        if !lines.is_empty() && out.send(lines).await.is_err() {
            return;
        }
        let period = d.device.period;
        let (next, skipped) = next_slot(
            slot,
            now_ms(),
            period.as_millis() as i64,
            backoff(period, failures).as_millis() as i64,
        );
        d.next_ms = next;
        if skipped > 0 {
            metrics.device(&d.device.name, |s| s.skipped += skipped);
        }
    }
}

/// Polls one device for the instant `slot`; returns its lines and its failed polls in a row.
async fn poll(
    conn: &mut Connection,
    d: &Polled,
    slot: i64,
    metrics: &Metrics,
) -> (Vec<Vec<u8>>, u32) {
    let device = &d.device;
    let failing = {
        let mut n = 0;
        metrics.device(&device.name, |s| n = s.consecutive_failures);
        n
    };
    // A device that is down gets one try per poll, so it delays the others on its channel by
    // one timeout at most.
    let attempts = if failing > 0 { 1 } else { device.retries + 1 };
    let mut lines = Vec::new();
    let mut answered = false;
    let mut errors: Vec<(String, &'static str)> = Vec::new();
    for r in &d.requests {
        let mut result = Err(ReadError::Timeout(device.timeout));
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100 << (attempt - 1).min(4))).await;
            }
            result = conn.read(device.unit, r, device.timeout).await;
            if matches!(result, Ok(_) | Err(ReadError::Exception(_))) {
                break;
            }
        }
        let points = || {
            r.points
                .iter()
                .map(|&p| device.points[p].name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match result {
            Ok(words) => {
                answered = true;
                for &p in &r.points {
                    let point = &device.points[p];
                    let Source::Modbus { ty, order, .. } = point.source else {
                        continue;
                    };
                    let checked = decode(slice(r, point, &words), ty, order)
                        .map_err(|e| (e.to_string(), "decode"))
                        .and_then(|raw| value(point, raw).map_err(|e| (e.to_string(), "range")));
                    match checked {
                        Ok(v) => lines.push(line(point, v, slot)),
                        Err((message, reason)) => {
                            tracing::warn!(device = %device.name, point = %point.name, "{message}; not forwarded");
                            errors.push((format!("point {}: {message}", point.name), reason));
                        }
                    }
                }
            }
            Err(e) => {
                let silent = e.is_silence();
                if matches!(e, ReadError::Exception(_)) {
                    answered = true;
                }
                let message = format!(
                    "function {} address {} count {} (points {}): {e}",
                    r.function.code(),
                    r.address,
                    r.count,
                    points()
                );
                tracing::warn!(device = %device.name, "{message}");
                for _ in &r.points {
                    errors.push((message.clone(), e.reason()));
                }
                if silent {
                    // The device does not answer: its other requests would only wait as long.
                    break;
                }
            }
        }
    }
    let readings = lines.len() as u64;
    let mut failures = 0;
    metrics.device(&device.name, |s| {
        s.polls += 1;
        s.readings += readings;
        if answered {
            s.consecutive_failures = 0;
            s.last_success_ms = Some(now_ms());
        } else {
            s.failures += 1;
            s.consecutive_failures += 1;
        }
        failures = s.consecutive_failures;
        for (message, reason) in &errors {
            *s.point_errors.entry((*reason).to_string()).or_default() += 1;
            s.last_error = Some(message.clone());
        }
    });
    (lines, failures)
}
