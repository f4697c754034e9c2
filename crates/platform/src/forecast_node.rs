//! A node's forecast (bottom-up over its meters): the carrier groups, the model each group
//! runs, and the P10/P50/P90 combination of the meters' parts (see forecasting.rs).

use chrono::NaiveDateTime;
use shulv_forecast::{ModelKind, Selection};
use shulv_model::{Carrier, MeterSpec, Unit};

use crate::error_correlation::{change_correlations, correlated_spread};
use crate::forecast_meter::{par_map, run_meter, select, Ctx};
use crate::forecasting::{
    ForecastRequest, Group, Hourly, MeterComponent, MeterRun, NodeIntervals, SkippedMeter,
};
use crate::query::group_unit;
use crate::weather::follows_weather;
use crate::{Platform, PlatformError};

impl Platform {
    /// The carrier series of a node: per (carrier, unit) group the bottom-up P50 with its
    /// P10/P90, the notes, the automatic choice and each meter's part; and the skipped meters.
    pub(crate) fn node_forecast(
        &self,
        meters: &[MeterSpec],
        req: &ForecastRequest,
        ctx: &Ctx<'_>,
    ) -> Result<(Vec<NodeSeries>, Vec<SkippedMeter>), PlatformError> {
        let data = self.meters_history(meters, ctx)?;
        // Carrier groups as in the node query: (carrier, unit) with the meters converted.
        let mut groups: Vec<Group> = Vec::new();
        for (i, m) in meters.iter().enumerate() {
            let unit = m.quantity_unit();
            let target_unit = group_unit(m.carrier, unit);
            let factor = unit.convert(1.0, target_unit).unwrap_or(1.0);
            match groups
                .iter_mut()
                .find(|g| g.0 == m.carrier && g.1 == target_unit)
            {
                Some(g) => g.2.push((i, factor)),
                None => groups.push((m.carrier, target_unit, vec![(i, factor)])),
            }
        }
        groups.sort_by_key(|g| (g.0.to_string(), g.1.to_string()));
        // Phase 1, per group in parallel: the summed series, the automatic choice on it (one
        // per carrier: a backtest per meter would take minutes on a park) and, for `summed`
        // intervals, the forecast of the summed series.
        let plans = par_map(&groups, |(carrier, _, members)| {
            let y = summed(&data, members);
            plan_group(*carrier, &y, req, ctx)
        });
        // Phase 2, every meter in parallel with its group's model.
        let jobs: Vec<(usize, usize, f64)> = groups
            .iter()
            .enumerate()
            .flat_map(|(g, (_, _, members))| members.iter().map(move |&(i, f)| (g, i, f)))
            .collect();
        let runs = par_map(&jobs, |&(g, i, _)| {
            run_meter(&data[i], plans[g].kind, ctx, follows_weather(groups[g].0))
        });
        let mut out = Vec::new();
        let mut skipped = Vec::new();
        let mut runs = jobs.iter().zip(runs);
        for (g, ((carrier, unit, members), plan)) in groups.iter().zip(plans).enumerate() {
            let mut comps: Vec<MeterComponent> = Vec::new();
            let mut histories: Vec<&[(NaiveDateTime, f64)]> = Vec::new();
            for (&(jg, i, factor), run) in runs.by_ref().take(members.len()) {
                debug_assert_eq!(jg, g);
                let m = &meters[i];
                match run {
                    Ok(r) => {
                        let scale = |v: &[f64]| v.iter().map(|x| x * factor).collect();
                        let mut notes = r.cleaning;
                        notes.extend(r.notes);
                        histories.push(&data[i]);
                        comps.push(MeterComponent {
                            meter: m.id.clone(),
                            model: r.kind.name().into(),
                            settings: r.settings,
                            p10: scale(&r.p10),
                            p50: scale(&r.p50),
                            p90: scale(&r.p90),
                            notes,
                        });
                    }
                    Err(e) => skipped.push(SkippedMeter {
                        meter: m.id.clone(),
                        carrier: *carrier,
                        reason: e.to_string(),
                    }),
                }
            }
            if comps.is_empty() {
                continue;
            }
            let mut notes = plan.notes;
            let fallbacks = comps.iter().filter(|c| c.model != plan.kind.name()).count();
            if fallbacks > 0 {
                notes.push(format!(
                    "{fallbacks} of {} meters fell back to another model (see meters)",
                    comps.len()
                ));
            }
            let spread = match (req.intervals, plan.summed) {
                (NodeIntervals::Summed, Some(s)) => Spread::Summed(s),
                (NodeIntervals::Summed, None) => {
                    notes.push(
                        "the node's summed series could not be forecast: P10/P90 by root sum of squares of the meters' deviations (independent errors) instead".into(),
                    );
                    Spread::Independent
                }
                (NodeIntervals::Independent, _) => Spread::Independent,
                (NodeIntervals::Correlated, _) => {
                    Spread::Correlated(change_correlations(&histories, ctx.origin))
                }
            };
            let p = combine(&comps, req.horizon, &spread);
            out.push((*carrier, *unit, p, notes, plan.selection, comps));
        }
        Ok((out, skipped))
    }
}

