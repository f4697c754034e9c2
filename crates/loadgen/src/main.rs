//! `shulv-loadgen`: InfluxDB line-protocol load generator for shulv and its peers.
//!
//! It pre-encodes every HTTP request (headers and a body of `--batch` lines) before the clock
//! starts, then sends them over `--connections` keep-alive HTTP/1.1 connections (one blocking
//! thread each, one request in flight per connection), checks every response status, and
//! prints one JSON line: points/s, batches, latency percentiles, client and server CPU, and
//! (with `--pid`) the server's resident set sampled during the run.
//!
//! The same binary sends the same bytes to every target; only the request line and headers
//! (path, `Authorization`) differ.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use shulv_loadgen::{
    meter_id, push_centi, push_int, reading_centi, registry_toml, Meter, STEP_S, T0_S,
};

#[derive(Parser)]
#[command(about = "Line-protocol load generator for shulv benchmarks")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print the registry (TOML) of the benchmark meters.
    Registry {
        /// Number of meters.
        #[arg(long, default_value_t = 10_000)]
        meters: u32,
    },
    /// Send line protocol and report throughput as one JSON line.
    Run(RunArgs),
}

#[derive(Parser)]
struct RunArgs {
    /// Full write URL, e.g. http://127.0.0.1:8080/api/v2/write?precision=s
    #[arg(long)]
    url: String,
    /// Bearer token (sent as `Authorization: Bearer <token>`).
    #[arg(long, env = "LOADGEN_TOKEN")]
    token: Option<String>,
    /// Label of the target in the JSON output.
    #[arg(long, default_value = "target")]
    label: String,
    /// Number of meters (tag `meter=m00001` ...).
    #[arg(long, default_value_t = 10_000)]
    meters: u32,
    /// Lines per request.
    #[arg(long, default_value_t = 5_000)]
    batch: usize,
    /// Requests to send.
    #[arg(long, default_value_t = 2_000)]
    batches: usize,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// First timestamp (s since epoch); readings advance by 15 minutes per round of all meters.
    #[arg(long, default_value_t = T0_S)]
    start: i64,
    /// Measurement name of the lines.
    #[arg(long, default_value = "e")]
    measurement: String,
    /// Expected response status of every request.
    #[arg(long, default_value_t = 204)]
    expect: u16,
    /// Server process to sample (VmRSS/VmHWM every 100 ms, CPU time before and after).
    #[arg(long)]
    pid: Option<u32>,
}

/// Pre-encoded requests, built once.
fn build_requests(a: &RunArgs, host: &str, path: &str) -> Vec<Vec<u8>> {
    let meters: Vec<Meter> = (0..a.meters).map(Meter::new).collect();
    let prefixes: Vec<Vec<u8>> = (0..a.meters)
        .map(|i| format!("{},meter={} value=", a.measurement, meter_id(i)).into_bytes())
        .collect();
    let auth = a
        .token
        .as_ref()
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let mut body = Vec::with_capacity(a.batch * 48);
    let mut out = Vec::with_capacity(a.batches);
    let mut line = 0u64;
    let mut inst = shulv_loadgen::Instant::new(a.start);
    for _ in 0..a.batches {
        body.clear();
        for _ in 0..a.batch {
            let m = (line % a.meters as u64) as u32;
            let ts = a.start + (line / a.meters as u64) as i64 * STEP_S;
            if inst.ts_s != ts {
                inst = shulv_loadgen::Instant::new(ts);
            }
            body.extend_from_slice(&prefixes[m as usize]);
            push_centi(&mut body, reading_centi(m, &meters[m as usize], &inst));
            body.push(b' ');
            push_int(&mut body, ts);
            body.push(b'\n');
            line += 1;
        }
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let mut req = Vec::with_capacity(head.len() + body.len());
        req.extend_from_slice(head.as_bytes());
        req.extend_from_slice(&body);
        out.push(req);
    }
    out
}

