/**
 * Routing an item to mailboxes (contracts/user-mapping-csv.md, "How mapping is
 * used"): for every participant, the custom mapping by E.164 number first,
 * then the participant's own `email`; a mailbox counts only once the directory
 * confirms a Microsoft 365 user, and from there on it is that user's object id.
 */
import type { Item, Participant } from '../../model/item';
import { toE164 } from '../../model/phone';
import type { DirectoryUser, ItemRouting, ResolvedMailbox, UserDirectory } from '../../model/stages';
import { normaliseMailbox, type MappingTable } from './csv';

export interface MailboxResolverOptions {
  directory: UserDirectory;
  /** The mapping in force (E.164 → mailbox). */
  mapping: MappingTable;
  /** Region for participant numbers written without a country code (`DEFAULT_PHONE_REGION`). */
  defaultRegion: string;
}

export interface MailboxResolver {
  /** The mailboxes of one item and the participants that found no user. */
  route(item: Item): Promise<ItemRouting>;
  /** The routing of each item of a batch, with one directory lookup for the whole batch. */
  routeMany(items: readonly Item[]): Promise<ItemRouting[]>;
}

/** A participant's candidate addresses, in the order the contract tries them. */
interface ParticipantCandidates {
  /** E.164, or the phone as given when it is not a number (a sender id). */
  number: string;
  addresses: string[];
}

/**
 * A resolver for one activity or run: it remembers every directory answer, so
 * build a new one per run to see directory changes.
 */
export function createMailboxResolver(options: MailboxResolverOptions): MailboxResolver {
  const mapping = new Map([...options.mapping].map(([phone, mailbox]) => [phone, mailbox.toLowerCase()]));
  // Address (lower case) → the lookup that answers it; a failed lookup is
  // forgotten so a retry of the activity asks again.
  const cache = new Map<string, Promise<DirectoryUser | null>>();

  function candidatesOf(participant: Participant): ParticipantCandidates {
    const e164 = toE164(participant.phone ?? '', options.defaultRegion);
    const addresses: string[] = [];
    const mapped = e164 ? mapping.get(e164) : undefined;
    if (mapped) addresses.push(mapped);
    // Only a plausible address goes to the directory: junk in the source's
    // email field would cost a lookup and can never be a user.
    const email = participant.email ? normaliseMailbox(participant.email) : null;
    if (email && !addresses.includes(email)) addresses.push(email);
    return { number: e164 ?? (participant.phone ?? '').trim(), addresses };
  }

  function lookUp(addresses: readonly string[]): void {
    const missing = [...new Set(addresses)].filter((address) => !cache.has(address));
    if (missing.length === 0) return;
    const answer = options.directory.findUsers(missing).then((found) => {
      // The directory promises lower-case keys; lower-casing again costs nothing.
      const byAddress = new Map<string, DirectoryUser>();
      for (const [address, user] of found) byAddress.set(address.toLowerCase(), user);
      return byAddress;
    });
    for (const address of missing) {
      const entry = answer.then((byAddress) => byAddress.get(address) ?? null);
      cache.set(address, entry);
      entry.catch(() => cache.delete(address));
    }
  }

  async function routeMany(items: readonly Item[]): Promise<ItemRouting[]> {
    const perItem = items.map((item) => [item.from, ...(item.to ?? [])].map(candidatesOf));
    lookUp(perItem.flat().flatMap((participant) => participant.addresses));

    return Promise.all(
      perItem.map(async (participants) => {
        const mailboxes = new Map<string, ResolvedMailbox>();
        const unmapped: string[] = [];
        for (const participant of participants) {
          let user: DirectoryUser | null = null;
          for (const address of participant.addresses) {
            user = (await cache.get(address)) ?? null;
            if (user) break;
          }
          if (user) {
            if (!mailboxes.has(user.id)) mailboxes.set(user.id, { objectId: user.id, userPrincipalName: user.userPrincipalName });
          } else if (participant.number !== '' && !unmapped.includes(participant.number)) {
            unmapped.push(participant.number);
          }
        }
        return { mailboxes: [...mailboxes.values()], unmappedNumbers: unmapped };
      }),
    );
  }

  return {
    route: async (item) => (await routeMany([item]))[0],
    routeMany,
  };
}
