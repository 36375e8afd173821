// opprof's HTML report (reports/html.c embeds this file): builds the page
// from the JSON in #opprof-data.  No library and no network: the page must
// work from a file:// URL, offline, years later.
'use strict';
(function () {
  const data = JSON.parse(document.getElementById('opprof-data').textContent);
  const ROW = 18;              // px per flame-graph level
  const MANY = 3000;           // above this many nodes, sub-pixel ones are not drawn
  const SVG = 'http://www.w3.org/2000/svg';

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function add(parent, tag, attrs, text) { return parent.appendChild(el(tag, attrs, text)); }
  function grouped(n) { return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ','); }
  function ms(ns) { return (ns / 1e6).toFixed(1); }
  function pct(part, whole) { return whole ? (100 * part / whole).toFixed(1) + '%' : '-'; }
  function nsPer(ns, count) { return count && ns ? (ns / count).toFixed(1) : '-'; }
  function metricOf(node, metric) { return metric === 'time' ? node.t : node.i; }
  function amount(v, metric) {
    return metric === 'time' ? ms(v) + ' ms' : grouped(v) + ' instructions';
  }

  // ---- header ----------------------------------------------------------
  const body = document.body;
  const title = data.argv.length ? data.argv.join(' ') : '(no command line)';
  add(body, 'h1', {}, 'opprof: ' + title);
  const meta = add(body, 'p', {class: 'meta'});
  function fact(label, value) {
    add(meta, 'b', {}, label + ' ');
    meta.appendChild(document.createTextNode(value + '   '));
  }
  fact('Python', data.python + (data.collector ? ' (' + data.collector + ')' : ''));
  fact('instructions', data.counted ? grouped(data.instructions) : '- (not counted: --time-only)');
  fact('CPU time', data.timed ? ms(data.time_ns) + ' ms attributed' : '- (not timed: --no-time)');
  fact('wall time', ms(data.wall_ns) + ' ms');
  if (data.timed) fact('samples', grouped(data.samples_taken));
  if (data.incomplete) add(body, 'p', {class: 'note'}, 'The counts are incomplete (see the profile).');
  if (data.note) add(body, 'p', {class: 'note', id: 'note'}, data.note);

  // ---- flame graph -----------------------------------------------------
  add(body, 'h2', {}, 'Flame graph');
  const controls = add(body, 'div', {class: 'controls'});
  const reset = add(controls, 'button', {id: 'reset', type: 'button'}, 'Reset zoom');
  let metric = data.metric;
  if (data.counted && data.timed) {
    const label = add(controls, 'label', {}, 'size by ');
    const select = add(label, 'select', {id: 'metric'});
    for (const m of ['time', 'instructions']) {
      const o = add(select, 'option', {value: m}, m === 'time' ? 'CPU time' : 'instructions');
      if (m === metric) o.selected = true;
    }
    select.addEventListener('change', () => { metric = select.value; draw(); });
  }
  const status = add(controls, 'span', {class: 'muted', id: 'status'});
  add(body, 'p', {class: 'muted'}, 'Root at the top; each bar is a function (or, with ' +
      '--opcodes, an executed opcode in [brackets]) as wide as its share, callees below ' +
      'their caller.  Click a bar to zoom into it, click an upper bar or Reset to zoom out.');
  const svg = body.appendChild(document.createElementNS(SVG, 'svg'));
  svg.id = 'flame';
  const tip = add(body, 'div', {id: 'tooltip'});

  // the call tree, from the page's nodes (parents first, siblings in
  // order): counts summed up from the leaves, in loops and not recursion,
  // as a recursion 20,000 deep is deeper than the JavaScript stack
  const root = {f: -1, i: 0, t: 0, kids: [], parent: null, depth: 0, size: 1};
  const tree = [root];
  let height = 1;
  for (const [parent, f, instructions, time] of data.nodes) {
    const up = tree[parent + 1];   // -1: the root, "all"
    const k = {f: f, i: instructions, t: time, kids: [], parent: up, depth: up.depth + 1, size: 1};
    up.kids.push(k);
    tree.push(k);
    height = Math.max(height, k.depth + 1);
  }
  for (let k = tree.length - 1; k > 0; k--) {
    const n = tree[k];
    n.parent.i += n.i; n.parent.t += n.t; n.parent.size += n.size;
  }
  const nodes = tree.length;
  svg.dataset.nodes = String(nodes);
  let zoomed = root;

  function frameName(n) { return n.f < 0 ? 'all' : data.frames[n.f][0]; }
  function colour(n) {
    if (n.f < 0) return '#c8c8c8';
    const name = data.frames[n.f][0];
    let h = 0;
    for (let k = 0; k < name.length; k++) h = (h * 31 + name.charCodeAt(k)) >>> 0;
    if (data.frames[n.f][1] === null)   // an opcode
      return 'hsl(' + (200 + h % 40) + ',60%,' + (62 + h % 15) + '%)';
    return 'hsl(' + (h % 50) + ',' + (65 + h % 25) + '%,' + (58 + (h >> 8) % 14) + '%)';
  }

  function describe(n) {
    const lines = [frameName(n)];   // a function's name says its file:line
    if (data.counted)
      lines.push('instructions ' + grouped(n.i) + '  (' + pct(n.i, root.i) + ' of all)');
    if (data.timed)
      lines.push('CPU time     ' + ms(n.t) + ' ms  (' + pct(n.t, root.t) + ' of all)');
    if (zoomed !== root)
      lines.push(pct(metricOf(n, metric), metricOf(zoomed, metric)) + ' of ' + frameName(zoomed));
    return lines.join('\n');
  }

  function bar(n, x, w, y, cls) {
    const g = document.createElementNS(SVG, 'g');
    g.setAttribute('class', cls);
    g.setAttribute('data-frame', String(n.f));
    const r = document.createElementNS(SVG, 'rect');
    r.setAttribute('x', x.toFixed(2));
    r.setAttribute('y', y);
    r.setAttribute('width', Math.max(w, 0.5).toFixed(2));
    r.setAttribute('height', ROW - 1);
    r.setAttribute('fill', colour(n));
    g.appendChild(r);
    const chars = Math.floor((w - 6) / 6.6);
    if (chars >= 3) {
      const t = document.createElementNS(SVG, 'text');
      const name = frameName(n);
      t.setAttribute('x', (x + 3).toFixed(2));
      t.setAttribute('y', y + ROW - 5);
      t.textContent = name.length <= chars ? name : name.slice(0, chars - 2) + '..';
      g.appendChild(t);
    }
    g.addEventListener('click', (e) => {
      e.stopPropagation();
      zoomed = n;
      draw();
      const id = n.f >= 0 ? data.frames[n.f][3] : -1;   // an opcode frame has none
      if (id >= 0) explorer.open(id, false);
    });
    g.addEventListener('mousemove', (e) => {
      tip.textContent = describe(n);
      tip.style.display = 'block';
      const x = Math.min(e.clientX + 12, window.innerWidth - tip.offsetWidth - 4);
      tip.style.left = Math.max(0, x) + 'px';
      tip.style.top = (e.clientY + 14) + 'px';
    });
    g.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
    svg.appendChild(g);
  }

  function draw() {
    const width = Math.max(svg.parentNode.clientWidth - 2, 200);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const ancestors = [];
    for (let a = zoomed.parent; a; a = a.parent) ancestors.push(a);
    ancestors.reverse();
    const top = ancestors.length;
    let drawn = 0;
    const minPx = zoomed.size + top > MANY ? 0.3 : 0;
    svg.setAttribute('width', width);
    svg.setAttribute('height', Math.max(height, top + 1) * ROW + 2);
    ancestors.forEach((a, d) => { bar(a, 0, width, d * ROW, 'frame ancestor'); drawn++; });
    const whole = metricOf(zoomed, metric);
    // depth first, callers before callees, with a stack of our own
    const todo = [[zoomed, 0, width]];
    while (todo.length) {
      const [n, x, w] = todo.pop();
      bar(n, x, w, n.depth * ROW, n === zoomed ? 'frame zoomed' : 'frame');
      drawn++;
      if (!whole) continue;
      const of = metricOf(n, metric) || 1;
      const next = [];
      let cx = x;
      for (const k of n.kids) {
        const kw = w * metricOf(k, metric) / of;
        if (metricOf(k, metric) > 0 && kw >= minPx) next.push([k, cx, kw]);
        cx += kw || 0;
      }
      for (let j = next.length - 1; j >= 0; j--) todo.push(next[j]);
    }
    svg.dataset.drawn = String(drawn);
    status.textContent = (zoomed === root ? '' : 'zoomed into ' + frameName(zoomed) + '; ') +
        grouped(drawn) + ' of ' + grouped(nodes) + ' frames drawn, total ' +
        amount(metricOf(root, metric), metric);
  }
  reset.addEventListener('click', () => { zoomed = root; draw(); });
  add(body, 'p', {class: 'muted'}, 'A click on a bar also opens its function in the bytecode ' +
      'explorer below.');
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape') { zoomed = root; draw(); } });
  window.addEventListener('resize', draw);

  // ---- the bytecode explorer (explorer.js) -----------------------------
  const explorer = window.opprofExplorer.mount(body, data, tip);

  // ---- scope comparison ------------------------------------------------
  add(body, 'h2', {}, 'Scope comparison');
  function table(parent, heads, rows, id) {
    // scrolls by itself on a narrow screen, not the page
    const t = add(add(parent, 'div', {class: 'scroll'}), 'table', {class: 'num'});
    if (id) t.id = id;
    const hr = add(add(t, 'thead', {}), 'tr', {});
    heads.forEach((h) => add(hr, 'th', h.startsWith('<') ? {class: 'l'} : {}, h.replace(/^</, '')));
    const tb = add(t, 'tbody', {});
    for (const r of rows) {
      const tr = add(tb, 'tr', {});
      r.forEach((c, k) => {
        const left = heads[k].startsWith('<');
        if (c instanceof Node) add(tr, 'td', {class: 'l'}).appendChild(c);
        else add(tr, 'td', left ? {class: 'l'} : {}, c);
      });
    }
    return t;
  }
  const few = (samples) => (samples < 10 ? '~' : '');
  const cnt = (v) => (data.counted ? grouped(v) : '-');
  const tms = (ns, samples) => (data.timed ? few(samples) + ms(ns) : '-');
  const all = data.scopes.reduce((s, r) => [s[0] + r[1], s[1] + r[2], s[2] + r[3]], [0, 0, 0]);
  const scopeRows = data.scopes.map((r) => [r[0], cnt(r[1]), data.counted ? pct(r[1], all[0]) : '-',
    tms(r[2], r[3]), data.timed ? pct(r[2], all[1]) : '-', nsPer(r[2], r[1])]);
  scopeRows.push(['all', cnt(all[0]), data.counted ? '100.0%' : '-', tms(all[1], all[2]),
    data.timed ? '100.0%' : '-', nsPer(all[1], all[0])]);
  table(body, ['<scope', 'instructions', '% instr', 'time ms', '% time', 'ns/instr'], scopeRows,
        'scopes');

  const byCount = data.by_count;
  const sides = add(body, 'div', {class: 'sides', id: 'histograms'});
  const sideList = [['module-level code', data.module], ['function-local code', data.function]];
  let scale = 1;
  for (const [, s] of sideList)
    for (const o of s.ops) scale = Math.max(scale, byCount ? o[1] : o[2]);
  for (const [label, s] of sideList) {
    const box = add(sides, 'div', {});
    add(box, 'h3', {}, label + ' (opcodes by ' + (byCount ? 'count' : 'time') + ')');
    if (!s.ops.length) { add(box, 'p', {class: 'muted'}, 'none ran'); continue; }
    const rows = s.ops.map((o) => {
      const b = el('span', {class: 'bar'});
      b.style.width = (200 * (byCount ? o[1] : o[2]) / scale).toFixed(1) + 'px';
      return [o[0], cnt(o[1]), tms(o[2], o[3]), data.timed ? nsPer(o[2], o[1]) : '-', b];
    });
    table(box, ['<opcode', 'count', 'ms', 'ns/i', '<'], rows);
    if (s.rows > s.ops.length) add(box, 'p', {class: 'muted'}, '... ' + (s.rows - s.ops.length) + ' more');
  }
  const access = [];
  for (const [label, s] of sideList) {
    const whole = data.counted ? s.dict[0] + s.array[0] : s.dict[1] + s.array[1];
    for (const [kind, g] of [['dict-based', s.dict], ['array-based', s.array]])
      access.push([kind, label.replace(' code', ''), cnt(g[0]), data.timed ? ms(g[1]) : '-',
        data.timed ? nsPer(g[1], g[0]) : '-', pct(data.counted ? g[0] : g[1], whole)]);
  }
  table(body, ['<name access', '<code', 'count', 'time ms', 'ns/instr', 'share'], access, 'access');
  add(body, 'p', {class: 'muted'}, 'dict-based = *_NAME, *_GLOBAL (dictionary lookups); ' +
      'array-based = *_FAST*, *_DEREF, LOAD_CLOSURE, MAKE_CELL (slots of the frame)');
  const verdict = /^verdict:[^\n]*(\n {9}[^\n]*)*/m.exec(data.report || '');
  if (verdict) add(body, 'p', {class: 'verdict'}, verdict[0].replace(/\n {9}/g, ' '));

  // ---- top functions ---------------------------------------------------
  add(body, 'h2', {}, data.timed ? 'Top functions by self time'
                                 : data.counted ? 'Top functions by instructions' : 'Top functions by calls');
  function opener(f) {   // the function's name opens it in the explorer
    const b = el('button', {type: 'button', class: 'xopen', 'data-id': String(f.id)},
                 f.qualname + ' (' + f.file + ':' + f.line + ')');
    b.addEventListener('click', () => explorer.open(f.id, true));
    return b;
  }
  const fnRows = data.functions.map((f) => [grouped(f.calls), cnt(f.instructions),
    tms(f.time_ns, f.samples), f.cumulative_ns === null ? '-' : ms(f.cumulative_ns),
    data.timed ? nsPer(f.time_ns, f.instructions) : '-', f.scope, opener(f)]);
  if (fnRows.length)
    table(body, ['calls', 'instructions', 'self ms', 'cumul ms', 'ns/instr', '<scope', '<function'],
          fnRows, 'functions');
  else
    add(body, 'p', {class: 'muted'}, 'no functions ran');

  const details = add(body, 'details', {});
  add(details, 'summary', {}, 'The text report (opprof report)');
  add(details, 'pre', {}, data.report || '');

  draw();
})();
