// check.mjs -- the dashboard checked in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core): every page loads with the expected status and no console or page errors,
// shows the warehouse's numbers in the DOM hooks of the page conventions, never runs an HTML/JS
// payload, reaches no host but 127.0.0.1, keeps its links working, fits a phone, passes basic
// accessibility checks; screenshots of each page (desktop and phone) go to --artifacts.
//
// usage: node check.mjs --url URL --token READ_TOKEN --query-token QUERY_TOKEN --expect FILE.json
//                       [--artifacts DIR] [--chromium PATH]
//        node check.mjs --url URL --empty [--artifacts DIR] [--chromium PATH]
// FILE.json is written by tests/e2e/test_dashboard.sh from the warehouse (sqlite3). Prints one
// "ok - ..." or "not ok - ..." line per check (tests/run.sh counts them), details as "# ..." lines;
// each page is checked on its own, so a missing page never hides the others.
// exit status: 0 every check passed, 1 some failed, 2 usage or the browser would not start.
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
  '--disable-background-networking', '--no-first-run'];
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const LINKS_PER_PAGE = 25;     // same-origin links requested per page (new ones only)
const LINKS_TOTAL = 400;       // and over the whole run
const NAV_TIMEOUT_MS = 20000;
const WATCHDOG_MS = 480000;    // the whole run; tests/e2e/test_dashboard.sh allows 600 s

// ---- arguments ----
function parseArgs(argv) {
  const a = { artifacts: 'artifacts/screenshots', chromium: '/usr/bin/chromium', empty: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--empty') { a.empty = true; continue; }
    const m = { '--url': 'url', '--token': 'token', '--query-token': 'queryToken', '--expect': 'expect',
      '--artifacts': 'artifacts', '--chromium': 'chromium' }[k];
    if (!m || i + 1 >= argv.length) usage(`unknown or incomplete option ${k}`);
    a[m] = argv[++i];
  }
  if (!a.url) usage('--url is required');
  if (!a.empty && (!a.token || !a.queryToken || !a.expect)) usage('--token, --query-token and --expect are required');
  a.url = a.url.replace(/\/+$/, '');
  return a;
}
function usage(msg) {
  console.error(`check.mjs: ${msg}\nusage: node check.mjs --url URL --token T --query-token Q --expect FILE [--artifacts DIR] [--chromium PATH]\n       node check.mjs --url URL --empty [--artifacts DIR] [--chromium PATH]`);
  process.exit(2);
}
const args = parseArgs(process.argv.slice(2));
const BASE = args.url;
const ORIGIN = new URL(BASE).origin;

// ---- reporting ----
let passed = 0, failed = 0;
function report(name, pass, details = []) {
  console.log(`${pass ? 'ok' : 'not ok'} - browser ${name}`);
  if (pass) passed++; else failed++;
  if (!pass) for (const d of [...new Set([].concat(details).map(String))].slice(0, 8)) console.log(`# ${String(d).replace(/\n/g, ' ').slice(0, 300)}`);
}
const watchdog = setTimeout(() => {
  report('run finished within its time limit', false, [`still running after ${WATCHDOG_MS / 1000} s`]);
  process.exit(1);
}, WATCHDOG_MS);

// ---- numbers as the page conventions print them ----
// shown is the cell text; want the warehouse value; decimals the "%.Nf" precision. True when the
// text has exactly that format and is the value rounded (either way at an exact tie).
function numberMatches(shown, want, decimals, prefix = '') {
  if (want === null || want === undefined || !Number.isFinite(Number(want))) return shown.trim() === '–';
  const t = shown.trim();
  const re = new RegExp(`^${prefix.replace(/\$/g, '\\$')}-?\\d+${decimals > 0 ? `\\.\\d{${decimals}}` : ''}$`);
  if (!re.test(t)) return false;
  const v = Number(t.slice(prefix.length));
  const unit = 10 ** -decimals;
  return Math.abs(v - Number(want)) <= unit / 2 + Math.abs(Number(want)) * 1e-12 + 1e-12;
}
const fmt = (x, d) => (x === null || x === undefined ? '–' : Number(x).toFixed(d));

// ---- the browser ----
let browser;
try {
  browser = await chromium.launch({ executablePath: args.chromium, headless: true, args: FLAGS, timeout: 60000 });
} catch (e) {
  report('chromium starts', false, [e.message]);
  process.exit(2);
}
report(`chromium ${browser.version()} starts`, true);
mkdirSync(args.artifacts, { recursive: true });

const external = []; // every request to a host other than 127.0.0.1 (all aborted)
async function newContext(viewport, token) {
  const ctx = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  ctx.setDefaultTimeout(10000);
  ctx.setDefaultNavigationTimeout(NAV_TIMEOUT_MS);
  await ctx.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.hostname === '127.0.0.1') return route.continue();
    external.push(u.href);
    return route.abort('blockedbyclient');
  });
  if (token) await ctx.addCookies([{ name: 'redbench_token', value: token, url: BASE }]);
  return ctx;
}

// Opens path in a new page of ctx; returns { page, status, log } (status 0: no answer).
async function open(ctx, path) {
  const page = await ctx.newPage();
  const log = { console: [], errors: [], dialogs: [], failed: [], external0: external.length };
  page.on('console', (m) => { if (m.type() === 'error') log.console.push(m.text()); });
  page.on('pageerror', (e) => log.errors.push(String(e)));
  page.on('response', (r) => { if (r.status() >= 400) log.failed.push(`${r.status()} ${r.url().slice(ORIGIN.length)}`); });
  page.on('requestfailed', (r) => log.failed.push(`failed ${r.url()}: ${r.failure()?.errorText}`));
  page.on('dialog', (d) => { log.dialogs.push(`${d.type()}: ${d.message()}`); d.dismiss().catch(() => {}); });
  let status = 0, ctype = '';
  try {
    const resp = await page.goto(BASE + path, { waitUntil: 'load' });
    status = resp ? resp.status() : 0;
    ctype = resp ? (resp.headers()['content-type'] || '') : '';
  } catch (e) {
    log.errors.push(`navigation: ${e.message.split('\n')[0]}`);
  }
  return { page, status, html: ctype.startsWith('text/html'), log };
}