/// A keep-alive HTTP/1.1 connection.
struct Conn {
    addr: SocketAddr,
    r: BufReader<TcpStream>,
    w: TcpStream,
    line: String,
    body: Vec<u8>,
}

impl Conn {
    fn open(addr: SocketAddr) -> io::Result<Conn> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(120)))?;
        let w = s.try_clone()?;
        Ok(Conn {
            addr,
            r: BufReader::with_capacity(16 * 1024, s),
            w,
            line: String::new(),
            body: Vec::new(),
        })
    }

    fn reconnect(&mut self) -> io::Result<()> {
        *self = Conn::open(self.addr)?;
        Ok(())
    }

    fn read_line(&mut self) -> io::Result<&str> {
        self.line.clear();
        if self.r.read_line(&mut self.line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed by server",
            ));
        }
        Ok(self.line.trim_end())
    }

    /// Send one pre-encoded request; returns the status (the body is kept in `self.body`).
    fn send(&mut self, req: &[u8]) -> io::Result<u16> {
        self.w.write_all(req)?;
        let status_line = self.read_line()?;
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad status line {status_line:?}"),
                )
            })?;
        let (mut len, mut chunked, mut close) = (0usize, false, false);
        loop {
            let h = self.read_line()?;
            if h.is_empty() {
                break;
            }
            let Some((k, v)) = h.split_once(':') else {
                continue;
            };
            let (k, v) = (k.trim(), v.trim());
            if k.eq_ignore_ascii_case("content-length") {
                len = v.parse().unwrap_or(0);
            } else if k.eq_ignore_ascii_case("transfer-encoding")
                && v.eq_ignore_ascii_case("chunked")
            {
                chunked = true;
            } else if k.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close") {
                close = true;
            }
        }
        self.body.clear();
        if chunked {
            loop {
                let size = usize::from_str_radix(
                    self.read_line()?.split(';').next().unwrap_or("0").trim(),
                    16,
                )
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                let at = self.body.len();
                self.body.resize(at + size + 2, 0);
                self.r.read_exact(&mut self.body[at..])?;
                self.body.truncate(at + size);
                if size == 0 {
                    break;
                }
            }
        } else if len > 0 {
            self.body.resize(len, 0);
            self.r.read_exact(&mut self.body)?;
        }
        if close {
            self.reconnect()?;
        }
        Ok(status)
    }
}

/// utime + stime of a process, seconds.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `rest` starts at field 3. Clock ticks are 100 Hz on Linux.
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// (VmRSS, VmHWM) in kB.
fn rss_kb(pid: u32) -> Option<(u64, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        s.lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn parse_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// URLs are supported")?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    Ok((host.to_string(), path.to_string()))
}

