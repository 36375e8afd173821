// Headless-Chromium checks of the flame-graph outputs, for e2e_flame.py.
//   node browser.js MODE URL SCREENSHOT [MODE URL SCREENSHOT ...]
// MODE html: opprof's HTML report; MODE speedscope: URL is speedscope's
// index.html#profileURL=... .  One browser for all pages (a launch is the
// slow part).  Prints a JSON array, one object per page: what it showed and
// every JavaScript error it logged; e2e_flame.py judges it.  Needs
// playwright-core (npm, found through NODE_PATH) and Debian's chromium.
'use strict';
const fs = require('fs');
const { chromium } = require('playwright-core');

const jobs = [];
for (let i = 2; i + 2 < process.argv.length; i += 3)
  jobs.push(process.argv.slice(i, i + 3));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// as root, in a container, without a GPU: no sandbox, software WebGL
// (speedscope draws with WebGL), and nothing that talks to the network
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-angle=swiftshader', '--enable-unsafe-swiftshader'];

async function html(page, url, shot, out) {
  await page.goto(url);
  await page.waitForSelector('#flame g.frame', {timeout: 10000});
  const info = () => page.evaluate(() => {
    const svg = document.getElementById('flame');
    const frames = svg.querySelectorAll('g.frame');
    return {
      frames: frames.length,
      nodes: Number(svg.dataset.nodes),
      drawn: Number(svg.dataset.drawn),
      width: Number(svg.getAttribute('width')),
      labels: Array.from(svg.querySelectorAll('text')).map((t) => t.textContent),
      painted: Array.from(frames).filter((g) => {
        const r = g.querySelector('rect');
        return r && Number(r.getAttribute('width')) > 0 && r.getAttribute('fill');
      }).length,
      tables: ['scopes', 'histograms', 'access', 'functions'].filter((id) => document.getElementById(id)),
      functionRows: document.querySelectorAll('#functions tbody tr').length,
      status: document.getElementById('status').textContent,
    };
  });
  out.before = await info();
  // hover the widest bar below the root: the tooltip shows counts, time and %
  const target = await page.evaluateHandle(() => {
    const gs = Array.from(document.querySelectorAll('#flame g.frame')).slice(1);
    gs.sort((a, b) => b.querySelector('rect').getAttribute('width') - a.querySelector('rect').getAttribute('width'));
    return gs[0] || null;
  });
  if (target.asElement()) {
    const box = await target.asElement().boundingBox();
    await page.mouse.move(box.x + Math.min(box.width / 2, 20), box.y + box.height / 2);
    out.tooltip = await page.evaluate(() => {
      const t = document.getElementById('tooltip');
      return t.style.display === 'block' ? t.textContent : null;
    });
    await page.screenshot({path: shot, fullPage: false});
    await page.mouse.click(box.x + Math.min(box.width / 2, 20), box.y + box.height / 2);
    out.zoomed = await info();
    await page.click('#reset');
    out.reset = await info();
    // the other metric, where the profile has both
    const select = await page.$('#metric');
    if (select) {
      const other = await select.evaluate((s) => (s.value === 'time' ? 'instructions' : 'time'));
      await select.selectOption(other);
      out.switched = Object.assign({metric: other}, await info());
    }
  } else {
    await page.screenshot({path: shot});
  }
}

async function speedscope(page, url, shot, out) {
  await page.goto(url);
  const exp = page.getByText('Export');
  await exp.waitFor({timeout: 15000});
  await page.waitForTimeout(300);
  await page.screenshot({path: shot});
  // speedscope's own export: the profile as it understood it
  const [download] = await Promise.all([page.waitForEvent('download', {timeout: 10000}), exp.click()]);
  const exported = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
  out.frames = exported.shared.frames.map((f) => f.name);
  out.profiles = exported.profiles.map((p) => ({name: p.name, unit: p.unit, type: p.type,
    startValue: p.startValue, endValue: p.endValue}));
  await page.getByText('Sandwich').click();
  await page.waitForTimeout(300);
  out.sandwich = (await page.textContent('body')).includes('Symbol Name');
}

async function check(browser, [mode, url, shot]) {
  const out = {mode: mode, url: url, errors: []};
  const page = await browser.newPage({acceptDownloads: true, viewport: {width: 1280, height: 800}});
  page.on('pageerror', (e) => out.errors.push('pageerror: ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error') out.errors.push('console: ' + m.text()); });
  page.on('requestfailed', (r) => out.errors.push('request failed: ' + r.url()));
  // the HTML report is one file: it must not fetch anything
  page.on('request', (r) => {
    if (mode === 'html' && !/^(file|data|about):/.test(r.url())) out.errors.push('fetched: ' + r.url());
  });
  try {
    if (mode === 'html') await html(page, url, shot, out);
    else await speedscope(page, url, shot, out);
  } catch (e) {
    out.errors.push('driver: ' + (e && e.message ? e.message.split('\n')[0] : String(e)));
  }
  await page.close();
  return out;
}

(async () => {
  const results = [];
  let browser;
  try {
    browser = await chromium.launch({executablePath: CHROMIUM, headless: true, args: ARGS});
    for (const job of jobs) results.push(await check(browser, job));
  } catch (e) {
    results.push({errors: ['launch: ' + (e && e.message ? e.message.split('\n')[0] : String(e))]});
  } finally {
    if (browser) await browser.close();
  }
  process.stdout.write(JSON.stringify(results) + '\n');
})();
