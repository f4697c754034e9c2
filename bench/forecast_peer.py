"""statsforecast MSTL on the same series and origins as `shulv forecast backtest`.

Usage: python forecast_peer.py CSV TIME_COL HOUR_COL|- VALUE_COL FROM ORIGINS STEP_DAYS HORIZON
Prints one JSON line: median seconds per fit + forecast, MAPE over the origins.
Cleaning as shulv does it: sort, average duplicate hours, interpolate missing hours.
"""
import json
import sys
import time

import numpy as np
import pandas as pd
from statsforecast.models import MSTL, AutoETS

csv, time_col, hour_col, value_col, start, origins, step_days, horizon = sys.argv[1:9]
origins, step_days, horizon = int(origins), int(step_days), int(horizon)
df = pd.read_csv(csv)
if hour_col != "-":
    t = pd.to_datetime(df[time_col], format="%Y/%m/%d") + pd.to_timedelta(df[hour_col] - 1, unit="h")
else:
    t = pd.to_datetime(df[time_col])
s = pd.Series(df[value_col].values, index=t.dt.floor("h")).dropna()
s = s.groupby(level=0).mean().sort_index()
s = s.asfreq("h").interpolate()
window = 12 * 168

def fit_predict(y):
    m = MSTL(season_length=[24, 168], trend_forecaster=AutoETS(model="ZZN"))
    m.fit(y)
    return m.predict(h=horizon)["mean"]

first = pd.Timestamp(start)
fit_predict(s[:first].values[-window - 1:-1].astype(float))  # numba warm-up, not timed
times, ape = [], []
for k in range(origins):
    o = first + pd.Timedelta(days=step_days * k)
    hist = s[s.index < o].values[-window:].astype(float)
    actual = s[o:].values[:horizon]
    t0 = time.perf_counter()
    f = fit_predict(hist)
    times.append(time.perf_counter() - t0)
    ape.extend(np.abs((actual - f) / actual))
print(json.dumps({
    "peer": "statsforecast MSTL(season_length=[24,168], trend_forecaster=AutoETS(model='ZZN'))",
    "origins": origins,
    "median_s": float(np.median(times)),
    "mape": float(100 * np.mean(ape)),
}))
