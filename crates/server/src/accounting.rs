//! Energy and carbon accounting routes: the account (GHG inventory, 综合能耗, intensities) of a
//! node and period, carbon-efficiency grades of a park's enterprises, and the factor library.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use shulv_auth::Principal;
use shulv_carbon::{
    Caliber, ElectricityConvention, EnergySettings, GasCoefficient, Grid, GwpSet, Regime, Settings,
    Status,
};
use shulv_platform::{Account, AccountRequest, FactorKind, GradeReport, Period};
use shulv_report::Lang;

use crate::access::{self, audit_entry, ClientIp};
use crate::error::{ApiError, ErrorBody};
use crate::routes::{audit_failed, blocking, utf8};
use crate::{AppState, ServerConfig};

/// Settings shared by the accounting routes (all optional; the defaults are stated in every
/// answer).
#[derive(Deserialize, utoipa::IntoParams)]
pub struct AccountParams {
    /// Node id (enterprise, park, region …).
    pub node: String,
    /// `2025`, `2025-Q2` or `2025-03`, in the node's time zone.
    pub period: String,
    /// `cn_mee_nbs` (default), `cn_carbon_market`, `ghg_protocol` or `ipcc2006`.
    pub regime: Option<String>,
    /// 口径 of the MEE/NBS factors: `average` (default), `excl_traded_nonfossil`, `fossil`.
    pub caliber: Option<String>,
    /// Grid factor geography: `national` (default), `regional` (node attribute
    /// `grid_region`), `provincial` (node attribute `province`).
    pub grid: Option<String>,
    /// Data year of the grid factor (default: the latest not after the period).
    pub electricity_year: Option<i32>,
    /// GWP set: `AR6` (default), `AR5`, `AR4`, `AR2`.
    pub gwp: Option<String>,
    /// Factor versions to use, `id:version` separated by commas.
    pub pins: Option<String>,
    /// Let unconfirmed factors (status S) be chosen by default (default: the server's
    /// `allow_unconfirmed_factors` setting, off unless set; the demo sets it). Without it an
    /// account that needs one fails with 400, naming the factors.
    pub allow_unconfirmed: Option<bool>,
    /// Electricity in 综合能耗: `calorific` (当量值, default) or `equivalent` (等价值, needs
    /// `kgce_per_kwh`).
    pub electricity: Option<String>,
    /// The 等价值 coefficient in kgce/kWh.
    pub kgce_per_kwh: Option<f64>,
    /// Natural-gas coefficient: `gas_field` (1.2143 kgce/m³, default), `oil_field` (1.3300) or
    /// `from_ncv`.
    pub natural_gas: Option<String>,
    /// `json` (default), `csv` (the inventory lines), `xlsx` (a workbook: summary, lines,
    /// energy, meter data, factors, linked) or `html` (a printable report whose numbers link to
    /// the meter data and factors behind them).
    pub format: Option<String>,
    /// Language of the `xlsx` and `html` reports: `zh` (default) or `en`.
    pub lang: Option<String>,
}

fn parse<T: std::str::FromStr<Err = String>>(
    name: &str,
    v: Option<&str>,
    default: T,
) -> Result<T, ApiError> {
    v.map(str::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("{name}: {e}")))
        .map(|v| v.unwrap_or(default))
}

