//! Peak-valley optimisation routes (峰谷优化): tariffs (versioned), bills of a node and period,
//! and schedules of flexible assets, including demand response.

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use serde::Deserialize;
use shulv_auth::{Principal, Scope};
use shulv_optimise::{Event, Problem, Schedule, Settings};
use shulv_platform::{
    Assets, BillRequest, ModelKind, NodeBill, NodeSchedule, Period, ScheduleRequest,
    TariffComparison, TariffSummary, WeatherFields, WeatherRequest,
};
use shulv_tariff::{BasicMethod, TariffFile};

use crate::access::{self, audit_entry, ClientIp};
use crate::error::{ApiError, ErrorBody};
use crate::routes::{audit_failed, blocking, utf8};
use crate::AppState;

fn check_node(
    p: &shulv_platform::Platform,
    principal: &Principal,
    node: &str,
) -> Result<(), ApiError> {
    if p.with_tree(|t| access::node_in_scope(t, &principal.scope, node)) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("node '{node}' not found"),
        ))
    }
}

/// An aggregates-only credential sees node roll-ups only: it may name no meter (a temperature
/// meter) in a request, as on the forecast route.
fn refuse_meters_for_aggregates(
    principal: &Principal,
    meters: &[Option<&String>],
) -> Result<(), ApiError> {
    if principal.aggregates_only && meters.iter().any(Option::is_some) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "this credential may read aggregates only, not a temperature meter",
        ));
    }
    Ok(())
}

/// Removes the meter ids behind a node's bill for aggregates-only credentials, as the query,
/// forecast and account routes do.
fn strip_meters(principal: &Principal, bill: &mut NodeBill) {
    if principal.aggregates_only {
        bill.meters.clear();
    }
}

/// A named temperature meter must be readable by the caller's scope (else it is not found).
fn check_temperature_meter(
    p: &shulv_platform::Platform,
    principal: &Principal,
    meter: Option<&String>,
) -> Result<(), ApiError> {
    check_meter_param(p, principal, "temperature_meter", meter)
}

/// The meter named by request field `field` must be readable by the caller's scope (else it
/// is not found).
fn check_meter_param(
    p: &shulv_platform::Platform,
    principal: &Principal,
    field: &str,
    meter: Option<&String>,
) -> Result<(), ApiError> {
    match meter {
        Some(m) if !p.with_tree(|t| access::meter_in_scope(t, &principal.scope, m)) => {
            Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("{field}: meter '{m}' not found"),
            ))
        }
        _ => Ok(()),
    }
}

/// Every tariff version (shipped presets and added ones) with its all-in period prices and the
/// provenance of each part (which parts are confirmed, which are example prices).
#[utoipa::path(get, path = "/api/v1/tariffs", tag = "optimisation",
    responses((status = 200, body = [TariffSummary])))]
pub async fn list_tariffs(State(state): State<AppState>) -> Json<Vec<TariffSummary>> {
    Json(state.platform.tariffs())
}

/// Query parameters of `GET /api/v1/tariffs/{id}`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct TariffParams {
    /// Version (default: the latest added).
    pub version: Option<String>,
}

/// One tariff version as in its file (windows, holiday and critical-peak rules, components,
/// basic-charge prices, provenance).
#[utoipa::path(get, path = "/api/v1/tariffs/{id}", tag = "optimisation",
    params(("id" = String, Path, description = "Tariff id"), TariffParams),
    responses((status = 200, body = TariffFile), (status = 404, body = ErrorBody)))]
pub async fn get_tariff(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<TariffParams>,
) -> Result<Json<TariffFile>, ApiError> {
    Ok(Json(state.platform.tariff(&id, params.version.as_deref())?))
}

