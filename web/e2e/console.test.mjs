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
function watch(page) {
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()} (${page.url()})`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message} (${page.url()})`));
  page.on('requestfailed', (r) => {
    // A download's navigation or an aborted chart fetch on page change is not a failure of the app.
    if (!/ERR_ABORTED/.test(r.failure()?.errorText || '')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

const READY = {
  overview: ['[data-kpi=alarms]', '.chart[data-rendered=yes]'],
  explore: ['[data-source]', '.chart[data-rendered=yes]'],
  carbon: ['[data-total]', '[data-grades] table', '.chart[data-rendered=yes]'],
  forecast: ['[data-forecast-info]', '.chart[data-rendered=yes]'],
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

    // Forecast and the forms (validation messages in the browser).
    await page.click('[data-nav=forecast]');
    await ready(page, 'forecast');
    await shot('forecast-zh');
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
      const ui = await page.$$eval('nav, h2, th, main button:not(.tree button), .kpi .label', (els) => els.map((e) => e.textContent).join(' '));
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
