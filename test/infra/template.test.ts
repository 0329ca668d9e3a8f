/**
 * infra/main.bicep, read as text (no Bicep compiler can be installed here;
 * `az bicep build` is the guide's first step): the alert rules query the
 * lines the app writes, with the fields and statuses it writes; the
 * lifecycle rules delete what the retention marks mark, under the prefixes
 * the app writes to; Application Insights takes Entra ID authentication
 * only, with the identity allowed to publish; the storage the template
 * creates is the storage the app names.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runFinishedLine } from '../../shared/activities/run';
import { backlogLine, poisonLine } from '../../shared/run/housekeeping';
import { LogEvents, parseEventLine } from '../../shared/platform/logging';
import { ContainerNames, QueueNames, RetentionTag, StageOrder, poisonQueueName } from '../../shared/platform/names';
import { itemPrefix, runPrefixes, RUN_MARGIN_IN_MS } from '../../shared/stages/staging/retention';
import type { RunStatus } from '../../shared/run/runs';
import { blankStringsAndComments, declaration, objectKeys, readBicep, resources } from '../support/bicep';

const bicep = readBicep();

/** The string values of a `var x = { key: 'value' … }` object. */
function stringObject(name: string): Record<string, string> {
  const text = declaration(bicep, 'var', name);
  const out: Record<string, string> = {};
  for (const key of objectKeys(text)) {
    const m = new RegExp(`^\\s*${key}: '((?:[^'\\\\]|\\\\.)*)'\\s*$`, 'm').exec(text);
    if (m) out[key] = m[1];
  }
  return out;
}

/** A parameter's default value, as text. */
function paramDefault(name: string): string {
  return declaration(bicep, 'param', name).trim();
}

/** The alert rules of `var alertRules`, with `${…}` expanded from the template's own vars and parameter defaults. */
function alertRules(): { name: string; query: string; operator: string; threshold: string; text: string }[] {
  const logEvents = stringObject('logEvents');
  const eventsOf = stringObject('eventsOf');
  const expand = (s: string): string =>
    s.replace(/\$\{([A-Za-z.]+)\}/g, (_, ref: string) => {
      const [head, key] = ref.split('.');
      if (head === 'logEvents') return logEvents[key];
      if (head === 'eventsOf') return expand(eventsOf[key]);
      if (!key) return paramDefault(head);
      throw new Error(`cannot expand \${${ref}}`);
    });
  const text = declaration(bicep, 'var', 'alertRules');
  const blank = blankStringsAndComments(text);
  const rules: { name: string; query: string; operator: string; threshold: string; text: string }[] = [];
  // Each rule is one `{ … }` at the top of the array.
  let depth = 0;
  let start = -1;
  for (let i = 0; i < blank.length; i++) {
    if (blank[i] === '{') {
      if (depth === 1) start = i;
      depth++;
    } else if (blank[i] === '}') {
      depth--;
      if (depth === 1) {
        const rule = text.slice(start, i + 1);
        const field = (f: string) => new RegExp(`^\\s*${f}: (.*)$`, 'm').exec(rule)?.[1].trim() ?? '';
        rules.push({
          name: field('name').replace(/^'|'$/g, ''),
          query: expand(field('query').replace(/^'|'$/g, '')),
          operator: field('operator').replace(/^'|'$/g, ''),
          threshold: field('threshold'),
          text: rule,
        });
      }
    } else if (blank[i] === '[' && depth === 0) depth = 1;
  }
  return rules;
}