fn settings_of(
    p: &AccountParams,
    config: &ServerConfig,
) -> Result<(Period, Settings, EnergySettings), ApiError> {
    let allow_unconfirmed = p
        .allow_unconfirmed
        .unwrap_or(config.allow_unconfirmed_factors);
    let period: Period = p
        .period
        .parse()
        .map_err(|e: String| ApiError::bad_request(format!("period: {e}")))?;
    let mut pins = BTreeMap::new();
    for pin in p
        .pins
        .iter()
        .flat_map(|s| s.split(','))
        .filter(|s| !s.is_empty())
    {
        let (id, v) = pin
            .rsplit_once(':')
            .and_then(|(id, v)| Some((id, v.parse::<u32>().ok()?)))
            .ok_or_else(|| ApiError::bad_request(format!("pins: {pin:?} is not id:version")))?;
        pins.insert(id.to_string(), v);
    }
    let settings = Settings {
        regime: parse("regime", p.regime.as_deref(), Regime::DEFAULT)?,
        caliber: parse("caliber", p.caliber.as_deref(), Caliber::Average)?,
        grid: parse("grid", p.grid.as_deref(), Grid::National)?,
        electricity_year: p.electricity_year,
        gwp: parse("gwp", p.gwp.as_deref(), GwpSet::AR6)?,
        pins,
        allow_unconfirmed,
    };
    let electricity = match (p.electricity.as_deref(), p.kgce_per_kwh) {
        (None | Some("calorific"), None) => ElectricityConvention::Calorific,
        (Some("equivalent"), Some(kgce_per_kwh)) => ElectricityConvention::Equivalent { kgce_per_kwh },
        (Some("equivalent"), None) => return Err(ApiError::bad_request("electricity=equivalent (等价值) needs kgce_per_kwh, the year's coal per kWh of thermal power")),
        (None | Some("calorific"), Some(_)) => return Err(ApiError::bad_request("kgce_per_kwh is only used with electricity=equivalent")),
        (Some(other), _) => return Err(ApiError::bad_request(format!("electricity: {other:?} is not calorific or equivalent"))),
    };
    let natural_gas = match p.natural_gas.as_deref() {
        None | Some("gas_field") => GasCoefficient::GasField,
        Some("oil_field") => GasCoefficient::OilField,
        Some("from_ncv") => GasCoefficient::FromNcv,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "natural_gas: {other:?} is not gas_field, oil_field or from_ncv"
            )))
        }
    };
    Ok((
        period,
        settings,
        EnergySettings {
            electricity,
            natural_gas,
            allow_unconfirmed,
        },
    ))
}

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

