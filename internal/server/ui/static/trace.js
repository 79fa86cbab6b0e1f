// Trace view: a virtualized waterfall of the trace's spans (only the rows in
// view exist in the DOM, so 100,000 spans stay interactive), a collapsible
// tree with keyboard navigation, and a detail panel loaded lazily for the
// selected span.
//
// Every value from the trace is hostile: it is written with textContent or
// createElement only, never parsed as HTML, and control characters are shown
// escaped (visible()). The only URLs built are of this server's own API and
// pages, from ids validated as hex.

const ROW = 24; // px, fixed row height (trace.css .wf-row)
const OVERSCAN = 15; // rows rendered above and below the viewport
const HEX = /^[0-9a-f]+$/;

const boot = JSON.parse(document.getElementById('trace-data').textContent);
if (!HEX.test(boot.trace_id)) throw new Error('bad trace id');

const scroller = document.getElementById('wf-scroll');
const spacer = document.getElementById('wf-spacer');
const detail = document.getElementById('detail');
const axis = document.getElementById('wf-axis');

// visible makes control characters visible (ESC shows as \x1b) so that
// terminal escapes in data are never interpreted; newlines and tabs stay.
export function visible(s) {
  return String(s).replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g,
    (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

// el creates an element with a class and text content (never HTML).
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = visible(text);
  return e;
}

export function fmtDur(ns) {
  const ms = ns / 1e6;
  if (ms >= 10000) return (ms / 1000).toFixed(1) + ' s';
  if (ms >= 100) return ms.toFixed(0) + ' ms';
  if (ms >= 1) return ms.toFixed(1) + ' ms';
  if (ms >= 0.001) return ms.toFixed(3) + ' ms';
  return '0 ms';
}

function fmtNum(n) {
  return Number(n).toLocaleString('en-US');
}

// The trace, loaded from the outline endpoint.
const T = {
  n: 0,
  ids: [], // span id hex per row
  parent: null, // Int32Array, -1 for roots
  name: null, kind: null, status: null, etype: null, model: null, tool: null, // Int32Array into strings
  start: null, dur: null, // Float64Array, ns after the trace start
  tokens: null, cost: null,
  strings: [],
  total: 1, // trace duration, ns
  depth: null, // Int32Array
  kids: null, kidStart: null, // children lists (CSR form), in row order
  failed: null, // Uint8Array: the span failed
  failedBelow: null, // Uint8Array: some descendant failed
  collapsed: null, // Uint8Array
  byId: new Map(),
  vis: null, // Int32Array of row indexes in display order
  visLen: 0,
  posInVis: null, // Int32Array row -> position in vis, -1 when hidden
};
let selected = -1; // row index
let detailAbort = null;

async function load() {
  const t0 = performance.now();
  const resp = await fetch(`/api/v1/traces/${boot.trace_id}/outline`, { headers: { Accept: 'application/json' } });
  if (!resp.ok) {
    let msg = `${resp.status} ${resp.statusText}`;
    try { msg = (await resp.json()).error || msg; } catch { /* not JSON */ }
    throw new Error(msg);
  }
  const o = await resp.json();
  build(o);
  document.getElementById('wf-loading')?.remove();
  drawAxis();
  relayout();
  scroller.addEventListener('scroll', () => schedule(), { passive: true });
  window.addEventListener('resize', () => schedule());
  scroller.addEventListener('keydown', onKey);
  scroller.addEventListener('click', onClick);
  let initial = -1;
  if (boot.span && T.byId.has(boot.span)) initial = T.byId.get(boot.span);
  if (initial >= 0) {
    select(initial, { reveal: true, center: true });
  }
  document.body.dataset.traceReady = String(Math.round(performance.now() - t0));
}

function build(o) {
  const rows = o.spans;
  const n = rows.length;
  T.n = n;
  T.strings = o.strings;
  T.total = Math.max(1, o.end_ns - o.start_ns);
  T.parent = new Int32Array(n);
  T.name = new Int32Array(n); T.kind = new Int32Array(n); T.status = new Int32Array(n);
  T.etype = new Int32Array(n); T.model = new Int32Array(n); T.tool = new Int32Array(n);
  T.start = new Float64Array(n); T.dur = new Float64Array(n);
  T.tokens = new Float64Array(n); T.cost = new Float64Array(n);
  T.failed = new Uint8Array(n); T.failedBelow = new Uint8Array(n);
  T.collapsed = new Uint8Array(n); T.depth = new Int32Array(n);
  T.ids = new Array(n);
  const errorIdx = T.strings.indexOf('error');
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    T.ids[i] = r[0];
    if (!T.byId.has(r[0])) T.byId.set(r[0], i);
    T.parent[i] = r[1]; T.name[i] = r[2]; T.kind[i] = r[3];
    T.start[i] = r[4]; T.dur[i] = r[5]; T.status[i] = r[6]; T.etype[i] = r[7];
    T.model[i] = r[8]; T.tool[i] = r[9]; T.tokens[i] = r[10]; T.cost[i] = r[11];
    T.failed[i] = (r[6] === errorIdx || r[7] !== 0) ? 1 : 0;
  }
  // Children lists in row order (rows are sorted by start time).
  const count = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) if (T.parent[i] >= 0) count[T.parent[i]]++;
  T.kidStart = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) T.kidStart[i + 1] = T.kidStart[i] + count[i];
  T.kids = new Int32Array(T.kidStart[n]);
  const fill = T.kidStart.slice(0, n);
  for (let i = 0; i < n; i++) { const p = T.parent[i]; if (p >= 0) T.kids[fill[p]++] = i; }
  // Depths (pre-order walk) and failures below (post-order, reverse walk).
  const order = new Int32Array(n);
  let len = 0;
  const stack = [];
  for (let i = n - 1; i >= 0; i--) if (T.parent[i] < 0) stack.push(i);
  while (stack.length) {
    const i = stack.pop();
    order[len++] = i;
    for (let k = T.kidStart[i + 1] - 1; k >= T.kidStart[i]; k--) {
      const c = T.kids[k];
      T.depth[c] = T.depth[i] + 1;
      stack.push(c);
    }
  }
  for (let j = len - 1; j >= 0; j--) {
    const i = order[j];
    const p = T.parent[i];
    if (p >= 0 && (T.failed[i] || T.failedBelow[i])) T.failedBelow[p] = 1;
  }
  T.vis = new Int32Array(n);
  T.posInVis = new Int32Array(n);
}

