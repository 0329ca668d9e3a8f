/**
 * The dashboard: one self-contained HTML page (no script, no outside asset)
 * of recent runs and their counts, the failures with reasons in plain words,
 * the unmapped numbers, the re-drive backlog with ages, and a daily volume
 * chart in inline SVG. Counts carry `data-count` attributes so a test (or a
 * scraper) reads exactly what a person sees.
 */
import { formatAge, type Backlog } from '../run/backlog';
import { maskPhone } from '../model/phone';
import type { ReportCounts, RunReport } from '../run/report';
import type { Watermark } from '../run/watermark';
import type { RunSummary } from './views';

export interface DashboardModel {
  runs: { summary: RunSummary; report: RunReport }[];
  backlog: Backlog;
  watermark: Watermark | undefined;
  now: Date;
  /** Show phone numbers in full (only on the admin-key route, GET /api/unmasked/dashboard). */
  unmask: boolean;
}

/** What each reason code means, for someone who has not read the docs. */
const REASONS: Record<string, string> = {
  unmapped: 'No Microsoft 365 user was found for any participant: add the number to the mapping, then re-drive the run.',
  'too-large': 'The item is over the size limit (MAX_ITEM_BYTES) and is never imported.',
  invalid: 'The archive sent a record that breaks the contract; it is kept aside in staging.',
  'media-missing': 'A picture or recording was gone from the archive.',
  'media-checksum-mismatch': 'A picture or recording did not match its checksum.',
  'conversion-error': 'The item could not be turned into an email.',
  poisoned: 'The item failed every retry; re-drive the run once the cause is fixed.',
  'attachment-refused': 'The message was imported but Microsoft 365 refused an attachment.',
  'mailbox-not-found': 'The user has no mailbox (licence or mailbox missing).',
  'graph-error': 'Microsoft 365 refused the import; re-drive the run once the cause is fixed.',
  'no-outcome': 'The item stopped without an outcome; re-drive the run.',
  'not-redrivable': 'Nothing of the item was kept, so a re-drive cannot import it; run its window again.',
  'held-by-other': 'Another worker was importing the same item; re-drive the run.',
};

const COUNT_COLUMNS: { key: keyof ReportCounts; label: string; title: string }[] = [
  { key: 'sourceItems', label: 'Items', title: 'Items read from the archive' },
  { key: 'routedItems', label: 'Routed', title: 'Items that found at least one mailbox' },
  { key: 'imported', label: 'Imported', title: 'Copies imported into mailboxes by this run' },
  { key: 'duplicates', label: 'Already there', title: 'Copies imported earlier (not imported twice)' },
  { key: 'partial', label: 'Partial', title: 'Imported without an attachment' },
  { key: 'failed', label: 'Failed', title: 'Copies that could not be imported' },
  { key: 'unmapped', label: 'Unmapped', title: 'Items for which no user was found' },
  { key: 'tooLarge', label: 'Too large', title: 'Items over the size limit' },
  { key: 'invalid', label: 'Invalid', title: 'Records that break the contract' },
  { key: 'itemFailed', label: 'Item failed', title: 'Items that could not be prepared' },
];

const STATUS_WORDS: Record<string, { text: string; cls: string }> = {
  running: { text: 'Running', cls: 'run' },
  completed: { text: 'Completed', cls: 'ok' },
  'completed-with-failures': { text: 'Completed with failures', cls: 'warn' },
  failed: { text: 'Failed', cls: 'bad' },
};

