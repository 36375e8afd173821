// Headless-Chromium checks of the flame-graph outputs, for e2e_flame.py
// and e2e_explorer.py.
//   node browser.js MODE URL SCREENSHOT [MODE URL SCREENSHOT ...]
// MODE html: opprof's HTML report; MODE speedscope: URL is speedscope's
// index.html#profileURL=... ; MODE explorer, explorer-phone: the report's
// bytecode explorer at 1280 and 390 px wide, URL ending #q=FUNCTION (what
// to search for).  One browser for all pages (a launch is the slow part).
// Prints a JSON array, one object per page: what it showed and every
// JavaScript error it logged; the Python side judges it.  Needs
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

// The explorer: search, open with the keyboard, expand the hottest line,
// hover an instruction; then open functions from the flame graph and the
// top-functions table.  Everything it saw goes to `out`.
async function explorer(page, url, shot, out, phone) {
  const [file, query] = url.split('#q=');
  const q = decodeURIComponent(query);
  await page.goto(file);
  await page.waitForSelector('#xq', {timeout: 10000});
  await page.click('#xq');
  await page.keyboard.type(q);
  await page.waitForSelector('button.xresult', {timeout: 5000});
  out.results = await page.$$eval('button.xresult', (bs) => bs.map((b) => b.textContent));
  await page.keyboard.press('Tab');   // to the first result, then open it
  out.focused = await page.evaluate(() => document.activeElement.className + ' ' +
                                          document.activeElement.textContent);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#xview[data-ready="1"]', {timeout: 10000});
  const view = () => page.evaluate(() => {
    const v = document.getElementById('xview');
    return {
      id: Number(v.dataset.id),
      title: (document.getElementById('xtitle') || {}).textContent,
      lines: Array.from(v.querySelectorAll('tr.xline')).map((tr) => ({
        line: Number(tr.dataset.line), count: Number(tr.dataset.count), cls: tr.className,
        expandable: tr.getAttribute('role') === 'button',
        source: tr.querySelector('td.xsrc').textContent})),
    };
  });
  out.view = await view();
  // the hottest line, reached with Tab and opened with Enter
  const hot = out.view.lines.filter((l) => l.expandable).sort((a, b) => b.count - a.count)[0];
  if (hot) {
    out.hottest = hot.line;
    const row = await page.$(`#xview tr.xline[data-line="${hot.line}"]`);
    await row.focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector('#xview tr.xdetail', {timeout: 5000});
    out.heads = await page.$$eval('#xview tr.xdetail th', (ths) => ths.map((th) => th.textContent));
    out.instructions = await page.$$eval('#xview tr.xdetail tr.xi', (trs) => trs.map((tr) => {
      const td = Array.from(tr.querySelectorAll('td')).map((c) => c.textContent);
      return {offset: Number(td[0]), opname: td[1], argument: td[2], count: td[3], cells: td,
              cls: tr.className};
    }));
    const op = await page.$('#xview tr.xdetail .xop');
    await op.hover();
    out.tooltip = await page.evaluate(() => {
      const t = document.getElementById('tooltip');
      return t.style.display === 'block' ? t.textContent : null;
    });
    out.hovered = await op.textContent();
  }
  out.overflow = await page.evaluate(() => [document.documentElement.scrollWidth,
                                             window.innerWidth]);
  await page.screenshot({path: shot, fullPage: false});
  if (phone) return;
  // a bar of the flame graph opens its function (and zooms)
  const frame = await page.evaluate((id) => JSON.parse(document.getElementById('opprof-data')
    .textContent).frames.findIndex((f) => f[3] === id), out.view.id);
  // first another function, from the top-functions table
  const other = await page.$$eval('#functions button.xopen', (bs, id) => {
    const b = bs.find((x) => x.dataset.id !== String(id));
    return b ? Number(b.dataset.id) : -1;
  }, out.view.id);
  if (other >= 0) {
    await page.click(`#functions button.xopen[data-id="${other}"]`);
    await page.waitForFunction((id) => document.getElementById('xview').dataset.ready === '1' &&
                               document.getElementById('xview').dataset.id === String(id),
                               other, {timeout: 5000});
    out.fromTable = {asked: other, got: (await view()).id};
  }
  const g = await page.$(`#flame g.frame[data-frame="${frame}"]`);
  if (g) {
    await g.click({position: {x: 2, y: 8}});
    await page.waitForFunction((id) => document.getElementById('xview').dataset.ready === '1' &&
                               document.getElementById('xview').dataset.id === String(id),
                               out.view.id, {timeout: 5000});
    out.fromFlame = (await view()).id;
  }
}

async function check(browser, [mode, url, shot]) {
  const out = {mode: mode, url: url, errors: []};
  const phone = mode === 'explorer-phone';
  const page = await browser.newPage({acceptDownloads: true,
                                      viewport: phone ? {width: 390, height: 844}
                                                      : {width: 1280, height: 800}});
  page.on('pageerror', (e) => out.errors.push('pageerror: ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error') out.errors.push('console: ' + m.text()); });
  page.on('requestfailed', (r) => out.errors.push('request failed: ' + r.url()));
  // the HTML report is one file: it must not fetch anything
  page.on('request', (r) => {
    if (mode !== 'speedscope' && !/^(file|data|about):/.test(r.url()))
      out.errors.push('fetched: ' + r.url());
    if (mode !== 'speedscope') out.requests = (out.requests || 0) + 1;
  });
  try {
    if (mode === 'html') await html(page, url, shot, out);
    else if (mode.startsWith('explorer')) await explorer(page, url, shot, out, phone);
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
