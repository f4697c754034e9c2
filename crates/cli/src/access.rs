//! `shulv token`, `shulv user` and `shulv audit`: access control of a running server through its
//! API (administrator token needed).

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::client::ServerArgs;

/// Arguments shared by `token create` and `user add`: what the credential may do, and where.
#[derive(clap::Args)]
pub struct Grant {
    /// Name (a user's login name; for a token, what uses it, e.g. collector-07).
    name: String,
    /// admin, operator, analyst or device (tokens only).
    #[arg(long)]
    role: String,
    /// `*` for everything (administrators), or the id of the node whose subtree it covers.
    #[arg(long)]
    scope: String,
    /// Analysts: node aggregates only, no individual meters.
    #[arg(long)]
    aggregates_only: bool,
}

/// `shulv token ...`.
#[derive(clap::Subcommand)]
pub enum TokenCommand {
    /// Create an API token; its secret is printed once.
    Create {
        #[command(flatten)]
        grant: Grant,
        /// Expires after this many days (default: never).
        #[arg(long)]
        expires_days: Option<u32>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Revoke a token by id.
    Revoke {
        /// Token id (from `shulv token list`).
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// `shulv user ...`.
#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// Create a console user; the password is read from SHULV_PASSWORD or the first line of
    /// standard input (at least 12 characters).
    Add {
        #[command(flatten)]
        grant: Grant,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List users.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Disable a user by id (ends their sessions).
    Disable {
        /// User id (from `shulv user list`).
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// Arguments of `shulv audit`.
#[derive(clap::Args)]
pub struct AuditArgs {
    /// From (RFC 3339, YYYY-MM-DD[ HH:MM] in Asia/Shanghai, or epoch ms).
    #[arg(long)]
    from: Option<String>,
    /// To (exclusive).
    #[arg(long)]
    to: Option<String>,
    /// Only this actor (user:alice, token:collector-07, or a name).
    #[arg(long)]
    actor: Option<String>,
    /// Only this action (login, registry.apply, token.revoke, access.denied, ...).
    #[arg(long)]
    action: Option<String>,
    /// At most this many entries, the newest.
    #[arg(long)]
    limit: Option<usize>,
    /// Output: table, csv or json.
    #[arg(long, default_value = "table")]
    output: String,
    #[command(flatten)]
    server: ServerArgs,
}

fn expect(status: u16, text: String, ok: u16) -> anyhow::Result<Value> {
    if status != ok {
        bail!("server answered {status}: {text}");
    }
    if text.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).context("the server's answer is not JSON")
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn print_rows(rows: &[Value], columns: &[&str]) {
    println!("{}", columns.join("\t"));
    for r in rows {
        let cells: Vec<String> = columns.iter().map(|c| text(&r[*c])).collect();
        println!("{}", cells.join("\t"));
    }
}

/// Runs `shulv token ...`.
pub fn token(command: &TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            grant,
            expires_days,
            server,
        } => {
            let body = json!({
                "name": grant.name, "role": grant.role, "scope": grant.scope,
                "aggregates_only": grant.aggregates_only, "expires_days": expires_days,
            });
            let (status, text) = server.send("POST", "/api/v1/tokens", Some(&body))?;
            let answer = expect(status, text, 201)?;
            println!(
                "token {} ({}, scope {}) created",
                answer["token"]["id"].as_str().unwrap_or(""),
                answer["token"]["role"].as_str().unwrap_or(""),
                answer["token"]["scope"].as_str().unwrap_or("")
            );
            println!(
                "secret (shown once, keep it): {}",
                answer["secret"].as_str().unwrap_or("")
            );
        }
        TokenCommand::List { server } => {
            let (status, text) = server.send("GET", "/api/v1/tokens", None)?;
            let rows = expect(status, text, 200)?;
            print_rows(
                rows.as_array().map(Vec::as_slice).unwrap_or_default(),
                &[
                    "id",
                    "name",
                    "role",
                    "scope",
                    "active",
                    "expires_ms",
                    "created_by",
                ],
            );
        }
        TokenCommand::Revoke { id, server } => {
            let (status, text) = server.send(
                "DELETE",
                &format!("/api/v1/tokens/{}", path_part(id)?),
                None,
            )?;
            expect(status, text, 200)?;
            println!("token {id} revoked");
        }
    }
    Ok(())
}

/// A path segment: refuses ids that would change the path.
fn path_part(id: &str) -> anyhow::Result<&str> {
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("'{id}' is not an id (letters, digits, - and _ only)");
    }
    Ok(id)
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("SHULV_PASSWORD") {
        return Ok(p);
    }
    eprintln!("password (at least 12 characters), then Enter:");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Runs `shulv user ...`.
pub fn user(command: &UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add { grant, server } => {
            let body = json!({
                "name": grant.name, "role": grant.role, "scope": grant.scope,
                "aggregates_only": grant.aggregates_only, "password": read_password()?,
            });
            let (status, text) = server.send("POST", "/api/v1/users", Some(&body))?;
            let user = expect(status, text, 201)?;
            println!(
                "user {} ({}, {}, scope {}) created",
                user["name"].as_str().unwrap_or(""),
                user["id"].as_str().unwrap_or(""),
                user["role"].as_str().unwrap_or(""),
                user["scope"].as_str().unwrap_or("")
            );
        }
        UserCommand::List { server } => {
            let (status, text) = server.send("GET", "/api/v1/users", None)?;
            let rows = expect(status, text, 200)?;
            print_rows(
                rows.as_array().map(Vec::as_slice).unwrap_or_default(),
                &["id", "name", "role", "scope", "disabled_ms", "created_by"],
            );
        }
        UserCommand::Disable { id, server } => {
            let (status, text) =
                server.send("DELETE", &format!("/api/v1/users/{}", path_part(id)?), None)?;
            expect(status, text, 200)?;
            println!("user {id} disabled");
        }
    }
    Ok(())
}

/// Runs `shulv audit`.
pub fn audit(args: &AuditArgs) -> anyhow::Result<()> {
    let mut query = Vec::new();
    for (key, value) in [
        ("from", &args.from),
        ("to", &args.to),
        ("actor", &args.actor),
        ("action", &args.action),
    ] {
        if let Some(v) = value {
            query.push((key, v.clone()));
        }
    }
    if let Some(l) = args.limit {
        query.push(("limit", l.to_string()));
    }
    let csv = args.output == "csv";
    if csv {
        query.push(("format", "csv".into()));
    }
    let (status, text) = args.server.get_query("/api/v1/audit", &query)?;
    if status != 200 {
        bail!("server answered {status}: {text}");
    }
    match args.output.as_str() {
        "csv" => print!("{text}"),
        "json" => println!("{text}"),
        _ => {
            let rows: Value = serde_json::from_str(&text)?;
            print_rows(
                rows.as_array().map(Vec::as_slice).unwrap_or_default(),
                &["time", "actor", "ip", "action", "target", "outcome"],
            );
        }
    }
    Ok(())
}