// relayout recomputes the visible rows (honouring collapsed spans) and
// redraws.
function relayout() {
  T.posInVis.fill(-1);
  let len = 0;
  const stack = [];
  for (let i = T.n - 1; i >= 0; i--) if (T.parent[i] < 0) stack.push(i);
  while (stack.length) {
    const i = stack.pop();
    T.posInVis[i] = len;
    T.vis[len++] = i;
    if (T.collapsed[i]) continue;
    for (let k = T.kidStart[i + 1] - 1; k >= T.kidStart[i]; k--) stack.push(T.kids[k]);
  }
  T.visLen = len;
  spacer.style.height = `${len * ROW}px`;
  render();
}

let pending = false;
function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; render(); });
}

const pool = []; // row elements, reused
function rowEl() {
  const r = el('div', 'wf-row');
  r.setAttribute('role', 'treeitem');
  const name = el('span', 'wf-name');
  const caret = el('span', 'caret');
  const kind = el('span', 'kind');
  const label = el('span', 'label');
  const err = el('span', 'err');
  name.append(caret, kind, label, err);
  const track = el('span', 'wf-track');
  const bar = el('span', 'wf-bar');
  track.append(bar);
  const off = el('span', 'wf-off');
  const dur = el('span', 'wf-dur');
  r.append(name, off, track, dur);
  r._parts = { name, caret, kind, label, err, bar, off, dur };
  spacer.append(r);
  return r;
}

function render() {
  const top = scroller.scrollTop;
  // The scroll box is as tall as the viewport at most; the cap keeps the
  // row pool small even if a layout ever lets it grow with its content.
  const h = Math.min(scroller.clientHeight || 600, window.innerHeight || 1000);
  const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
  const last = Math.min(T.visLen, Math.ceil((top + h) / ROW) + OVERSCAN);
  const need = last - first;
  while (pool.length < need) pool.push(rowEl());
  for (let j = 0; j < pool.length; j++) {
    const r = pool[j];
    if (j >= need) { r.hidden = true; continue; }
    r.hidden = false;
    const pos = first + j;
    const i = T.vis[pos];
    fillRow(r, i, pos);
  }
}

