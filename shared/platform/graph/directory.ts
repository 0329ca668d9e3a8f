/**
 * The user directory over Graph: is this address a Microsoft 365 user, by
 * user principal name, primary SMTP address or any proxy address, in any
 * letter case (user-mapping-csv.md)?
 *
 * Each address is one GET /users?$filter=… with
 * `userPrincipalName eq 'a' or mail eq 'a' or proxyAddresses/any(x:x eq 'smtp:a')`:
 * `eq` on these three and `any` with `eq` on proxyAddresses work without the
 * advanced query parameters (Graph docs, "Advanced query capabilities on
 * Microsoft Entra ID objects"), and string comparison in the directory is
 * case-insensitive (so `smtp:` also matches the primary `SMTP:` entry). Up to
 * 20 such requests travel in one JSON $batch (Graph's limit). We check the
 * answer ourselves too, so a looser match never maps a number to the wrong
 * user.
 */
import type { Client } from '@microsoft/microsoft-graph-client';
import type { DirectoryUser, UserDirectory } from '../../model/stages';
import { withRetry, graphRetry } from '../retry';
import type { GraphClient } from './client';
import { classifyGraphError, GraphRequestError, isGraphRequestError, retryAfterOf, toGraphRequestError } from './errors';
import { odataString } from './mailbox';

/** Graph's JSON batching limit. */
export const BATCH_LIMIT = 20;

interface GraphUser {
  id: string;
  userPrincipalName: string;
  mail?: string | null;
  proxyAddresses?: string[];
}

interface BatchResponse {
  responses: { id: string; status: number; headers?: Record<string, string>; body?: { value?: GraphUser[]; error?: { code?: string } } }[];
}

export interface GraphDirectoryOptions {
  /** Send lookups one GET at a time instead of in $batch (hosts without $batch). */
  batch?: boolean;
  timeScale?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** The $filter that finds a user by any address they answer to. */
export function userAddressFilter(address: string): string {
  const a = address.toLowerCase();
  return `userPrincipalName eq ${odataString(a)} or mail eq ${odataString(a)} or proxyAddresses/any(x:x eq ${odataString('smtp:' + a)})`;
}

function userPath(address: string): string {
  return `/users?$filter=${encodeURIComponent(userAddressFilter(address))}&$select=id,userPrincipalName,mail,proxyAddresses`;
}

/** True when `user` really answers to `address` (UPN, mail or an SMTP proxy address), ignoring case. */
export function userAnswersTo(user: GraphUser, address: string): boolean {
  const a = address.toLowerCase();
  if (user.userPrincipalName?.toLowerCase() === a) return true;
  if (user.mail?.toLowerCase() === a) return true;
  return (user.proxyAddresses ?? []).some((p) => p.toLowerCase() === `smtp:${a}`);
}

function pick(users: GraphUser[], address: string): DirectoryUser | undefined {
  const matching = users.filter((u) => userAnswersTo(u, address));
  // Proxy addresses are unique across the directory; more than one match would be a
  // tenant inconsistency, where a UPN match is the least surprising choice.
  const user = matching.find((u) => u.userPrincipalName.toLowerCase() === address) ?? matching[0];
  return user ? { id: user.id, userPrincipalName: user.userPrincipalName, mail: user.mail ?? null } : undefined;
}

/** A transient failure of some requests inside a batch; the batch is retried with only those. */
class BatchPartlyFailed extends Error {
  constructor(
    readonly statusCode: number,
    readonly retryAfterInMs: number | undefined,
  ) {
    super(`batch partly failed (status ${statusCode})`);
  }
}

/** Builds a UserDirectory over Graph; answers (found or not) are cached for the directory's lifetime. */
export function createGraphDirectory(graph: GraphClient, options: GraphDirectoryOptions = {}): UserDirectory {
  const cache = new Map<string, DirectoryUser | null>();
  let useBatch = options.batch ?? true;

  async function lookupOne(address: string): Promise<DirectoryUser | null> {
    const page = await graph.call('find user', (sdk: Client) => sdk.api(userPath(address)).get() as Promise<{ value: GraphUser[] }>);
    return pick(page.value, address) ?? null;
  }

  async function lookupBatch(addresses: string[]): Promise<void> {
    let pending = addresses;
    const run = async () => {
      const response = await graph.call(
        'find users ($batch)',
        (sdk: Client) =>
          sdk.api('/$batch').post({
            requests: pending.map((address, i) => ({ id: String(i + 1), method: 'GET', url: userPath(address) })),
          }) as Promise<BatchResponse>,
      );
      const retry: string[] = [];
      let worst: BatchPartlyFailed | undefined;
      for (const r of response.responses) {
        const address = pending[Number(r.id) - 1];
        if (address === undefined) continue;
        if (r.status >= 200 && r.status < 300) {
          cache.set(address, pick(r.body?.value ?? [], address) ?? null);
          continue;
        }
        const headers = new Headers(r.headers ?? {});
        const decision = classifyGraphError({ statusCode: r.status, headers });
        if (!decision.retry) {
          throw new GraphRequestError('GRAPH_ERROR', `Graph find user failed: status ${r.status}${r.body?.error?.code ? ` ${r.body.error.code}` : ''}`, {
            statusCode: r.status,
            graphCode: r.body?.error?.code,
          });
        }
        retry.push(address);
        const after = retryAfterOf({ headers });
        if (!worst || (after ?? 0) > (worst.retryAfterInMs ?? 0)) worst = new BatchPartlyFailed(r.status, after);
      }
      // A request the batch did not answer at all is retried too.
      for (const address of pending) if (!cache.has(address) && !retry.includes(address)) retry.push(address);
      pending = retry;
      if (pending.length && worst) throw worst;
    };
    try {
      await withRetry(
        run,
        graphRetry,
        (error) =>
          error instanceof BatchPartlyFailed
            ? error.retryAfterInMs !== undefined
              ? { retry: true, retryAfterInMs: error.retryAfterInMs }
              : { retry: true }
            : { retry: false },
        { timeScale: options.timeScale ?? 1, sleep: options.sleep },
      );
    } catch (error) {
      throw toGraphRequestError(error, 'find users');
    }
    for (const address of pending) if (!cache.has(address)) cache.set(address, await lookupOne(address));
  }

  return {
    async findUsers(addresses) {
      const wanted = [...new Set(addresses.map((a) => a.trim().toLowerCase()).filter((a) => a.includes('@')))];
      const unknown = wanted.filter((a) => !cache.has(a));
      for (let i = 0; i < unknown.length; i += BATCH_LIMIT) {
        const slice = unknown.slice(i, i + BATCH_LIMIT);
        if (useBatch && slice.length > 1) {
          try {
            await lookupBatch(slice);
            continue;
          } catch (error) {
            // A host without JSON batching answers the $batch itself with 400/404/405/501: fall back for good.
            if (isGraphRequestError(error) && [400, 404, 405, 501].includes(error.statusCode ?? 0) && !slice.some((a) => cache.has(a))) {
              useBatch = false;
            } else {
              throw error;
            }
          }
        }
        for (const address of slice) if (!cache.has(address)) cache.set(address, await lookupOne(address));
      }
      const found = new Map<string, DirectoryUser>();
      for (const address of wanted) {
        const user = cache.get(address);
        if (user) found.set(address, user);
      }
      return found;
    },
  };
}
