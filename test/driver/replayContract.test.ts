/**
 * The local driver leans on durable-functions' wire format and internals.
 * These checks fail loudly when an upgrade changes them, before any run does.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ActionType, EventType } from '../../local/driver/replay';

const pkgDir = path.dirname(require.resolve('durable-functions/package.json'));

describe('durable-functions replay contract', () => {
  it('is the exact pinned version', () => {
    const installed = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
    const declared = JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')).dependencies['durable-functions'];
    expect(declared).toBe('3.5.0');
    expect(installed).toBe('3.5.0');
  });

  it('keeps the history event types the driver writes', () => {
    const { HistoryEventType } = require(path.join(pkgDir, 'lib/src/history/HistoryEventType.js'));
    for (const [name, value] of Object.entries(EventType)) expect(HistoryEventType[name]).toBe(value);
  });

  it('keeps the action types the driver reads', () => {
    const { ActionType: LibActionType } = require(path.join(pkgDir, 'lib/src/actions/ActionType.js'));
    for (const [name, value] of Object.entries(ActionType)) expect(LibActionType[name]).toBe(value);
  });

  it('still allocates a retry timer id on failure and an attempt id on the timer (RetryableTask)', () => {
    const source = readFileSync(path.join(pkgDir, 'lib/src/task/RetryableTask.js'), 'utf8');
    expect(source).toContain('executor.trackOpenTask(rescheduledTask)');
    expect(source).toContain('this.attemptNumber > this.retryOptions.maxNumberOfAttempts');
  });

  it('still reports orchestration failures with the out-of-process state envelope', () => {
    const source = readFileSync(path.join(pkgDir, 'lib/src/error/OrchestrationFailureError.js'), 'utf8');
    expect(source).toContain('$OutOfProcData$:');
  });
});
