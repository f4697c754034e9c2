//! The forwarder: one OS thread (blocking `ureq`, one keep-alive connection) that peeks a
//! batch, POSTs it as line protocol, acks it, and repeats, in order. It waits on the spool
//! when the queue is empty and backs off exponentially (capped at 30 s) when the server cannot
//! take the batch.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::backoff::Backoff;
use crate::error::SpoolError;
use crate::spool::{Batch, Spool};

/// Records per POST at most.
pub const MAX_BATCH_RECORDS: usize = 10_000;
/// Record bytes per POST at most (1 MiB).
pub const MAX_BATCH_BYTES: usize = 1 << 20;

/// Where the forwarder sends.
#[derive(Clone, Debug)]
pub struct ForwardTarget {
    /// An InfluxDB-compatible write URL, e.g. `http://host:8080/api/v2/write?precision=ms`.
    pub url: String,
    /// Sent as `Authorization: Token …` when set.
    pub token: Option<String>,
    /// Limit of one request, connecting and reading the answer included.
    pub timeout: Duration,
}

/// What the forwarder did, for the caller's log and metrics.
#[derive(Debug)]
pub enum ForwardEvent {
    /// The server stored a batch (or refused some of its lines, reported apart) and it was acked.
    Delivered {
        /// Records in the batch.
        records: usize,
        /// For each record the server stored (refused ones left out) whose line ends with a
        /// timestamp: from that instant to the acknowledgement (zero for one in the future).
        /// Timestamps are read in the `precision` of the target URL (nanoseconds without one).
        lateness: Vec<Duration>,
    },
    /// The server refused this record for good (e.g. a register that went backwards); it was
    /// acked with its batch so it does not block the queue.
    Refused {
        /// The record.
        line: String,
        /// The field the server named (empty if none).
        field: String,
        /// Why.
        message: String,
    },
    /// The server refused the request itself (401/403 bad token or scope, 404, a 400 that
    /// names no lines): nothing acked, retried after `retry_in`.
    Rejected {
        /// HTTP status.
        status: u16,
        /// The server's answer.
        message: String,
        /// Delay before the next attempt.
        retry_in: Duration,
    },
    /// The server is down, unreachable, overloaded (5xx, 429, 408) or too slow: nothing acked,
    /// retried after `retry_in`.
    Unavailable {
        /// What happened.
        message: String,
        /// Delay before the next attempt.
        retry_in: Duration,
    },
    /// The server answered 413: batches now hold at most `records` records.
    Split {
        /// The new batch limit.
        records: usize,
    },
    /// The spool could not be read or acked; retried after `retry_in`.
    Spool {
        /// The error.
        error: SpoolError,
        /// Delay before the next attempt.
        retry_in: Duration,
    },
}

/// Drains a [`Spool`] to a [`ForwardTarget`].
pub struct Forwarder;

/// The running forwarder; [`ForwarderHandle::stop`] ends it (dropping the handle also asks it
/// to stop, without waiting).
pub struct ForwarderHandle {
    stop: Arc<AtomicBool>,
    spool: Spool,
    thread: Option<JoinHandle<()>>,
}

