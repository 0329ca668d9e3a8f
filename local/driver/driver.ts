/**
 * The local durable driver: runs the registered orchestrator and activities
 * with durable-functions' own replay (history in, actions out, activities
 * executed, history appended, replayed again), persisting every episode in
 * Table storage and holding a lease on the instance while it drives it.
 * In Azure the Durable Task Framework does this job; here it is for
 * development, tests and command-line runs.
 */
import { randomUUID } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
import { ArchiverError, describeError } from '../../shared/model/errors';
import type { RegisteredFunction } from './functionsCore';
import { InstanceStore, type HistoryEvent, type InstanceRecord } from './instanceStore';
import {
  ActionType,
  EventType,
  actionSignature,
  replay,
  type OrchestratorAction,
  type RetryOptionsAction,
} from './replay';

export interface LocalDriverOptions {
  store: InstanceStore;
  functions: Map<string, RegisteredFunction>;
  /** Who holds leases (a process id, say). */
  owner?: string;
  /** How long a lease lasts without renewal; another process may take the instance over after it. */
  leaseInMs?: number;
  /** Scales durable timers and retry delays (tests run faster). */
  timeScale?: number;
  log?: (line: string) => void;
  /** Called with every new custom status of an instance this driver drives, as the orchestrator sets it (progress displays). */
  onCustomStatus?: (instanceId: string, status: unknown) => void;
}

export type StartOutcome = 'started' | 'resumed' | 'restarted';

/** Thrown when the instance is running under a live lease held by another process. */
export class InstanceBusyError extends ArchiverError {
  constructor(instanceId: string, owner?: string) {
    super('CONFLICT', `run ${instanceId} is already running${owner ? ` (held by ${owner})` : ''}`);
  }
}

/** A task the driver has scheduled and waits on. */
interface OpenTask {
  id: number;
  kind: 'activity' | 'timer' | 'retryTimer' | 'subOrchestration';
  actionIndex: number;
  attempt: number;
  promise: Promise<Completion>;
}

type Completion =
  | { id: number; kind: 'activity' | 'subOrchestration'; ok: true; result: unknown }
  | { id: number; kind: 'activity' | 'subOrchestration'; ok: false; error: string }
  | { id: number; kind: 'timer' | 'retryTimer' };

/** Starts or resumes a child instance and resolves with it once finished (sub-orchestrations). */
type ChildRunner = (name: string, instanceId: string, input: unknown) => Promise<InstanceRecord>;

export class LocalDriver {
  private readonly owner: string;
  private readonly leaseInMs: number;
  private readonly timeScale: number;
  private readonly running = new Map<string, Promise<InstanceRecord>>();

