//! Modbus TCP, RTU and RTU over TCP: connections, reads, and the channel's [`Poller`].

use std::collections::HashMap;
use std::io;
use std::time::Duration;

use tokio_modbus::client::{Context, Reader};
use tokio_modbus::prelude::SlaveContext;
use tokio_modbus::Slave;

use crate::channel::{retry_pause, Outcome, Poller};
use crate::config::{Channel, ChannelKind, Device, Serial};
use crate::decode::decode;
use crate::plan::{plan, slice, Request};
use crate::point_table::{Function, Source};
use crate::reading::{line, value};

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
                    let port = crate::serial::open(serial)?;
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

/// The Modbus [`Poller`] of a channel: its connection (made when needed, dropped after a
/// silence) and each device's requests.
pub struct ModbusPoller {
    link: Link,
    ctx: Option<Context>,
    plans: HashMap<String, Vec<Request>>,
}

impl ModbusPoller {
    /// A poller for `channel` over `link`, with the merged requests of its devices.
    pub fn new(channel: &Channel, link: Link) -> ModbusPoller {
        let plans = channel
            .devices
            .iter()
            .map(|d| {
                let r = plan(&d.points, d.max_gap, d.max_registers, d.max_bits);
                (d.name.clone(), r)
            })
            .collect();
        ModbusPoller {
            link,
            ctx: None,
            plans,
        }
    }

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

impl Poller for ModbusPoller {
    async fn poll(&mut self, device: &Device, slot: i64, attempts: u32) -> Outcome {
        let requests = self.plans.get(&device.name).cloned().unwrap_or_default();
        let mut outcome = Outcome::default();
        for (k, r) in requests.iter().enumerate() {
            let mut result = Err(ReadError::Timeout(device.timeout));
            for attempt in 0..attempts {
                if attempt > 0 {
                    tokio::time::sleep(retry_pause(attempt)).await;
                }
                result = self.read(device.unit, r, device.timeout).await;
                if matches!(result, Ok(_) | Err(ReadError::Exception(_))) {
                    break;
                }
            }
            match result {
                Ok(words) => {
                    outcome.answered = true;
                    for &p in &r.points {
                        let point = &device.points[p];
                        let Source::Modbus { ty, order, .. } = point.source else {
                            continue;
                        };
                        let checked = decode(slice(r, point, &words), ty, order)
                            .map_err(|e| (e.to_string(), "decode"))
                            .and_then(|raw| {
                                value(point, raw).map_err(|e| (e.to_string(), "range"))
                            });
                        match checked {
                            Ok(v) => outcome.lines.push(line(point, v, slot)),
                            Err((message, reason)) => {
                                tracing::warn!(device = %device.name, point = %point.name, "{message}; not forwarded");
                                outcome
                                    .errors
                                    .push((format!("point {}: {message}", point.name), reason));
                            }
                        }
                    }
                }
                Err(e) => {
                    let silent = e.is_silence();
                    outcome.answered |= !silent;
                    // A silent device's other requests would only wait as long: they fail too.
                    let failed = if silent {
                        &requests[k..]
                    } else {
                        std::slice::from_ref(r)
                    };
                    let names: Vec<&str> = failed
                        .iter()
                        .flat_map(|r| &r.points)
                        .map(|&p| device.points[p].name.as_str())
                        .collect();
                    let message = format!(
                        "function {} address {} count {} (points {}): {e}",
                        r.function.code(),
                        r.address,
                        r.count,
                        names.join(", ")
                    );
                    tracing::warn!(device = %device.name, "{message}");
                    for _ in &names {
                        outcome.errors.push((message.clone(), e.reason()));
                    }
                    if silent {
                        break;
                    }
                }
            }
        }
        outcome
    }
}