// ---- what every page must do ----
// Console errors, except the 404 of the document itself when a 404 is what the page should answer.
function consoleProblems(log, wantStatus) {
  const c = log.console.filter((m) => !(wantStatus === 404 && /status of 404/.test(m)));
  const p = [...c.map((m) => `console: ${m}`), ...log.errors.map((m) => `page error: ${m}`)];
  // The failing requests behind "Failed to load resource" messages, by URL.
  return p.length ? p.concat(log.failed.map((f) => `request: ${f}`)) : p;
}

async function xssProblems(page, log) {
  const p = log.dialogs.map((d) => `dialog ${d}`);
  const dom = await page.evaluate(() => {
    const out = [];
    if (window.__xss !== undefined) out.push(`window.__xss = ${window.__xss}`);
    for (const s of document.querySelectorAll('script')) if (s.textContent.includes('__xss')) out.push('a <script> element holds the payload');
    for (const el of document.querySelectorAll('[onerror], img[src="x"]')) out.push(`element from a payload: ${el.outerHTML.slice(0, 80)}`);
    return out;
  });
  return p.concat(dom);
}

async function a11y(page) {
  return page.evaluate(() => {
    const desc = (el) => `<${el.tagName.toLowerCase()}${el.id ? ` id=${el.id}` : ''}${el.getAttribute('class') ? ` class="${el.getAttribute('class')}"` : ''}${el.getAttribute('name') ? ` name=${el.getAttribute('name')}` : ''}>`;
    const lang = document.documentElement.getAttribute('lang') || '';
    const h1 = document.querySelectorAll('h1').length;
    const media = [];
    for (const el of document.querySelectorAll('img')) {
      if (!el.hasAttribute('alt') && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')) media.push(desc(el));
    }
    for (const el of document.querySelectorAll('svg')) {
      if (el.parentElement && el.parentElement.closest('svg')) continue;
      if (el.getAttribute('aria-hidden') === 'true') continue;
      const t = el.querySelector(':scope > title');
      if ((el.getAttribute('aria-label') || '').trim() || el.getAttribute('aria-labelledby') || (t && t.textContent.trim())) continue;
      media.push(desc(el));
    }
    const controls = [];
    for (const el of document.querySelectorAll('input, select, textarea, button')) {
      const type = (el.getAttribute('type') || '').toLowerCase();
      if (el.tagName === 'INPUT' && type === 'hidden') continue;
      const aria = (el.getAttribute('aria-label') || '').trim() || el.getAttribute('aria-labelledby') || (el.getAttribute('title') || '').trim();
      if (el.tagName === 'BUTTON' || (el.tagName === 'INPUT' && ['submit', 'button', 'reset'].includes(type))) {
        if (!(el.textContent.trim() || (el.value || '').trim() || aria)) controls.push(`${desc(el)} has no text`);
        continue;
      }
      if (el.labels && [...el.labels].some((l) => l.textContent.trim())) continue;
      if (aria) continue;
      controls.push(`${desc(el)} has no label`);
    }
    // Contrast of text against its background (WCAG AA: 4.5:1, 3:1 for large text).
    const rgba = (s) => {
      const m = /^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$/.exec(s);
      return m ? [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]] : null;
    };
    const lum = ([r, g, b]) => {
      const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el) => {
      const layers = [];
      for (let e = el; e; e = e.parentElement) {
        const c = rgba(getComputedStyle(e).backgroundColor);
        if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
      }
      let bg = [255, 255, 255];
      for (const c of layers.reverse()) bg = bg.map((v, i) => c[i] * c[3] + v * (1 - c[3]));
      return bg;
    };
    const contrast = [];
    for (const el of document.body ? document.body.querySelectorAll('*') : []) {
      if (el.closest('svg') || ['SCRIPT', 'STYLE', 'TITLE', 'OPTION'].includes(el.tagName)) continue;
      if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
      if (!el.getClientRects().length) continue;
      const cs = getComputedStyle(el);
      if (cs.visibility === 'hidden') continue;
      const fg = rgba(cs.color);
      if (!fg) continue;
      const bg = background(el);
      const fgb = fg.map((v, i) => (i < 3 ? v * fg[3] + bg[i] * (1 - fg[3]) : v));
      const [l1, l2] = [lum(fgb), lum(bg)].sort((x, y) => y - x);
      const ratio = (l1 + 0.05) / (l2 + 0.05);
      const size = parseFloat(cs.fontSize), bold = parseInt(cs.fontWeight, 10) >= 700;
      const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
      if (ratio < need) contrast.push(`${desc(el)} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}:1 < ${need}:1 (${cs.color} on rgb(${bg.map(Math.round)}))`);
    }
    return { lang, h1, media, controls, contrast };
  });
}

