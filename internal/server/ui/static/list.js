// Traces list: time-range picker behaviour, quick filters that apply at
// once, and live mode. Data from the server is only ever written with
// textContent; links are built from validated trace ids.

const form = document.getElementById('list-form');
const since = document.getElementById('since');
const custom = document.getElementById('custom-range');

function syncCustom() {
  if (!since || !custom) return;
  custom.classList.toggle('hidden', since.value !== 'custom');
}
syncCustom();
if (since) {
  since.addEventListener('change', () => {
    syncCustom();
    if (since.value !== 'custom') form.requestSubmit();
  });
}
for (const sel of document.querySelectorAll('select.quick-filter')) {
  sel.addEventListener('change', () => form.requestSubmit());
}
// Leave empty fields out of the URL so shared links stay short.
if (form) {
  form.addEventListener('formdata', (e) => {
    for (const [k, v] of [...e.formData.entries()]) {
      if (v === '') e.formData.delete(k);
    }
    if (since && since.value !== 'custom') {
      e.formData.delete('from');
      e.formData.delete('to');
    }
  });
}

// ---- formatting, as the server's template helpers do ----
const ID_RE = /^[0-9a-f]{1,64}$/;

export function visible(s) {
  s = String(s ?? '');
  // Control characters (ANSI ESC etc.) become visible \xNN text.
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g,
    (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}
export function fmtMs(ms) {
  if (!Number.isFinite(ms)) return '–';
  if (ms >= 10000) return (ms / 1000).toFixed(1) + ' s';
  if (ms >= 100) return ms.toFixed(0) + ' ms';
  if (ms >= 1) return ms.toFixed(1) + ' ms';
  return ms.toFixed(2) + ' ms';
}
export function fmtInt(n) {
  return String(Math.trunc(n || 0)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
export function fmtUSD(v) {
  if (!Number.isFinite(v)) return '–';
  if (v === 0) return '$0';
  return '$' + (v < 1 ? v.toFixed(4) : v.toFixed(2));
}
export function fmtWhen(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

function cell(text, cls) {
  const td = document.createElement('td');
  if (cls) td.className = cls;
  td.textContent = text;
  return td;
}

// rowFor builds a table row for one trace summary from the API.
export function rowFor(t) {
  const tr = document.createElement('tr');
  const id = String(t.trace_id || '');
  tr.dataset.id = id;
  tr.dataset.start = String(t.start_time || '');
  const time = cell(fmtWhen(t.start_time), 'mono time');
  time.title = String(t.start_time || '');
  tr.append(time);
  const name = document.createElement('td');
  name.className = 'name';
  if (ID_RE.test(id)) {
    const a = document.createElement('a');
    a.href = '/traces/' + id;
    a.textContent = visible(t.name);
    a.title = visible(t.name);
    name.append(a);
  } else {
    name.textContent = visible(t.name);
  }
  tr.append(name);
  const st = document.createElement('td');
  const badge = document.createElement('span');
  const status = ['ok', 'degraded', 'error'].includes(t.status) ? t.status : 'unset';
  badge.className = 'badge status-' + status;
  badge.textContent = visible(t.status);
  st.append(badge);
  tr.append(st);
  tr.append(cell(fmtMs(t.duration_ms), 'num'));
  tr.append(cell(fmtInt(t.span_count), 'num'));
  tr.append(cell(fmtInt((t.input_tokens || 0) + (t.output_tokens || 0)), 'num'));
  tr.append(cell(fmtUSD(t.cost_usd), 'num'));
  tr.append(cell(visible(t.prompt_version_id), 'mono'));
  tr.append(cell(visible(t.model)));
  tr.append(cell(visible(t.tenant)));
  return tr;
}

// ---- live mode ----
const MAX_ROWS = 500; // the table never grows without bound
const POLL_MS = 2000;

function startLive(cfg) {
  const tbody = document.getElementById('trace-rows');
  const status = document.getElementById('live-status');
  if (!tbody || !status) return;
  const seen = new Set([...tbody.querySelectorAll('tr[data-id]')].map((r) => r.dataset.id));
  status.classList.add('on');
  status.textContent = 'live: watching for new traces';
  let timer = 0;
  let inflight = null;

  async function poll() {
    timer = 0;
    if (document.hidden) { schedule(); return; }
    inflight = new AbortController();
    try {
      const res = await fetch(cfg.api + '&limit=50', { headers: { Accept: 'application/json' }, signal: inflight.signal });
      if (!res.ok) throw new Error('HTTP ' + res.status);
      const page = await res.json();
      const fresh = (page.traces || []).filter((t) => !seen.has(t.trace_id));
      if (fresh.length) {
        tbody.querySelector('tr.empty')?.remove();
        // Newest first: insert the fresh rows above the old ones, in order.
        const first = tbody.firstChild;
        for (const t of fresh) {
          seen.add(t.trace_id);
          const tr = rowFor(t);
          tr.classList.add('fresh');
          tbody.insertBefore(tr, first);
        }
        while (tbody.rows.length > MAX_ROWS) tbody.lastElementChild.remove();
      }
      status.classList.remove('failed');
      status.textContent = 'live: updated ' + new Date().toLocaleTimeString() +
        (fresh.length ? ` (+${fresh.length})` : '');
    } catch (err) {
      if (err.name === 'AbortError') return;
      status.classList.add('failed');
      status.textContent = 'live: ' + String(err.message || err);
    } finally {
      inflight = null;
    }
    schedule();
  }
  function schedule() { if (!timer) timer = setTimeout(poll, POLL_MS); }
  window.addEventListener('pagehide', () => { clearTimeout(timer); inflight?.abort(); });
  schedule();
}

const liveEl = document.getElementById('live-data');
if (liveEl) {
  let cfg = null;
  try { cfg = JSON.parse(liveEl.textContent); } catch { cfg = null; }
  if (cfg && cfg.on && typeof cfg.api === 'string' && cfg.api.startsWith('/api/v1/traces?')) startLive(cfg);
}