/** Renders the dashboard page. */
export function renderDashboard(model: DashboardModel): string {
  const phone = (p: string) => (model.unmask ? p : maskPhone(p));
  const latest = model.runs[0];
  const totals = model.runs.reduce((t, r) => ({ imported: t.imported + r.report.counts.imported, failures: t.failures + r.report.failures.length }), {
    imported: 0,
    failures: 0,
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>O2 Network Archiver — dashboard</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>O2 Network Archiver</h1>
  <p class="sub">SMS, MMS and calls from O2 (TeleMessage) archived into Microsoft 365 mailboxes. Page made ${esc(utc(model.now))}.</p>
</header>
<section class="tiles" aria-label="At a glance">
  ${tile('Last run', latest ? statusBadge(latest.report.status) : '<span class="muted">no run yet</span>', latest ? `${esc(latest.summary.runId)} · ${esc(utc(latest.summary.startedAt))}` : '', 'last-run')}
  ${tile('Archived up to', model.watermark ? esc(utc(model.watermark.at)) : '<span class="muted">not yet</span>', 'the daily run starts its window here', 'watermark')}
  ${tile('Imported (recent runs)', `<span data-total="imported">${totals.imported}</span>`, `${model.runs.length} run(s) shown`, 'imported')}
  ${tile('Waiting for re-drive', `<span data-backlog="total">${model.backlog.total}</span>`, model.backlog.total ? `${model.backlog.unmapped} unmapped · ${model.backlog.failed} failed · oldest ${esc(formatAge(model.backlog.oldestAgeInSeconds))}` : 'nothing is owed', 'backlog')}
</section>

<section aria-labelledby="volume-h">
  <h2 id="volume-h">Daily volume</h2>
  <p class="help">Copies imported per day (by the day each run started), with failed copies and unmapped items stacked on top.</p>
  ${volumeChart(model.runs)}
</section>

<section aria-labelledby="runs-h">
  <h2 id="runs-h">Recent runs</h2>
  <p class="help">One row per run. <em>Items</em> = <em>Routed</em> + <em>Unmapped</em> + <em>Too large</em> + <em>Invalid</em> + <em>Item failed</em>; each routed item gives one copy per mailbox, and each copy is <em>Imported</em>, <em>Already there</em>, <em>Partial</em> or <em>Failed</em>.</p>
  ${runsTable(model.runs)}
</section>

<section aria-labelledby="failures-h">
  <h2 id="failures-h">Failures of recent runs <span class="count" data-total="failures">${totals.failures}</span></h2>
  ${failuresTable(model.runs)}
</section>

<section aria-labelledby="unmapped-h">
  <h2 id="unmapped-h">Unmapped numbers</h2>
  <p class="help">Numbers for which no Microsoft 365 user was found. Add them to the mapping (PUT /api/mapping), then re-drive the runs below.${model.unmask ? '' : ' Numbers are masked; open <code>/api/unmasked/dashboard</code> with the admin key to see them in full.'}</p>
  ${unmappedTable(model.runs, phone)}
</section>

<section aria-labelledby="backlog-h">
  <h2 id="backlog-h">Re-drive backlog <span class="count">${model.backlog.total}</span></h2>
  <p class="help">Unmapped and failed items that no later run has fixed, oldest first. Re-drive a run with <code>POST /api/runs/&lt;run&gt;/redrive</code>; nothing already imported is imported twice.</p>
  ${backlogTable(model.backlog, phone)}
</section>
<footer>Times are UTC. Phone numbers ${model.unmask ? 'are shown in full on this page: do not share it.' : 'are masked.'}</footer>
</body>
</html>
`;
}

function tile(title: string, value: string, note: string, id: string): string {
  return `<div class="tile" data-tile="${id}"><div class="t">${esc(title)}</div><div class="v">${value}</div><div class="n">${esc(note)}</div></div>`;
}

function statusBadge(status: string): string {
  const s = STATUS_WORDS[status] ?? { text: status, cls: 'run' };
  return `<span class="badge ${s.cls}" data-status="${esc(status)}">${esc(s.text)}</span>`;
}

function runsTable(runs: DashboardModel['runs']): string {
  if (runs.length === 0) return '<p class="empty">No runs yet.</p>';
  const head = COUNT_COLUMNS.map((c) => `<th class="num" title="${esc(c.title)}">${esc(c.label)}</th>`).join('');
  const rows = runs
    .map(({ summary, report }) => {
      const counts = COUNT_COLUMNS.map((c) => {
        const n = report.counts[c.key];
        const cls = n > 0 && ['failed', 'partial', 'itemFailed', 'unmapped'].includes(c.key) ? ' class="num hot"' : ' class="num"';
        return `<td${cls} data-count="${c.key}">${n}</td>`;
      }).join('');
      const trigger = summary.redriveOf ? `re-drive of ${esc(summary.redriveOf)}` : esc(summary.trigger);
      return `<tr data-run-id="${esc(summary.runId)}"><td class="mono">${esc(summary.runId)}<div class="muted">started ${esc(utc(summary.startedAt))}</div></td><td>${trigger}</td><td>${esc(utc(summary.window.from))}<br>→ ${esc(utc(summary.window.to))}</td><td>${statusBadge(report.status)}${report.error ? `<div class="err">${esc(report.error)}</div>` : ''}</td>${counts}</tr>`;
    })
    .join('\n');
  return `<div class="scroll"><table class="runs"><thead><tr><th>Run</th><th>Started by</th><th>Window (UTC)</th><th>Status</th>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
}

const MAX_FAILURE_ROWS = 200;

function failuresTable(runs: DashboardModel['runs']): string {
  const rows: string[] = [];
  let total = 0;
  for (const { summary, report } of runs) {
    for (const f of report.failures) {
      total++;
      if (rows.length >= MAX_FAILURE_ROWS) continue;
      rows.push(
        `<tr data-failure-run="${esc(summary.runId)}"><td class="mono">${esc(summary.runId)}</td><td class="mono">${esc(f.itemId ?? '(no id)')}</td><td>${esc(f.type)}</td><td>${esc(f.mailbox ?? '—')}</td><td><span class="reason">${esc(f.reason)}</span><div class="muted">${esc(REASONS[f.reason] ?? '')}</div></td><td class="detail">${esc(f.detail)}</td></tr>`,
      );
    }
  }
  if (total === 0) return '<p class="empty">No failures in the runs shown.</p>';
  const more = total > rows.length ? `<p class="help">Showing ${rows.length} of ${total}; each run's failures CSV has them all (GET /api/runs/&lt;run&gt;?format=csv).</p>` : '';
  return `<div class="scroll"><table><thead><tr><th>Run</th><th>Item</th><th>Type</th><th>Mailbox</th><th>Reason</th><th>Detail</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>${more}`;
}

function unmappedTable(runs: DashboardModel['runs'], phone: (p: string) => string): string {
  const numbers = new Map<string, { items: number; runs: Set<string> }>();
  for (const { summary, report } of runs) {
    for (const u of report.unmappedNumbers) {
      const entry = numbers.get(u.phone) ?? { items: 0, runs: new Set<string>() };
      entry.items += u.items;
      entry.runs.add(summary.runId);
      numbers.set(u.phone, entry);
    }
  }
  if (numbers.size === 0) return '<p class="empty">Every participant found a user.</p>';
  const rows = [...numbers]
    .sort((a, b) => b[1].items - a[1].items || a[0].localeCompare(b[0]))
    .map(([p, e]) => `<tr><td class="mono" data-phone>${esc(phone(p))}</td><td class="num">${e.items}</td><td class="num">${e.runs.size}</td></tr>`)
    .join('\n');
  return `<table class="narrow"><thead><tr><th>Number</th><th class="num">Items</th><th class="num">Runs</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function backlogTable(backlog: Backlog, phone: (p: string) => string): string {
  if (backlog.total === 0) return '<p class="empty">Nothing is waiting for a re-drive.</p>';
  const rows = backlog.entries
    .map((e) => {
      const numbers = e.unmappedNumbers?.length ? `<div class="muted">${esc(e.unmappedNumbers.map(phone).join(', '))}</div>` : '';
      const redriving = e.redrivingIn ? `<div class="muted">being re-driven in ${esc(e.redrivingIn)}</div>` : '';
      return `<tr data-backlog-item="${esc(e.itemId ?? e.itemKey)}"><td class="num" data-age="${e.ageInSeconds}">${esc(formatAge(e.ageInSeconds))}</td><td class="mono">${esc(e.itemId ?? '(no id)')}</td><td>${esc(e.type)}</td><td>${esc(e.mailbox ?? '—')}</td><td><span class="reason">${esc(e.reason)}</span>${numbers}</td><td class="mono">${esc(e.runId)}${redriving}</td></tr>`;
    })
    .join('\n');
  const more = backlog.total > backlog.entries.length ? `<p class="help">Showing the oldest ${backlog.entries.length} of ${backlog.total}.</p>` : '';
  return `<div class="scroll"><table><thead><tr><th class="num">Waiting</th><th>Item</th><th>Type</th><th>Mailbox</th><th>Reason</th><th>Re-drive run</th></tr></thead><tbody>${rows}</tbody></table></div>${more}`;
}

const CHART_DAYS = 14;

function volumeChart(runs: DashboardModel['runs']): string {
  const days = new Map<string, { imported: number; failed: number; unmapped: number }>();
  for (const { summary, report } of runs) {
    const day = summary.startedAt.slice(0, 10);
    const d = days.get(day) ?? { imported: 0, failed: 0, unmapped: 0 };
    d.imported += report.counts.imported + report.counts.partial;
    d.failed += report.counts.failed;
    d.unmapped += report.counts.unmapped;
    days.set(day, d);
  }
  if (days.size === 0) return '<p class="empty">No runs yet.</p>';
  const data = [...days].sort((a, b) => a[0].localeCompare(b[0])).slice(-CHART_DAYS);
  const max = Math.max(1, ...data.map(([, d]) => d.imported + d.failed + d.unmapped));
  const width = 720;
  const height = 220;
  const left = 48;
  const bottom = 28;
  const top = 18;
  const plot = height - bottom - top;
  const slot = (width - left - 8) / data.length;
  const bar = Math.min(48, slot * 0.6);
  const y = (v: number) => top + plot - (v / max) * plot;
  const bars = data
    .map(([day, d], i) => {
      const x = left + i * slot + (slot - bar) / 2;
      let base = 0;
      const seg = (value: number, cls: string, label: string) => {
        if (value === 0) return '';
        const y1 = y(base + value);
        const h = y(base) - y1;
        base += value;
        return `<rect class="${cls}" x="${x.toFixed(1)}" y="${y1.toFixed(1)}" width="${bar.toFixed(1)}" height="${Math.max(1, h).toFixed(1)}"><title>${esc(day)}: ${value} ${label}</title></rect>`;
      };
      const total = d.imported + d.failed + d.unmapped;
      return `<g data-day="${esc(day)}" data-imported="${d.imported}">${seg(d.imported, 'imp', 'imported')}${seg(d.failed, 'fail', 'failed')}${seg(d.unmapped, 'unm', 'unmapped')}<text class="lbl" x="${(x + bar / 2).toFixed(1)}" y="${(y(total) - 4).toFixed(1)}" text-anchor="middle">${total}</text><text class="axis" x="${(x + bar / 2).toFixed(1)}" y="${height - 10}" text-anchor="middle">${esc(day.slice(5))}</text></g>`;
    })
    .join('');
  const grid = [0, 0.5, 1]
    .map((f) => {
      const v = Math.round(max * f);
      return `<line class="grid" x1="${left}" x2="${width - 4}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/><text class="axis" x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`;
    })
    .join('');
  const legend = `<div class="legend"><span><i class="imp"></i>imported</span><span><i class="fail"></i>failed</span><span><i class="unm"></i>unmapped</span></div>`;
  return `<svg class="chart" role="img" aria-label="Copies imported per day" viewBox="0 0 ${width} ${height}" width="100%" preserveAspectRatio="xMinYMin meet">${grid}${bars}</svg>${legend}`;
}