// The chart conventions on any page: { n: charts and points, bad: problems }.
async function charts(page) {
  return page.evaluate(() => {
    const bad = [];
    const cs = document.querySelectorAll('svg.chart'), pts = document.querySelectorAll('circle.pt');
    for (const c of cs) {
      if (c.getAttribute('role') !== 'img' || !(c.getAttribute('aria-label') || '').trim()) bad.push(`svg.chart without role="img" and an aria-label`);
    }
    for (const p of pts) {
      const t = p.querySelector('title');
      if (!p.closest('svg.chart')) bad.push('circle.pt outside an svg.chart');
      if (!(p.getAttribute('data-run') || '').trim()) bad.push('circle.pt without data-run');
      if (!t || !t.textContent.trim()) bad.push(`circle.pt of run ${p.getAttribute('data-run')} without a <title>`);
    }
    return { n: cs.length + pts.length, bad: [...new Set(bad)] };
  });
}

// Elements sticking out of a phone-wide viewport that are not inside a scrolling or clipping
// container such as .wrap (overflow-x: auto; the container itself is checked); topmost only.
async function overflow(page) {
  return page.evaluate(() => {
    const W = document.documentElement.clientWidth;
    const out = [];
    const clipped = (el) => {
      for (let e = el.parentElement; e && e !== document.body && e !== document.documentElement; e = e.parentElement) {
        if (getComputedStyle(e).overflowX !== 'visible') return true;
      }
      return false;
    };
    const offends = (el) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.right > W + 1 && r.left < W && !clipped(el);
    };
    for (const el of document.body ? document.body.querySelectorAll('*') : []) {
      if (!offends(el) || (el.parentElement && el.parentElement !== document.body && offends(el.parentElement))) continue;
      const r = el.getBoundingClientRect();
      out.push(`<${el.tagName.toLowerCase()}${el.getAttribute('class') ? ` class="${el.getAttribute('class')}"` : ''}> "${el.textContent.trim().slice(0, 40)}" right edge ${Math.round(r.right)} px`);
      if (out.length >= 5) break;
    }
    return { W, scrollWidth: document.documentElement.scrollWidth, offenders: out };
  });
}

const linkStatus = new Map(); // url -> status, over the whole run
// Same-origin links of the page (not "#..." links to a part of it), each fetched once per run
// with the context's cookies; a broken link fails the first page it is seen on, not every page.
async function checkLinks(ctx, page) {
  // getAttribute: an <a> inside an svg has an SVGAnimatedString for .href.
  const hrefs = await page.evaluate(() => [...document.querySelectorAll('a[href]')]
    .map((a) => a.getAttribute('href')).filter((h) => !h.startsWith('#'))
    .map((h) => { try { return new URL(h, document.baseURI).href; } catch { return ''; } }));
  const same = [...new Set(hrefs.map((h) => h.split('#')[0]))].filter((h) => {
    try {
      const u = new URL(h);
      return u.origin === ORIGIN && !/log_?out|sign_?out/i.test(u.pathname);
    } catch { return false; }
  });
  const bad = [];
  let fetched = 0;
  for (const u of same) {
    if (linkStatus.has(u)) continue;
    if (fetched >= LINKS_PER_PAGE || linkStatus.size >= LINKS_TOTAL) continue;
    let st = 0;
    try {
      const r = await ctx.request.get(u, { timeout: 10000, maxRedirects: 5 });
      st = r.status();
      await r.dispose();
    } catch { st = 0; }
    linkStatus.set(u, st);
    fetched++;
    if (!(st > 0 && st < 400)) bad.push(`${u.slice(ORIGIN.length)} answered ${st || 'nothing'}`);
  }
  return { n: same.length, fetched, bad };
}

const safeName = (s) => s.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 80);

// Loads path in ctx (desktop) and in a phone context, runs the checks every page must pass, then
// extra(page) for the page's own; every problem is reported, nothing thrown.
async function checkPage(label, path, { ctx, phoneCtx, status = 200, extra } = {}) {
  let v;
  try {
    v = await open(ctx, path);
  } catch (e) {
    report(`${label}: opens ${path}`, false, [e.message]);
    return;
  }
  const { page, log } = v;
  try {
    report(`${label}: GET ${path.slice(0, 80)} answers ${status}`, v.status === status, [`got ${v.status}`]);
    if (!v.html) {
      report(`${label}: the page's other checks (no HTML page to check)`, false, [`status ${v.status}, not text/html: the page does not exist yet?`]);
      return;
    }
    const cp = consoleProblems(log, status);
    report(`${label}: no console errors, no page errors`, cp.length === 0, cp);
    const xp = await xssProblems(page, log);
    report(`${label}: payloads are text, no script ran (no dialog, window.__xss unset)`, xp.length === 0, xp);
    const a = await a11y(page);
    report(`${label}: a11y: <html lang> set and exactly one h1`, a.lang.trim() !== '' && a.h1 === 1, [`lang="${a.lang}", ${a.h1} h1 element(s)`]);
    report(`${label}: a11y: every img/svg has a label`, a.media.length === 0, a.media);
    report(`${label}: a11y: every form control has a label`, a.controls.length === 0, a.controls);
    report(`${label}: a11y: text contrast at least 4.5:1 (3:1 large)`, a.contrast.length === 0, a.contrast);
    const ch = await charts(page);
    if (ch.n) report(`${label}: charts: svg.chart role="img" with an aria-label, every circle.pt a data-run and a hover <title>`, ch.bad.length === 0, ch.bad);
    const lk = await checkLinks(ctx, page);
    report(`${label}: same-origin links answer < 400 (${lk.fetched} new of ${lk.n})`, lk.bad.length === 0, lk.bad);
    await page.screenshot({ path: join(args.artifacts, `${safeName(label)}-desktop.png`), fullPage: true });
    if (extra) {
      try { await extra(page); } catch (e) { report(`${label}: page checks ran`, false, [e.message.split('\n')[0]]); }
    }
    const pv = await open(phoneCtx, path);
    try {
      const o = await overflow(pv.page);
      report(`${label}: phone ${PHONE.width}x${PHONE.height}: no horizontal overflow outside .wrap`,
        o.scrollWidth <= o.W + 1 && o.offenders.length === 0,
        [`page ${o.scrollWidth} px wide in a ${o.W} px viewport`, ...o.offenders]);
      await pv.page.screenshot({ path: join(args.artifacts, `${safeName(label)}-phone.png`), fullPage: true });
    } finally {
      await pv.page.close();
    }
    const ext = external.slice(log.external0);
    report(`${label}: no request to a host other than 127.0.0.1 (no CDN)`, ext.length === 0, ext);
  } catch (e) {
    report(`${label}: page checks ran`, false, [e.message.split('\n')[0]]);
  } finally {
    await page.close().catch(() => {});
  }
}

