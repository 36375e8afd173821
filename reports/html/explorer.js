// opprof's HTML report, the bytecode explorer (reports/html.c embeds this
// file before flame.js, which mounts it): a function's source lines with
// what each ran and cost, and under each line, on demand, its instructions
// with the meaning of each on hover.  The functions' details are in zlib'd
// chunks (<script id="opprof-zK">, reports/explorer.c) inflated by the
// browser's own DecompressionStream when one of their functions opens:
// nothing is fetched, and a big page parses only what is looked at.
'use strict';
window.opprofExplorer = (function () {
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function add(parent, tag, attrs, text) { return parent.appendChild(el(tag, attrs, text)); }
  function grouped(n) { return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ','); }
  function ms(ns) { return (ns / 1e6).toFixed(ns && ns < 1e5 ? 3 : 1); }
  function us(ns) { return (ns / 1e3).toFixed(1); }

  async function inflate(b64) {
    if (typeof DecompressionStream === 'undefined')
      throw new Error('this browser cannot inflate the page\'s data (no DecompressionStream): ' +
                      'use opprof annotate');
    const bin = atob(b64.trim());
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
    return new Response(stream).text();
  }

  function mount(parent, data, tip) {
    const X = data.explorer;
    if (!X) return {open: function () {}};
    const chunks = new Map();
    function chunk(k) {
      if (!chunks.has(k)) {
        const node = document.getElementById('opprof-z' + k);
        chunks.set(k, node ? inflate(node.textContent).then(JSON.parse).then(unstep)
                           : Promise.reject(new Error('chunk ' + k + ' is missing')));
      }
      return chunks.get(k);
    }
    // a chunk's offsets and lines are steps from the value before (lines:
    // 0 for none), which deflate better than the values
    function unstep(c) {
      for (const d of Object.values(c.fns || {})) {
        for (const k of d.big ? ['bl'] : ['o', 'l'])
          for (let i = 1; i < d[k].length; i++) d[k][i] += d[k][i - 1];
        if (d.big) continue;
        d.l = d.l.map((l) => (l > 0 ? l : -1));
        if (!d.t) d.t = d.s = d.c.map(() => 0);   // no time of its own
      }
      return c;
    }
    const fn = (id) => X.fns[id];
    const where = (f) => X.files[f[1]][0] + ':' + f[2];
    const weight = (f) => (data.timed ? f[6] : f[5]) || f[4] / 1e6;

    // ---- the search box -------------------------------------------------
    const section = add(parent, 'section', {id: 'explorer', 'aria-labelledby': 'explorer-title'});
    add(section, 'h2', {id: 'explorer-title'}, 'Bytecode explorer');
    add(section, 'p', {class: 'muted'}, 'Find a function by name or file, or click a bar of ' +
        'the flame graph or a row of the top functions: its source lines with what each ran ' +
        '(heat), and under a line, on Enter or click, its instructions; hover or focus an ' +
        'instruction for its meaning.');
    const form = add(section, 'div', {class: 'xsearch', role: 'search'});
    add(form, 'label', {for: 'xq'}, 'Find a function ');
    const input = add(form, 'input', {id: 'xq', type: 'search', placeholder: 'name or file',
                                      autocomplete: 'off', spellcheck: 'false'});
    const results = add(section, 'ul', {id: 'xresults', class: 'xresults'});
    const view = add(section, 'div', {id: 'xview', 'aria-live': 'polite'});
    const order = X.fns.map((_, i) => i).sort((a, b) => weight(fn(b)) - weight(fn(a)) || a - b);

    function search() {
      const terms = input.value.toLowerCase().split(/\s+/).filter((s) => s);
      results.textContent = '';
      if (!terms.length) return;
      let shown = 0, found = 0;
      for (const id of order) {
        const f = fn(id);
        const hay = (f[0] + ' ' + where(f)).toLowerCase();
        if (!terms.every((t) => hay.includes(t))) continue;
        if (++found > 30) continue;
        shown++;
        const b = add(add(results, 'li', {}), 'button', {type: 'button', class: 'xresult',
                                                           'data-id': String(id)});
        add(b, 'span', {class: 'xname'}, f[0]);
        add(b, 'span', {class: 'muted'}, ' ' + where(f) + '  ' +
            (data.timed ? ms(f[6]) + ' ms' : grouped(f[5]) + ' instructions'));
        b.addEventListener('click', () => open(id, true));
      }
      if (!found) add(results, 'li', {class: 'muted'}, 'no function matches');
      else if (found > shown)
        add(results, 'li', {class: 'muted'}, '... ' + (found - shown) + ' more');
    }
    input.addEventListener('input', search);
    input.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      const first = results.querySelector('button.xresult');
      if (first) { e.preventDefault(); first.click(); }
    });

    // ---- the function view ----------------------------------------------
    function showTip(target, text) {
      if (!tip) return;
      tip.textContent = text;
      tip.classList.add('wrap');
      tip.style.display = 'block';
      const r = target.getBoundingClientRect();
      const x = Math.min(r.left, window.innerWidth - tip.offsetWidth - 4);
      tip.style.left = Math.max(0, x) + 'px';
      tip.style.top = (r.bottom + 4) + 'px';
    }
    function hideTip() {
      if (!tip) return;
      tip.style.display = 'none';
      tip.classList.remove('wrap');
    }
    function meaning(op) {
      const m = X.means[op] || ['', ''];
      return X.ops[op] + (m[0] ? ': ' + m[0] : ': (not in the glossary)') +
             (m[1] ? '\n[' + m[1] + ']' : '');
    }
    function opCell(td, op, cls) {
      const s = add(td, 'span', {class: cls, tabindex: '0', 'data-op': X.ops[op]}, X.ops[op]);
      const show = () => showTip(s, meaning(op));
      s.addEventListener('mouseenter', show);
      s.addEventListener('focus', show);
      s.addEventListener('mouseleave', hideTip);
      s.addEventListener('blur', hideTip);
    }

    function bar(td, value, whole, cls) {
      const b = add(td, 'span', {class: 'xbar ' + cls});
      b.style.width = (whole ? 60 * value / whole : 0).toFixed(1) + 'px';
    }

    function instructions(d, idx, holder) {
      const wrap = add(holder, 'div', {class: 'xscroll'});
      const t = add(wrap, 'table', {class: 'num xins'});
      const heads = ['offset', '<opname', '<argument', 'count'];
      if (data.timed) heads.push('time us', 'ns/instr');
      const forms = X.forms && d.f;   // the specialization view's, when the profile has it
      if (forms) heads.push('<final form');
      const hr = add(add(t, 'thead', {}), 'tr', {});
      heads.forEach((h) => add(hr, 'th', h.startsWith('<') ? {class: 'l'} : {},
                               h.replace(/^</, '')));
      const tb = add(t, 'tbody', {});
      let few = false;
      for (const i of idx) {
        // without counts (--time-only) what got no sample may still have run
        const cold = data.counted && !d.c[i] && !d.t[i];
        const tr = add(tb, 'tr', {class: cold ? 'xi cold' : 'xi'});
        add(tr, 'td', {}, String(d.o[i]));
        opCell(add(tr, 'td', {class: 'l'}), d.op[i], 'xop');
        add(tr, 'td', {class: 'l xarg'}, d.a[i]);
        add(tr, 'td', {class: 'xcount'}, !data.counted ? '-' : d.c[i] ? grouped(d.c[i]) : '.');
        if (data.timed) {
          add(tr, 'td', {}, d.t[i] ? us(d.t[i]) : '');
          add(tr, 'td', {}, d.c[i] && d.s[i] ? (d.t[i] / d.c[i]).toFixed(1) +
              (d.s[i] < 10 ? '~' : '') : '-');
          few = few || (d.c[i] > 0 && d.s[i] > 0 && d.s[i] < 10);
        }
        if (forms) {
          const td = add(tr, 'td', {class: 'l'});
          if (d.f[i] >= 0) opCell(td, d.f[i], 'xop xform');
          else if (d.f[i] === -2) td.textContent = 'generic';   // the base instruction itself
        }
      }
      if (few) add(holder, 'p', {class: 'muted'}, '~ marks fewer than 10 samples');
    }

    function render(id, d, src) {
      const f = fn(id);
      view.textContent = '';
      view.dataset.id = String(id);
      const head = add(view, 'div', {class: 'xhead'});
      add(head, 'h3', {id: 'xtitle', tabindex: '-1'}, f[0]);
      const byTime = data.timed && f[6] > 0;   // heat by time where there is some
      const total = byTime ? f[6] : f[5];
      add(head, 'p', {class: 'meta'}, where(f) + ' \u00b7 ' + X.scopes[f[3]] + ' \u00b7 ' +
          grouped(f[4]) + ' calls \u00b7 ' +
          (data.counted ? grouped(f[5]) + ' instructions' : 'not counted') +
          (data.timed ? ' \u00b7 ' + ms(f[6]) + ' ms self' +
              (f[5] && f[7] ? ' \u00b7 ' + (f[6] / f[5]).toFixed(1) + ' ns/instr' : '') : ''));
      // instructions by line, in offset order; those without a line last.
      // A function too big to list has its lines' totals only
      const byLine = new Map(), sums = new Map();
      if (d.big) {
        d.bl.forEach((line, i) => { byLine.set(line, []); sums.set(line, [d.bc[i], d.bt[i]]); });
        add(view, 'p', {class: 'note'}, 'This function has ' + grouped(d.big) + ' code units, ' +
            'too many to list here: its lines show their totals; opprof annotate PROFILE ' +
            where(f) + ' lists every instruction.');
      } else {
        d.l.forEach((line, i) => {
          if (!byLine.has(line)) byLine.set(line, []);
          byLine.get(line).push(i);
        });
        for (const [l, idx] of byLine)
          sums.set(l, [idx.reduce((s, i) => s + d.c[i], 0), idx.reduce((s, i) => s + d.t[i], 0)]);
      }
      const lines = new Set([...byLine.keys()].filter((l) => l > 0));
      if (d.r)
        for (let l = d.r[0]; l <= d.r[1]; l++) if (src.has(l)) lines.add(l);
      const shown = [...lines].sort((a, b) => a - b);
      if (byLine.has(-1)) shown.push(-1);
      for (const l of shown) if (!sums.has(l)) sums.set(l, [0, 0]);
      let most = [1, 1];
      for (const [c, t] of sums.values()) most = [Math.max(most[0], c), Math.max(most[1], t)];
      if (!shown.some((l) => src.has(l)))
        add(view, 'p', {class: 'note'}, 'This profile has no source text of this function' +
            (X.any_source ? ' (a file opprof could not read, a <string>, or past the size ' +
             'bound' + (X.omitted ? ': ' + X.omitted + ' functions were left out' : '') + ')'
                          : ' (recorded before profiles carried it)') +
            ': its lines are shown by number.');
      const wrap = add(view, 'div', {class: 'xscroll'});
      const t = add(wrap, 'table', {class: 'xlines', id: 'xlines'});
      const hr = add(add(t, 'thead', {}), 'tr', {});
      add(hr, 'th', {}, 'line');
      add(hr, 'th', {}, 'instructions');
      if (data.timed) add(hr, 'th', {}, 'time ms');
      add(hr, 'th', {class: 'l'}, 'source');
      const tb = add(t, 'tbody', {});
      const cols = data.timed ? 4 : 3;
      for (const l of shown) {
        const idx = byLine.get(l) || [];
        const [c, tm] = sums.get(l);
        const ran = c > 0 || tm > 0;
        const has = byLine.has(l);   // some instruction is on the line
        const cls = !has ? 'xline none' : ran || !data.counted ? 'xline' : 'xline cold';
        const tr = add(tb, 'tr', {class: cls, 'data-line': String(l), 'data-count': String(c),
                                  'data-time': String(tm)});
        const heat = total ? (byTime ? tm : c) / total : 0;
        if (ran) tr.style.setProperty('--heat', Math.min(1, Math.sqrt(heat)).toFixed(3));
        const no = add(tr, 'td', {class: 'xno'}, l > 0 ? String(l) : '\u2014');
        const cc = add(tr, 'td', {class: 'xnum'});
        if (has && data.counted) {
          bar(cc, c, most[0], 'count');
          add(cc, 'span', {}, ran ? grouped(c) : 'never ran');
        } else if (has) {
          add(cc, 'span', {}, '-');   // --time-only: not counted
        }
        if (data.timed) {
          const tc = add(tr, 'td', {class: 'xnum'});
          if (tm) { bar(tc, tm, most[1], 'time'); add(tc, 'span', {}, ms(tm)); }
        }
        const s = add(add(tr, 'td', {class: 'xsrc'}), 'code', {});
        s.textContent = src.has(l) ? src.get(l) : l > 0 ? '' : '(instructions without a line)';
        if (!idx.length) continue;
        tr.setAttribute('tabindex', '0');
        tr.setAttribute('role', 'button');
        tr.setAttribute('aria-expanded', 'false');
        tr.setAttribute('aria-label', 'line ' + no.textContent + ': ' + idx.length +
                        ' instructions, ' + (!data.counted ? 'not counted' : ran ? grouped(c) +
                        ' executed' : 'never ran'));
        let detail = null;
        const toggle = () => {
          const openNow = tr.getAttribute('aria-expanded') !== 'true';
          tr.setAttribute('aria-expanded', String(openNow));
          if (openNow && !detail) {
            detail = el('tr', {class: 'xdetail'});
            instructions(d, idx, add(detail, 'td', {colspan: String(cols)}));
            tr.after(detail);
          }
          if (detail) detail.hidden = !openNow;
        };
        tr.addEventListener('click', toggle);
        tr.addEventListener('keydown', (e) => {
          if (e.target !== tr || (e.key !== 'Enter' && e.key !== ' ')) return;
          e.preventDefault();
          toggle();
        });
      }
    }

    let current = 0;
    async function open(id, scroll) {
      if (!(id >= 0 && id < X.fns.length)) return;
      const ticket = ++current;
      const f = fn(id);
      view.dataset.ready = '';
      view.textContent = '';
      add(view, 'p', {class: 'muted'}, 'opening ' + f[0] + ' ...');
      if (scroll) section.scrollIntoView({block: 'start'});
      try {
        const srcChunk = X.files[f[1]][1];
        const [c, s] = await Promise.all([chunk(f[8]),
                                          srcChunk >= 0 ? chunk(srcChunk) : {src: []}]);
        if (ticket !== current) return;
        render(id, c.fns[String(id)], new Map(s.src));
        view.dataset.ready = '1';
        if (scroll) document.getElementById('xtitle').focus({preventScroll: true});
      } catch (e) {
        view.textContent = '';
        add(view, 'p', {class: 'note'}, 'Cannot show ' + f[0] + ': ' + e.message);
      }
    }
    if (/^#fn=\d+$/.test(location.hash)) open(Number(location.hash.slice(4)), true);
    return {open: open};
  }

  return {mount: mount};
})();
