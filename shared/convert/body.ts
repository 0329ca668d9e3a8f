/**
 * The body of an archived item (archived-email.md, "Body"): the text of an
 * SMS or MMS exactly as received, or a readable summary of a call in text and
 * HTML.
 */
import type { Item, Participant } from '../item';
import type { ArchivedAttachment } from '../stages';
import { participantAddress, participantDisplayName } from './addresses';
import { formatDuration } from './subject';

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

interface SummaryLine {
  label: string;
  value: string;
}

/** A call as a readable summary: direction, status, start in UTC and the display zone, duration, participants, recording. */
export function callSummary(item: Item, attachments: readonly ArchivedAttachment[], options: BodyOptions): MessageBody {
  const call = item.call;
  if (!call) throw new TypeError('a voice item has no call details');
  const start = new Date(item.timestamp);
  if (Number.isNaN(start.getTime())) throw new RangeError('the item timestamp is not an instant');
  const recording = call.recording ? attachments.find((a) => a.mediaId === call.recording?.id) : undefined;

  const title = `${capitalise(item.direction)} voice call, ${STATUS_WORDS[call.status]}`;
  const lines: SummaryLine[] = [
    { label: 'Direction', value: DIRECTION_WORDS[item.direction] },
    { label: 'Status', value: capitalise(STATUS_WORDS[call.status]) },
    { label: 'Start (UTC)', value: formatUtc(start) },
    { label: `Start (${options.displayTimeZone})`, value: formatInZone(start, options.displayTimeZone) },
    { label: 'Duration', value: `${formatDuration(call.durationSeconds)} (${call.durationSeconds} seconds)` },
    { label: 'From', value: describeParticipant(item.from, options.defaultRegion) },
    ...item.to.map((p) => ({ label: 'To', value: describeParticipant(p, options.defaultRegion) })),
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
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]);
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

const STATUS_WORDS = { answered: 'answered', missed: 'missed', rejected: 'rejected', voicemail: 'voicemail' } as const;

const DIRECTION_WORDS = {
  inbound: 'Inbound (received by the O2 subscriber)',
  outbound: 'Outbound (placed by the O2 subscriber)',
} as const;

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function describeParticipant(participant: Participant, defaultRegion: string): string {
  const name = participantDisplayName(participant, defaultRegion);
  const address = participantAddress(participant, defaultRegion);
  // The made-up .invalid addresses say nothing a reader needs; a real email does.
  return address.endsWith('.invalid') ? name : `${name} <${address}>`;
}

/** `2026-11-25 15:20:00 UTC`. */
function formatUtc(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** `Wed, 25 Nov 2026, 15:20:00 GMT` in the given IANA zone. */
function formatInZone(date: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).format(date);
}