describe('infra/main.bicep: alerts', () => {
  const rules = alertRules();
  const sampleReport = {
    runId: 'run-1', trigger: 'timer' as const, status: 'completed' as RunStatus, window: { from: 'a', to: 'b' }, finishedAt: 'c',
    counts: { sourceItems: 1 } as never,
  };
  const emitted = {
    [LogEvents.runFinished]: Object.keys(parseEventLine(LogEvents.runFinished, runFinishedLine(sampleReport))!),
    [LogEvents.backlog]: Object.keys(
      parseEventLine(LogEvents.backlog, backlogLine({ total: 0, unmapped: 0, failed: 0, entries: [], oldestAgeInSeconds: 0 }))!,
    ),
    [LogEvents.poison]: Object.keys(parseEventLine(LogEvents.poison, poisonLine({ 'o2-map-poison': 1 }))!),
  } as Record<string, string[]>;

  it('names the events as shared/platform/logging.ts does', () => {
    expect(stringObject('logEvents')).toEqual({ runFinished: LogEvents.runFinished, backlog: LogEvents.backlog, poison: LogEvents.poison });
  });

  it('has the four rules: no completed run in 26 hours, a failed run, an old backlog item, a poisoned message', () => {
    expect(rules.map((r) => r.name)).toEqual(['no-completed-run', 'run-failed', 'old-backlog-item', 'poisoned-message']);
    const byName = Object.fromEntries(rules.map((r) => [r.name, r]));
    expect(byName['no-completed-run'].query).toContain('ago(26h)');
    expect(byName['no-completed-run']).toMatchObject({ operator: 'LessThan', threshold: '1' });
    for (const name of ['run-failed', 'old-backlog-item', 'poisoned-message']) expect(byName[name]).toMatchObject({ operator: 'GreaterThan', threshold: '0' });
    expect(byName['old-backlog-item'].query).toContain(`ago(${paramDefault('backlogAlertAgeHours')}h)`);
  });

  it('each query reads lines of an event the app writes, and only fields that line has', () => {
    for (const rule of rules) {
      const event = /startswith "([^ "]+) "/.exec(rule.query)?.[1];
      expect(Object.values(LogEvents)).toContain(event);
      const fields = [...rule.query.matchAll(/\be\.(\w+)/g)].map((m) => m[1]);
      expect(fields.length).toBeGreaterThan(0);
      for (const f of fields) expect({ rule: rule.name, field: f, known: emitted[event!].includes(f) }).toEqual({ rule: rule.name, field: f, known: true });
    }
  });

  it('compares run statuses the app writes', () => {
    const statuses: RunStatus[] = ['running', 'completed', 'completed-with-failures', 'failed'];
    const byName = Object.fromEntries(rules.map((r) => [r.name, r]));
    const listed = (q: string) => [...(/in \(([^)]*)\)/.exec(q)?.[1] ?? '').matchAll(/"([^"]+)"/g)].map((m) => m[1]);
    expect(listed(byName['no-completed-run'].query).sort()).toEqual(['completed', 'completed-with-failures']);
    expect(listed(byName['run-failed'].query).sort()).toEqual(['completed-with-failures', 'failed']);
    for (const rule of rules) for (const s of listed(rule.query)) expect(statuses).toContain(s);
  });

  it('sends every rule to the action group, whose e-mail is a parameter', () => {
    const group = declaration(bicep, 'resource', 'actionGroup');
    expect(group).toMatch(/emailAddress: alertEmailAddress\b/);
    expect(bicep).toMatch(/^param alertEmailAddress string$/m);
    const alerts = declaration(bicep, 'resource', 'alerts');
    expect(alerts).toMatch(/^\[for rule in alertRules: \{/);
    expect(alerts).toMatch(/actionGroups: \[\s*actionGroup\.id\s*\]/);
    expect(alerts).toMatch(/scopes: \[\s*workspace\.id\s*\]/);
    expect(alerts).toContain('query: rule.query');
    expect(resources(bicep)).toEqual(expect.arrayContaining([{ name: 'alerts', type: 'Microsoft.Insights/scheduledQueryRules@2022-06-15' }]));
  });

  it('keeps traces out of sampling, so that no alert line is dropped', () => {
    const host = JSON.parse(readFileSync(path.resolve(__dirname, '../../host.json'), 'utf8'));
    expect(host.logging.applicationInsights.samplingSettings.excludedTypes.split(';')).toContain('Trace');
  });
});