// ---- the page checks that need the warehouse's expectations ----
const text = (page) => page.evaluate(() => document.body ? document.body.innerText : '');

// The run page: the matrix holds one row per result, with the warehouse's numbers.
function runPageChecks(E, runId, label, extraChecks) {
  const want = E.results.filter((r) => r.run === runId);
  return async (page) => {
    const rows = await page.evaluate(() => [...document.querySelectorAll('#matrix tr[data-series]')].map((tr) => {
      const cell = (c) => { const td = tr.querySelector(`td.${c}`); return td ? td.textContent.trim() : null; };
      return { series: tr.getAttribute('data-series'), ops: cell('ops'), p50: cell('p50'), p99: cell('p99'),
        errors: cell('errors'), cost: cell('cost'), verdict: cell('verdict'),
        trend: !!tr.querySelector('a[href*="/trends"]') };
    }));
    const bySeries = new Map(rows.map((r) => [r.series, r]));
    const missing = want.filter((w) => !bySeries.has(w.series)).map((w) => `no row for ${w.series}`);
    report(`${label}: #matrix has one tr[data-series] per result (${want.length})`,
      rows.length === want.length && missing.length === 0, [`${rows.length} rows`, ...missing]);
    const cmp = (name, key, dec, prefix = '') => {
      const bad = [];
      for (const w of want) {
        const r = bySeries.get(w.series);
        if (!r) continue;
        if (r[name] === null) bad.push(`${w.series}: no td.${name}`);
        else if (!numberMatches(r[name], w[key], dec, prefix)) bad.push(`${w.series}: td.${name} "${r[name]}", want ${prefix}${fmt(w[key], dec)}`);
      }
      report(`${label}: td.${name} shows the warehouse's ${key} as ${prefix}%.${dec}f`, bad.length === 0 && rows.length > 0, bad.length ? bad : ['no rows']);
    };
    cmp('ops', 'ops', 0);
    cmp('p50', 'p50', 1);
    cmp('p99', 'p99', 1);
    cmp('errors', 'errors', 0);
    cmp('cost', 'usd_per_mop', 4, '$');
    // td.verdict says "regression" exactly where the warehouse holds a regression verdict.
    const badVerdict = [];
    for (const w of want) {
      const r = bySeries.get(w.series);
      if (!r) continue;
      const reg = (E.verdicts || []).some((v) => v.run === runId && v.series === w.series && v.status === 'regression');
      if (r.verdict === null) badVerdict.push(`${w.series}: no td.verdict`);
      else if (reg !== /regression/i.test(r.verdict)) badVerdict.push(`${w.series}: td.verdict "${r.verdict.slice(0, 60)}", warehouse ${reg ? 'has' : 'has no'} regression verdict`);
    }
    report(`${label}: td.verdict shows regression exactly for the warehouse's regressions`, rows.length > 0 && badVerdict.length === 0, badVerdict.length ? badVerdict : ['no rows']);
    const noTrend = rows.filter((r) => !r.trend).map((r) => `${r.series}: no link to /trends`);
    report(`${label}: every row links to its series trend`, rows.length > 0 && noTrend.length === 0, noTrend.length ? noTrend : ['no rows']);
    if (extraChecks) await extraChecks(page, rows);
  };
}

// The rows of a table of results: tr[data-series] under selector, with their number cells.
async function resultRows(page, selector) {
  return page.evaluate((sel) => [...document.querySelectorAll(`${sel} tr[data-series]`)].map((tr) => {
    const cell = (c) => { const td = tr.querySelector(`td.${c}`); return td ? td.textContent.trim() : null; };
    return { series: tr.getAttribute('data-series'), run: tr.getAttribute('data-run'), ops: cell('ops'),
      p50: cell('p50'), p99: cell('p99'), cost: cell('cost') };
  }), selector);
}

// Checks each row's cells against the warehouse result expect(row) (null: unknown row).
function checkRowNumbers(label, rows, expect, cells = [['ops', 'ops', 0], ['p50', 'p50', 1], ['p99', 'p99', 1], ['cost', 'usd_per_mop', 4, '$']]) {
  for (const [name, key, dec, prefix = ''] of cells) {
    const bad = [];
    for (const r of rows) {
      const w = expect(r);
      if (!w) { bad.push(`${r.series}${r.run ? ` (run ${r.run})` : ''}: no such result in the warehouse`); continue; }
      if (r[name] === null) bad.push(`${r.series}: no td.${name}`);
      else if (!numberMatches(r[name], w[key], dec, prefix)) bad.push(`${r.series}: td.${name} "${r[name]}", want ${prefix}${fmt(w[key], dec)}`);
    }
    report(`${label}: td.${name} shows the warehouse's ${key} as ${prefix}%.${dec}f`, rows.length > 0 && bad.length === 0, bad.length ? bad : ['no rows']);
  }
}