/// Adds a tariff version from a TOML file (format in docs/optimisation.md). Versions are never
/// changed: a new monthly table is a new version. Tariffs apply to the whole tree, so the
/// credential must be scoped to the whole tree.
#[utoipa::path(post, path = "/api/v1/tariffs", tag = "optimisation",
    request_body(content = String, content_type = "text/plain",
        description = "The tariff file (TOML), sent as text/plain or application/toml"),
    responses((status = 200, body = TariffSummary), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn add_tariff(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(ip): Extension<ClientIp>,
    body: Bytes,
) -> Result<Json<TariffSummary>, ApiError> {
    if principal.scope != Scope::All {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "a tariff applies to the whole tree: adding one needs a credential scoped to the whole tree",
        ));
    }
    let text = utf8(&body)?.to_string();
    let access = state.access.clone();
    let added = blocking(&state.platform, move |p| {
        let result = p.add_tariff(&text);
        let entry = audit_entry(&principal, &ip, "tariffs.add", "tariff");
        let details = result.as_ref().map_or(
            serde_json::json!({}),
            |t| serde_json::json!({ "id": t.id, "version": t.version }),
        );
        let entry = entry.result(&result, details);
        access.audit.record(&entry).map_err(audit_failed)?;
        Ok(result?)
    })
    .await?;
    Ok(Json(added))
}

/// Query parameters of `GET /api/v1/bills`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct BillParams {
    /// Node id: the electricity meters of its subtree are billed.
    pub node: String,
    /// `2025`, `2025-Q2` or `2025-03`, in the node's time zone.
    pub period: String,
    /// Tariff id. In `GET /api/v1/bills/comparison`: two or more, comma-separated, each
    /// `ID` (the latest version) or `ID@VERSION`.
    pub tariff: String,
    /// Tariff version (default: the latest; not with the comparison, which names versions in
    /// `tariff`).
    pub version: Option<String>,
    /// Basic charge (基本电费): `capacity` (needs `capacity_kva`), `contract` (needs
    /// `contract_kw` and `capacity_kva`) or `actual`; absent = energy charge only.
    pub basic: Option<String>,
    /// Installed transformer capacity, kVA.
    pub capacity_kva: Option<f64>,
    /// Contract maximum demand, kW.
    pub contract_kw: Option<f64>,
    /// `true`: also compare capacity, contract (given and best) and actual demand billing.
    pub compare: Option<bool>,
    /// Days (`YYYY-MM-DD`, comma-separated) on which the critical-peak temperature trigger fired.
    pub critical_days: Option<String>,
    /// Air-temperature meter (carrier `air_temperature`) whose stored daily maxima fire the
    /// tariff's critical-peak temperature trigger.
    pub temperature_meter: Option<String>,
}

fn critical_days_of<'a>(
    days: impl IntoIterator<Item = &'a str>,
) -> Result<BTreeSet<NaiveDate>, ApiError> {
    let mut out = BTreeSet::new();
    for d in days.into_iter().filter(|s| !s.trim().is_empty()) {
        out.insert(crate::instant::parse_date("critical_days", d)?);
    }
    Ok(out)
}

impl BillParams {
    /// The platform request (tariff and version as given).
    fn request(self) -> Result<BillRequest, ApiError> {
        let period: Period = self
            .period
            .parse()
            .map_err(|e: String| ApiError::bad_request(format!("period: {e}")))?;
        let basic = basic_of(self.basic.as_deref(), self.capacity_kva, self.contract_kw)?;
        let compare_capacity_kva = match self.compare {
            Some(true) => Some(self.capacity_kva.ok_or_else(|| {
                ApiError::bad_request("compare=true needs capacity_kva (the installed capacity)")
            })?),
            _ => None,
        };
        Ok(BillRequest {
            node: self.node,
            period,
            tariff: self.tariff,
            version: self.version,
            basic,
            critical_days: critical_days_of(
                self.critical_days.as_deref().unwrap_or("").split(','),
            )?,
            temperature_meter: self.temperature_meter,
            compare_capacity_kva,
        })
    }
}

fn basic_of(
    basic: Option<&str>,
    capacity_kva: Option<f64>,
    contract_kw: Option<f64>,
) -> Result<Option<BasicMethod>, ApiError> {
    let need = |v: Option<f64>, name: &str, m: &str| {
        v.ok_or_else(|| ApiError::bad_request(format!("basic={m} needs {name}")))
    };
    Ok(match basic {
        None => None,
        Some("capacity") => Some(BasicMethod::Capacity {
            capacity_kva: need(capacity_kva, "capacity_kva", "capacity")?,
        }),
        Some("contract") => Some(BasicMethod::ContractDemand {
            contract_kw: need(contract_kw, "contract_kw", "contract")?,
            capacity_kva: need(capacity_kva, "capacity_kva", "contract")?,
        }),
        Some("actual") => Some(BasicMethod::ActualDemand),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "basic: {other:?} is not capacity, contract or actual"
            )))
        }
    })
}

