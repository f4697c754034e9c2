//! shulv-influxdb: the InfluxDB 1.x query API (`/query`) over shulv's store, so that Grafana's
//! InfluxDB data source (InfluxQL mode) and InfluxDB clients read shulv unchanged.
//!
//! [`catalog`] decides how shulv's world looks from InfluxDB: databases are `shulv` and the
//! node ids, measurements are carriers, each meter is a series tagged with its meter, node,
//! carrier, unit and the nodes above it, and `value` is the meter's quantity per reading in the
//! carrier's roll-up unit. [`execute`] runs parsed statements ([`shulv_influxql`]) over that
//! view: SHOW statements from the registry, SELECTs from hour rollups where the buckets are
//! whole hours and the functions allow, from raw points otherwise. [`render`] writes the
//! answers as InfluxDB 1.8 does. The HTTP route, credentials and scopes are the server's.

mod accumulate;
mod buckets;
pub mod catalog;
mod fetch;
mod fields;
mod filter;
pub mod render;
mod result;
mod select;
mod show;
mod transform;

use shulv_influxql::Statement;
use shulv_platform::Platform;

pub use catalog::{Caller, DEFAULT_DATABASE};
pub use fetch::{MAX_POINTS, MAX_ROWS};
pub use result::{Cell, Series, StatementResult};
pub use select::MAX_BUCKETS;

/// A query's setting: the platform, who asks, the `db` parameter and the instant of `now()`.
pub struct Query<'a> {
    /// Where the data is.
    pub platform: &'a Platform,
    /// Who asks.
    pub caller: Caller<'a>,
    /// The `db` parameter.
    pub database: Option<&'a str>,
    /// `now()`, in ms since the epoch.
    pub now_ms: i64,
}

/// Runs every statement; each gets its own result or error.
pub fn execute(query: &Query<'_>, statements: &[Statement]) -> Vec<StatementResult> {
    statements
        .iter()
        .enumerate()
        .map(|(i, s)| match run(query, s) {
            Ok(series) => StatementResult {
                statement_id: i,
                series,
                error: None,
            },
            Err(e) => StatementResult::failed(i, e),
        })
        .collect()
}

fn run(query: &Query<'_>, statement: &Statement) -> Result<Vec<Series>, String> {
    let catalog = |on: Option<&String>| {
        let db = on
            .map(String::as_str)
            .or(query.database)
            .filter(|d| !d.is_empty())
            .ok_or("database name required")?;
        catalog::Catalog::open(query.platform, db, &query.caller)
    };
    match statement {
        Statement::ShowDatabases => Ok(show::databases(catalog::databases(
            query.platform,
            &query.caller,
        ))),
        Statement::ShowRetentionPolicies(on) => {
            catalog(on.as_ref())?;
            Ok(show::retention_policies())
        }
        Statement::ShowMeasurements(s) => show::measurements(&catalog(s.database.as_ref())?, s),
        Statement::ShowTagKeys(s) => show::tag_keys(&catalog(s.database.as_ref())?, s),
        Statement::ShowTagValues(s) => show::tag_values(&catalog(s.database.as_ref())?, s),
        Statement::ShowFieldKeys(s) => show::field_keys(&catalog(s.database.as_ref())?, s),
        Statement::ShowSeries(s) => show::series(&catalog(s.database.as_ref())?, s),
        Statement::Select(s) => {
            let db = s.sources.iter().find_map(|src| src.database.as_ref());
            select::run(
                query.platform,
                &catalog(db)?,
                s,
                query.now_ms,
                query.caller.aggregates_only,
            )
        }
    }
}
