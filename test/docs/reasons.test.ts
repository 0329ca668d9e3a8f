/**
 * docs/operations.md lists exactly the failure reasons of the registry
 * (shared/model/reasons.ts), in the table an operator reads beside the
 * failures CSV.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FailureReasons, isFailureReason } from '../../shared/model/reasons';
import { PROJECT_ROOT } from '../support/stack';

/** The first column of the table whose header is `| reason | meaning | what to do |`. */
function documentedReasons(markdown: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => /^\|\s*reason\s*\|\s*meaning\s*\|/.test(line));
  if (start < 0) return [];
  const rows: string[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|')[1].trim().replace(/^`|`$/g, ''));
  }
  return rows;
}

describe('failure reasons', () => {
  it('docs/operations.md lists exactly the registry\'s reasons', () => {
    const documented = documentedReasons(readFileSync(path.join(PROJECT_ROOT, 'docs/operations.md'), 'utf8'));
    expect([...documented].sort()).toEqual(Object.keys(FailureReasons).sort());
  });

  it('tells a registered reason from any other string', () => {
    expect(isFailureReason('graph-error')).toBe(true);
    expect(isFailureReason('toString')).toBe(false);
    expect(isFailureReason('failed')).toBe(false);
  });
});