fn run(a: RunArgs) -> Result<bool, String> {
    if a.meters == 0 || a.batch == 0 || a.connections == 0 {
        return Err("--meters, --batch and --connections must be positive".into());
    }
    let (host, path) = parse_url(&a.url)?;
    let addr = host
        .to_socket_addrs()
        .map_err(|e| format!("{host}: {e}"))?
        .next()
        .ok_or("no address")?;
    let t_build = Instant::now();
    let reqs = Arc::new(build_requests(&a, &host, &path));
    let build_s = t_build.elapsed().as_secs_f64();
    let bytes: usize = reqs.iter().map(|r| r.len()).sum();

    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let first_error: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let barrier = Arc::new(Barrier::new(a.connections + 1));
    let mut workers = Vec::new();
    for _ in 0..a.connections {
        let mut conn = Conn::open(addr).map_err(|e| format!("connect {addr}: {e}"))?;
        let (reqs, next, failed, first_error, barrier) = (
            reqs.clone(),
            next.clone(),
            failed.clone(),
            first_error.clone(),
            barrier.clone(),
        );
        let expect = a.expect;
        workers.push(std::thread::spawn(move || {
            let mut lat: Vec<u32> = Vec::with_capacity(reqs.len() / 2 + 1);
            let mut errors = 0usize;
            barrier.wait();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= reqs.len() || failed.load(Ordering::Relaxed) {
                    break;
                }
                let t = Instant::now();
                let res = conn.send(&reqs[i]);
                lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                let err = match res {
                    Ok(s) if s == expect => None,
                    Ok(s) => Some(format!(
                        "request {i}: status {s}: {}",
                        String::from_utf8_lossy(&conn.body[..conn.body.len().min(600)])
                    )),
                    Err(e) => Some(format!("request {i}: {e}")),
                };
                if let Some(e) = err {
                    errors += 1;
                    failed.store(true, Ordering::Relaxed);
                    first_error
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(e);
                }
            }
            (lat, errors)
        }));
    }

    let pid = a.pid;
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let (mut rss_max, mut hwm) = (0u64, 0u64);
            let Some(pid) = pid else { return (0, 0) };
            while !done.load(Ordering::Relaxed) {
                if let Some((r, h)) = rss_kb(pid) {
                    rss_max = rss_max.max(r);
                    hwm = hwm.max(h);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if let Some((r, h)) = rss_kb(pid) {
                rss_max = rss_max.max(r);
                hwm = hwm.max(h);
            }
            (rss_max, hwm)
        })
    };

    let server_cpu0 = pid.and_then(|p| cpu_seconds(&p.to_string()));
    let client_cpu0 = cpu_seconds("self");
    barrier.wait();
    let t0 = Instant::now();
    let mut lat = Vec::with_capacity(reqs.len());
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.join().map_err(|_| "worker panicked")?;
        lat.extend(l);
        errors += e;
    }
    let secs = t0.elapsed().as_secs_f64();
    let client_cpu = cpu_seconds("self").zip(client_cpu0).map(|(b, a)| b - a);
    let server_cpu = pid
        .and_then(|p| cpu_seconds(&p.to_string()))
        .zip(server_cpu0)
        .map(|(b, a)| b - a);
    done.store(true, Ordering::Relaxed);
    let (rss_max, hwm) = sampler.join().map_err(|_| "sampler panicked")?;

    lat.sort_unstable();
    let sent = lat.len();
    let ok = sent - errors;
    let points = ok * a.batch;
    let opt = |v: Option<f64>| {
        v.map(|x| format!("{x:.2}"))
            .unwrap_or_else(|| "null".into())
    };
    println!(
        "{{\"label\":\"{}\",\"url\":\"{}\",\"meters\":{},\"batch\":{},\"connections\":{},\"batches_ok\":{},\"errors\":{},\"points\":{},\"seconds\":{:.3},\"points_per_s\":{:.0},\"mb_per_s\":{:.1},\"p50_ms\":{:.2},\"p99_ms\":{:.2},\"max_ms\":{:.2},\"client_cpu_s\":{},\"server_cpu_s\":{},\"server_rss_max_mb\":{:.1},\"server_hwm_mb\":{:.1},\"first_ts\":{},\"last_ts\":{},\"build_s\":{:.2}}}",
        a.label,
        a.url,
        a.meters,
        a.batch,
        a.connections,
        ok,
        errors,
        points,
        secs,
        points as f64 / secs,
        bytes as f64 / secs / 1e6,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0),
        opt(client_cpu),
        opt(server_cpu),
        rss_max as f64 / 1024.0,
        hwm as f64 / 1024.0,
        a.start,
        a.start + ((a.batches * a.batch).saturating_sub(1) / a.meters as usize) as i64 * STEP_S,
        build_s,
    );
    if let Some(e) = first_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
    {
        eprintln!("shulv-loadgen: {errors} failed request(s); first: {e}");
    }
    Ok(errors == 0 && sent == reqs.len())
}

fn main() {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Registry { meters } => print!("{}", registry_toml(meters)),
        Cmd::Run(a) => match run(a) {
            Ok(true) => {}
            Ok(false) => std::process::exit(1),
            Err(e) => {
                eprintln!("shulv-loadgen: {e}");
                std::process::exit(2);
            }
        },
    }
}
