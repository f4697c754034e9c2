// End-to-end test of the web console: starts the real `shulv demo` on a fresh data directory,
// drives headless Chromium (/usr/bin/chromium through playwright-core) through login, the
// overview, the tree and a meter chart, a range change, the carbon inventory with a CSV
// download, the forecast, the forms and the language switch; saves screenshots of every main
// page; fails on any console error or failed request in the browser and on any page whose
// median load (after one warm-up load) takes 1 s or more. Usage: node e2e/console.test.mjs <shulv binary> <artifacts dir>
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [bin, artifacts] = process.argv.slice(2);
if (!bin || !artifacts) throw new Error('usage: node e2e/console.test.mjs <shulv binary> <artifacts dir>');
const LOADS = Number(process.env.CONSOLE_LOADS || 5);
const LIMIT_MS = 1000;
mkdirSync(artifacts, { recursive: true });

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts `shulv demo` and resolves with its URL and console password once /healthz answers. */
async function startDemo(dataDir, port) {
  const child = spawn(bin, ['demo', '--data', dataDir, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`shulv demo exited early:\n${out}`);
    const password = /console login .*password (\S+)/.exec(out);
    const token = /admin token \(shown once, keep it\): (\S+)/.exec(out);
    if (password && token) {
      try {
        const r = await fetch(`${url}/healthz`);
        if (r.ok) return { child, url, password: password[1], token: token[1] };
      } catch {
        // not listening yet
      }
    }
    if (Date.now() > deadline) throw new Error(`shulv demo did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const problems = [];
/**
 * Refusals a step provokes on purpose (a form the server refuses): each one excuses exactly one
 * HTTP response with that method, path and status, and the console error Chromium logs for
 * that response; anything else of status 400 or more is a problem.
 */
const expected = [];
const pathOf = (url) => new URL(url).pathname;
function watch(page) {
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const url = m.location()?.url || '';
    const e = expected.find((x) => !x.console && url && pathOf(url) === x.path && m.text().includes(`status of ${x.status}`));
    if (e) e.console = true;
    else problems.push(`console error: ${m.text()} (${page.url()})`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message} (${page.url()})`));
  page.on('requestfailed', (r) => {
    // A download's navigation or an aborted chart fetch on page change is not a failure of the app.
    if (!/ERR_ABORTED/.test(r.failure()?.errorText || '')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() < 400) return;
    const e = expected.find((x) => !x.response && x.method === r.request().method() && pathOf(r.url()) === x.path && x.status === r.status());
    if (e) e.response = true;
    else problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
}

/** Runs `step`, which must provoke exactly one `status` answer to `method path`. */
async function expectRefusal(method, path, status, step) {
  const e = { method, path, status, response: false, console: false };
  expected.push(e);
  try {
    await step();
    // Chromium logs the refused request on the console; give that message time to arrive.
    for (let i = 0; i < 20 && !e.console; i++) await new Promise((r) => setTimeout(r, 100));
  } finally {
    expected.splice(expected.indexOf(e), 1);
  }
  check(e.response, `expected ${method} ${path} to be refused with ${status}`);
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

const READY = {
  overview: ['[data-kpi=alarms]', '.chart[data-rendered=yes]'],
  explore: ['[data-source]', '.chart[data-rendered=yes]'],
  carbon: ['[data-total]', '[data-grades] table', '.chart[data-rendered=yes]'],
  forecast: ['[data-forecast-info]', '.chart[data-rendered=yes]'],
  tariffs: ['[data-tou-grid] [data-month="12"]', '[data-tariff-prices] tbody tr', '[data-tariff-provenance] tbody tr'],
  bill: ['[data-bill-total]', '[data-bill-periods] tbody tr', '.chart[data-rendered=yes]'],
  schedule: ['[data-schedule-used]', '[data-schedule-power] .chart[data-rendered=yes]', '[data-schedule-battery] .chart[data-rendered=yes]'],
  manage: ['table tbody tr'],
};

async function ready(page, name) {
  for (const sel of READY[name]) await page.waitForSelector(sel, { timeout: 30_000 });
}

/** Full navigation to `path` until the page's charts and tables are rendered, in ms. */
async function timedLoad(page, base, path, name) {
  const t0 = performance.now();
  await page.goto(base + path);
  await ready(page, name);
  return performance.now() - t0;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const CJK = /[\u3400-\u9fff]/;
/** What the printable inventory of the park holds: the entity, the totals, the lines, the factors. */
const HTML_INVENTORY = ['<html', '<code>shulv-park</code>', 'id="totals"', 'id="lines"', 'id="factors"'];


/** Counts the requests `method path` made while `step` runs (forms that must not send). */
async function requestsDuring(page, method, path, step) {
  let n = 0;
  const seen = (r) => { if (r.method() === method && pathOf(r.url()) === path) n += 1; };
  page.on('request', seen);
  try {
    await step();
  } finally {
    page.off('request', seen);
  }
  return n;
}

/** Saves the download a click on `selector` starts and returns its bytes. */
async function downloadOf(page, selector, path) {
  const [d] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  await d.saveAs(path);
  return readFileSync(path);
}

const ZJ = 'cn-zj-1-10kv-two-part';
const E2E_VERSION = 'e2e-2026-03';

/**
 * Tariffs: the Zhejiang preset's grid against its document, component prices against the
 * server's all-in prices, the add-version form (a browser check, a file the server refuses
 * with 400 and its message, then a new version). Answers the period grid of the preset.
 */
async function tariffPages(page, shot) {
  await page.click('[data-nav=tariffs]');
  await ready(page, 'tariffs');
  await page.click(`[data-open-tariff^="${ZJ}@"]`);
  await page.waitForFunction((id) => document.querySelector('[data-tariff-identity]')?.textContent.includes(id), ZJ);
  const grid = await page.$$eval('[data-tou-grid] [data-month]', (els) => els.map((e) => e.dataset.slots.split(',')));
  check(grid.length === 12 && grid.every((r) => r.length === 96), 'the tariff grid is not 12 months × 96 slots');
  // 浙发改价格〔2024〕21号: January 09:00–11:00 critical peak, 00:00–08:00 valley; March 08:00–11:00 peak.
  check(grid[0][36] === 'critical_peak' && grid[0][0] === 'valley' && grid[2][32] === 'peak', `Zhejiang grid: ${grid[0].slice(32, 44)}`);
  const prices = await page.$$eval('[data-tariff-prices] tbody tr', (trs) => trs.map((tr) => ({
    period: tr.dataset.period, allIn: Number(tr.dataset.allIn), parts: [...tr.querySelectorAll('[data-component-price]')].map((td) => Number(td.dataset.value)),
  })));
  check(prices.length >= 4, `tariff prices: ${JSON.stringify(prices)}`);
  for (const r of prices) check(Math.abs(r.parts.reduce((a, b) => a + b, 0) - r.allIn) < 1e-9, `components of ${r.period} do not add up to ${r.allIn}`);
  check(await page.$('[data-tariff-provenance] [data-part="component.purchase"]'), 'no provenance of the purchase price');
  await shot('tariffs-zh');

  // The browser checks the form first: nothing is sent without a version.
  const sent = await requestsDuring(page, 'POST', '/api/v1/tariffs', async () => {
    await page.click('[data-save-tariff]');
    await page.waitForFunction(() => document.querySelector('[data-error=version]')?.textContent === '必填');
  });
  check(sent === 0, 'the tariff form sent an incomplete version');
  // A window off the 15-minute grid: the server refuses the file and the form shows why.
  await page.click('[data-toml-mode]');
  const toml = await page.inputValue('[data-tariff-toml]');
  check(toml.includes(`id = "${ZJ}"`) && toml.includes('[[season]]'), `TOML of the tariff: ${toml.slice(0, 120)}`);
  await page.fill('[data-tariff-toml]', toml.replace('to = "13:00"', 'to = "12:10"').replace(/^version = .*$/m, `version = "${E2E_VERSION}"`));
  await expectRefusal('POST', '/api/v1/tariffs', 400, async () => {
    await page.click('[data-save-tariff]');
    await page.waitForSelector('[data-tariff-error]');
  });
  const refusal = await page.textContent('[data-tariff-error]');
  check(/HTTP 400.*season\[0\]\.windows\[\d\]\.to.*12:10/.test(refusal), `tariff refusal shown as: ${refusal}`);
  await shot('tariffs-refused-zh');
  // A new version with a new purchase price, from the form.
  await page.click('[data-toml-mode]');
  await page.fill('[data-tariff-version]', E2E_VERSION);
  await page.fill('[data-price=purchase]', '0.45');
  await page.fill('[data-tariff-source]', 'e2e 测试价格表');
  const flatBefore = Number(await page.getAttribute('[data-tariff-prices] tr[data-period=flat]', 'data-all-in'));
  await page.click('[data-save-tariff]');
  await page.waitForSelector(`[data-tariff="${ZJ}@${E2E_VERSION}"]`);
  await page.waitForFunction((v) => document.querySelector('[data-tariff-identity]')?.textContent.includes(v), E2E_VERSION);
  const flatAfter = Number(await page.getAttribute('[data-tariff-prices] tr[data-period=flat]', 'data-all-in'));
  check(Math.abs(flatAfter - flatBefore - 0.02) < 1e-9, `flat price ${flatBefore} → ${flatAfter}, expected +0.02`);
  const purchase = await page.textContent('[data-tariff-provenance] [data-part="component.purchase"]');
  check(purchase.includes('V1') && purchase.includes('e2e 测试价格表'), `provenance of the new price: ${purchase}`);
  return grid;
}

/** Bills: the default bill names the new version; a browser check; the methods compared. */
async function billPage(page, shot) {
  await page.click('[data-nav=bill]');
  await ready(page, 'bill');
  const used = await page.textContent('[data-bill-used]');
  check(used.includes(ZJ) && used.includes(E2E_VERSION), `the bill does not name the newest version: ${used}`);
  const node = await page.inputValue('[data-bill-node]');
  const period = await page.inputValue('[data-bill-period]');
  const maxDemand = Number(await page.getAttribute(`[data-bill-basic-months] tr[data-month="${period}"]`, 'data-max-demand'));
  const maxDemandAt = Number(await page.getAttribute(`[data-bill-basic-months] tr[data-month="${period}"] [data-max-demand-at]`, 'data-max-demand-at'));
  check(maxDemand > 0, `maximum demand of ${period}: ${maxDemand}`);
  const rows = await page.$$eval('[data-bill-periods] tbody tr[data-period]', (trs) => trs.map((tr) => tr.dataset.period));
  check(rows.includes('peak') && rows.includes('valley'), `bill periods: ${rows}`);
  // The comparison needs the capacity: checked in the browser.
  await page.check('[data-bill-compare]');
  await page.fill('[data-bill-capacity]', '');
  const sent = await requestsDuring(page, 'GET', '/api/v1/bills', async () => {
    await page.click('[data-bill-run]');
    await page.waitForFunction(() => document.querySelector('[data-error=capacity]')?.textContent.length > 0);
  });
  check(sent === 0, 'the bill form sent a comparison without capacity');
  await page.selectOption('[data-bill-basic]', 'contract');
  await page.fill('[data-bill-capacity]', String(Math.ceil(maxDemand * 2)));
  await page.fill('[data-bill-contract]', String(Math.ceil(maxDemand * 0.8)));
  await page.click('[data-bill-run]');
  await page.waitForSelector('[data-bill-comparison] tbody tr');
  const options = await page.$$eval('[data-bill-comparison] tbody tr', (trs) => trs.map((tr) => tr.dataset.option));
  check(options.includes('capacity') && options.includes('actual_demand') && options.includes('contract_demand'), `compared methods: ${options}`);
  // The contract of 80 % of the maximum demand is exceeded: the note says so in the page's language.
  const lang = await page.evaluate(() => document.documentElement.lang);
  const notes = await page.$$eval('[data-bill-note]', (ps) => ps.map((p) => p.textContent));
  const chinese = (n) => /[\u4e00-\u9fff]/.test(n.replace(/发改办价格〔2016〕1583号/g, ''));
  check(notes.length > 0 && notes.every((n) => chinese(n) === lang.startsWith('zh')), `contract-demand notes (${lang}): ${notes}`);
  // Another tariff on the same data: both ranked cheapest first, this bill's total among them.
  const tariff = await page.inputValue('[data-bill-tariff]');
  const other = await page.$$eval('[data-bill-others] option', (os) => os.map((o) => o.value).find((v) => v.startsWith('cn-js-')));
  check(!!other, 'no Jiangsu preset to compare with');
  await page.selectOption('[data-bill-others]', [other]);
  await page.click('[data-bill-run]');
  await page.waitForSelector('[data-bill-tariffs] tbody tr');
  const ranked = await page.$$eval('[data-bill-tariffs] tbody tr', (trs) => trs.map((tr) => [tr.dataset.tariff, Number(tr.dataset.total)]));
  check(ranked.length === 2 && ranked[0][1] <= ranked[1][1], `tariffs compared: ${JSON.stringify(ranked)}`);
  const own = ranked.find(([k]) => k === tariff);
  const total = Number(await page.getAttribute('[data-bill-total]', 'data-value'));
  check(own && Math.abs(own[1] - total) < 1e-6 && ranked.some(([k]) => k === other), `compared ${JSON.stringify(ranked)}, bill ${tariff} ${total}`);
  // Guangdong's critical peaks fire on days whose maximum reaches 35 ℃: with the demo's
  // temperature meter, a July bill lists those days, each at or above the trigger, and bills
  // energy in 尖峰.
  const gd = await page.$$eval('[data-bill-tariff] option', (os) => os.map((o) => o.value).find((v) => v.startsWith('cn-gd-')));
  check(gd, 'no Guangdong tariff to compare');
  await page.selectOption('[data-bill-tariff]', gd);
  await page.selectOption('[data-bill-others]', []);
  await page.selectOption('[data-bill-basic]', 'none');
  await page.uncheck('[data-bill-compare]');
  await page.fill('[data-bill-period]', '2025-07');
  const weather = await page.$$eval('[data-bill-temperature] option', (os) => os.map((o) => o.value).find((v) => v));
  check(weather, 'the bill offers no temperature meter for the Guangdong tariff');
  await page.selectOption('[data-bill-temperature]', weather);
  await page.click('[data-bill-run]');
  await page.waitForSelector('[data-bill-critical]');
  const days = (await page.getAttribute('[data-bill-critical]', 'data-days')).split(',').filter(Boolean);
  const maxima = await page.$$eval('[data-bill-critical] tbody tr', (trs) => trs.map((tr) => Number(tr.dataset.max)));
  check(days.length > 0 && days.every((d) => d.startsWith('2025-07-')) && maxima.length === days.length && maxima.every((c) => c >= 35),
    `critical days ${days}, maxima ${maxima}`);
  const critical = await page.$('[data-bill-periods] tr[data-period=critical_peak]');
  check(critical, 'no 尖峰 line on a bill with critical-peak days');
  await shot('bill-zh');
  return { node, period, maxDemand, maxDemandAt };
}

/**
 * The schedule: a browser check, then a July day with a shiftable load, shaded by the
 * tariff's periods; the steps' periods (from the server) against the tariff grid (from the file).
 */
async function schedulePage(page, shot, grid) {
  await page.click('[data-nav=schedule]');
  await ready(page, 'schedule');
  const sent = await requestsDuring(page, 'POST', '/api/v1/schedules', async () => {
    await page.fill('[data-schedule-hours]', '60');
    await page.click('[data-schedule-run]');
    await page.waitForFunction(() => document.querySelector('[data-error=hours]')?.textContent.length > 0);
  });
  check(sent === 0, 'the schedule form sent 60 hours');
  await page.fill('[data-schedule-hours]', '24');
  await page.fill('[data-schedule-start]', '2025-07-15');
  await page.check('[data-use-shiftable]');
  // The load forecast takes the demo's air temperature (observed over the plan's hours too).
  await page.selectOption('[data-schedule-weather-meter]', 'park-weather');
  await page.click('[data-schedule-run]');
  await page.waitForFunction(() => (document.querySelector('[data-schedule-power]')?.dataset.start || '').startsWith('2025-07-15T00:00'));
  await page.waitForSelector('[data-schedule-run]:not([disabled])');
  const weather = await page.$eval('[data-schedule-weather]', (e) => ({ ...e.dataset }));
  check(weather.covariate === 'temperature(observed park-weather)' && weather.horizonWeather === 'observed', `schedule load weather: ${JSON.stringify(weather)}`);
  const power = await page.$eval('[data-schedule-power]', (e) => ({ ...e.dataset }));
  const steps = power.stepPeriods.split(',');
  check(steps.length === 96, `schedule steps: ${steps.length}`);
  check(steps.join() === grid[6].join(), `the schedule's periods of 2025-07-15 differ from the tariff grid of July:\n${steps}\n${grid[6]}`);
  const shaded = power.shadedPeriods.split(',');
  check(Number(power.shadedRuns) >= 5 && ['critical_peak', 'peak', 'valley'].every((p) => shaded.includes(p)), `shading: ${JSON.stringify(power)}`);
  const method = await page.getAttribute('[data-kpi=method] [data-method]', 'data-method');
  check(method === 'optimal' || method === 'time_limit', `solver status ${method}`);
  const savings = Number(await page.getAttribute('[data-kpi=savings]', 'data-value'));
  check(savings >= 0, `savings ${savings}`);
  check((await page.$$('[data-schedule-costs] tr[data-cost^="component."]')).length >= 2, 'no cost by tariff component');
  await page.waitForSelector('[data-schedule-battery] .chart[data-rendered=yes]');
  await shot('schedule-zh');
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'shulv-console-data-'));
  const profile = mkdtempSync(join(tmpdir(), 'shulv-console-chromium-'));
  const port = await freePort();
  const demo = await startDemo(dataDir, port);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1440, height: 900 },
    locale: 'zh-CN',
    // The browser's own language (it formats the native date inputs) is Chinese as well.
    env: { ...process.env, LANG: 'zh_CN.UTF-8', LANGUAGE: 'zh_CN:zh' },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--lang=zh-CN'],
  });
  const timings = {};
  try {
    const page = context.pages()[0] || (await context.newPage());
    watch(page);
    const base = demo.url;
    const shot = (name) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });

    // Log in (Chinese by default).
    await page.goto(`${base}/`);
    await page.waitForSelector('input[name=username]');
    check((await page.getAttribute('html', 'lang')) === 'zh-CN', 'the console is not Chinese by default');
    await shot('login-zh');
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', demo.password);
    await page.click('button[type=submit]');
    await ready(page, 'overview');
    await shot('overview-zh');
    const alarms = await page.textContent('[data-kpi=alarms] .value');
    check(/\d/.test(alarms), `overview alarms: ${alarms}`);

    // Navigate the tree: an enterprise, then one of its meters, then a year of it.
    await page.click('[data-nav=explore]');
    await ready(page, 'explore');
    await page.click('[data-node=ent01]');
    await page.waitForFunction(() => document.querySelector('[data-target-name]')?.textContent.includes('恒远'));
    await page.click('li:has(> button[data-node="ent01"]) > button.toggle');
    await page.click('li:has(> button[data-node="ent01.ws1"]) > button.toggle');
    await page.click('[data-meter="ent01.ws1.elec"]');
    await page.waitForFunction(() => document.querySelector('[data-target-name]')?.textContent.includes('加热炉风机用电'));
    await page.waitForSelector('.chart[data-rendered=yes]');
    await shot('explore-meter-zh');
    const t0 = performance.now();
    await page.click('[data-preset=y1]');
    await page.waitForFunction(() => /日汇总/.test(document.querySelector('[data-source]')?.textContent || ''));
    timings.meterYearQuery = performance.now() - t0;
    await page.selectOption('[data-compare]', 'prev');
    await page.waitForSelector('.chart[data-rendered=yes]');
    await shot('explore-meter-year-zh');

    // Carbon: drill down and download the inventory as CSV.
    await page.click('[data-nav=carbon]');
    await ready(page, 'carbon');
    await page.click('[data-drill=stationary_combustion]');
    await page.waitForSelector('[data-drilldown] tbody tr');
    await shot('carbon-zh');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-download=csv]')]);
    const csvPath = join(artifacts, 'inventory.csv');
    await download.saveAs(csvPath);
    const csv = readFileSync(csvPath, 'utf8');
    check(csv.startsWith('node,period,regime'), `inventory CSV: ${csv.slice(0, 80)}`);
    check(csv.split('\n').length > 10, 'inventory CSV has no lines');
    const xlsx = await downloadOf(page, '[data-download=xlsx]', join(artifacts, 'inventory.xlsx'));
    check(xlsx.subarray(0, 2).toString('latin1') === 'PK' && xlsx.length > 2000, `inventory XLSX starts with ${xlsx.subarray(0, 4).toString('hex')}`);
    const html = (await downloadOf(page, '[data-download=html]', join(artifacts, 'inventory.html'))).toString('utf8');
    check(HTML_INVENTORY.every((x) => html.includes(x)), `inventory HTML lacks ${HTML_INVENTORY.filter((x) => !html.includes(x))}`);

    // Forecast and the forms (validation messages in the browser).
    await page.click('[data-nav=forecast]');
    await ready(page, 'forecast');
    // A day-ahead ridge forecast of a chiller with the demo's temperature meter as covariate.
    await page.selectOption('[data-forecast-target]', 'meter:ent08.cooling.chiller2.elec');
    await page.selectOption('[data-forecast-temperature]', 'park-weather');
    await page.selectOption('[aria-label="模型"]', 'ridge');
    await page.selectOption('[aria-label="预测时长"]', '24');
    await page.click('[data-forecast-issue]');
    await page.waitForSelector('[data-forecast-weather][data-horizon-weather=observed]', { timeout: 60_000 });
    const weather = await page.textContent('[data-forecast-weather]');
    check(weather.includes('park-weather') && weather.includes('实况气温'), `forecast weather line: ${weather}`);
    await shot('forecast-zh');

    // Tariffs, the bill (its maximum demand is the overview's peak), the optimised schedule.
    const grid = await tariffPages(page, shot);
    const bill = await billPage(page, shot);
    await page.goto(`${base}/overview?node=${encodeURIComponent(bill.node)}`);
    await ready(page, 'overview');
    // The overview's peak of the same month is the billed 15-minute maximum demand, with its time.
    const peak = Number(await page.getAttribute('[data-kpi=peak]', 'data-peak-kw'));
    const peakAt = Number(await page.getAttribute('[data-kpi=peak]', 'data-peak-at'));
    check(peak > 0 && Math.abs(peak - bill.maxDemand) <= 1e-9 * peak, `overview peak ${peak} kW, bill maximum demand ${bill.maxDemand} kW (${bill.period})`);
    check(peakAt > 0 && peakAt === bill.maxDemandAt, `overview peak at ${peakAt}, bill maximum demand at ${bill.maxDemandAt} (${bill.period})`);
    await schedulePage(page, shot, grid);
    await page.click('[data-nav=manage]');
    await ready(page, 'manage');
    await page.click('[data-tab=certificates]');
    await page.fill('[data-cert-mwh]', '-3');
    await page.click('[data-save-cert]');
    check((await page.textContent('[data-mwh-error]')) === '须为正数', 'certificate form: no validation message');
    await shot('manage-zh');

    // Wall display.
    await page.goto(`${base}/overview?wall=1`);
    await ready(page, 'overview');
    await shot('overview-wall-zh');

    // Switch the language; every main page again, in English, without Chinese UI text.
    await page.goto(`${base}/overview`);
    await ready(page, 'overview');
    await page.click('[data-lang]');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    for (const name of Object.keys(READY)) {
      await page.goto(`${base}/${name}`);
      await ready(page, name);
      const ui = await page.$$eval('nav, h2, th, legend, .legend, main button:not(.tree button), .kpi .label', (els) => els.map((e) => e.textContent).join(' '));
      check(!CJK.test(ui), `${name} (en) shows Chinese UI text: ${ui.match(/.{0,30}[\u3400-\u9fff].{0,30}/)}`);
      await shot(`${name}-en`);
    }
    await page.goto(`${base}/overview?wall=1`);
    await ready(page, 'overview');
    await shot('overview-wall-en');

    // Page loads: full navigations, each page once to warm up and then LOADS times.
    for (const name of Object.keys(READY)) {
      await timedLoad(page, base, `/${name}`, name);
      const xs = [];
      for (let i = 0; i < LOADS; i++) xs.push(await timedLoad(page, base, `/${name}`, name));
      timings[name] = { median: median(xs), max: Math.max(...xs), loads: xs.map((x) => Math.round(x)) };
    }
    await page.click('[data-logout]');
    await page.waitForSelector('input[name=username]');

    // A user of one enterprise sees only that enterprise.
    const scoped = { name: 'ent01-analyst', role: 'analyst', scope: 'ent01', password: 'a long e2e password 1' };
    const made = await fetch(`${base}/api/v1/users`, {
      method: 'POST', headers: { Authorization: `Bearer ${demo.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(scoped),
    });
    check(made.status === 201, `creating the scoped user: ${made.status} ${await made.text()}`);
    await page.fill('input[name=username]', scoped.name);
    await page.fill('input[name=password]', scoped.password);
    await page.click('button[type=submit]');
    await ready(page, 'overview');
    await page.click('[data-nav=explore]');
    await ready(page, 'explore');
    const nodes = await page.$$eval('[data-node]', (els) => els.map((e) => e.dataset.node));
    check(nodes.length && nodes.every((n) => n === 'ent01' || n.startsWith('ent01.')), `scoped tree shows ${nodes}`);
    await shot('explore-scoped-en');
    await page.click('[data-logout]');
    await page.waitForSelector('input[name=username]');
  } finally {
    await context.close();
    demo.child.kill('SIGTERM');
    rmSync(profile, { recursive: true, force: true });
    await new Promise((r) => {
      if (demo.child.exitCode !== null) return r();
      demo.child.once('exit', r);
      setTimeout(r, 10_000).unref();
    });
    rmSync(dataDir, { recursive: true, force: true });
  }
  writeFileSync(join(artifacts, 'timings.json'), JSON.stringify(timings, null, 2));
  console.log('page load (ms, navigation to charts rendered):');
  for (const [k, v] of Object.entries(timings)) {
    if (typeof v === 'number') console.log(`  ${k}: ${v.toFixed(0)}`);
    else console.log(`  ${k}: median ${v.median.toFixed(0)}, max ${v.max.toFixed(0)} (${v.loads.join(', ')})`);
  }
  console.log(`screenshots: ${artifacts}`);
  check(!problems.length, `browser problems:\n${problems.join('\n')}`);
  for (const [k, v] of Object.entries(timings)) {
    if (typeof v !== 'number') check(v.median < LIMIT_MS, `${k}: median load ${v.median.toFixed(0)} ms (limit ${LIMIT_MS} ms)`);
  }
  console.log('console e2e: ok');
}

main().catch((e) => {
  console.error(`console e2e FAILED: ${e.stack || e}`);
  if (problems.length) console.error(problems.join('\n'));
  process.exit(1);
});