describe('infra/main.bicep: retention', () => {
  const lifecycle = declaration(bicep, 'resource', 'lifecycle');

  it('tags as shared/stages/staging/retention.ts does', () => {
    expect(stringObject('retentionTag')).toEqual({ name: RetentionTag.name, settled: RetentionTag.settled });
  });

  it('deletes tagged staged blobs, under the prefixes the app writes, stagedRetentionDays after their settling', () => {
    const expected = [
      `${ContainerNames.staging}/${itemPrefix('x').replace(/x\/$/, '')}`,
      `${ContainerNames.staging}/${runPrefixes('x').staging.replace(/x\/$/, '')}`,
      `${ContainerNames.runs}/${runPrefixes('x').runs.replace(/x\/$/, '')}`,
    ];
    expect(expected).toEqual(['staging/items/', 'staging/runs/', 'runs/']);
    const rule = /name: 'staged-after-settled'[\s\S]*?daysAfterModificationGreaterThan: (\w+) \+ (\d+)/.exec(lifecycle);
    expect(rule?.[1]).toBe('stagedRetentionDays');
    // The rule waits the margin within which a run only tags (never touches) what it wrote.
    expect(Number(rule?.[2]) * 24 * 60 * 60_000).toBe(RUN_MARGIN_IN_MS);
    const prefixes = [.../prefixMatch: \[([^\]]*)\]/.exec(rule![0])![1].matchAll(/'([^']+)'/g)].map((m) => m[1]);
    expect(prefixes).toEqual(expected);
    expect(rule![0]).toMatch(/blobIndexMatch: \[\s*\{\s*name: retentionTag\.name\s*op: '=='\s*value: retentionTag\.settled\s*\}\s*\]/);
  });

  it('deletes reports by their own age, and nothing under mapping/', () => {
    const rule = /name: 'reports'[\s\S]*?daysAfterModificationGreaterThan: (\w+)/.exec(lifecycle);
    expect(rule?.[1]).toBe('reportRetentionDays');
    expect(rule![0]).toContain(`'${ContainerNames.reports}/'`);
    expect(lifecycle).not.toContain(`'${ContainerNames.mapping}/`);
    for (const p of ['stagedRetentionDays', 'reportRetentionDays']) expect(declaration(bicep, 'param', p)).toMatch(/^\d+$/);
  });
});

describe('infra/main.bicep: Application Insights and storage', () => {
  it('takes Entra ID authentication only, signed in as the identity, which may publish', () => {
    expect(declaration(bicep, 'resource', 'appInsights')).toMatch(/DisableLocalAuth: true/);
    expect(declaration(bicep, 'var', 'runtimeSettings')).toContain("APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'");
    const publisher = declaration(bicep, 'resource', 'identityMetricsPublisher');
    expect(publisher).toMatch(/scope: appInsights\b/);
    expect(publisher).toMatch(/roles\.monitoringMetricsPublisher/);
    expect(publisher).toMatch(/principalId: identity\.properties\.principalId/);
    // Monitoring Metrics Publisher's built-in role id.
    expect(declaration(bicep, 'var', 'roles')).toContain("monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'");
  });

  it('creates the containers and queues shared/platform/names.ts names', () => {
    const containers = [...declaration(bicep, 'var', 'appContainers').matchAll(/'([^']+)'/g)].map((m) => m[1]);
    expect(containers.sort()).toEqual(Object.values(ContainerNames).sort());
    const queues = [...declaration(bicep, 'var', 'stageQueues').matchAll(/'([^']+)'/g)].map((m) => m[1]);
    expect(queues).toEqual(StageOrder.map((s) => QueueNames[s]));
    expect(declaration(bicep, 'var', 'appQueues')).toBe("concat(stageQueues, map(stageQueues, q => '${q}-poison'))");
    expect(StageOrder.map(poisonQueueName)).toEqual(queues.map((q) => `${q}-poison`));
  });
});
