//! Commands that talk to a running server: `import`, `registry`, `query`, `replace-meter`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;
use serde_json::Value;

use crate::answers::{parse, Float};

/// Where the server is and how to authenticate.
#[derive(clap::Args)]
pub struct ServerArgs {
    /// Server URL.
    #[arg(long, env = "SHULV_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// API token (printed by `shulv serve` / `shulv demo`).
    #[arg(long, env = "SHULV_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

impl ServerArgs {
    /// Arguments for the server at `url` with `token`.
    pub fn new(url: String, token: Option<String>) -> Self {
        ServerArgs { url, token }
    }

    fn agent(&self) -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into()
    }

    fn auth(&self) -> anyhow::Result<String> {
        match &self.token {
            Some(t) => Ok(format!("Bearer {t}")),
            None => bail!("no API token: pass --token or set SHULV_TOKEN"),
        }
    }

    /// Sends `method path` with an optional JSON body; returns the status and body text.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, String)> {
        let url = format!("{}{path}", self.url.trim_end_matches('/'));
        let agent = self.agent();
        let auth = self.auth()?;
        let sent = match (method, body) {
            ("POST", Some(b)) => agent
                .post(&url)
                .header("Authorization", auth)
                .header("Content-Type", "application/json")
                .send(serde_json::to_vec(b)?.as_slice()),
            ("DELETE", _) => agent.delete(&url).header("Authorization", auth).call(),
            _ => agent.get(&url).header("Authorization", auth).call(),
        };
        let mut response = sent.with_context(|| format!("{method} {url}"))?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Ok((status, text))
    }

    /// GETs `path` with query parameters; returns the status and body text.
    pub fn get_query(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<(u16, String)> {
        let (status, bytes) = self.get_bytes(path, query)?;
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// GETs `path` with query parameters; returns the status and body bytes.
    pub fn get_bytes(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let url = format!("{}{path}", self.url.trim_end_matches('/'));
        let mut request = self.agent().get(&url).header("Authorization", self.auth()?);
        for (k, v) in query {
            request = request.query(*k, v);
        }
        let mut response = request.call().with_context(|| format!("GET {url}"))?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_vec()
            .with_context(|| format!("reading the answer of GET {url}"))?;
        Ok((status, bytes))
    }

    /// GETs `path` and returns the status and a reader of the body.
    pub fn get_stream(&self, path: &str) -> anyhow::Result<(u16, impl std::io::Read)> {
        let url = format!("{}{path}", self.url.trim_end_matches('/'));
        let response = self
            .agent()
            .get(&url)
            .header("Authorization", self.auth()?)
            .call()
            .with_context(|| format!("GET {url}"))?;
        let status = response.status().as_u16();
        Ok((status, response.into_body().into_reader()))
    }

    /// POSTs `body` to `path` and returns the status and body text.
    pub fn post(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<(u16, String)> {
        let url = format!("{}{path}", self.url.trim_end_matches('/'));
        let mut response = self
            .agent()
            .post(&url)
            .header("Authorization", self.auth()?)
            .header("Content-Type", content_type)
            .send(&body[..])
            .with_context(|| format!("POST {url}"))?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Ok((status, text))
    }
}

/// `shulv import FILE`.
pub fn import(
    server: &ServerArgs,
    file: &Path,
    format: Option<&str>,
    atomic: bool,
) -> anyhow::Result<()> {
    let extension = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let format = format.unwrap_or(match extension.as_str() {
        "json" => "json",
        "lp" | "txt" | "line" => "lp",
        _ => "csv",
    });
    let (path, content_type) = match format {
        "csv" => ("/api/v1/readings/csv", "text/csv"),
        "json" => ("/api/v1/readings", "application/json"),
        "lp" => ("/api/v2/write?precision=ns", "text/plain"),
        other => bail!("unknown format '{other}' (expected csv, lp or json)"),
    };
    let body = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let route = format!("POST {}", path.split('?').next().unwrap_or(path));
    let separator = if path.contains('?') { '&' } else { '?' };
    let path = format!("{path}{separator}atomic={atomic}");
    let (status, text) = server.post(&path, content_type, body)?;
    match status {
        204 => {
            println!("{}: every line stored", file.display());
            Ok(())
        }
        400 => {
            print_refusals(file, &route, &text)?;
            bail!("{}: some lines were refused", file.display())
        }
        _ => bail!("server answered {status}: {text}"),
    }
}

/// The answer of an import with refused lines (`IngestReport` of the server).
#[derive(Deserialize)]
struct IngestReport {
    accepted: usize,
    refused: Vec<RefusedLine>,
}

/// A refused line of an [`IngestReport`].
#[derive(Deserialize)]
struct RefusedLine {
    line: usize,
    field: String,
    message: String,
}

/// Prints the refused lines of a 400 answer. An answer that is no report (not JSON, not an
/// object, or an error object without a `refused` list: a body the server could not read) is
/// printed as it came; a report is read typed, so a renamed field is an error, not an empty
/// cell.
fn print_refusals(file: &Path, route: &str, text: &str) -> anyhow::Result<()> {
    let v = serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::String(text.into()));
    if !is_report(&v) {
        println!("{v}");
        return Ok(());
    }
    let report: IngestReport = parse(route, text)?;
    println!("{}: {} lines stored", file.display(), report.accepted);
    for r in &report.refused {
        println!("{}:{}: {}: {}", file.display(), r.line, r.field, r.message);
    }
    Ok(())
}

/// True if a 400 answer of an import is meant as an [`IngestReport`]: an object that is not an
/// error answer (`{"error": ...}` without a `refused` list).
fn is_report(v: &Value) -> bool {
    v.is_object() && (v.get("refused").is_some() || v.get("error").is_none())
}

/// `shulv registry FILES`.
pub fn registry(server: &ServerArgs, files: &[PathBuf]) -> anyhow::Result<()> {
    let file = match files {
        [one] if one.extension().is_some_and(|e| e == "toml") => {
            let text = std::fs::read_to_string(one)
                .with_context(|| format!("reading {}", one.display()))?;
            shulv_model::RegistryFile::from_toml(&text)
                .with_context(|| format!("{}", one.display()))?
        }
        [] => bail!("give a registry .toml file, or nodes.csv and/or meters.csv"),
        csvs => {
            let mut nodes = None;
            let mut meters = None;
            for path in csvs {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let header = text.lines().next().unwrap_or("");
                if header.split(',').any(|c| c.trim() == "carrier") {
                    meters = Some(text);
                } else {
                    nodes = Some(text);
                }
            }
            shulv_model::RegistryFile {
                nodes: nodes
                    .as_deref()
                    .map(shulv_model::parse_nodes_csv)
                    .transpose()?
                    .unwrap_or_default(),
                meters: meters
                    .as_deref()
                    .map(shulv_model::parse_meters_csv)
                    .transpose()?
                    .unwrap_or_default(),
            }
        }
    };
    let body = serde_json::to_vec(&file)?;
    let (status, text) = server.post("/api/v1/registry", "application/json", body)?;
    if status != 200 {
        bail!("server answered {status}: {text}");
    }
    println!("{text}");
    Ok(())
}

/// Arguments of `shulv query`.
#[derive(clap::Args)]
pub struct QueryArgs {
    /// A meter id.
    #[arg(long, conflicts_with = "node", required_unless_present = "node")]
    meter: Option<String>,
    /// A node id (roll-up of its subtree by carrier).
    #[arg(long)]
    node: Option<String>,
    /// Start: RFC 3339, YYYY-MM-DD[ HH:MM] in the target's time zone, or epoch ms.
    #[arg(long)]
    from: String,
    /// End (exclusive).
    #[arg(long)]
    to: String,
    /// 15m, hour, day, week, month or year.
    #[arg(long, default_value = "hour")]
    bucket: String,
    /// sum, mean, min, max or last.
    #[arg(long, default_value = "sum")]
    agg: String,
    /// Only this carrier (node queries).
    #[arg(long)]
    carrier: Option<String>,
    /// Output: table, csv or json.
    #[arg(long, default_value = "table")]
    output: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// `shulv query`.
pub fn query(args: &QueryArgs) -> anyhow::Result<()> {
    let server = &args.server;
    let url = format!("{}/api/v1/query", server.url.trim_end_matches('/'));
    let mut request = server
        .agent()
        .get(&url)
        .header("Authorization", server.auth()?)
        .query("from", &args.from)
        .query("to", &args.to)
        .query("bucket", &args.bucket)
        .query("agg", &args.agg);
    if let Some(m) = &args.meter {
        request = request.query("meter", m);
    }
    if let Some(n) = &args.node {
        request = request.query("node", n);
    }
    if let Some(c) = &args.carrier {
        request = request.query("carrier", c);
    }
    let mut response = request.call().with_context(|| format!("GET {url}"))?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string()?;
    if status != 200 {
        bail!("server answered {status}: {text}");
    }
    if args.output == "json" {
        let answer: Value = serde_json::from_str(&text)?;
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let answer: QueryAnswer = parse("GET /api/v1/query", &text)?;
    if args.output == "csv" {
        println!("carrier,unit,start,value,count");
        for s in &answer.series {
            for p in &s.points {
                println!(
                    "{},{},{},{},{}",
                    s.carrier,
                    s.unit,
                    p.start,
                    p.value.json(),
                    p.count
                );
            }
        }
    } else {
        print_table(&answer);
    }
    Ok(())
}

/// The answer of `GET /api/v1/query` (`QueryAnswer` of the server).
#[derive(Deserialize)]
struct QueryAnswer {
    target: String,
    target_kind: String,
    timezone: String,
    from: String,
    to: String,
    bucket: String,
    aggregate: String,
    series: Vec<QuerySeries>,
}

/// One carrier of a [`QueryAnswer`].
#[derive(Deserialize)]
struct QuerySeries {
    carrier: String,
    unit: String,
    meters: Vec<String>,
    points: Vec<QueryPoint>,
}

/// One bucket of a [`QuerySeries`].
#[derive(Deserialize)]
struct QueryPoint {
    start: String,
    value: Float,
    count: u64,
}

fn print_table(answer: &QueryAnswer) {
    println!(
        "{} {} · {} · {} · {} → {} ({})",
        answer.target_kind,
        answer.target,
        answer.aggregate,
        answer.bucket,
        answer.from,
        answer.to,
        answer.timezone
    );
    for s in &answer.series {
        let meters = s.meters.len();
        println!(
            "\n{} [{}] ({} meter{})",
            s.carrier,
            s.unit,
            meters,
            if meters == 1 { "" } else { "s" }
        );
        for p in &s.points {
            println!("  {:<27} {:>16.3}", p.start, p.value);
        }
    }
}

/// `shulv replace-meter`: declares a meter replacement (换表) of a cumulative register.
#[derive(clap::Args)]
pub struct ReplaceArgs {
    /// The meter id.
    meter: String,
    /// Instant of the swap: RFC 3339 (e.g. 2025-06-01T10:00:00+08:00) or epoch milliseconds.
    #[arg(long)]
    at: String,
    /// Final register value of the old meter, in the meter's unit.
    #[arg(long)]
    old_final: f64,
    /// Initial register value of the new meter, in the meter's unit.
    #[arg(long)]
    new_initial: f64,
    #[command(flatten)]
    server: ServerArgs,
}

/// `shulv replace-meter METER --at T --old-final X --new-initial Y`.
pub fn replace_meter(args: &ReplaceArgs) -> anyhow::Result<()> {
    let at = match args.at.parse::<i64>() {
        Ok(ms) => Value::from(ms),
        Err(_) => Value::from(args.at.clone()),
    };
    let body = serde_json::json!({
        "at": at,
        "old_final": args.old_final,
        "new_initial": args.new_initial,
    });
    let path = format!(
        "/api/v1/meters/{}/replacements",
        url_path_segment(&args.meter)
    );
    let (status, text) = args.server.send("POST", &path, Some(&body))?;
    if status != 204 {
        bail!("replacement of {} refused ({status}): {text}", args.meter);
    }
    println!(
        "recorded: {} replaced at {} (old register {}, new register {})",
        args.meter, args.at, args.old_final, args.new_initial
    );
    Ok(())
}

/// Percent-encodes everything but unreserved characters, for one path segment.
fn url_path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_answer_is_no_report_but_a_renamed_report_field_is_an_error() {
        let error: Value = serde_json::from_str(r#"{"error":"invalid JSON body"}"#).unwrap();
        assert!(!is_report(&error));
        assert!(!is_report(&Value::String(
            "<html>bad gateway</html>".into()
        )));
        let report = r#"{"accepted":1,"points_written":1,"refused":[{"line":2,"field":"meter","message":"unknown meter"}]}"#;
        assert!(is_report(&serde_json::from_str(report).unwrap()));
        let r: IngestReport = parse("POST /api/v1/readings/csv", report).unwrap();
        assert_eq!((r.accepted, r.refused[0].line), (1, 2));
        assert_eq!(
            (r.refused[0].field.as_str(), r.refused[0].message.as_str()),
            ("meter", "unknown meter")
        );
        let renamed = r#"{"accepted":1,"refused":[{"line":2,"column":"meter","message":"x"}]}"#;
        assert!(is_report(&serde_json::from_str(renamed).unwrap()));
        let e = parse::<IngestReport>("POST /api/v1/readings/csv", renamed)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.starts_with(
                "unexpected answer from POST /api/v1/readings/csv: missing field `field`"
            ),
            "{e}"
        );
    }
}
