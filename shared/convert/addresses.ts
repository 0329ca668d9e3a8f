/**
 * Participants as email addresses (archived-email.md, "Addresses"): the label
 * people read, the display name, and an address that can never receive mail.
 */
import type { Participant } from '../item';
import type { EmailAddress } from '../stages';
import { toE164 } from '../phone';
import { hasUnfoldableRun, sanitizeHeaderText } from './header-text';

// A conservative addr-spec (dot-atom local part, LDH domain): anything else the
// source calls an email is not trusted into an address header.
const PLAIN_EMAIL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

/** The participant's number in E.164, or null for a sender id (`O2`, a short code). */
export function participantE164(participant: Participant, defaultRegion: string): string | null {
  return toE164(participant.phone, defaultRegion);
}

/** The participant's name with control characters replaced, or null when there is none. */
export function participantName(participant: Participant): string | null {
  const name = participant.name == null ? '' : sanitizeHeaderText(participant.name);
  return name.trim() === '' ? null : name;
}

/** The label of a participant: the name where known, else the E.164 number, else the sender id as given. */
export function participantLabel(participant: Participant, defaultRegion: string): string {
  return (
    participantName(participant) ??
    participantE164(participant, defaultRegion) ??
    sanitizeHeaderText(participant.phone)
  );
}

/** The number that stands for a participant in a thread: E.164, or the sender id as given. */
export function participantKey(participant: Participant, defaultRegion: string): string {
  return participantE164(participant, defaultRegion) ?? participant.phone;
}

/** The display name: `Name (+447700900123)` where the name is known, else the label. */
export function participantDisplayName(participant: Participant, defaultRegion: string): string {
  const name = participantName(participant);
  if (name === null) return participantLabel(participant, defaultRegion);
  const number = participantE164(participant, defaultRegion) ?? sanitizeHeaderText(participant.phone);
  return `${name} (${number})`;
}

/**
 * The address of a participant: the email where the source has a plain one;
 * else `<E.164 digits>@mobile.invalid`; else, for a sender id,
 * `<lower-case letters and digits, other runs as ->@sender.mobile.invalid`.
 */
export function participantAddress(participant: Participant, defaultRegion: string): string {
  const email = participant.email?.trim() ?? '';
  if (email.length <= 254 && PLAIN_EMAIL.test(email) && email.indexOf('@') <= 64) return email;
  const e164 = participantE164(participant, defaultRegion);
  if (e164 !== null) return `${e164.slice(1)}@mobile.invalid`;
  // RFC 2606's .invalid can never receive mail; a local part is at most 64 octets.
  const local = participant.phone.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 64);
  return `${local}@sender.mobile.invalid`;
}

/** The participant as a name and address for From or To. */
export function emailAddressFor(participant: Participant, defaultRegion: string): EmailAddress {
  const name = participantDisplayName(participant, defaultRegion);
  // nodemailer quotes an ASCII name whole, so a run too long to fold would make a line
  // past 998 octets; the schema caps names at 256, so only malformed input gets here.
  if (hasUnfoldableRun(name)) throw new RangeError('a participant name holds a word too long for a header line');
  return { name, address: participantAddress(participant, defaultRegion) };
}