function fillRow(r, i, pos) {
  const p = r._parts;
  const s = T.strings;
  r.dataset.i = String(i);
  r.dataset.spanId = T.ids[i];
  r.style.transform = `translateY(${pos * ROW}px)`;
  const hasKids = T.kidStart[i + 1] > T.kidStart[i];
  const failed = T.failed[i] === 1;
  r.className = 'wf-row' + (failed ? ' failed' : '') + (i === selected ? ' selected' : '') +
    (T.collapsed[i] && T.failedBelow[i] ? ' failed-below' : '');
  r.setAttribute('aria-selected', i === selected ? 'true' : 'false');
  r.setAttribute('aria-level', String(T.depth[i] + 1));
  if (hasKids) r.setAttribute('aria-expanded', T.collapsed[i] ? 'false' : 'true');
  else r.removeAttribute('aria-expanded');
  p.name.style.paddingLeft = `${4 + T.depth[i] * 14}px`;
  p.caret.textContent = hasKids ? (T.collapsed[i] ? '▸' : '▾') : '';
  p.caret.title = hasKids ? `${T.kidStart[i + 1] - T.kidStart[i]} children` : '';
  p.kind.textContent = visible(s[T.kind[i]] || 'span');
  p.kind.className = 'kind kind-' + (/^[a-z]+$/.test(s[T.kind[i]]) ? s[T.kind[i]] : 'span');
  p.label.textContent = visible(s[T.name[i]]);
  p.label.title = visible(s[T.name[i]]);
  p.err.textContent = failed ? '⚠ ' + visible(s[T.etype[i]] || 'error') : (T.collapsed[i] && T.failedBelow[i] ? '⚠ below' : '');
  p.off.textContent = fmtDur(T.start[i]);
  const left = (T.start[i] / T.total) * 100;
  const width = Math.max((T.dur[i] / T.total) * 100, 0.15);
  p.bar.style.left = `${Math.min(left, 99.85)}%`;
  p.bar.style.width = `${Math.min(width, 100 - Math.min(left, 99.85))}%`;
  p.bar.className = 'wf-bar ' + (failed ? 'bar-error' : (s[T.status[i]] === 'ok' ? 'bar-ok' : 'bar-unset'));
  p.dur.textContent = fmtDur(T.dur[i]);
}

function drawAxis() {
  axis.replaceChildren();
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    const t = el('span', 'tick', fmtDur(T.total * f));
    t.style.left = `${f * 100}%`;
    axis.append(t);
  }
}

// --- selection and navigation -------------------------------------------

function select(i, { reveal = false, center = false } = {}) {
  if (i < 0 || i >= T.n) return;
  if (reveal) { // expand collapsed ancestors
    let changed = false;
    for (let p = T.parent[i]; p >= 0; p = T.parent[p]) {
      if (T.collapsed[p]) { T.collapsed[p] = 0; changed = true; }
    }
    if (changed) relayout();
  }
  selected = i;
  scrollToRow(i, center);
  render();
  const url = new URL(window.location.href);
  url.searchParams.set('span', T.ids[i]);
  history.replaceState(null, '', url.pathname + url.search);
  showDetail(i);
}

function scrollToRow(i, center) {
  const pos = T.posInVis[i];
  if (pos < 0) return;
  const y = pos * ROW;
  const h = scroller.clientHeight;
  if (center) scroller.scrollTop = Math.max(0, y - h / 2);
  else if (y < scroller.scrollTop) scroller.scrollTop = y;
  else if (y + ROW > scroller.scrollTop + h) scroller.scrollTop = y + ROW - h;
}

function toggle(i, collapse) {
  if (T.kidStart[i + 1] === T.kidStart[i]) return false;
  const want = collapse === undefined ? (T.collapsed[i] ? 0 : 1) : (collapse ? 1 : 0);
  if (T.collapsed[i] === want) return false;
  T.collapsed[i] = want;
  relayout();
  return true;
}

