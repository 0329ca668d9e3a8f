/**
 * `o2-archiver check` for Graph: a real read of a user and of a mailbox's
 * folder list. Only a call proves access: with Exchange RBAC for Applications
 * an app may hold Mail.ReadWrite and still be scoped away from a mailbox.
 */
import type { Settings } from '../config';
import { describeError } from '../../model/errors';
import { createGraphClient, type GraphClient, type GraphClientOptions } from './client';
import { isGraphRequestError } from './errors';
import { odataString, q, seg } from './mailbox';

export interface CheckGraphOptions extends GraphClientOptions {
  /** The mailbox to prove access to (UPN or address); the first user with a mailbox address otherwise. */
  mailbox?: string;
  /** A ready client (tests); built from the settings otherwise. */
  client?: GraphClient;
}

interface User {
  id: string;
  userPrincipalName: string;
  mail?: string | null;
}

function why(error: unknown): string {
  return isGraphRequestError(error) ? error.detail : describeError(error);
}

/** Proves that the app can read a user and list a mailbox's folders; one line per step, never a token. */
export async function checkGraph(settings: Settings, options: CheckGraphOptions = {}): Promise<{ ok: boolean; lines: string[] }> {
  const lines: string[] = [];
  let graph: GraphClient;
  try {
    graph = options.client ?? createGraphClient(settings, options);
  } catch (error) {
    return { ok: false, lines: [`FAIL Graph client: ${describeError(error)}`] };
  }
  lines.push(`Graph ${graph.baseUrl} with ${graph.credentialKind}`);
  let user: User | undefined;
  try {
    if (options.mailbox) {
      const a = options.mailbox.toLowerCase();
      const filter = `userPrincipalName eq ${odataString(a)} or mail eq ${odataString(a)}`;
      const page = await graph.call('check: read user', (sdk) => sdk.api('/users').filter(q(filter)).select('id,userPrincipalName,mail').get() as Promise<{ value: User[] }>);
      user = page.value[0];
      if (!user) {
        lines.push(`FAIL read user: no user answers to ${options.mailbox}`);
        return { ok: false, lines };
      }
    } else {
      const page = await graph.call('check: read users', (sdk) => sdk.api('/users').select('id,userPrincipalName,mail').top(20).get() as Promise<{ value: User[] }>);
      user = page.value.find((u) => u.mail) ?? page.value[0];
      if (!user) {
        lines.push('FAIL read user: the tenant returned no users (User.Read.All granted?)');
        return { ok: false, lines };
      }
    }
    lines.push(`OK   read user ${user.userPrincipalName}`);
  } catch (error) {
    lines.push(`FAIL read user: ${why(error)} (needs User.Read.All)`);
    return { ok: false, lines };
  }
  try {
    const folders = await graph.call('check: list mail folders', (sdk) =>
      sdk.api(`/users/${seg(user!.id)}/mailFolders`).select('id,displayName').top(10).get() as Promise<{ value: unknown[] }>,
    );
    lines.push(`OK   list mail folders of ${user.userPrincipalName} (${folders.value.length} at the top)`);
  } catch (error) {
    lines.push(`FAIL list mail folders of ${user.userPrincipalName}: ${why(error)} (needs Mail.ReadWrite, and the mailbox in the app's RBAC scope)`);
    return { ok: false, lines };
  }
  return { ok: true, lines };
}