// The result of series in the newest run of branch measuring it.
function latestResult(E, series, branch = 'main') {
  const started = new Map(E.runs.filter((r) => r.branch === branch).map((r) => [r.id, r.started_at]));
  let best = null;
  for (const x of E.results) {
    if (x.series !== series || !started.has(x.run)) continue;
    if (!best || started.get(x.run) > started.get(best.run)) best = x;
  }
  return best;
}

async function trendLinkFor(ctx, runId, series) {
  const { page } = await open(ctx, `/runs/${encodeURIComponent(runId)}`);
  try {
    const href = await page.evaluate((key) => {
      for (const tr of document.querySelectorAll('tr[data-series]')) {
        if (tr.getAttribute('data-series') !== key) continue;
        const a = tr.querySelector('a[href*="/trends"]');
        if (a) return a.getAttribute('href');
      }
      return null;
    }, series);
    return href;
  } finally {
    await page.close();
  }
}

// The trend page of series on branch (the run page's link for a run of that branch): one
// circle.pt per run of the branch measuring it, each with a hover title.
function trendChecks(E, series, branch, label) {
  const onBranch = new Set(E.runs.filter((r) => r.branch === branch).map((r) => r.id));
  const want = E.results.filter((r) => r.series === series && onBranch.has(r.run));
  return async (page) => {
    const c = await page.evaluate(() => {
      const svg = document.querySelector('svg.chart');
      return {
        chart: !!svg, role: svg ? svg.getAttribute('role') : null, label: svg ? svg.getAttribute('aria-label') : null,
        markers: document.querySelectorAll('svg.chart .marker-regression').length,
        band: document.querySelectorAll('svg.chart .band').length,
        pts: [...document.querySelectorAll('svg.chart circle.pt')].map((p) => ({
          run: p.getAttribute('data-run'), title: p.querySelector('title') ? p.querySelector('title').textContent.trim() : '' })),
      };
    });
    report(`${label}: an svg.chart with role="img" and an aria-label`, c.chart && c.role === 'img' && !!(c.label || '').trim(),
      [`chart ${c.chart}, role ${c.role}, aria-label ${JSON.stringify(c.label)}`]);
    const runs = c.pts.map((p) => p.run);
    const wantRuns = want.map((w) => w.run);
    const extra = runs.filter((r) => !wantRuns.includes(r));
    const lacking = wantRuns.filter((r) => !runs.includes(r));
    report(`${label}: exactly one circle.pt per run of the series on its branch (${wantRuns.length})`,
      runs.length === wantRuns.length && new Set(runs).size === runs.length && extra.length === 0 && lacking.length === 0,
      [`${runs.length} points`, ...extra.map((r) => `point of run ${r} not measuring it`), ...lacking.map((r) => `no point for run ${r}`)]);
    if (!c.pts.length) return; // nothing to hover or tabulate: the line above says why
    const noTitle = c.pts.filter((p) => !p.title).map((p) => `point of run ${p.run} has no <title>`);
    report(`${label}: every point has a hover <title>`, c.pts.length > 0 && noTitle.length === 0, noTitle.length ? noTitle : ['no points']);
    const badOps = [];
    for (const p of c.pts) {
      const w = want.find((x) => x.run === p.run);
      if (!w) continue;
      const nums = (p.title.match(/-?\d+(\.\d+)?/g) || []);
      if (!nums.some((n) => numberMatches(n, w.ops, 0))) badOps.push(`run ${p.run}: title "${p.title.slice(0, 80)}" lacks ops/s ${fmt(w.ops, 0)}`);
    }
    report(`${label}: each point's title holds its run's ops/s (%.0f)`, c.pts.length > 0 && badOps.length === 0, badOps.length ? badOps : ['no points']);
    const regRuns = new Set((E.verdicts || []).filter((v) => v.series === series && v.metric === 'ops_per_sec' &&
      v.status === 'regression' && wantRuns.includes(v.run)).map((v) => v.run));
    if (regRuns.size) {
      report(`${label}: a .marker-regression for its throughput regressions (${regRuns.size})`, c.markers >= regRuns.size,
        [`${c.markers} .marker-regression in the chart`]);
    }
    if (wantRuns.length >= 4) report(`${label}: the chart draws the baseline .band`, c.band > 0, ['no .band in the chart']);
    const rows = await resultRows(page, '#points');
    const rr = rows.map((r) => r.run);
    report(`${label}: #points has one tr[data-run] per run of the series (${wantRuns.length})`,
      rows.length === wantRuns.length && wantRuns.every((r) => rr.includes(r)) && rows.every((r) => r.series === series),
      [`${rows.length} rows: ${rr.join(' ').slice(0, 200)}`]);
    checkRowNumbers(`${label}: #points`, rows, (r) => want.find((x) => x.run === r.run) || null);
  };
}

// ---- the pages ----
async function withContexts(token, fn) {
  const ctx = await newContext(DESKTOP, token);
  const phoneCtx = await newContext(PHONE, token);
  try { await fn(ctx, phoneCtx); } finally { await ctx.close(); await phoneCtx.close(); }
}

async function checkEmpty() {
  await withContexts(null, async (ctx, phoneCtx) => {
    const o = { ctx, phoneCtx };
    for (const [label, path] of [['empty overview', '/'], ['empty trends', '/trends'], ['empty compare', '/compare'],
      ['empty modes', '/modes'], ['empty cost', '/cost'], ['empty benchmarks', '/benchmarks'], ['empty sql', '/sql'],
      ['empty login', '/login']]) {
      await checkPage(label, path, o);
    }
    const notFound = async (page) => {
      const has = await page.evaluate(() => !!document.querySelector('a[href="/"]'));
      report('empty: the not-found page links to the overview', has);
    };
    await checkPage('empty unknown run', '/runs/no-such-run', { ...o, status: 404, extra: notFound });
    await checkPage('empty unknown benchmark', '/benchmarks/no-such-benchmark', { ...o, status: 404 });
  });
}

