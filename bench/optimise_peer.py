"""EMHASS side of bench/optimise.sh: solves the same problem as shulv and reports the cost of
its plan under the shared cost definition, its constraint check and its solve times.

Input: a shulv problem file (JSON, written by `bench problem emhass`): load, PV and prices per
step, one battery, interruptible deferrable loads, export allowed at price 0. The problem is
translated into EMHASS's configuration (W and Wh; its default config with these overrides),
solved with EMHASS's own MILP (CVXPY + HiGHS), and the plan is costed as
  sum over steps of buy_price * import_kW * dt - sell_price * export_kW * dt,
the same number shulv reports as `cost.total` for this problem (no wear, no demand charge).

Output: one JSON line.
"""

import asyncio
import json
import logging
import pathlib
import statistics
import sys
import time

import numpy as np
import pandas as pd
from emhass import utils
from emhass.optimization import Optimization


def emhass_inputs(p):
    n = len(p["load_kw"])
    dt_min = p["step_minutes"]
    b = p["batteries"][0]
    loads = p["shiftable"]
    root = pathlib.Path(utils.__file__).parent
    emhass_conf = {
        "root_path": root,
        "data_path": pathlib.Path("/tmp"),
        "defaults_path": root / "data/config_defaults.json",
        "associations_path": root / "data/associations.csv",
    }
    logger = logging.getLogger("emhass-bench")
    logger.setLevel(logging.ERROR)
    config = asyncio.run(utils.build_config(emhass_conf, logger, str(emhass_conf["defaults_path"])))
    starts, ends = [], []
    for s in loads:
        w = s["windows"][0] if s["windows"] else [0, 0]
        starts.append(w[0])
        ends.append(w[1] if s["windows"] else 0)
    config.update(
        {
            "optimization_time_step": dt_min,
            "delta_forecast_daily": 1,
            "costfun": "profit",
            "lp_solver_mip_rel_gap": p["settings"]["mip_gap"],
            "lp_solver_timeout": 45,
            "num_threads": 1,
            "set_use_battery": True,
            "number_of_batteries": 1,
            "battery_nominal_energy_capacity": b["energy_kwh"] * 1000.0,
            "battery_charge_power_max": b["charge_kw"] * 1000.0,
            "battery_discharge_power_max": b["discharge_kw"] * 1000.0,
            "battery_charge_efficiency": b["charge_efficiency"],
            "battery_discharge_efficiency": b["discharge_efficiency"],
            "battery_minimum_state_of_charge": b["soc_min"],
            "battery_maximum_state_of_charge": b["soc_max"],
            "battery_target_state_of_charge": b["soc_final"],
            "weight_battery_charge": 0.0,
            "weight_battery_discharge": 0.0,
            "battery_stress_cost": 0.0,
            "number_of_deferrable_loads": len(loads),
            "nominal_power_of_deferrable_loads": [s["power_kw"] * 1000.0 for s in loads],
            "minimum_power_of_deferrable_loads": [0.0] * len(loads),
            "operating_hours_of_each_deferrable_load": [
                s["run_steps"] * dt_min / 60.0 for s in loads
            ],
            "start_timesteps_of_each_deferrable_load": starts,
            "end_timesteps_of_each_deferrable_load": ends,
            "treat_deferrable_load_as_semi_cont": [True] * len(loads),
            "set_deferrable_load_single_constant": [not s["interruptible"] for s in loads],
            "set_deferrable_startup_penalty": [0.0] * len(loads),
            "set_deferrable_max_startups": [0] * len(loads),
            "def_minimum_on_time": [0] * len(loads),
            "def_minimum_off_time": [0] * len(loads),
            "is_electric_load": [True] * len(loads),
            "cost_forecast_per_deferrable_load": [None] * len(loads),
            "deferrable_load_max_cost": [0.0] * len(loads),
            "maximum_power_from_grid": (p.get("import_limit_kw") or 1e6) * 1000.0,
            "maximum_power_to_grid": (p.get("export_limit_kw") or 0.0) * 1000.0,
            "compute_curtailment": False,
            "set_nocharge_from_grid": False,
            "set_nodischarge_to_grid": True,
        }
    )
    params = asyncio.run(utils.build_params(emhass_conf, {}, config, logger))
    rh, oc, pc = utils.get_yaml_parse(params, logger)
    index = pd.date_range("2025-07-01", periods=n, freq=f"{dt_min}min", tz="Asia/Shanghai")
    rh["time_zone"] = index.tz
    return emhass_conf, logger, rh, oc, pc, index


