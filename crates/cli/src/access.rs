//! `shulv token`, `shulv user` and `shulv audit`: access control of a running server through its
//! API (administrator token needed).

use anyhow::{bail, Context};
use serde::Deserialize;
use serde_json::json;

use crate::answers::{parse, Nullable};
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

/// The answer text of a request that should have answered `ok`.
fn expect(status: u16, text: String, ok: u16) -> anyhow::Result<String> {
    if status != ok {
        bail!("server answered {status}: {text}");
    }
    Ok(text)
}

/// A token as listed and created (`TokenInfo` of the server).
#[derive(Deserialize)]
struct Token {
    id: String,
    name: String,
    role: String,
    scope: String,
    active: bool,
    expires_ms: Nullable<i64>,
    created_by: Nullable<String>,
}

/// The answer of `POST /api/v1/tokens`.
#[derive(Deserialize)]
struct NewToken {
    token: Token,
    secret: String,
}

/// A console user as listed and created (`UserInfo` of the server).
#[derive(Deserialize)]
struct User {
    id: String,
    name: String,
    role: String,
    scope: String,
    disabled_ms: Nullable<i64>,
    created_by: Nullable<String>,
}

/// An entry of the audit log, the columns the table shows.
#[derive(Deserialize)]
struct AuditEntry {
    time: String,
    actor: String,
    ip: String,
    action: String,
    target: String,
    outcome: String,
}

/// Prints a tab-separated table: the header, then one line of cells per row.
fn print_rows<R>(rows: &[R], columns: &[&str], cells: impl Fn(&R) -> Vec<String>) {
    println!("{}", columns.join("\t"));
    for r in rows {
        println!("{}", cells(r).join("\t"));
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
            let answer: NewToken = parse("POST /api/v1/tokens", &expect(status, text, 201)?)?;
            let t = &answer.token;
            println!("token {} ({}, scope {}) created", t.id, t.role, t.scope);
            println!("secret (shown once, keep it): {}", answer.secret);
        }
        TokenCommand::List { server } => {
            let (status, text) = server.send("GET", "/api/v1/tokens", None)?;
            let rows: Vec<Token> = parse("GET /api/v1/tokens", &expect(status, text, 200)?)?;
            print_rows(
                &rows,
                &[
                    "id",
                    "name",
                    "role",
                    "scope",
                    "active",
                    "expires_ms",
                    "created_by",
                ],
                |t| {
                    vec![
                        t.id.clone(),
                        t.name.clone(),
                        t.role.clone(),
                        t.scope.clone(),
                        t.active.to_string(),
                        t.expires_ms.to_string(),
                        t.created_by.to_string(),
                    ]
                },
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
            let u: User = parse("POST /api/v1/users", &expect(status, text, 201)?)?;
            println!(
                "user {} ({}, {}, scope {}) created",
                u.name, u.id, u.role, u.scope
            );
        }
        UserCommand::List { server } => {
            let (status, text) = server.send("GET", "/api/v1/users", None)?;
            let rows: Vec<User> = parse("GET /api/v1/users", &expect(status, text, 200)?)?;
            print_rows(
                &rows,
                &["id", "name", "role", "scope", "disabled_ms", "created_by"],
                |u| {
                    vec![
                        u.id.clone(),
                        u.name.clone(),
                        u.role.clone(),
                        u.scope.clone(),
                        u.disabled_ms.to_string(),
                        u.created_by.to_string(),
                    ]
                },
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
            let rows: Vec<AuditEntry> = parse("GET /api/v1/audit", &text)?;
            print_rows(
                &rows,
                &["time", "actor", "ip", "action", "target", "outcome"],
                |e| {
                    vec![
                        e.time.clone(),
                        e.actor.clone(),
                        e.ip.clone(),
                        e.action.clone(),
                        e.target.clone(),
                        e.outcome.clone(),
                    ]
                },
            );
        }
    }
    Ok(())
}