/// CSV of the inventory lines (one per meter and scope), with the factors behind each.
fn account_csv(a: &Account) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "node",
        "period",
        "regime",
        "gwp",
        "meter",
        "scope",
        "source",
        "carrier",
        "activity",
        "activity_unit",
        "co2_t",
        "ch4_t",
        "n2o_t",
        "co2e_t",
        "biogenic_co2_t",
        "factors",
        "formula",
    ]);
    let regime = serde_json::to_value(a.inventory.settings.regime)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let gwp = format!("{:?}", a.inventory.settings.gwp);
    for (basis, l) in a.inventory.lines.iter().map(|l| ("", l)).chain(
        a.inventory
            .scope2_market_lines
            .iter()
            .map(|l| (" (market-based)", l)),
    ) {
        let factors: Vec<String> = l
            .factors
            .iter()
            .map(|f| format!("{} v{}", f.id, f.version))
            .collect();
        let _ = w.write_record([
            a.node.clone(),
            a.period.clone(),
            regime.clone(),
            gwp.clone(),
            l.meter.clone(),
            format!("{:?}{basis}", l.scope).to_lowercase(),
            l.source.clone(),
            l.carrier.as_str().to_string(),
            l.activity.to_string(),
            l.activity_unit.clone(),
            l.co2_t.to_string(),
            l.ch4_t.to_string(),
            l.n2o_t.to_string(),
            l.co2e_t.to_string(),
            l.biogenic_co2_t.to_string(),
            factors.join("; "),
            l.formula.clone(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The energy and carbon account of a node for a month, quarter or year, from the stored meter
/// data: GHG inventory (Scope 1 by source, Scope 2 location- and market-based, Scope 3),
/// 综合能耗 in tce and intensities, with every factor (id, version, source, status) and the
/// regime used. Aggregates-only credentials get the totals without per-meter lines.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounting", params(AccountParams),
    responses((status = 200, body = Account), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn account(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<AccountParams>,
) -> Result<Response, ApiError> {
    let (period, settings, energy) = settings_of(&params, &state.config)?;
    let format = params.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "csv" | "xlsx" | "html") {
        return Err(ApiError::bad_request(format!(
            "format: {format:?} is not json, csv, xlsx or html"
        )));
    }
    let lang: Lang = parse("lang", params.lang.as_deref(), Lang::Zh)?;
    let node = params.node.clone();
    let aggregates_only = principal.aggregates_only;
    let mut account = blocking(&state.platform, move |p| {
        check_node(p, &principal, &node)?;
        Ok(p.account(&AccountRequest {
            node,
            period,
            settings,
            energy,
        })?)
    })
    .await?;
    if aggregates_only {
        account.meters.clear();
        account.inventory.lines.clear();
        account.inventory.scope2_market_lines.clear();
        account.energy.lines.clear();
    }
    let name = format!("inventory-{}-{}.{format}", account.node, account.period);
    let download = |content_type: &str, body: Vec<u8>| {
        (
            [
                (header::CONTENT_TYPE, content_type.to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            body,
        )
            .into_response()
    };
    Ok(match format {
        "csv" => download(
            "text/csv; charset=utf-8",
            account_csv(&account).into_bytes(),
        ),
        "xlsx" => download(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            shulv_report::xlsx(&account, lang)
                .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?,
        ),
        "html" => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            shulv_report::html(&account, lang),
        )
            .into_response(),
        _ => Json(account).into_response(),
    })
}

/// Query parameters of `/api/v1/carbon-grades`: those of `/api/v1/accounts` plus industry
/// averages.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct GradeParams {
    /// Park or region id: every node of kind `enterprise` below it is graded.
    pub node: String,
    /// `2025`, `2025-Q2` or `2025-03`.
    pub period: String,
    /// Regime of the inventories behind L (default `cn_mee_nbs`).
    pub regime: Option<String>,
    /// 口径 of the MEE/NBS grid factors (as in `/api/v1/accounts`).
    pub caliber: Option<String>,
    /// Grid factor geography (default `national`).
    pub grid: Option<String>,
    /// Data year of the grid factor.
    pub electricity_year: Option<i32>,
    /// GWP set (as in `/api/v1/accounts`, default `AR6`).
    pub gwp: Option<String>,
    /// Factor versions to use, `id:version` separated by commas (as in `/api/v1/accounts`).
    pub pins: Option<String>,
    /// Let unconfirmed factors be chosen by default (as in `/api/v1/accounts`).
    pub allow_unconfirmed: Option<bool>,
    /// Industry averages of L to compare with, `industry:L` separated by commas (default:
    /// computed over the graded enterprises of each industry).
    pub industry_average: Option<String>,
}

/// Carbon-efficiency grades (工业碳效码, DB33/T 1347-2023) of the enterprises under a node:
/// L, the industry average, K, grade 1–5 and 低/中/高碳, ranked.
#[utoipa::path(get, path = "/api/v1/carbon-grades", tag = "accounting", params(GradeParams),
    responses((status = 200, body = GradeReport), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn carbon_grades(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<GradeParams>,
) -> Result<Json<GradeReport>, ApiError> {
    let as_account = AccountParams {
        node: params.node.clone(),
        period: params.period.clone(),
        regime: params.regime.clone(),
        caliber: params.caliber.clone(),
        grid: params.grid.clone(),
        electricity_year: params.electricity_year,
        gwp: params.gwp.clone(),
        pins: params.pins.clone(),
        allow_unconfirmed: params.allow_unconfirmed,
        electricity: None,
        kgce_per_kwh: None,
        natural_gas: None,
        format: None,
        lang: None,
    };
    let (period, settings, _) = settings_of(&as_account, &state.config)?;
    let mut averages = BTreeMap::new();
    for pair in params
        .industry_average
        .iter()
        .flat_map(|s| s.split(','))
        .filter(|s| !s.is_empty())
    {
        let (industry, l) = pair
            .rsplit_once(':')
            .and_then(|(i, l)| Some((i, l.parse::<f64>().ok().filter(|l| *l > 0.0)?)))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "industry_average: {pair:?} is not industry:L with L > 0"
                ))
            })?;
        averages.insert(industry.to_string(), l);
    }
    let node = params.node;
    let report = blocking(&state.platform, move |p| {
        check_node(p, &principal, &node)?;
        Ok(p.carbon_grades(&node, period, &settings, &averages)?)
    })
    .await?;
    Ok(Json(report))
}

/// One factor of the library.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FactorRow {
    /// `grid`, `fuel`, `process`, `heat`, `coal_equivalent` or `gwp`.
    pub kind: String,
    /// Id.
    pub id: String,
    /// Version.
    pub version: u32,
    /// What it applies to (series and region, fuel name, subject, gas).
    pub subject: String,
    /// Data year, if any.
    pub data_year: Option<i32>,
    /// Value (for fuels: the NCV, or the carbon content when no NCV is given).
    pub value: f64,
    /// Unit.
    pub unit: String,
    /// Fuels: carbon content tC/GJ.
    pub carbon_content: Option<f64>,
    /// Fuels: oxidation rate.
    pub oxidation: Option<f64>,
    /// Fuels: CO2 kg/TJ (IPCC).
    pub co2_kg_per_tj: Option<f64>,
    /// Publisher and document.
    pub document: String,
    /// Table or clause.
    pub table: String,
    /// V1, V2, S or U.
    pub status: Status,
    /// Retired (kept for reproducing old results).
    pub retired: bool,
}