function onKey(e) {
  if (T.n === 0) return;
  const pos = selected >= 0 ? T.posInVis[selected] : -1;
  let next = -1;
  switch (e.key) {
    case 'ArrowDown': next = T.vis[Math.min(T.visLen - 1, pos + 1)]; break;
    case 'ArrowUp': next = T.vis[Math.max(0, pos - 1)]; break;
    case 'PageDown': next = T.vis[Math.min(T.visLen - 1, pos + Math.floor(scroller.clientHeight / ROW))]; break;
    case 'PageUp': next = T.vis[Math.max(0, pos - Math.floor(scroller.clientHeight / ROW))]; break;
    case 'Home': next = T.vis[0]; break;
    case 'End': next = T.vis[T.visLen - 1]; break;
    case 'Enter': case ' ':
      if (selected >= 0) toggle(selected);
      e.preventDefault();
      return;
    case 'ArrowLeft':
      if (selected >= 0 && !toggle(selected, true) && T.parent[selected] >= 0) next = T.parent[selected];
      break;
    case 'ArrowRight':
      if (selected >= 0 && !toggle(selected, false) && T.kidStart[selected + 1] > T.kidStart[selected]) next = T.kids[T.kidStart[selected]];
      break;
    default: return;
  }
  e.preventDefault();
  if (next >= 0 && next !== selected) select(next);
}

function onClick(e) {
  const row = e.target.closest('.wf-row');
  if (!row) return;
  const i = Number(row.dataset.i);
  if (e.target.classList.contains('caret')) {
    toggle(i);
    return;
  }
  scroller.focus({ preventScroll: true });
  select(i);
}

// --- detail panel --------------------------------------------------------

async function showDetail(i) {
  if (detailAbort) detailAbort.abort();
  const ctl = new AbortController();
  detailAbort = ctl;
  const id = T.ids[i];
  if (!HEX.test(id)) return;
  detail.replaceChildren(el('h2', 'detail-name', T.strings[T.name[i]]), el('p', 'muted', 'loading…'));
  let sp;
  try {
    const resp = await fetch(`/api/v1/traces/${boot.trace_id}/spans/${id}`, { signal: ctl.signal });
    if (!resp.ok) {
      let msg = `${resp.status}`;
      try { msg = (await resp.json()).error || msg; } catch { /* not JSON */ }
      throw new Error(msg);
    }
    sp = await resp.json();
  } catch (err) {
    if (err.name === 'AbortError') return;
    detail.replaceChildren(el('p', 'error-text', 'could not load the span: ' + err.message));
    return;
  }
  if (ctl.signal.aborted) return;
  renderDetail(sp);
}

function section(title, ...children) {
  const s = el('section', 'detail-section');
  s.append(el('h3', null, title), ...children);
  return s;
}

function kvTable(pairs) {
  const t = el('table', 'kv');
  for (const [k, v] of pairs) {
    const tr = el('tr');
    tr.append(el('th', null, k));
    const td = el('td', 'mono');
    if (v !== null && typeof v === 'object') td.append(el('pre', null, JSON.stringify(v, null, 2)));
    else td.textContent = visible(v);
    tr.append(td);
    t.append(tr);
  }
  return t;
}

// pretty shows text as indented JSON when it parses as JSON.
function pretty(text) {
  try {
    const v = JSON.parse(text);
    if (v !== null && typeof v === 'object') return JSON.stringify(v, null, 2);
  } catch { /* not JSON */ }
  return text;
}

function pre(text, cls) {
  return el('pre', 'payload' + (cls ? ' ' + cls : ''), pretty(text));
}

function message(m) {
  const box = el('div', 'msg msg-' + (/^[a-z]+$/.test(m.role) ? m.role : 'other'));
  box.append(el('div', 'role', m.role + (m.name ? ` (${m.name})` : '') + (m.tool_call_id ? ` → result of ${m.tool_call_id}` : '')));
  if (m.content) box.append(el('div', 'content', m.content));
  for (const part of m.parts || []) box.append(el('pre', 'payload', JSON.stringify(part, null, 2)));
  for (const tc of m.tool_calls || []) {
    const c = el('div', 'toolcall');
    c.append(el('div', 'toolcall-name', `tool call ${tc.name}` + (tc.id ? ` [${tc.id}]` : '')));
    if (tc.arguments) c.append(pre(tc.arguments));
    box.append(c);
  }
  if (m.finish_reason) box.append(el('div', 'muted', 'finish: ' + m.finish_reason));
  return box;
}

const CANONICAL = ['span_id', 'parent_span_id', 'kind', 'start_time', 'end_time', 'duration_ms', 'status', 'status_message',
  'error_type', 'service', 'environment', 'deployment_id', 'tenant', 'route', 'session_id', 'user_id', 'prompt_name',
  'prompt_version_id', 'release_label', 'provider', 'request_model', 'response_model', 'input_tokens', 'cache_read_tokens',
  'cache_write_tokens', 'output_tokens', 'reasoning_tokens', 'total_tokens', 'cost_usd', 'cost_source', 'finish_reason',
  'tool_name', 'retrieval_index', 'retrieval_count'];

