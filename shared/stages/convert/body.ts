/**
 * The body of an archived item (archived-email.md, "Body"): the text of an
 * SMS or MMS exactly as received, or a readable summary of a call in text and
 * HTML.
 */
import type { Item, Participant } from '../../model/item';
import type { ArchivedAttachment } from '../../model/stages';
import { viewParticipant, type ParticipantView } from './addresses';
import { formatDuration } from './subject';
import { utcTimestamp, ZoneClock } from './time';

export interface MessageBody {
  text: string;
  html?: string;
}

export interface BodyOptions {
  displayTimeZone: string;
  defaultRegion: string;
}

/** The body of an item: its text untouched for SMS and MMS, a call summary for voice. */
export function bodyForItem(item: Item, attachments: readonly ArchivedAttachment[], options: BodyOptions): MessageBody {
  if (item.type !== 'voice') return { text: item.text ?? '' };
  return callSummary(item, attachments, options);
}

/** bodyForItem, from the participants' views. */
export function bodyOf(item: Item, from: ParticipantView, to: readonly ParticipantView[], attachments: readonly ArchivedAttachment[], options: BodyOptions): MessageBody {
  if (item.type !== 'voice') return { text: item.text ?? '' };
  return callSummaryOf(item, from, to, attachments, options);
}

interface SummaryLine {
  label: string;
  value: string;
}

/** A call as a readable summary: direction, status, start in UTC and the display zone, duration, participants, recording. */
export function callSummary(item: Item, attachments: readonly ArchivedAttachment[], options: BodyOptions): MessageBody {
  const view = (p: Participant) => viewParticipant(p, options.defaultRegion);
  return callSummaryOf(item, view(item.from), item.to.map(view), attachments, options);
}

function callSummaryOf(
  item: Item,
  from: ParticipantView,
  to: readonly ParticipantView[],
  attachments: readonly ArchivedAttachment[],
  options: BodyOptions,
): MessageBody {
  const call = item.call;
  if (!call) throw new TypeError('a voice item has no call details');
  const startUtc = utcTimestamp(item.timestamp);
  const recording = call.recording ? attachments.find((a) => a.mediaId === call.recording?.id) : undefined;

  const title = `${capitalise(item.direction)} voice call, ${STATUS_WORDS[call.status]}`;
  const lines: SummaryLine[] = [
    { label: 'Direction', value: DIRECTION_WORDS[item.direction] },
    { label: 'Status', value: capitalise(STATUS_WORDS[call.status]) },
    { label: 'Start (UTC)', value: formatUtc(startUtc) },
    { label: `Start (${options.displayTimeZone})`, value: formatInZone(new Date(startUtc), options.displayTimeZone) },
    { label: 'Duration', value: `${formatDuration(call.durationSeconds)} (${call.durationSeconds} seconds)` },
    { label: 'From', value: describeParticipant(from) },
    ...to.map((p) => ({ label: 'To', value: describeParticipant(p) })),
    {
      label: 'Recording',
      value: recording
        ? `${recording.fileName} (${recording.contentType}, ${recording.size} bytes), attached`
        : 'none',
    },
  ];
  const note = item.text ?? '';

  const text = [
    title,
    '',
    ...lines.map((l) => `${l.label}: ${l.value}`),
    ...(note === '' ? [] : ['', 'Text:', note]),
    '',
  ].join('\n');

  const html = [
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8"></head><body>',
    `<h2>${escapeHtml(title)}</h2>`,
    '<table>',
    ...lines.map((l) => `<tr><th align="left">${escapeHtml(l.label)}</th><td>${escapeHtml(l.value)}</td></tr>`),
    '</table>',
    ...(note === '' ? [] : [`<p><b>Text:</b></p><div style="white-space: pre-wrap">${escapeHtml(note)}</div>`]),
    '</body></html>',
    '',
  ].join('\n');

  return { text, html };
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return HTML_SPECIAL.test(text) ? text.replace(HTML_SPECIALS, (c) => HTML_ENTITIES[c]) : text;
}

const HTML_SPECIAL = /[&<>"']/;
const HTML_SPECIALS = /[&<>"']/g;

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

const STATUS_WORDS = { answered: 'answered', missed: 'missed', rejected: 'rejected', voicemail: 'voicemail' } as const;

const DIRECTION_WORDS = {
  inbound: 'Inbound (received by the O2 subscriber)',
  outbound: 'Outbound (placed by the O2 subscriber)',
} as const;

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function describeParticipant(participant: ParticipantView): string {
  const { displayName, address } = participant;
  // The made-up .invalid addresses say nothing a reader needs; a real email does.
  return address.endsWith('.invalid') ? displayName : `${displayName} <${address}>`;
}

/** `2026-11-25 15:20:00 UTC`, from `2026-11-25T15:20:00.000Z`. */
function formatUtc(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** `Wed, 25 Nov 2026, 15:20:00 GMT` in the given IANA zone. */
function formatInZone(date: Date, timeZone: string): string {
  return zoneClock(timeZone).format(date);
}

// A zone's clock costs far more to set up than to read (Intl loads the zone's
// rules and the locale's patterns); one per zone is kept, and a run has one zone.
const zoneClocks = new Map<string, ZoneClock>();
const ZONE_CLOCKS_KEPT = 16;

function zoneClock(timeZone: string): ZoneClock {
  let clock = zoneClocks.get(timeZone);
  if (clock !== undefined) return clock;
  clock = new ZoneClock(timeZone);
  if (zoneClocks.size >= ZONE_CLOCKS_KEPT) zoneClocks.delete(zoneClocks.keys().next().value!);
  zoneClocks.set(timeZone, clock);
  return clock;
}