  constructor(private readonly options: LocalDriverOptions) {
    this.owner = options.owner ?? `driver-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.leaseInMs = options.leaseInMs ?? 30_000;
    this.timeScale = options.timeScale ?? 1;
  }

  /**
   * Starts `name` as `instanceId`, resumes it when the process that drove it
   * died (lease lapsed), or starts a finished instance afresh; refuses with
   * InstanceBusyError while another process holds a live lease.
   */
  async start(name: string, instanceId: string, input: unknown): Promise<StartOutcome> {
    const store = this.options.store;
    const now = Date.now();
    const existing = await store.get(instanceId);
    let outcome: StartOutcome;
    let record: InstanceRecord;
    let etag: string;
    if (!existing) {
      record = this.newRecord(name, instanceId, input, 0, now);
      etag = await store.create(record).catch((e) => {
        throw e instanceof ArchiverError && e.code === 'CONFLICT' ? new InstanceBusyError(instanceId) : e;
      });
      outcome = 'started';
    } else if (existing.record.status === 'running') {
      if (existing.record.leaseOwner !== this.owner && (existing.record.leaseExpiresAt ?? 0) > now) {
        throw new InstanceBusyError(instanceId, existing.record.leaseOwner);
      }
      if (this.running.has(instanceId)) throw new InstanceBusyError(instanceId, this.owner);
      record = { ...existing.record, leaseOwner: this.owner, leaseExpiresAt: now + this.leaseInMs, updatedAt: iso(now) };
      etag = await this.takeOver(record, existing.etag, instanceId);
      outcome = 'resumed';
    } else {
      record = this.newRecord(name, instanceId, input, existing.record.execution + 1, now);
      record.createdAt = iso(now);
      etag = await this.takeOver(record, existing.etag, instanceId);
      outcome = 'restarted';
    }
    this.drive(record, etag);
    return outcome;
  }

  private drive(record: InstanceRecord, etag: string): Promise<InstanceRecord> {
    const run = new InstanceRun(this.options, this.owner, this.leaseInMs, this.timeScale, record, etag, (name, id, input) => this.runChild(name, id, input)).drive();
    this.running.set(record.instanceId, run);
    run.finally(() => this.running.delete(record.instanceId)).catch(() => undefined);
    return run;
  }

  /**
   * A sub-orchestration: started when new, resumed when the process that
   * drove it died (once its lease lapses), or read back when it finished
   * before (a parent resumed after a crash). Resolves once it has finished.
   */
  private async runChild(name: string, instanceId: string, input: unknown): Promise<InstanceRecord> {
    for (;;) {
      const driving = this.running.get(instanceId);
      if (driving) return driving;
      const store = this.options.store;
      const now = Date.now();
      const existing = await store.get(instanceId);
      if (!existing) {
        const record = this.newRecord(name, instanceId, input, 0, now);
        try {
          return await this.drive(record, await store.create(record));
        } catch (e) {
          if (!(e instanceof ArchiverError && e.code === 'CONFLICT')) throw e;
          continue;
        }
      }
      if (existing.record.status !== 'running') return existing.record;
      if (existing.record.leaseOwner === this.owner || (existing.record.leaseExpiresAt ?? 0) <= now) {
        const record = { ...existing.record, leaseOwner: this.owner, leaseExpiresAt: now + this.leaseInMs, updatedAt: iso(now) };
        try {
          return await this.drive(record, await this.options.store.update(record, existing.etag));
        } catch (e) {
          if (!(e instanceof ArchiverError && e.code === 'CONFLICT')) throw e;
          continue;
        }
      }
      // Another process still holds it: wait for its lease to lapse (or for it to finish).
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, Math.max(50, (existing.record.leaseExpiresAt ?? now) - now))));
    }
  }

  /** Resolves with the instance once this driver has finished driving it. */
  async waitForCompletion(instanceId: string): Promise<InstanceRecord> {
    const run = this.running.get(instanceId);
    if (run) return run;
    const found = await this.options.store.get(instanceId);
    if (!found) throw new ArchiverError('NOT_FOUND', `no run instance ${instanceId}`);
    return found.record;
  }

  /** The instance as stored (status, custom status, output). */
  async getStatus(instanceId: string): Promise<InstanceRecord | undefined> {
    return (await this.options.store.get(instanceId))?.record;
  }

  private newRecord(name: string, instanceId: string, input: unknown, execution: number, now: number): InstanceRecord {
    return {
      instanceId, name, status: 'running', input, execution,
      leaseOwner: this.owner, leaseExpiresAt: now + this.leaseInMs, createdAt: iso(now), updatedAt: iso(now),
    };
  }

  private async takeOver(record: InstanceRecord, etag: string, instanceId: string): Promise<string> {
    try {
      return await this.options.store.update(record, etag);
    } catch (e) {
      if (e instanceof ArchiverError && e.code === 'CONFLICT') throw new InstanceBusyError(instanceId);
      throw e;
    }
  }
}

/** One process's drive of one instance, from its stored history to the end (or to a lost lease). */
class InstanceRun {
  private history: HistoryEvent[] = [];
  private persistedCount = 0;
  private nextId = 0;
  /** Signatures of the actions already given ids, by action index. */
  private readonly signatures: string[] = [];
  private readonly actions: OrchestratorAction[] = [];
  private readonly open = new Map<number, OpenTask>();
  private saving: Promise<unknown> = Promise.resolve();
  private leaseLost: Error | undefined;

  constructor(
    private readonly options: LocalDriverOptions,
    private readonly owner: string,
    private readonly leaseInMs: number,
    private readonly timeScale: number,
    private record: InstanceRecord,
    private etag: string,
    private readonly runChild: ChildRunner,
  ) {}

  async drive(): Promise<InstanceRecord> {
    const renew = setInterval(() => {
      this.save({}).catch((e) => (this.leaseLost = e instanceof Error ? e : new Error(String(e))));
    }, Math.max(50, this.leaseInMs / 3));
    try {
      for (;;) {
        await this.loadExecution();
        const next = await this.driveExecution();
        if (next === 'done') return this.record;
      }
    } finally {
      clearInterval(renew);
      await this.saving.catch(() => undefined);
    }
  }

  /** Loads the current execution's history and rebuilds the driver's bookkeeping from it. */
  private async loadExecution(): Promise<void> {
    const store = this.options.store;
    this.history = await store.loadHistory(this.record.instanceId, this.record.execution);
    this.persistedCount = this.history.length;
    this.nextId = 0;
    this.signatures.length = 0;
    this.actions.length = 0;
    this.open.clear();
    if (this.history.length === 0) {
      this.history.push(
        { EventType: EventType.OrchestratorStarted, EventId: -1, IsPlayed: false, Timestamp: iso(Date.now()) },
        { EventType: EventType.ExecutionStarted, EventId: -1, IsPlayed: false, Timestamp: iso(Date.now()), Name: this.record.name },
      );
      return;
    }
    const done = new Set<number>();
    for (const e of this.history) {
      if (e.EventType === EventType.TaskCompleted || e.EventType === EventType.TaskFailed) done.add(e.TaskScheduledId as number);
      if (e.EventType === EventType.SubOrchestrationInstanceCompleted || e.EventType === EventType.SubOrchestrationInstanceFailed) done.add(e.TaskScheduledId as number);
      if (e.EventType === EventType.TimerFired) done.add(e.TimerId as number);
    }
    for (const e of this.history) {
      if (e.EventType === EventType.SubOrchestrationInstanceCreated) {
        const id = e.EventId as number;
        this.nextId = Math.max(this.nextId, id + 1);
        const index = e.ActionIndex as number;
        this.signatures[index] = e.Signature as string;
        this.actions[index] = e.Action as OrchestratorAction;
        // Started before the previous process died and never reported: resume it (or read its end).
        if (!done.has(id)) this.startChild(id, index);
        continue;
      }
      if (e.EventType !== EventType.TaskScheduled && e.EventType !== EventType.TimerCreated) continue;
      const id = e.EventId as number;
      this.nextId = Math.max(this.nextId, id + 1);
      const index = e.ActionIndex as number;
      if (e.Signature !== undefined) {
        this.signatures[index] = e.Signature as string;
        this.actions[index] = e.Action as OrchestratorAction;
      }
      if (done.has(id)) continue;
      // Scheduled before the previous process died and never completed: run it again.
      const attempt = (e.Attempt as number) ?? 1;
      if (e.EventType === EventType.TaskScheduled) this.runActivity(id, index, attempt);
      else if (e.Kind === 'retryTimer') this.startTimer(id, index, attempt, 'retryTimer', Date.parse(e.FireAt as string));
      else this.startTimer(id, index, attempt, 'timer', Date.parse(e.FireAt as string));
    }
  }

  /** Drives the loaded execution until it completes, fails or continues as new. */
  private async driveExecution(): Promise<'done' | 'continued'> {
    const fn = this.function(this.record.name, 'orchestrationTrigger');
    for (;;) {
      if (this.leaseLost) throw this.leaseLost;
      const state = await replay(
        fn.handler as Parameters<typeof replay>[0],
        this.record.name,
        this.record.instanceId,
        this.record.input,
        this.history,
      );
      if (state.customStatus !== undefined) this.setCustomStatus(state.customStatus);
      if (state.error !== undefined) {
        return this.finish('failed', undefined, state.error);
      }
      this.checkDeterminism(state.actions);
      const continueAsNew = state.actions.find((a) => a.actionType === ActionType.ContinueAsNew);
      if (continueAsNew) {
        await this.persist();
        this.record.input = continueAsNew.input;
        this.record.execution += 1;
        await this.save({});
        return 'continued';
      }
      if (state.isDone) return this.finish('completed', state.output);
      for (let index = this.signatures.length; index < state.actions.length; index++) {
        this.schedule(index, state.actions[index]);
      }
      await this.persist();
      if (this.open.size === 0) {
        return this.finish('failed', undefined, 'the orchestrator waits for something the local driver cannot deliver');
      }
      const completion = await Promise.race([...this.open.values()].map((t) => t.promise));
      this.deliver(completion);
    }
  }

  /** Keeps the orchestrator's custom status and tells the listener when it changed. */
  private setCustomStatus(status: unknown): void {
    const changed = JSON.stringify(status) !== JSON.stringify(this.record.customStatus);
    this.record.customStatus = status;
    if (changed) {
      try {
        this.options.onCustomStatus?.(this.record.instanceId, status);
      } catch {
        // A display must never stop a run.
      }
    }
  }

  /** Every action already given an id must come back the same on replay: the orchestrator is deterministic. */
  private checkDeterminism(actions: OrchestratorAction[]): void {
    for (let i = 0; i < this.signatures.length; i++) {
      const now = actions[i] === undefined ? 'nothing' : actionSignature(actions[i]);
      if (now !== this.signatures[i]) {
        throw new ArchiverError(
          'CONFLICT',
          `non-deterministic orchestrator ${this.record.name}: action ${i} was ${this.signatures[i]} and is now ${now}`,
        );
      }
    }
  }

  /** Gives a new action its sequence id, records it in history and starts its work. */
  private schedule(index: number, action: OrchestratorAction): void {
    const id = this.nextId++;
    const signature = actionSignature(action);
    this.signatures[index] = signature;
    this.actions[index] = action;
    const common = { EventId: id, IsPlayed: false, Timestamp: iso(Date.now()), ActionIndex: index, Attempt: 1, Signature: signature, Action: action };
    switch (action.actionType) {
      case ActionType.CallActivity:
      case ActionType.CallActivityWithRetry:
        this.history.push({ EventType: EventType.TaskScheduled, Name: action.functionName, ...common });
        this.runActivity(id, index, 1);
        return;
      case ActionType.CallSubOrchestrator:
        this.history.push({ EventType: EventType.SubOrchestrationInstanceCreated, Name: action.functionName, InstanceId: action.instanceId, ...common });
        this.startChild(id, index);
        return;
      case ActionType.CreateTimer: {
        const fireAt = new Date(action.fireAt as string | Date).getTime();
        this.history.push({ EventType: EventType.TimerCreated, FireAt: iso(fireAt), Kind: 'timer', ...common });
        this.startTimer(id, index, 1, 'timer', fireAt);
        return;
      }
      default:
        throw new ArchiverError('CONFLICT', `the local driver does not run action type ${action.actionType}`);
    }
  }

  /** Appends the completion of one task as its own episode, with the ids durable-functions allocates for retries. */
  private deliver(completion: Completion): void {
    const task = this.open.get(completion.id)!;
    this.open.delete(completion.id);
    const action = this.actions[task.actionIndex];
    this.history.push({ EventType: EventType.OrchestratorStarted, EventId: -1, IsPlayed: false, Timestamp: iso(Date.now()) });
    const stamp = iso(Date.now());
    if (completion.kind === 'subOrchestration') {
      this.history.push(
        completion.ok
          ? { EventType: EventType.SubOrchestrationInstanceCompleted, EventId: -1, IsPlayed: false, Timestamp: stamp, TaskScheduledId: completion.id, Result: JSON.stringify(completion.result ?? null) }
          : { EventType: EventType.SubOrchestrationInstanceFailed, EventId: -1, IsPlayed: false, Timestamp: stamp, TaskScheduledId: completion.id, Reason: completion.error, Details: '' },
      );
      return;
    }
    if (completion.kind === 'activity' && completion.ok) {
      this.history.push({
        EventType: EventType.TaskCompleted, EventId: -1, IsPlayed: false, Timestamp: stamp,
        TaskScheduledId: completion.id, Result: JSON.stringify(completion.result ?? null),
      });
      return;
    }
    if (completion.kind === 'activity' && !completion.ok) {
      this.history.push({
        EventType: EventType.TaskFailed, EventId: -1, IsPlayed: false, Timestamp: stamp,
        TaskScheduledId: completion.id, Reason: completion.error, Details: '',
      });
      if (action.actionType === ActionType.CallActivityWithRetry) {
        // durable-functions gives the retry timer the next id as it reads the failure.
        const retry = action.retryOptions!;
        const lastAttempt = task.attempt >= retry.maxNumberOfAttempts;
        const fireAt = Date.now() + (lastAttempt ? 0 : retryDelayInMs(retry, task.attempt) * this.timeScale);
        const timerId = this.nextId++;
        this.history.push({
          EventType: EventType.TimerCreated, EventId: timerId, IsPlayed: false, Timestamp: stamp,
          FireAt: iso(fireAt), Kind: 'retryTimer', ActionIndex: task.actionIndex, Attempt: task.attempt,
        });
        this.startTimer(timerId, task.actionIndex, task.attempt, 'retryTimer', fireAt);
      }
      return;
    }
    this.history.push({ EventType: EventType.TimerFired, EventId: -1, IsPlayed: false, Timestamp: stamp, TimerId: completion.id });
    if (completion.kind === 'retryTimer' && task.attempt < action.retryOptions!.maxNumberOfAttempts) {
      // ...and the next attempt the id after that, as it reads the timer.
      const id = this.nextId++;
      this.history.push({
        EventType: EventType.TaskScheduled, EventId: id, IsPlayed: false, Timestamp: stamp, Name: action.functionName,
        ActionIndex: task.actionIndex, Attempt: task.attempt + 1,
      });
      this.runActivity(id, task.actionIndex, task.attempt + 1);
    }
  }

  private runActivity(id: number, actionIndex: number, attempt: number): void {
    const action = this.actions[actionIndex];
    const fn = this.function(action.functionName!, 'activityTrigger');
    const context = new InvocationContext({
      functionName: fn.name,
      invocationId: randomUUID(),
      logHandler: (level, ...args) => this.options.log?.(`[${fn.name}] ${level}: ${args.map(String).join(' ')}`),
    });
    const input = typeof action.input === 'string' ? JSON.parse(action.input) : action.input;
    const promise = (async (): Promise<Completion> => {
      try {
        const result = await fn.handler(input, context);
        return { id, kind: 'activity', ok: true, result };
      } catch (e) {
        return { id, kind: 'activity', ok: false, error: describeError(e) };
      }
    })();
    this.open.set(id, { id, kind: 'activity', actionIndex, attempt, promise });
  }

  private startChild(id: number, actionIndex: number): void {
    const action = this.actions[actionIndex];
    this.function(action.functionName!, 'orchestrationTrigger');
    const promise = (async (): Promise<Completion> => {
      try {
        const child = await this.runChild(action.functionName!, action.instanceId!, action.input);
        return child.status === 'completed'
          ? { id, kind: 'subOrchestration', ok: true, result: child.output }
          : { id, kind: 'subOrchestration', ok: false, error: child.error ?? 'the sub-orchestration failed' };
      } catch (e) {
        return { id, kind: 'subOrchestration', ok: false, error: describeError(e) };
      }
    })();
    this.open.set(id, { id, kind: 'subOrchestration', actionIndex, attempt: 1, promise });
  }

  private startTimer(id: number, actionIndex: number, attempt: number, kind: 'timer' | 'retryTimer', fireAt: number): void {
    const delay = kind === 'timer' ? Math.max(0, fireAt - Date.now()) * this.timeScale : Math.max(0, fireAt - Date.now());
    const promise = new Promise<Completion>((resolve) => setTimeout(() => resolve({ id, kind }), delay));
    this.open.set(id, { id, kind, actionIndex, attempt, promise });
  }

  private function(name: string, triggerType: string): RegisteredFunction {
    const fn = this.options.functions.get(name);
    if (!fn || fn.triggerType !== triggerType) {
      throw new ArchiverError('NOT_FOUND', `no ${triggerType} function named ${name} is registered`);
    }
    return fn;
  }

  /** Writes the history appended since the last write. */
  private async persist(): Promise<void> {
    if (this.history.length > this.persistedCount) {
      const fresh = this.history.slice(this.persistedCount);
      await this.options.store.appendHistory(this.record.instanceId, this.record.execution, this.persistedCount, fresh);
      this.persistedCount += fresh.length;
    }
    await this.save({});
  }

  private async finish(status: 'completed' | 'failed', output?: unknown, error?: string): Promise<'done'> {
    await this.persist();
    await this.save({ status, output, error, leaseExpiresAt: 0 });
    return 'done';
  }

  /** Saves the instance record (and renews the lease), one write at a time so our own ETag never goes stale. */
  private save(patch: Partial<InstanceRecord>): Promise<void> {
    const next = this.saving.then(async () => {
      if (this.leaseLost) throw this.leaseLost;
      const now = Date.now();
      this.record = {
        ...this.record,
        leaseOwner: this.owner,
        leaseExpiresAt: now + this.leaseInMs,
        updatedAt: iso(now),
        ...patch,
      };
      this.etag = await this.options.store.update(this.record, this.etag);
    });
    this.saving = next.catch(() => undefined);
    return next;
  }
}

/** The delay before attempt `attempt + 1` under durable-functions' RetryOptions. */
export function retryDelayInMs(retry: RetryOptionsAction, attempt: number): number {
  const coefficient = retry.backoffCoefficient ?? 1;
  const delay = retry.firstRetryIntervalInMilliseconds * coefficient ** (attempt - 1);
  return Math.min(delay, retry.maxRetryIntervalInMilliseconds ?? Number.MAX_SAFE_INTEGER);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
