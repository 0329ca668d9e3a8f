/**
 * Participants as email addresses (archived-email.md, "Addresses"): the label
 * people read, the display name, and an address that can never receive mail.
 */
import type { Participant } from '../../model/item';
import type { EmailAddress } from '../../model/stages';
import { toE164 } from '../../model/phone';
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

/**
 * How a participant shows in the email, worked out once per item: the subject,
 * the addresses, the thread and the call summary all read it, so the number is
 * parsed and the name cleaned once, not once for each of them.
 */
export interface ParticipantView {
  /** The name with control characters replaced, or null when there is none. */
  name: string | null;
  /** The number in E.164, or null for a sender id. */
  e164: string | null;
  /** The name where known, else the E.164 number, else the sender id as given. */
  label: string;
  /** The number that stands for the participant in a thread: E.164, or the sender id as given. */
  key: string;
  /** `Name (+447700900123)` where the name is known, else the label. */
  displayName: string;
  /** The email, or the made-up `.invalid` address (participantAddress). */
  address: string;
}

/** The participant's view (see ParticipantView). */
export function viewParticipant(participant: Participant, defaultRegion: string): ParticipantView {
  const name = participantName(participant);
  const e164 = participantE164(participant, defaultRegion);
  const number = e164 ?? sanitizeHeaderText(participant.phone);
  return {
    name,
    e164,
    label: name ?? number,
    key: e164 ?? participant.phone,
    displayName: name === null ? number : `${name} (${number})`,
    address: addressFor(participant, e164),
  };
}

/** The label of a participant: the name where known, else the E.164 number, else the sender id as given. */
export function participantLabel(participant: Participant, defaultRegion: string): string {
  return viewParticipant(participant, defaultRegion).label;
}

/** The number that stands for a participant in a thread: E.164, or the sender id as given. */
export function participantKey(participant: Participant, defaultRegion: string): string {
  return participantE164(participant, defaultRegion) ?? participant.phone;
}

/** The display name: `Name (+447700900123)` where the name is known, else the label. */
export function participantDisplayName(participant: Participant, defaultRegion: string): string {
  return viewParticipant(participant, defaultRegion).displayName;
}

/**
 * The address of a participant: the email where the source has a plain one;
 * else `<E.164 digits>@mobile.invalid`; else, for a sender id,
 * `<lower-case letters and digits, other runs as ->@sender.mobile.invalid`.
 */
export function participantAddress(participant: Participant, defaultRegion: string): string {
  return addressFor(participant, participantE164(participant, defaultRegion));
}

function addressFor(participant: Participant, e164: string | null): string {
  const email = participant.email?.trim() ?? '';
  if (email.length <= 254 && PLAIN_EMAIL.test(email) && email.indexOf('@') <= 64) return email;
  if (e164 !== null) return `${e164.slice(1)}@mobile.invalid`;
  // RFC 2606's .invalid can never receive mail; a local part is at most 64 octets.
  const local = participant.phone.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 64);
  return `${local}@sender.mobile.invalid`;
}

/** The participant as a name and address for From or To. */
export function emailAddressFor(participant: Participant, defaultRegion: string): EmailAddress {
  return emailAddressOf(viewParticipant(participant, defaultRegion));
}

/** A participant's view as a name and address for From or To. */
export function emailAddressOf(view: ParticipantView): EmailAddress {
  // nodemailer quotes an ASCII name whole, so a run too long to fold would make a line
  // past 998 octets; the schema caps names at 256, so only malformed input gets here.
  if (hasUnfoldableRun(view.displayName)) throw new RangeError('a participant name holds a word too long for a header line');
  return { name: view.displayName, address: view.address };
}