/// A node's forecast of one carrier group: carrier, unit, [P10, P50, P90], notes, the
/// automatic choice, each meter's part.
pub(crate) type NodeSeries = (
    Carrier,
    Unit,
    [Vec<f64>; 3],
    Vec<String>,
    Option<Selection>,
    Vec<MeterComponent>,
);

/// What a carrier group of a node runs: the model of its meters, the automatic choice, the
/// forecast of its summed series (for `summed` intervals) and notes.
pub(crate) struct GroupPlan {
    pub(crate) kind: ModelKind,
    pub(crate) selection: Option<Selection>,
    pub(crate) summed: Option<MeterRun>,
    pub(crate) notes: Vec<String>,
}

/// The hourly sum of a group's meters (each converted by its factor), hour by hour.
pub(crate) fn summed(data: &[Hourly], members: &[(usize, f64)]) -> Hourly {
    let mut sum: std::collections::BTreeMap<NaiveDateTime, f64> = Default::default();
    for &(i, factor) in members {
        for &(t, v) in &data[i] {
            *sum.entry(t).or_default() += v * factor;
        }
    }
    sum.into_iter().collect()
}

/// Chooses the model of a group on its summed series (with `auto`) and forecasts that series
/// (for `summed` intervals).
pub(crate) fn plan_group(
    carrier: Carrier,
    y: &[(NaiveDateTime, f64)],
    req: &ForecastRequest,
    ctx: &Ctx<'_>,
) -> GroupPlan {
    let mut plan = GroupPlan {
        kind: req.model,
        selection: None,
        summed: None,
        notes: Vec::new(),
    };
    let weather = follows_weather(carrier);
    if req.model == ModelKind::Auto {
        match select(y, ctx, weather) {
            Ok(sel) => {
                plan.kind = sel.chosen;
                plan.notes.push(format!(
                    "model chosen on the summed {carrier} series of the node: {}",
                    plan.kind.name()
                ));
                plan.selection = Some(sel);
            }
            Err(e) => {
                plan.kind = ModelKind::Naive24;
                plan.notes
                    .push(format!("automatic choice not possible ({e}); naive24 used"));
            }
        }
    }
    if req.intervals == NodeIntervals::Summed {
        plan.summed = run_meter(y, plan.kind, ctx, weather).ok();
    }
    plan
}

/// Where a node's P10/P90 spread comes from.
pub(crate) enum Spread {
    /// The spread of a forecast of the summed series.
    Summed(MeterRun),
    /// Root sum of squares of the meters' deviations.
    Independent,
    /// The meters' deviations combined with these correlations (row-major, meters × meters).
    Correlated(Vec<f64>),
}

/// Sums the meters' P50s hour by hour and makes P10/P90 around it from `spread`.
pub(crate) fn combine(comps: &[MeterComponent], h: usize, spread: &Spread) -> [Vec<f64>; 3] {
    let mut p10 = vec![0.0; h];
    let mut p50 = vec![0.0; h];
    let mut p90 = vec![0.0; h];
    let mut below = Vec::with_capacity(comps.len());
    let mut above = Vec::with_capacity(comps.len());
    for i in 0..h {
        below.clear();
        above.clear();
        for c in comps {
            p50[i] += c.p50[i];
            below.push((c.p50[i] - c.p10[i]).max(0.0));
            above.push((c.p90[i] - c.p50[i]).max(0.0));
        }
        let rss = |d: &[f64]| d.iter().map(|v| v * v).sum::<f64>().sqrt();
        let (down, up) = match spread {
            Spread::Summed(s) => (
                (s.p50[i] - s.p10[i]).max(0.0),
                (s.p90[i] - s.p50[i]).max(0.0),
            ),
            Spread::Independent => (rss(&below), rss(&above)),
            Spread::Correlated(rho) => (
                correlated_spread(&below, rho),
                correlated_spread(&above, rho),
            ),
        };
        p10[i] = p50[i] - down;
        p90[i] = p50[i] + up;
    }
    [p10, p50, p90]
}