async function checkLogin(E) {
  const ctx = await newContext(DESKTOP, null);
  let ok = false;
  try {
    const v = await open(ctx, '/');
    const body = v.html ? await text(v.page) : '';
    report('private collector: / without a token cookie shows no runs (401/403 or the login page)',
      (v.status === 401 || v.status === 403 || /\/login/.test(v.page.url())) && !body.includes(E.latest_main),
      [`status ${v.status} at ${v.page.url()}`]);
    await v.page.close();
    const l = await open(ctx, '/login');
    try {
      report('login: GET /login answers 200', l.status === 200, [`got ${l.status}`]);
      const input = l.page.locator('form input[type="password"], form input[name="token"]').first();
      if (l.status !== 200 || !(await input.count())) {
        report('login: a form with a token field logs in (cookie redbench_token)', false, ['no form with a token field']);
      } else {
        await input.fill(args.token);
        await Promise.all([l.page.waitForLoadState('load'), input.press('Enter')]);
        await l.page.waitForLoadState('load');
        const cookie = (await ctx.cookies(BASE)).find((c) => c.name === 'redbench_token');
        ok = !!cookie && cookie.value === args.token;
        report('login: a form with a token field logs in (cookie redbench_token)', ok,
          [cookie ? 'the cookie holds another value' : 'no redbench_token cookie set', `at ${l.page.url()}`]);
        if (ok) {
          report('login: the cookie is HttpOnly and SameSite=Strict (docs/dashboard.md)', cookie.httpOnly && cookie.sameSite === 'Strict',
            [`httpOnly ${cookie.httpOnly}, sameSite ${cookie.sameSite}`]);
          const after = await open(ctx, '/');
          report('login: afterwards / answers 200', after.status === 200, [`got ${after.status}`]);
          await after.page.close();
        }
      }
    } finally {
      await l.page.close();
    }
  } catch (e) {
    report('login: checks ran', false, [e.message.split('\n')[0]]);
  } finally {
    await ctx.close();
  }
  return ok;
}

async function checkSql(E) {
  await withContexts(args.queryToken, async (ctx, phoneCtx) => {
    await checkPage('sql (query role)', '/sql', {
      ctx, phoneCtx,
      extra: async (page) => {
        // An example query is one click away: a link or button; else type one into the box.
        const ex = page.locator('a[href*="/sql?"], [data-example], button.example, a.example').first();
        const hasExample = (await ex.count()) > 0;
        report('sql: example queries one click away', hasExample, ['no a[href*="/sql?"], [data-example], .example']);
        if (hasExample) {
          await Promise.all([page.waitForLoadState('load'), ex.click()]);
          // A button may only fill the box: submit it if no result appeared.
          if (!(await page.locator('table tbody tr').count())) {
            const submit = page.locator('form button[type="submit"], form input[type="submit"], form button:not([type])').first();
            if (await submit.count()) await Promise.all([page.waitForNavigation({ waitUntil: 'load' }).catch(() => {}), submit.click()]);
          }
        } else {
          const box = page.locator('form textarea').first();
          if (await box.count()) {
            await box.fill('SELECT id, branch FROM runs ORDER BY started_at LIMIT 5');
            const submit = page.locator('form button[type="submit"], form input[type="submit"], form button:not([type])').first();
            await Promise.all([page.waitForNavigation({ waitUntil: 'load' }).catch(() => {}), submit.click()]);
          }
        }
        const res = await page.evaluate(() => ({
          rows: document.querySelectorAll('table tbody tr').length,
          csv: !!document.querySelector('a[href*="csv"], a[download]'),
          text: document.body.innerText,
        }));
        report('sql: running a query shows a result table', res.rows > 0, [`${res.rows} rows at ${page.url()}`, res.text.slice(0, 200)]);
        report('sql: the result offers a CSV download', res.csv, ['no a[href*="csv"] or a[download]']);
        const xp = await page.evaluate(() => window.__xss);
        report('sql: the result page ran no payload', xp === undefined, [`window.__xss = ${xp}`]);
      },
    });
  });
  // The read role alone must not run SQL, not even through the URL.
  await withContexts(args.token, async (ctx) => {
    const v = await open(ctx, `/sql?q=${encodeURIComponent('SELECT count(*) FROM runs')}`);
    try {
      const r = await v.page.evaluate(() => ({
        rows: document.querySelectorAll('table tbody tr').length,
        box: [...document.querySelectorAll('form textarea')].filter((t) => !t.disabled).length,
      }));
      report('sql: the read role alone runs no query (no result rows, no enabled query box)',
        v.status >= 200 && v.status < 500 && r.rows === 0 && r.box === 0,
        [`status ${v.status}, ${r.rows} result rows, ${r.box} enabled textarea(s)`]);
    } finally { await v.page.close(); }
  });
}

