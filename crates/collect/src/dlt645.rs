//! DL/T 645-2007 channels (serial, or a transparent TCP gateway): the channel's [`Poller`],
//! reading each point's data identifier with the standard's format (crate `shulv-dlt645`).

use std::time::Duration;

use shulv_dlt645::{Address, Client, Di, Error};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::channel::{retry_pause, Outcome, Poller};
use crate::config::{ChannelKind, Device, Serial};
use crate::point_table::Source;
use crate::reading::{line, value};

/// A byte transport: a TCP stream or a serial port.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// How to reach the meters of a channel.
#[derive(Debug, Clone)]
enum Link {
    Tcp(String),
    Serial(Serial),
}

/// The DL/T 645 [`Poller`] of a channel; the connection is made when needed and dropped after
/// a silence.
pub struct Dlt645Poller {
    link: Link,
    client: Option<Client<Box<dyn Io>>>,
}

impl Dlt645Poller {
    /// A poller for a DL/T 645 channel kind (None for other kinds).
    pub fn of(kind: &ChannelKind) -> Option<Dlt645Poller> {
        let link = match kind {
            ChannelKind::Dlt645Tcp(a) => Link::Tcp(a.clone()),
            ChannelKind::Dlt645Serial(s) => Link::Serial(s.clone()),
            _ => return None,
        };
        Some(Dlt645Poller { link, client: None })
    }

    async fn connect(link: &Link, timeout: Duration) -> Result<Client<Box<dyn Io>>, Error> {
        let open = async {
            let io: Box<dyn Io> = match link {
                Link::Tcp(addr) => Box::new(tokio::net::TcpStream::connect(addr).await?),
                Link::Serial(s) => Box::new(crate::serial::open(s)?),
            };
            Ok::<_, std::io::Error>(Client::new(io))
        };
        match tokio::time::timeout(timeout, open).await {
            Ok(r) => Ok(r?),
            Err(_) => Err(Error::Timeout(timeout)),
        }
    }

    async fn read(&mut self, address: Address, di: Di, timeout: Duration) -> Result<f64, Error> {
        if self.client.is_none() {
            self.client = Some(Self::connect(&self.link, timeout).await?);
        }
        let client = self.client.as_mut().expect("connected");
        let result = client.read(address, di, timeout).await;
        if matches!(
            result,
            Err(Error::Timeout(_) | Error::Closed | Error::Io(_))
        ) {
            self.client = None;
        }
        result.map(|v| v.to_f64())
    }
}

/// The reason label of an error, and whether the meter said nothing at all.
fn reason(e: &Error) -> (&'static str, bool) {
    match e {
        Error::Timeout(_) => ("timeout", true),
        Error::Closed | Error::Io(_) => ("transport", true),
        Error::ErrorReply { .. } => ("exception", false),
        _ => ("frame", false),
    }
}

impl Poller for Dlt645Poller {
    async fn poll(&mut self, device: &Device, slot: i64, attempts: u32) -> Outcome {
        let mut outcome = Outcome::default();
        let address: Address = match device.dlt645_address.parse() {
            Ok(a) => a,
            Err(e) => {
                outcome.errors.push((format!("address: {e}"), "frame"));
                return outcome;
            }
        };
        for (k, point) in device.points.iter().enumerate() {
            let Source::Dlt645(di) = point.source else {
                continue;
            };
            let mut result = Err(Error::Timeout(device.timeout));
            for attempt in 0..attempts {
                if attempt > 0 {
                    tokio::time::sleep(retry_pause(attempt)).await;
                }
                result = self.read(address, Di(di), device.timeout).await;
                if !matches!(&result, Err(e) if reason(e).1) {
                    break;
                }
            }
            match result.map_err(|e| (e.to_string(), reason(&e))) {
                Ok(raw) => {
                    outcome.answered = true;
                    match value(point, raw) {
                        Ok(v) => outcome.lines.push(line(point, v, slot)),
                        Err(e) => {
                            tracing::warn!(device = %device.name, point = %point.name, "{e}; not forwarded");
                            outcome
                                .errors
                                .push((format!("point {}: {e}", point.name), "range"));
                        }
                    }
                }
                Err((message, (label, silent))) => {
                    outcome.answered |= !silent;
                    let message = format!("point {} (DI {:08X}): {message}", point.name, di);
                    tracing::warn!(device = %device.name, "{message}");
                    if silent {
                        // The meter does not answer: its other points would only wait as long.
                        for _ in k..device.points.len() {
                            outcome.errors.push((message.clone(), label));
                        }
                        break;
                    }
                    outcome.errors.push((message, label));
                }
            }
        }
        outcome
    }
}