impl ForwarderHandle {
    /// Stops the forwarder and waits for its thread (at most one request's timeout).
    pub fn stop(mut self) {
        self.signal();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    fn signal(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.spool.wake();
    }
}

impl Drop for ForwarderHandle {
    fn drop(&mut self) {
        self.signal();
    }
}

impl Forwarder {
    /// Starts the forwarder thread. `events` is called on that thread.
    pub fn spawn(
        spool: Spool,
        target: ForwardTarget,
        events: impl Fn(ForwardEvent) + Send + 'static,
    ) -> ForwarderHandle {
        let stop = Arc::new(AtomicBool::new(false));
        let run = Run {
            spool: spool.clone(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(target.timeout))
                .build()
                .into(),
            target,
            stop: stop.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("spool-forward".into())
            .spawn(move || run.run(&events))
            .expect("spawn the spool forwarder thread");
        ForwarderHandle {
            stop,
            spool,
            thread: Some(thread),
        }
    }
}

struct Run {
    spool: Spool,
    agent: ureq::Agent,
    target: ForwardTarget,
    stop: Arc<AtomicBool>,
}

/// What to do after one POST.
enum Outcome {
    /// Ack the batch; the timestamps (ms) of the records the server stored.
    Ack(Vec<i64>),
    Retry(ForwardEvent),
    Split,
}

impl Run {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn run(&self, events: &dyn Fn(ForwardEvent)) {
        let mut backoff = Backoff::new();
        let mut limit = MAX_BATCH_RECORDS;
        while !self.stopped() {
            let batch = match self.spool.peek(limit, MAX_BATCH_BYTES) {
                Ok(b) => b,
                Err(error) => {
                    let retry_in = backoff.next();
                    events(ForwardEvent::Spool { error, retry_in });
                    self.pause(retry_in);
                    continue;
                }
            };
            if batch.is_empty() {
                self.spool
                    .wait(Duration::from_secs(3600), |n| n > 0 || self.stopped());
                continue;
            }
            let outcome = self.post(&batch, events);
            match outcome {
                Outcome::Ack(stored) => {
                    if let Err(error) = self.spool.ack(&batch) {
                        let retry_in = backoff.next();
                        events(ForwardEvent::Spool { error, retry_in });
                        self.pause(retry_in);
                        continue;
                    }
                    backoff.reset();
                    limit = (limit * 2).min(MAX_BATCH_RECORDS);
                    let now = now_ms();
                    events(ForwardEvent::Delivered {
                        records: batch.len(),
                        lateness: stored
                            .iter()
                            .map(|t| Duration::from_millis(now.saturating_sub(*t).max(0) as u64))
                            .collect(),
                    });
                }
                Outcome::Split => {
                    limit = (batch.len() / 2).max(1);
                    events(ForwardEvent::Split { records: limit });
                }
                Outcome::Retry(mut event) => {
                    let d = backoff.next();
                    if let ForwardEvent::Rejected { retry_in, .. }
                    | ForwardEvent::Unavailable { retry_in, .. } = &mut event
                    {
                        *retry_in = d;
                    }
                    events(event);
                    self.pause(d);
                }
            }
        }
    }

    /// Sleeps `d`, or less if stopped.
    fn pause(&self, d: Duration) {
        self.spool.wait(d, |_| self.stopped());
    }

