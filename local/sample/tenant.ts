/**
 * The sample tenant: the fixture users (alice.smith, bob.jones, carol.white)
 * and generated ones on +4477009002xx, in Ofcom's drama range so that no real
 * phone is ever named.
 */

export interface SampleUser {
  displayName: string;
  /** Lower-case, @contoso.example. */
  userPrincipalName: string;
  mail: string;
  /** `SMTP:` marks the primary address, `smtp:` an alias (Exchange's spelling). */
  proxyAddresses: string[];
  /** E.164. */
  phone: string;
}

export const SAMPLE_DOMAIN = 'contoso.example';

/** The address the sample's items carry for the user reachable only by a proxy address. */
export const PROXY_ONLY_ADDRESS = `trading.desk@${SAMPLE_DOMAIN}`;

interface UserSeed {
  first: string;
  last: string;
  phone: string;
  /** A primary address that is not the principal name. */
  mail?: string;
  aliases?: string[];
}

const USERS: readonly UserSeed[] = [
  { first: 'Alice', last: 'Smith', phone: '+447700900101' },
  { first: 'Bob', last: 'Jones', phone: '+447700900102' },
  { first: 'Carol', last: 'White', phone: '+447700900103' },
  { first: 'David', last: 'Brown', phone: '+447700900201' },
  { first: 'Emma', last: 'Taylor', phone: '+447700900202', mail: 'e.taylor' },
  { first: 'Farid', last: 'Khan', phone: '+447700900203' },
  // Reachable only through an alias: the items carry PROXY_ONLY_ADDRESS, which is neither her UPN nor her mail.
  { first: 'Grace', last: 'Hall', phone: '+447700900204', aliases: ['trading.desk'] },
  { first: 'Hiroshi', last: 'Tanaka', phone: '+447700900205' },
  { first: 'Isla', last: 'Murphy', phone: '+447700900206' },
  { first: 'Jonas', last: 'Weber', phone: '+447700900207' },
];

/** The users of the sample tenant, fixture users first. */
export function sampleTenant(): SampleUser[] {
  return USERS.map((u) => {
    const local = `${u.first}.${u.last}`.toLowerCase();
    const upn = `${local}@${SAMPLE_DOMAIN}`;
    const mail = u.mail ? `${u.mail}@${SAMPLE_DOMAIN}` : upn;
    const proxyAddresses = [`SMTP:${mail}`];
    if (mail !== upn) proxyAddresses.push(`smtp:${upn}`);
    for (const alias of u.aliases ?? []) proxyAddresses.push(`smtp:${alias}@${SAMPLE_DOMAIN}`);
    return { displayName: `${u.first} ${u.last}`, userPrincipalName: upn, mail, proxyAddresses, phone: u.phone };
  });
}

/** Every address a user answers to, lower case: principal name, mail and each proxy address. */
export function addressesOf(user: SampleUser): string[] {
  const all = [user.userPrincipalName, user.mail, ...user.proxyAddresses.map((p) => p.replace(/^smtp:/i, ''))];
  return [...new Set(all.map((a) => a.toLowerCase()))];
}