async function checkFull() {
  const E = JSON.parse(readFileSync(args.expect, 'utf8'));
  // The pages below get the cookie set directly, so a broken login page hides nothing.
  await checkLogin(E);
  await withContexts(args.token, async (ctx, phoneCtx) => {
    const o = { ctx, phoneCtx };

    await checkPage('overview', '/', {
      ...o,
      extra: async (page) => {
        const ids = await page.evaluate(() => [...document.querySelectorAll('#runs a[href]')].map((a) => a.getAttribute('href')));
        report('overview: #runs links the latest run on main', ids.some((h) => h.endsWith(`/runs/${E.latest_main}`)), [`${ids.length} links in #runs`]);
        const t = await text(page);
        report('overview: the payload branch name is shown as text', t.includes(E.xss_branch), [`"${E.xss_branch}" not in the page text`]);
        const regs = (E.verdicts || []).filter((v) => v.status === 'regression');
        const shown = await page.evaluate(() => [...document.querySelectorAll('#regressions tr[data-verdict]')].map((tr) => tr.getAttribute('data-verdict')));
        const unknown = shown.filter((id) => !regs.some((v) => String(v.id) === id));
        report(`overview: #regressions lists the open regression verdicts (${Math.min(20, regs.length)} of ${regs.length})`,
          shown.length === Math.min(20, regs.length) && unknown.length === 0,
          [`${shown.length} rows`, ...unknown.map((id) => `verdict ${id} is not an open regression`)]);
        if (E.slow_run && regs.some((v) => v.run === E.slow_run)) {
          const first = await page.evaluate((id) => {
            const runs = document.querySelector('#runs');
            const a = [...document.querySelectorAll('a[href]')].find((x) => x.getAttribute('href').endsWith(`/runs/${id}`));
            return !!(a && runs && (a.compareDocumentPosition(runs) & Node.DOCUMENT_POSITION_FOLLOWING));
          }, E.slow_run);
          report('overview: the open regression (slowed run) is listed before the latest runs', first,
            ['no link to the slowed run above #runs']);
        }
      },
    });

    const shortId = (id) => id.slice(0, 8);
    for (const r of E.runs.slice(-12)) {
      const label = `run ${shortId(r.id)} (${r.mode}${r.id === E.xss_branch_run ? ', payload branch' : ''}${r.id === E.xss_config_run ? ', payload config' : ''}${r.id === E.slow_run ? ', slowed' : ''})`;
      await checkPage(label, `/runs/${encodeURIComponent(r.id)}`, {
        ...o,
        extra: runPageChecks(E, r.id, label, async (page) => {
          const t = await text(page);
          if (r.id === E.xss_branch_run) report(`${label}: the payload branch is shown as text`, t.includes(E.xss_branch));
          if (r.id === E.xss_config_run) report(`${label}: the payload config value is shown as text`, t.includes(E.xss_config));
          if (r.id === E.latest_main) {
            const cmp = await page.evaluate(() => !!document.querySelector('a[href*="/compare"]'));
            report(`${label}: links to compare with its baseline`, cmp, ['no a[href*="/compare"]']);
          }
        }),
      });
    }
    await checkPage('unknown run', '/runs/no-such-run', { ...o, status: 404 });

    // Trends: bare, then the series of the latest main run and of the payload branch.
    await checkPage('trends (no series chosen)', '/trends', o);
    for (const [runId, what] of [[E.latest_main, 'main'], [E.xss_branch_run, 'payload branch']]) {
      const series = E.results.find((x) => x.run === runId)?.series;
      if (!series) { report(`trend of a ${what} series: the run has results`, false); continue; }
      let href = await trendLinkFor(ctx, runId, series).catch(() => null);
      if (!href) href = `/trends?series=${encodeURIComponent(series)}`;
      const path = href.startsWith('http') ? href.slice(ORIGIN.length) : href;
      const branch = E.runs.find((r) => r.id === runId).branch;
      await checkPage(`trend of a ${what} series`, path, { ...o, extra: trendChecks(E, series, branch, `trend of a ${what} series`) });
    }

    // Compare: the picker, then first vs latest run on main sorted worst first.
    await checkPage('compare picker', '/compare', {
      ...o,
      extra: async (page) => {
        const f = await page.evaluate(() => document.querySelectorAll('form select, form input:not([type="hidden"])').length);
        report('compare picker: a form to choose two runs', f >= 1, [`${f} form controls`]);
      },
    });
    const base = E.first_main, head = E.latest_main;
    await checkPage('compare', `/compare?base=${encodeURIComponent(base)}&head=${encodeURIComponent(head)}`, {
      ...o,
      extra: async (page) => {
        const rows = await page.evaluate(() => [...document.querySelectorAll('#compare tr[data-series]')].map((tr) => ({
          series: tr.getAttribute('data-series'), text: tr.innerText })));
        const ops = (run, s) => E.results.find((x) => x.run === run && x.series === s)?.ops;
        const both = E.results.filter((x) => x.run === head && ops(base, x.series) !== undefined).map((x) => x.series);
        const shown = rows.map((r) => r.series);
        const lacking = both.filter((s) => !shown.includes(s));
        report(`compare: #compare has a tr[data-series] per series of both runs (${both.length})`, rows.length > 0 && lacking.length === 0,
          [`${rows.length} rows`, ...lacking.map((s) => `no row for ${s}`)]);
        const change = (s) => ops(head, s) / ops(base, s) - 1;
        const seq = shown.filter((s) => both.includes(s)).map((s) => [s, change(s)]);
        const bad = [];
        for (let i = 1; i < seq.length; i++) {
          if (seq[i][1] < seq[i - 1][1] - 1e-9) bad.push(`${seq[i][0]} (${(seq[i][1] * 100).toFixed(1)}%) after ${seq[i - 1][0]} (${(seq[i - 1][1] * 100).toFixed(1)}%)`);
        }
        report('compare: rows sorted worst first (throughput change ascending)', seq.length > 1 && bad.length === 0, bad.length ? bad : [`${seq.length} comparable rows`]);
        const noChange = [];
        for (const r of rows) {
          if (!both.includes(r.series)) continue;
          const c = change(r.series) * 100;
          const toks = r.text.match(/[+-]\d+\.\d%/g) || [];
          if (!toks.some((t) => Math.abs(parseFloat(t) - c) <= 0.05 + 1e-9)) noChange.push(`${r.series}: no "${(c >= 0 ? '+' : '') + c.toFixed(1)}%" in "${r.text.replace(/\s+/g, ' ').slice(0, 100)}"`);
        }
        report('compare: each row shows its throughput change as %+.1f%%', rows.length > 0 && noChange.length === 0, noChange.length ? noChange : ['no rows']);
      },
    });

    await checkPage('modes', '/modes', {
      ...o,
      extra: async (page) => {
        const t = await text(page);
        const modes = [...new Set(E.runs.map((r) => r.mode))];
        const lacking = modes.filter((m) => !t.includes(m));
        report(`modes: every stored mode is shown (${modes.join(', ')})`, lacking.length === 0, lacking.map((m) => `${m} missing`));
        const rows = await resultRows(page, 'table.modes');
        const mainModes = [...new Set(E.runs.filter((r) => r.branch === 'main').map((r) => r.mode))];
        const shownModes = await page.evaluate(() => [...new Set([...document.querySelectorAll('table.modes tr[data-mode]')].map((tr) => tr.getAttribute('data-mode')))]);
        report(`modes: table.modes rows for every deployment mode on main (${mainModes.join(', ')})`,
          mainModes.every((m) => shownModes.includes(m)), [`rows for: ${shownModes.join(', ')}`]);
        checkRowNumbers('modes: table.modes (latest run of each deployment)', rows, (r) => latestResult(E, r.series));
      },
    });

    await checkPage('cost', '/cost', {
      ...o,
      extra: async (page) => {
        const t = await text(page);
        const dollars = t.match(/\$\d[\d.,]*/g) || [];
        const badFmt = dollars.filter((d) => !/^\$\d+\.\d{4}$/.test(d.replace(/[.,]+$/, '')));
        report('cost: USD per million ops shown as $%.4f', dollars.length > 0 && badFmt.length === 0,
          dollars.length ? badFmt.map((d) => `"${d}"`) : ['no $ figure on the page']);
        const cells = await page.evaluate(() => [...document.querySelectorAll('td.cost')].map((td) => td.textContent.trim()));
        const badCells = cells.filter((c) => c !== '–' && !/^\$\d+\.\d{4}$/.test(c));
        report('cost: td.cost cells are $%.4f or –', cells.length > 0 && badCells.length === 0, cells.length ? badCells : ['no td.cost']);
        const rows = await resultRows(page, '#costs');
        checkRowNumbers('cost: #costs (latest run of each preset and deployment)', rows, (r) => latestResult(E, r.series),
          [['ops', 'ops', 0], ['cost', 'usd_per_mop', 4, '$']]);
      },
    });

    // The cheapest configuration reaching a throughput every priced result reaches.
    await checkPage('cost with a required throughput', '/cost?need=1', {
      ...o,
      extra: async (page) => {
        const c = await page.evaluate(() => {
          const el = document.querySelector('#cheapest');
          const pr = el && el.querySelector('strong.preset');
          return { found: !!el, preset: pr ? pr.textContent.trim() : null };
        });
        report('cost: ?need=1 names the cheapest preset in #cheapest (performance-16x)', c.found && c.preset === 'performance-16x',
          [`#cheapest ${c.found ? 'found' : 'missing'}, strong.preset ${JSON.stringify(c.preset)}`]);
      },
    });

    const b = E.benchmark;
    await checkPage('orchestrated benchmark', `/benchmarks/${encodeURIComponent(b.id)}`, {
      ...o,
      extra: async (page) => {
        const t = await text(page);
        report(`benchmark: shows its status (${b.status})`, t.includes(b.status));
        const lacking = b.workers.filter((w) => !t.includes(w));
        report(`benchmark: shows its workers (${b.workers.join(', ')})`, b.workers.length > 0 && lacking.length === 0, lacking);
        const d = await page.evaluate(() => ({
          tasks: [...document.querySelectorAll('#tasks tr[data-task]')].map((tr) => tr.getAttribute('data-state')),
          merged: (document.querySelector('#merged-run a[href], a#merged-run') || { getAttribute: () => '' }).getAttribute('href') || '',
        }));
        report(`benchmark: #tasks has its ${b.tasks} task(s), all done`, d.tasks.length === b.tasks && d.tasks.every((t) => t === 'done'),
          [`states: ${d.tasks.join(', ') || 'none'}`]);
        report('benchmark: #merged-run links the merged run', !!E.orchestrated_run && d.merged.endsWith(`/runs/${E.orchestrated_run}`),
          [`link "${d.merged}"`]);
      },
    });
    await checkPage('benchmarks list', '/benchmarks', {
      ...o,
      extra: async (page) => {
        const ids = await page.evaluate(() => [...document.querySelectorAll('#benchmarks tr[data-benchmark]')].map((tr) => tr.getAttribute('data-benchmark')));
        report('benchmarks list: #benchmarks has a row for the benchmark', ids.includes(b.id), [`rows: ${ids.join(', ') || 'none'}`]);
      },
    });
    await checkPage('unknown benchmark', '/benchmarks/no-such-benchmark', { ...o, status: 404 });
  });
  await checkSql(E);
}

try {
  if (args.empty) await checkEmpty(); else await checkFull();
} catch (e) {
  report('checks ran to the end', false, [e.stack || e.message]);
}
await browser.close();
clearTimeout(watchdog);
console.log(`# browser: ${passed} ok, ${failed} not ok; screenshots in ${args.artifacts}`);
process.exit(failed ? 1 : 0);
