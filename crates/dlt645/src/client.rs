//! An async master (主站) over any byte transport: a TCP connection to a transparent gateway
//! (串口服务器) or a serial port.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::frame::{control, scan, Frame, Scan, MAX_PREAMBLE};
use crate::identifiers::{lookup, Di, Format};
use crate::{Address, Demand, MeterTime, Value};

/// Stray bytes dropped before a request, at most (a chattering line cannot hold a poll up).
const MAX_DRAIN: usize = 64 * 1024;

/// A DL/T 645-2007 client on one transport, one request at a time (the bus is half-duplex).
///
/// Before each request it drops whatever the transport already holds (late replies to an
/// earlier request that timed out, line noise), sends the frame after the wake-up bytes, and
/// waits for the reply: garbage before it is skipped, echoes of its own request (some RS-485
/// adapters echo) are ignored, and a reply for another address or data identifier is passed
/// over (reported if nothing better arrives before the timeout).
#[derive(Debug)]
pub struct Client<T> {
    io: T,
    preamble: usize,
    buf: Vec<u8>,
}

impl<T: AsyncRead + AsyncWrite + Unpin> Client<T> {
    /// A client on `io`, sending 4 wake-up bytes 0xFE before each frame.
    pub fn new(io: T) -> Self {
        Client {
            io,
            preamble: MAX_PREAMBLE,
            buf: Vec::new(),
        }
    }

    /// Sends `count` wake-up bytes 0xFE before each frame (0..=4; more are sent as 4).
    pub fn with_preamble(mut self, count: usize) -> Self {
        self.preamble = count.min(MAX_PREAMBLE);
        self
    }

    /// The transport.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// Gives the transport back.
    pub fn into_inner(self) -> T {
        self.io
    }

    /// Reads `di` from the meter at `address` and decodes it with the [`TABLE`](crate::TABLE)'s
    /// format; `timeout` bounds the wait for each reply frame.
    pub async fn read(&mut self, address: Address, di: Di, timeout: Duration) -> Result<Value> {
        let definition = lookup(di).ok_or(Error::UnknownDi(di))?;
        self.read_with(address, di, definition.format, timeout)
            .await
    }

    /// Reads `di` and decodes it with `format` (for identifiers the table lacks).
    pub async fn read_with(
        &mut self,
        address: Address,
        di: Di,
        format: Format,
        timeout: Duration,
    ) -> Result<Value> {
        let bytes = self.read_raw(address, di, timeout).await?;
        format.decode(di, &bytes)
    }

    /// Reads a maximum demand with its time (e.g. 01010000).
    pub async fn read_demand(
        &mut self,
        address: Address,
        di: Di,
        timeout: Duration,
    ) -> Result<Demand> {
        let definition = lookup(di).ok_or(Error::UnknownDi(di))?;
        let bytes = self.read_raw(address, di, timeout).await?;
        definition.format.decode_demand(di, &bytes)
    }

    /// Reads `di` (0x11) and returns the value bytes after the DI, following follow-up frames
    /// (0xB1, then 0x12 with sequence numbers 1, 2, ...) and joining their data.
    pub async fn read_raw(
        &mut self,
        address: Address,
        di: Di,
        timeout: Duration,
    ) -> Result<Vec<u8>> {
        let reply = self
            .transact(&Frame::read_data(address, di), Some(di), timeout)
            .await?;
        let mut data = reply.data()[4..].to_vec();
        let mut more = reply.control() & control::FOLLOW_UP != 0;
        let mut seq = 0u8;
        while more {
            seq = seq.checked_add(1).ok_or(Error::TooManyFollowUps)?;
            let reply = self
                .transact(&Frame::read_follow_up(address, di, seq), Some(di), timeout)
                .await?;
            // DI, data, then the frame's sequence number SEQ.
            let Some((_seq, chunk)) = reply.data()[4..].split_last() else {
                return Err(Error::ShortReply {
                    expected: 5,
                    got: reply.data().len(),
                });
            };
            data.extend_from_slice(chunk);
            more = reply.control() & control::FOLLOW_UP != 0;
        }
        Ok(data)
    }

    /// Reads the address of the single meter on the bus (0x13 to AAAAAAAAAAAA).
    pub async fn read_address(&mut self, timeout: Duration) -> Result<Address> {
        let reply = self.transact(&Frame::read_address(), None, timeout).await?;
        let wire: [u8; 6] = reply.data().try_into().map_err(|_| Error::ShortReply {
            expected: 6,
            got: reply.data().len(),
        })?;
        Ok(Address::from_wire(wire))
    }

    /// Broadcasts the time (0x08 to 999999999999); meters do not answer.
    pub async fn broadcast_time(&mut self, time: &MeterTime) -> Result<()> {
        let frame = Frame::broadcast_time(time)?;
        self.drain().await?;
        self.io.write_all(&frame.encode(self.preamble)).await?;
        self.io.flush().await?;
        Ok(())
    }

    /// Sends `request` and returns its reply. With `di`, the reply must start with it.
    async fn transact(
        &mut self,
        request: &Frame,
        di: Option<Di>,
        timeout: Duration,
    ) -> Result<Frame> {
        self.drain().await?;
        self.io.write_all(&request.encode(self.preamble)).await?;
        self.io.flush().await?;
        let deadline = Instant::now() + timeout;
        let mut passed_over: Option<Error> = None;
        let mut chunk = [0u8; 256];
        loop {
            match scan(&self.buf) {
                Scan::Frame { frame, end } => {
                    self.buf.drain(..end);
                    if !frame.is_reply() {
                        continue;
                    }
                    match check_reply(request, di, &frame) {
                        Ok(()) => return Ok(frame),
                        Err(e @ Error::ErrorReply { .. }) => return Err(e),
                        Err(e) => passed_over = Some(e),
                    }
                    continue;
                }
                Scan::Invalid { error, start } => {
                    self.buf.drain(..=start);
                    passed_over = Some(error);
                    continue;
                }
                Scan::Incomplete { start } => {
                    self.buf.drain(..start);
                }
            }
            let n = match tokio::time::timeout_at(deadline, self.io.read(&mut chunk)).await {
                Ok(read) => read?,
                Err(_) => return Err(passed_over.unwrap_or(Error::Timeout(timeout))),
            };
            if n == 0 {
                return Err(passed_over.unwrap_or(Error::Closed));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Drops the bytes the transport holds now, without waiting for more.
    async fn drain(&mut self) -> Result<()> {
        self.buf.clear();
        let mut scratch = [0u8; 256];
        let mut dropped = 0;
        while dropped < MAX_DRAIN {
            let io = &mut self.io;
            let n = poll_fn(|cx| {
                let mut read = ReadBuf::new(&mut scratch);
                match Pin::new(&mut *io).poll_read(cx, &mut read) {
                    Poll::Ready(Ok(())) => Poll::Ready(Ok(read.filled().len())),
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    Poll::Pending => Poll::Ready(Ok(0)),
                }
            })
            .await?;
            if n == 0 {
                break;
            }
            dropped += n;
        }
        Ok(())
    }
}

/// Whether `reply` answers `request` and, with `di`, is for it; an error reply becomes its error.
fn check_reply(request: &Frame, di: Option<Di>, reply: &Frame) -> Result<()> {
    reply.answers(request)?;
    if let Some(di) = di {
        let Some(head) = reply.data().get(..4) else {
            return Err(Error::ShortReply {
                expected: 4,
                got: reply.data().len(),
            });
        };
        let got = Di::from_wire([head[0], head[1], head[2], head[3]]);
        if got != di {
            return Err(Error::DiMismatch { expected: di, got });
        }
    }
    Ok(())
}