/// The bill of a node and period under a tariff, from the stored 15-minute data: energy by
/// period (尖峰/高峰/平段/低谷/深谷) and price component, the basic charge (基本电费) by capacity,
/// contract demand (105 % double charge, 40 % floor) or actual maximum demand, and optionally
/// the comparison of those methods. The bill names the tariff id and version it used.
#[utoipa::path(get, path = "/api/v1/bills", tag = "optimisation", params(BillParams),
    responses((status = 200, body = NodeBill), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn bill(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<BillParams>,
) -> Result<Json<NodeBill>, ApiError> {
    let req = params.request()?;
    refuse_meters_for_aggregates(&principal, &[req.temperature_meter.as_ref()])?;
    let answer = blocking(&state.platform, move |p| {
        check_node(p, &principal, &req.node)?;
        check_temperature_meter(p, &principal, req.temperature_meter.as_ref())?;
        let mut bill = p.bill(&req)?;
        strip_meters(&principal, &mut bill);
        Ok(bill)
    })
    .await?;
    Ok(Json(answer))
}

/// The bills of one node and period under two or more tariffs (`tariff=A,B@VERSION`), on the
/// same stored data, basic-charge method and critical-peak days: a ranking cheapest first and
/// every complete bill, each naming its tariff id and version.
#[utoipa::path(get, path = "/api/v1/bills/comparison", tag = "optimisation", params(BillParams),
    responses((status = 200, body = TariffComparison), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn compare_tariffs(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<BillParams>,
) -> Result<Json<TariffComparison>, ApiError> {
    if params.version.is_some() {
        return Err(ApiError::bad_request(
            "version: name versions in tariff (tariff=ID@VERSION,ID2)",
        ));
    }
    let mut tariffs = Vec::new();
    for t in params.tariff.split(',').map(str::trim) {
        let (id, version) = match t.split_once('@') {
            Some((id, v)) => (id, Some(v.to_string())),
            None => (t, None),
        };
        if id.is_empty() || version.as_deref() == Some("") {
            return Err(ApiError::bad_request(format!(
                "tariff: {t:?} is not ID or ID@VERSION"
            )));
        }
        tariffs.push((id.to_string(), version));
    }
    let req = params.request()?;
    refuse_meters_for_aggregates(&principal, &[req.temperature_meter.as_ref()])?;
    let answer = blocking(&state.platform, move |p| {
        check_node(p, &principal, &req.node)?;
        check_temperature_meter(p, &principal, req.temperature_meter.as_ref())?;
        let mut comparison = p.compare_tariffs(&req, &tariffs)?;
        for bill in &mut comparison.bills {
            strip_meters(&principal, bill);
        }
        Ok(comparison)
    })
    .await?;
    Ok(Json(answer))
}

/// Body of `POST /api/v1/schedules`: either a complete `problem` (series and assets, no stored
/// data used) or a `node` with a `tariff`, whose load is forecast from the stored data.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// A complete problem (exclusive with `node`).
    pub problem: Option<Problem>,
    /// Node id.
    pub node: Option<String>,
    /// Tariff id (with `node`).
    pub tariff: Option<String>,
    /// Tariff version (default: the latest).
    pub version: Option<String>,
    /// Start of the plan: RFC 3339, `YYYY-MM-DD[ HH:MM]` in the node's time zone, or epoch ms.
    pub start: Option<String>,
    /// Hours planned, 24–48 (default 24).
    pub hours: Option<usize>,
    /// Basic-charge method (`{"method": "contract_demand", ...}`): makes the peak import cost.
    pub basic: Option<BasicMethod>,
    /// Days of the plan (`YYYY-MM-DD`) on which the critical-peak temperature trigger fires.
    #[serde(default)]
    pub critical_days: Vec<String>,
    /// Air-temperature meter (e.g. an imported weather forecast) whose stored daily maxima
    /// over the plan fire the tariff's critical-peak temperature trigger.
    pub temperature_meter: Option<String>,
    /// Air-temperature meter with the observed weather of the load's history: the outdoor
    /// temperature becomes a covariate of the load forecast, its plan hours read from
    /// `temperature_meter` when given (a weather forecast), else from this meter.
    pub observed_temperature_meter: Option<String>,
    /// The load, kW per 15-minute step (default: the P50 forecast of the stored data).
    pub load_kw: Option<Vec<f64>>,
    /// Forecast model of the load (default `auto`).
    pub model: Option<String>,
    /// Flexible assets.
    #[serde(default)]
    pub assets: Assets,
    /// Demand-response event.
    pub event: Option<Event>,
    /// Solver settings.
    pub settings: Option<Settings>,
}

/// Answer of `POST /api/v1/schedules`.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ScheduleAnswer {
    /// A node's schedule with the tariff, load and factor it came from.
    Node(Box<NodeSchedule>),
    /// The schedule of a given problem.
    Problem(Box<Schedule>),
}

