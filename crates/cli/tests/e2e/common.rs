//! Starts the real `shulv` binary and talks to it over HTTP.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// A running `shulv` process.
pub struct Server {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// The admin token it printed.
    pub token: String,
}

/// A fresh temporary directory under the target dir, removed by the caller's `TempDir`.
pub fn temp_dir(name: &str) -> PathBuf {
    let base = std::env::temp_dir().join(format!(
        "shulv-e2e-{name}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    ));
    std::fs::create_dir_all(&base).unwrap();
    base
}

impl Server {
    /// Runs `shulv <command> --data DIR --listen 127.0.0.1:0 <extra>` and waits for its banner,
    /// which prints a new admin token on a fresh data directory.
    pub fn start(command: &str, data: &Path, extra: &[&str]) -> Server {
        Self::start_with_token(&[], command, data, "127.0.0.1:0", extra, None)
    }

    /// Like [`Server::start`], with `env` added to the server's environment (the tests share
    /// one process, so they never change their own).
    pub fn start_with_env(
        command: &str,
        data: &Path,
        extra: &[&str],
        env: &[(&str, String)],
    ) -> Server {
        Self::spawn(&[], command, data, "127.0.0.1:0", extra, None, env)
    }

    /// Like [`Server::start`], run through `wrapper` (a program and its arguments, given the
    /// path of `shulv` and its arguments after them), e.g. `sh -c '… "$0" "$@"'`.
    pub fn start_wrapped(wrapper: &[&str], command: &str, data: &Path, extra: &[&str]) -> Server {
        Self::start_with_token(wrapper, command, data, "127.0.0.1:0", extra, None)
    }

    /// Restarts on an existing data directory, where the server prints no new token.
    pub fn restart(data: &Path, token: &str) -> Server {
        Self::start_with_token(&[], "serve", data, "127.0.0.1:0", &[], Some(token))
    }

    /// Restarts `shulv serve <extra>` on an existing data directory whose admin token is `token`.
    pub fn restart_with(data: &Path, extra: &[&str], token: &str) -> Server {
        Self::start_with_token(&[], "serve", data, "127.0.0.1:0", extra, Some(token))
    }

    /// `shulv serve` on a fixed address (`known`: the admin token of an existing data directory).
    pub fn serve_at(data: &Path, listen: &str, known: Option<&str>) -> Server {
        Self::start_with_token(&[], "serve", data, listen, &[], known)
    }

    fn start_with_token(
        wrapper: &[&str],
        command: &str,
        data: &Path,
        listen: &str,
        extra: &[&str],
        known: Option<&str>,
    ) -> Server {
        Self::spawn(wrapper, command, data, listen, extra, known, &[])
    }

    fn spawn(
        wrapper: &[&str],
        command: &str,
        data: &Path,
        listen: &str,
        extra: &[&str],
        known: Option<&str>,
        env: &[(&str, String)],
    ) -> Server {
        let shulv = env!("CARGO_BIN_EXE_shulv");
        let mut program = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(shulv);
                c
            }
            None => Command::new(shulv),
        };
        let mut child = program
            .arg(command)
            .arg("--data")
            .arg(data)
            .args(["--listen", listen])
            .args(extra)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("SHULV_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start shulv");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Keep draining after the banner, so the server never writes to a closed pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut url = None;
        let mut token = None;
        while url.is_none() || token.is_none() {
            let line = rx
                .recv_timeout(Duration::from_secs(180))
                .expect("shulv printed its banner");
            if let Some(rest) = line.split("listening on ").nth(1) {
                url = Some(rest.trim().to_string());
            }
            if let Some(rest) = line.split("(shown once, keep it): ").nth(1) {
                token = Some(rest.trim().to_string());
            }
            if line.starts_with("API document:") && token.is_none() {
                token = known.map(str::to_string);
                assert!(token.is_some(), "shulv printed no token");
            }
        }
        Server {
            child,
            url: url.unwrap(),
            token: token.unwrap(),
        }
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into()
    }

    /// POSTs a body; returns status and body text.
    pub fn post(&self, path: &str, content_type: &str, body: &str) -> (u16, String) {
        try_post(&self.url, &self.token, path, content_type, body).expect("POST")
    }

    /// GETs a path with the token; returns status and body text.
    pub fn get(&self, path: &str) -> (u16, String) {
        let mut r = Self::agent()
            .get(format!("{}{path}", self.url))
            .header("Authorization", format!("Bearer {}", self.token))
            .call()
            .expect("GET");
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap_or_default())
    }

    /// GETs JSON, asserting 200.
    pub fn get_json(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Kills the process with SIGKILL: no flush, no clean shutdown.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap();
    }

    /// Stops the process with SIGTERM and waits for a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "shulv exited with {status}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// POSTs without panicking (for writers racing a kill).
pub fn try_post(
    url: &str,
    token: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> Result<(u16, String), ureq::Error> {
    let mut r = Server::agent()
        .post(format!("{url}{path}"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", content_type)
        .send(body)?;
    let status = r.status().as_u16();
    Ok((status, r.body_mut().read_to_string().unwrap_or_default()))
}

/// A registry of one site with `meters` interval electricity meters `m0`, `m1`, ….
pub fn site_registry(meters: usize) -> String {
    let mut s = String::from("[[node]]\nid = \"site\"\nname = \"站点\"\nkind = \"site\"\n");
    for w in 0..meters {
        s.push_str(&format!(
            "[[meter]]\nid = \"m{w}\"\nname = \"表{w}\"\nnode = \"site\"\ncarrier = \"electricity\"\nunit = \"kWh\"\nreading = \"interval\"\n"
        ));
    }
    s
}

/// The value a test writer writes for point `i` of meter `m{w}`: unique enough per point that any
/// stored value can be checked.
pub fn point_value(w: usize, i: usize) -> f64 {
    ((w * 1_000_003 + i * 7919) % 100_000) as f64 / 100.0
}

/// Asserts that the first `counts[w]` points of every meter `m{w}` (written every 15 minutes from
/// `t0` with [`point_value`]) are stored with their values.
pub fn assert_points_stored(server: &Server, t0: i64, counts: &[usize], what: &str) {
    const QUARTER: i64 = 900_000;
    for (w, &n) in counts.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let to = t0 + n as i64 * QUARTER;
        let answer = server.get_json(&format!(
            "/api/v1/query?meter=m{w}&from={t0}&to={to}&bucket=15m"
        ));
        let points: std::collections::BTreeMap<i64, f64> = answer["series"][0]["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["ts"].as_i64().unwrap(), p["value"].as_f64().unwrap()))
            .collect();
        for i in 0..n {
            assert_eq!(
                points.get(&(t0 + i as i64 * QUARTER)).copied(),
                Some(point_value(w, i)),
                "point {i} of meter m{w} ({what}) is missing or wrong"
            );
        }
    }
}

/// Kills and reaps a process (a simulator, a broker, a collector) when dropped.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `ready` until it holds; fails the test naming `what` after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !ready() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Server {
    /// Creates a `device` token (a collector's) scoped to `scope` and returns its secret.
    pub fn device_token(&self, scope: &str) -> String {
        let (status, body) = self.post(
            "/api/v1/tokens",
            "application/json",
            &format!(r#"{{"name":"collector","role":"device","scope":"{scope}"}}"#),
        );
        assert_eq!(status, 201, "{body}");
        serde_json::from_str::<Value>(&body).unwrap()["secret"]
            .as_str()
            .unwrap()
            .to_string()
    }
}