def solve(p, inputs, opt=None):
    emhass_conf, logger, rh, oc, pc, index = inputs
    n = len(p["load_kw"])
    if opt is None:
        opt = Optimization(
            rh, oc, pc, "unit_load_cost", "unit_prod_price", "profit", emhass_conf, logger,
            opt_time_delta=n * p["step_minutes"] / 60.0, num_timesteps=n,
        )
    buy = np.array(p["buy_price"])
    sell = np.array(p["sell_price"] or [0.0] * n)
    data = pd.DataFrame({"unit_load_cost": buy, "unit_prod_price": sell}, index=index)
    b = p["batteries"][0]
    t = time.perf_counter()
    out = opt.perform_optimization(
        data,
        np.array(p["pv_kw"]) * 1000.0,
        np.array(p["load_kw"]) * 1000.0,
        buy,
        sell,
        soc_init=b["soc_initial"],
        soc_final=b["soc_final"],
    )
    return opt, out, (time.perf_counter() - t) * 1000.0


def check_and_cost(p, out):
    n = len(p["load_kw"])
    dt = p["step_minutes"] / 60.0
    g = out["P_grid_pos"].to_numpy() / 1000.0
    x = -out["P_grid_neg"].to_numpy() / 1000.0
    buy = np.array(p["buy_price"])
    sell = np.array(p["sell_price"] or [0.0] * n)
    cost = float(np.sum(buy * g * dt) - np.sum(sell * x * dt))
    problems = []
    for k, s in enumerate(p["shiftable"]):
        kw = out[f"P_deferrable{k}"].to_numpy() / 1000.0
        energy = float(kw.sum() * dt)
        want = s["power_kw"] * s["run_steps"] * dt
        if abs(energy - want) > 1e-3 * want:
            problems.append(f"{s['name']}: {energy:.3f} kWh, {want:.3f} required")
        if s["windows"]:
            a, e = s["windows"][0]
            outside = [i for i in range(n) if kw[i] > 1e-6 and not (a <= i < e)]
            if outside:
                problems.append(f"{s['name']}: runs outside [{a}, {e}) at {outside}")
    soc_end = float(out["SOC_opt"].to_numpy()[-1])
    target = p["batteries"][0]["soc_final"]
    if soc_end < target - 1e-4:
        problems.append(f"final SoC {soc_end:.4f} below the target {target}")
    return cost, problems, soc_end


def main():
    path, runs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 11
    p = json.load(open(path))
    inputs = emhass_inputs(p)
    cold = []
    for _ in range(max(1, runs // 2)):
        opt, out, ms = solve(p, inputs)
        cold.append(ms)
    warm = []
    for _ in range(runs):
        _, out, ms = solve(p, inputs, opt)
        warm.append(ms)
    cost, problems, soc_end = check_and_cost(p, out)
    status = str(out["optim_status"].iloc[0]) if "optim_status" in out else "?"
    print(
        json.dumps(
            {
                "peer": "emhass",
                "status": status,
                "objective": cost,
                "soc_end": soc_end,
                "violations": problems,
                "median_ms_new_problem": statistics.median(cold),
                "median_ms_warm_resolve": statistics.median(warm),
                "runs": runs,
            }
        )
    )


if __name__ == "__main__":
    main()
