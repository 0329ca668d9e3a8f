/**
 * An in-memory user directory for unit tests of pure logic (a test fake, so
 * it lives with the tests, not in shared/).
 */
import type { DirectoryUser, UserDirectory } from '../../shared/model/stages';

/** A user of the in-memory directory: what Graph would hold for them. */
export interface StaticDirectoryUser {
  id: string;
  userPrincipalName: string;
  mail?: string | null;
  /** As Graph writes them: `SMTP:primary@…`, `smtp:alias@…`; other types (SIP:, X500:) are not mail addresses. */
  proxyAddresses?: string[];
}

/** The in-memory directory, with the lookups it answered (for tests that count calls). */
export interface StaticDirectory extends UserDirectory {
  readonly calls: string[][];
}

/**
 * An in-memory UserDirectory for unit tests of pure logic, matching an address
 * (in any letter case) to a user's principal name, mail or SMTP proxy address.
 */
export function createStaticDirectory(users: readonly StaticDirectoryUser[]): StaticDirectory {
  const index = new Map<string, DirectoryUser>();
  for (const user of users) {
    const entry: DirectoryUser = { id: user.id, userPrincipalName: user.userPrincipalName, mail: user.mail ?? null };
    const addresses = [user.userPrincipalName, user.mail ?? '', ...(user.proxyAddresses ?? []).map(smtpAddressOf)];
    for (const address of addresses) if (address) index.set(address.toLowerCase(), entry);
  }
  const calls: string[][] = [];
  return {
    calls,
    async findUsers(addresses) {
      calls.push([...addresses]);
      const found = new Map<string, DirectoryUser>();
      for (const address of addresses) {
        const user = index.get(address.toLowerCase());
        if (user) found.set(address.toLowerCase(), user);
      }
      return found;
    },
  };
}

function smtpAddressOf(proxy: string): string {
  const colon = proxy.indexOf(':');
  if (colon < 0) return proxy;
  return proxy.slice(0, colon).toLowerCase() === 'smtp' ? proxy.slice(colon + 1) : '';
}