    /// POSTs a batch and decides what to do with it.
    fn post(&self, batch: &Batch, events: &dyn Fn(ForwardEvent)) -> Outcome {
        // Line k of the body is record lines[k - 1]; records that are not UTF-8 can never be
        // stored and are refused here.
        let mut body = Vec::with_capacity(batch.records().iter().map(|r| r.len() + 1).sum());
        let mut lines = Vec::with_capacity(batch.len());
        for r in batch.records() {
            if std::str::from_utf8(r).is_err() {
                events(ForwardEvent::Refused {
                    line: String::from_utf8_lossy(r).into_owned(),
                    field: String::new(),
                    message: "not UTF-8 text".into(),
                });
                continue;
            }
            body.extend_from_slice(r);
            body.push(b'\n');
            lines.push(r);
        }
        if lines.is_empty() {
            return Outcome::Ack(Vec::new());
        }
        let mut request = self
            .agent
            .post(&self.target.url)
            .header("Content-Type", "text/plain; charset=utf-8");
        if let Some(t) = &self.target.token {
            request = request.header("Authorization", format!("Token {t}"));
        }
        let mut response = match request.send(&body[..]) {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Retry(ForwardEvent::Unavailable {
                    message: format!("POST {}: {e}", self.target.url),
                    retry_in: Duration::ZERO,
                })
            }
        };
        let status = response.status().as_u16();
        // Reading the whole answer keeps the connection alive for the next batch.
        let text = match response.body_mut().read_to_string() {
            Ok(t) => t,
            Err(e) if (200..300).contains(&status) => {
                tracing::debug!("spool forwarder: answer body unreadable: {e}");
                String::new()
            }
            Err(e) => format!("(answer unreadable: {e})"),
        };
        let to_ms = precision_to_ms(&self.target.url);
        let stamps = |skip: &dyn Fn(usize) -> bool| -> Vec<i64> {
            lines
                .iter()
                .enumerate()
                .filter(|(i, _)| !skip(i + 1))
                .filter_map(|(_, r)| timestamp(r).map(to_ms))
                .collect()
        };
        match status {
            200..=299 => Outcome::Ack(stamps(&|_| false)),
            400 | 422 => match refused_lines(&text) {
                Some(refused) => {
                    let numbers: std::collections::HashSet<usize> =
                        refused.iter().map(|r| r.0).collect();
                    let stored = stamps(&|line| numbers.contains(&line));
                    for (line, field, message) in refused {
                        let record = line
                            .checked_sub(1)
                            .and_then(|i| lines.get(i))
                            .map(|r| String::from_utf8_lossy(r).into_owned())
                            .unwrap_or_else(|| format!("(line {line} of the batch)"));
                        events(ForwardEvent::Refused {
                            line: record,
                            field,
                            message,
                        });
                    }
                    Outcome::Ack(stored)
                }
                None => Outcome::Retry(rejected(status, text)),
            },
            413 if batch.len() > 1 => Outcome::Split,
            413 => {
                events(ForwardEvent::Refused {
                    line: String::from_utf8_lossy(lines[0]).into_owned(),
                    field: String::new(),
                    message: format!(
                        "the server refuses even this record alone as too large: {text}"
                    ),
                });
                Outcome::Ack(Vec::new())
            }
            408 | 429 | 500..=599 => Outcome::Retry(ForwardEvent::Unavailable {
                message: format!("HTTP {status}: {text}"),
                retry_in: Duration::ZERO,
            }),
            _ => Outcome::Retry(rejected(status, text)),
        }
    }
}

fn rejected(status: u16, message: String) -> ForwardEvent {
    ForwardEvent::Rejected {
        status,
        message,
        retry_in: Duration::ZERO,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The timestamp of a line-protocol record: its last space-separated word, if a number.
fn timestamp(record: &[u8]) -> Option<i64> {
    let last = record.rsplit(|b| *b == b' ').next()?;
    std::str::from_utf8(last).ok()?.parse().ok()
}

/// Converts timestamps of the target URL's `precision` (`ns` without one) to milliseconds.
fn precision_to_ms(url: &str) -> fn(i64) -> i64 {
    let precision = url
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default()
        .split('&')
        .find_map(|kv| kv.strip_prefix("precision="));
    match precision {
        Some("ms") => |t| t,
        Some("s") => |t| t.saturating_mul(1000),
        Some("us" | "u") => |t| t / 1000,
        _ => |t| t / 1_000_000,
    }
}

/// The refused lines of a shulv ingest report
/// (`{"accepted": n, "refused": [{"line": k, "field": …, "message": …}]}`), or `None` if the
/// answer is not one.
fn refused_lines(text: &str) -> Option<Vec<(usize, String, String)>> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    v.get("accepted")?.as_u64()?;
    let list = v.get("refused")?.as_array()?;
    let str_of = |r: &serde_json::Value, k: &str| {
        r.get(k)
            .and_then(|s| s.as_str())
            .unwrap_or_default()
            .to_string()
    };
    Some(
        list.iter()
            .map(|r| {
                (
                    r.get("line").and_then(|l| l.as_u64()).unwrap_or(0) as usize,
                    str_of(r, "field"),
                    str_of(r, "message"),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_read_in_the_precision_of_the_url() {
        assert_eq!(
            timestamp(b"e,meter=a\\ b value=1 1735660800000"),
            Some(1_735_660_800_000)
        );
        assert_eq!(timestamp(b"e,meter=a value=1"), None);
        let ms = precision_to_ms("http://h/api/v2/write?precision=ms");
        assert_eq!(ms(1_735_660_800_000), 1_735_660_800_000);
        let s = precision_to_ms("http://h/write?db=x&precision=s");
        assert_eq!(s(1_735_660_800), 1_735_660_800_000);
        let ns = precision_to_ms("http://h/api/v2/write?org=o");
        assert_eq!(ns(1_735_660_800_000_000_000), 1_735_660_800_000);
    }
}