/// The factor library: shipped factors with their sources and verification status, and the
/// factors users added.
#[utoipa::path(get, path = "/api/v1/factors", tag = "accounting",
    responses((status = 200, body = Vec<FactorRow>)))]
pub async fn list_factors(State(state): State<AppState>) -> Json<Vec<FactorRow>> {
    let lib = state.platform.factor_library();
    let row = |kind: &str,
               f: &shulv_carbon::FactorRef,
               subject: String,
               data_year: Option<i32>,
               retired: bool| FactorRow {
        kind: kind.into(),
        id: f.id.clone(),
        version: f.version,
        subject,
        data_year,
        value: f.value,
        unit: f.unit.clone(),
        carbon_content: None,
        oxidation: None,
        co2_kg_per_tj: None,
        document: f.document.clone(),
        table: f.table.clone(),
        status: f.status,
        retired,
    };
    let mut out = Vec::new();
    for g in lib.grid_factors() {
        out.push(row(
            "grid",
            &g.factor,
            format!("{} {}", g.series, g.region),
            g.data_year,
            g.retired,
        ));
    }
    for f in lib.fuels() {
        let mut r = row(
            "fuel",
            &f.factor,
            format!("{} ({})", f.name, f.guideline),
            None,
            f.retired,
        );
        r.carbon_content = f.carbon_content;
        r.oxidation = f.oxidation;
        r.co2_kg_per_tj = f.co2_kg_per_tj;
        out.push(r);
    }
    for p in lib.process_factors() {
        out.push(row(
            "process",
            &p.factor,
            format!("per {}", p.activity_unit),
            None,
            p.retired,
        ));
    }
    for o in lib.other_factors() {
        out.push(row(&o.kind, &o.factor, o.subject.clone(), None, false));
    }
    for g in lib.gwp_values() {
        let f = shulv_carbon::FactorRef {
            id: format!("gwp:{}:{}", g.set, g.gas),
            version: 1,
            value: g.value,
            unit: "tCO2e/t".into(),
            document: format!("IPCC {}", g.set),
            table: "GWP-100".into(),
            status: g.status,
        };
        out.push(row("gwp", &f, format!("{} {}", g.gas, g.set), None, false));
    }
    Json(out)
}

/// Answer of `POST /api/v1/factors/{kind}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FactorsAdded {
    /// Rows added.
    pub added: usize,
}

/// Adds factors from a CSV file in the format of the shipped files (`fuels`, `grid` or
/// `process`; see docs/carbon.md). Rows are validated (units, plausible ranges, status); an
/// existing id and version is refused (add a new version); a `retired` column retires a
/// version. Administrators only: factors are shared by every inventory.
#[utoipa::path(post, path = "/api/v1/factors/{kind}", tag = "accounting",
    params(("kind" = String, Path, description = "fuels, grid or process")),
    request_body(content = String, description = "CSV file", content_type = "text/csv"),
    responses((status = 200, body = FactorsAdded), (status = 400, description = "Invalid file; nothing added", body = ErrorBody)))]
pub async fn add_factors(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(ip): Extension<ClientIp>,
    Path(kind): Path<String>,
    body: Bytes,
) -> Result<Json<FactorsAdded>, ApiError> {
    let kind: FactorKind = kind.parse().map_err(|e: String| ApiError::bad_request(e))?;
    let text = utf8(&body)?.to_string();
    let access = state.access.clone();
    let added = blocking(&state.platform, move |p| {
        let result = p.add_factors(kind, &text);
        let entry = audit_entry(
            &principal,
            &ip,
            "factors.add",
            &format!("{kind:?}").to_lowercase(),
        );
        let details = result
            .as_ref()
            .map_or(serde_json::json!({}), |n| serde_json::json!({ "rows": n }));
        let entry = entry.result(&result, details);
        access.audit.record(&entry).map_err(audit_failed)?;
        Ok(result?)
    })
    .await?;
    Ok(Json(FactorsAdded { added }))
}
