// Time-of-use periods (尖峰/高峰/平段/低谷/深谷): their order and colours, the month × 15-minute
// grid of a tariff file, and the shaded areas (ECharts markArea) of a plan's step periods.

/** Every period, dearest first (the tariff crate's `PeriodKind`). */
export const PERIODS = ['critical_peak', 'peak', 'flat', 'valley', 'deep_valley'];

/** Solid colours (legend, grid cells) and translucent ones (chart shading). */
export const PERIOD_COLOURS = {
  critical_peak: '#b3261e', peak: '#e0873a', flat: '#e8d27a', valley: '#6fa8dc', deep_valley: '#2f5f9e',
};
const SHADES = {
  critical_peak: 'rgba(179,38,30,0.16)', peak: 'rgba(224,135,58,0.14)', flat: 'rgba(232,210,122,0.12)',
  valley: 'rgba(111,168,220,0.14)', deep_valley: 'rgba(47,95,158,0.18)',
};

const SLOTS_PER_DAY = 96;

/** The 15-minute slot of a window bound `HH:MM` (`24:00` = 96). */
function slotOf(hhmm) {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 4 + Math.floor(m / 15);
}

/**
 * The period of every 15-minute slot of an ordinary day of each month (index 0 = January) of
 * a tariff file, with the file's precedence: the season's default, its windows, then the
 * critical-peak windows in the critical-peak months. Holiday rules and temperature-triggered
 * days change single days and are listed beside the grid, not in it.
 */
export function periodGrid(file) {
  const grid = Array.from({ length: 12 }, () => null);
  for (const season of file.season) {
    const slots = new Array(SLOTS_PER_DAY).fill(season.default || 'flat');
    for (const w of season.windows) slots.fill(w.period, slotOf(w.from), slotOf(w.to));
    for (const m of season.months) grid[m - 1] = [...slots];
  }
  const cp = file.critical_peak;
  if (cp) {
    for (const m of cp.months || []) {
      for (const w of cp.windows) grid[m - 1].fill('critical_peak', slotOf(w.from), slotOf(w.to));
    }
  }
  return grid;
}

/** Runs of equal periods in `periods` (one per step): `[{ period, from, to }]`, `to` exclusive. */
export function periodRuns(periods) {
  const runs = [];
  periods.forEach((p, i) => {
    const last = runs[runs.length - 1];
    if (last && last.period === p) last.to = i + 1;
    else runs.push({ period: p, from: i, to: i + 1 });
  });
  return runs;
}

/** A markArea shading each run of `periods` on a value axis counted in steps, named by `label`. */
export function periodMarkArea(periods, label) {
  return {
    silent: true,
    label: { show: false },
    data: periodRuns(periods).map((r) => [
      { xAxis: r.from, name: label(r.period), itemStyle: { color: SHADES[r.period] } },
      { xAxis: r.to },
    ]),
  };
}
