/**
 * A stand-in for the `@azure/functions-core` module that the Functions host
 * provides to the worker. With it, `app.*` and `df.app.*` registrations are
 * kept by name instead of dropped (the package's "test mode"), so the local
 * driver runs the very handlers that Azure runs.
 */

export interface RegisteredFunction {
  name: string;
  /** The trigger's binding type, such as `activityTrigger` or `httpTrigger`. */
  triggerType: string;
  metadata: Record<string, unknown>;
  handler: (...args: unknown[]) => unknown;
}

/** Every function registered so far, by name. */
export const registeredFunctions = new Map<string, RegisteredFunction>();

interface CoreMetadata {
  name: string;
  bindings: Record<string, { type: string; direction: string }>;
  [key: string]: unknown;
}

/** Called by @azure/functions for each `app.*` registration. */
export function registerFunction(metadata: CoreMetadata, handler: (...args: unknown[]) => unknown): { dispose(): void } {
  const trigger = Object.values(metadata.bindings ?? {}).find((b) => b.direction === 'in' && /Trigger$/.test(b.type));
  registeredFunctions.set(metadata.name, {
    name: metadata.name,
    triggerType: trigger?.type ?? 'unknown',
    metadata,
    handler,
  });
  return { dispose: () => registeredFunctions.delete(metadata.name) };
}

export function setProgrammingModel(): void {}

export function getProgrammingModel(): undefined {
  return undefined;
}

export function registerHook(): { dispose(): void } {
  return { dispose: () => undefined };
}

export function log(): void {}

export class Disposable {
  constructor(private readonly callOnDispose: () => void) {}
  dispose(): void {
    this.callOnDispose();
  }
}