function renderDetail(sp) {
  const out = [];
  const head = el('div', 'detail-head');
  head.append(el('span', 'badge status-' + (sp.status === 'error' || sp.error_type ? 'error' : 'ok'),
    sp.status === 'error' || sp.error_type ? 'error' : sp.status));
  head.append(el('h2', 'detail-name', sp.name));
  out.push(head);
  if (sp.status === 'error' || sp.error_type) {
    const box = el('div', 'error-box');
    box.append(el('div', 'error-type', sp.error_type || 'error'));
    if (sp.status_message) box.append(el('div', 'error-message', sp.status_message));
    out.push(box);
  }
  const attrs = sp.attributes || {};
  // Highlights by kind: parser repairs and evaluation scores.
  const pick = (prefix) => Object.keys(attrs).filter((k) => k.startsWith(prefix)).sort().map((k) => [k.slice(prefix.length), attrs[k]]);
  const parser = pick('loupe.parser.');
  if (parser.length) out.push(section('Parser', kvTable(parser)));
  const evals = pick('loupe.eval.').concat(pick('gen_ai.evaluation.'));
  if (evals.length) out.push(section('Evaluation', kvTable(evals)));

  const p = sp.payload;
  if (sp.payload_hidden) out.push(el('p', 'muted payload-hidden', 'Payloads hidden for your role.'));
  if (p) {
    if (p.input?.length) { const s = section('Input messages'); for (const m of p.input) s.append(message(m)); out.push(s); }
    if (p.output?.length) { const s = section('Output messages'); for (const m of p.output) s.append(message(m)); out.push(s); }
    if (p.tool_arguments) out.push(section('Tool arguments', pre(p.tool_arguments)));
    if (p.tool_result) out.push(section('Tool result', pre(p.tool_result)));
    if (p.query) out.push(section('Retrieval query', el('div', 'content', p.query)));
    if (p.input_value) out.push(section(sp.kind === 'parser' ? 'Parser input' : 'Input', pre(p.input_value)));
    if (p.output_value) out.push(section(sp.kind === 'parser' ? 'Parser output' : 'Output', pre(p.output_value)));
  }
  const docs = sp.documents || [];
  const texts = p?.documents || [];
  if (docs.length || texts.length) {
    const s = section('Retrieved documents');
    const n = Math.max(docs.length, texts.length);
    for (let k = 0; k < n; k++) {
      const d = docs[k] || {};
      const tx = texts[k] || {};
      const box = el('div', 'doc');
      const head = el('div', 'doc-head');
      head.append(el('span', 'mono', d.id || tx.id || `#${k + 1}`));
      if (d.score !== undefined) head.append(el('span', 'num', `score ${Number(d.score).toFixed(3)}`));
      if (d.tokens) head.append(el('span', 'num muted', `${fmtNum(d.tokens)} tok`));
      box.append(head);
      if (tx.content) box.append(el('div', 'content', tx.content));
      if (tx.metadata) box.append(pre(tx.metadata));
      s.append(box);
    }
    out.push(s);
  }
  if (p?.events?.length) {
    const s = section('Events');
    for (const ev of p.events) {
      const box = el('div', 'event' + (/exception|error/i.test(ev.name) ? ' event-error' : ''));
      box.append(el('div', 'event-name', `${ev.name}  ${ev.time || ''}`));
      if (ev.body !== undefined && ev.body !== null) box.append(el('pre', 'payload', typeof ev.body === 'string' ? ev.body : JSON.stringify(ev.body, null, 2)));
      if (ev.attributes) box.append(kvTable(Object.entries(ev.attributes).sort()));
      s.append(box);
    }
    out.push(s);
  }
  const fields = CANONICAL.filter((k) => sp[k] !== '' && sp[k] !== 0 && sp[k] !== undefined && sp[k] !== null).map((k) => [k, sp[k]]);
  out.push(section('Fields', kvTable(fields)));
  if (sp.params) out.push(section('Model parameters', kvTable(Object.entries(sp.params))));
  const keys = Object.keys(attrs).sort();
  if (keys.length) out.push(section(`Attributes (${keys.length})`, kvTable(keys.map((k) => [k, attrs[k]]))));
  detail.replaceChildren(...out);
}

load().catch((err) => {
  spacer.replaceChildren(el('p', 'error-text', 'could not load the trace: ' + err.message));
});