/// A day-ahead or rolling schedule (15-minute steps, 24–48 h; a MILP solved with HiGHS):
/// setpoints, cost by component, savings against doing nothing, the emissions effect and the
/// end state for the next plan. With an `event`, the cheapest plan that meets it, or the
/// largest reduction possible and why more is impossible. A plan is always published; a
/// fallback is flagged.
#[utoipa::path(post, path = "/api/v1/schedules", tag = "optimisation", request_body = ScheduleBody,
    responses((status = 200, body = ScheduleAnswer), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn schedule(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Result<Json<ScheduleAnswer>, ApiError> {
    let body: ScheduleBody =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("body: {e}")))?;
    refuse_meters_for_aggregates(
        &principal,
        &[
            body.temperature_meter.as_ref(),
            body.observed_temperature_meter.as_ref(),
        ],
    )?;
    let answer = blocking(&state.platform, move |p| {
        match (body.problem, body.node) {
            (Some(problem), None) => {
                let s = shulv_optimise::schedule(&problem)
                    .map_err(|e| ApiError::bad_request(format!("problem.{e}")))?;
                Ok(ScheduleAnswer::Problem(Box::new(s)))
            }
            (None, Some(node)) => {
                check_node(p, &principal, &node)?;
                check_temperature_meter(p, &principal, body.temperature_meter.as_ref())?;
                check_meter_param(
                    p,
                    &principal,
                    "observed_temperature_meter",
                    body.observed_temperature_meter.as_ref(),
                )?;
                let tz = p.with_tree(|t| t.timezone_of_node(&node));
                let tariff = body
                    .tariff
                    .ok_or_else(|| ApiError::bad_request("tariff: needed with node"))?;
                let start = body
                    .start
                    .as_deref()
                    .ok_or_else(|| ApiError::bad_request("start: needed with node"))?;
                let start = crate::instant::parse("start", start, tz)?;
                let model = ModelKind::parse(body.model.as_deref().unwrap_or("auto"))
                    .map_err(|e| ApiError::bad_request(format!("model: {e}")))?;
                let req = ScheduleRequest {
                    node,
                    tariff,
                    version: body.version,
                    start,
                    hours: body.hours.unwrap_or(24),
                    basic: body.basic,
                    critical_days: critical_days_of(body.critical_days.iter().map(String::as_str))?,
                    load_weather: body.observed_temperature_meter.map(|observed| {
                        WeatherRequest {
                            observed,
                            forecast: body.temperature_meter.clone(),
                            fields: WeatherFields::SCHEDULE,
                        }
                    }),
                    temperature_meter: body.temperature_meter,
                    load_kw: body.load_kw,
                    model,
                    assets: body.assets,
                    event: body.event,
                    settings: body.settings.unwrap_or_default(),
                };
                Ok(ScheduleAnswer::Node(Box::new(p.schedule(&req)?)))
            }
            _ => Err(ApiError::bad_request(
                "give exactly one of 'problem' (a complete problem) or 'node' (with 'tariff' and 'start')",
            )),
        }
    })
    .await?;
    Ok(Json(answer))
}