function utc(iso: string | Date): string {
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toISOString().replace('T', ' ').replace(/:\d{2}\.\d{3}Z$/, ' UTC');
}

function esc(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
:root{--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--run:#0969da;--muted:#57606a;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;padding:20px 28px;color:#1f2328;background:#fff}
h1{font-size:22px;margin:0}h2{font-size:17px;margin:28px 0 6px}.sub,.help{color:var(--muted);margin:4px 0 10px}
.tiles{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}.tile{border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:200px;background:var(--bg)}
.tile .t{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}.tile .v{font-size:20px;font-weight:600;margin:4px 0}.tile .n{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}.num{text-align:right;font-variant-numeric:tabular-nums}.hot{color:var(--bad);font-weight:600}
.narrow{width:auto;min-width:360px}.scroll{overflow-x:auto}.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.muted{color:var(--muted);font-size:12px}.err{color:var(--bad);font-size:12px}.detail{max-width:420px;word-break:break-word}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}.badge.ok{background:var(--ok)}.badge.warn{background:var(--warn)}.badge.bad{background:var(--bad)}.badge.run{background:var(--run)}
.reason{font-family:ui-monospace,monospace;font-size:12px;background:var(--bg);border:1px solid var(--line);border-radius:4px;padding:0 4px}
.count{color:var(--muted);font-weight:400}.empty{color:var(--muted);font-style:italic}
.chart{max-width:760px;display:block}.chart .imp{fill:#2da44e}.chart .fail{fill:#cf222e}.chart .unm{fill:#d4a72c}.chart .grid{stroke:#eaeef2}.chart .axis{fill:var(--muted);font-size:11px}.chart .lbl{fill:#1f2328;font-size:11px}
.legend{display:flex;gap:16px;font-size:12px;color:var(--muted)}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}.legend i.imp{background:#2da44e}.legend i.fail{background:#cf222e}.legend i.unm{background:#d4a72c}
footer{margin-top:28px;color:var(--muted);font-size:12px}code{background:var(--bg);padding:0 3px;border-radius:3px}
`;
