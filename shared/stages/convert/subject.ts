/**
 * The subject of an archived item (archived-email.md, "Subjects") and the
 * call-duration format it shares with the call summary.
 */
import type { Item, Participant } from '../../model/item';
import { viewParticipant, type ParticipantView } from './addresses';

/** Recipients named in a subject before the rest are counted. */
const RECIPIENTS_NAMED = 3;

/** A call duration as `45s`, `2m 05s` or `1h 02m 05s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0) throw new RangeError(`duration ${seconds} is not a whole number of seconds`);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h ${pad(m)}m ${pad(s)}s`;
  if (m > 0) return `${m}m ${pad(s)}s`;
  return `${s}s`;
}

/** The recipients as the subject names them: joined with `, `, the first three and ` and N others` beyond three. */
export function recipientsLabel(recipients: readonly Participant[], defaultRegion: string): string {
  return recipientsLabelOf(recipients.map((p) => viewParticipant(p, defaultRegion)));
}

function recipientsLabelOf(recipients: readonly ParticipantView[]): string {
  const labels = recipients.map((p) => p.label);
  if (labels.length <= RECIPIENTS_NAMED) return labels.join(', ');
  const others = labels.length - RECIPIENTS_NAMED;
  return `${labels.slice(0, RECIPIENTS_NAMED).join(', ')} and ${others} ${others === 1 ? 'other' : 'others'}`;
}

/** The subject of an item: `SMS from A to B`, `Voice call from A to B (2m 05s)`, `Missed voice call from A to B`, and so on. */
export function subjectForItem(item: Item, defaultRegion: string): string {
  return subjectOf(item, viewParticipant(item.from, defaultRegion), item.to.map((p) => viewParticipant(p, defaultRegion)));
}

/** subjectForItem, from the participants' views. */
export function subjectOf(item: Item, from: ParticipantView, to: readonly ParticipantView[]): string {
  const parties = `from ${from.label} to ${recipientsLabelOf(to)}`;
  switch (item.type) {
    case 'sms':
      return `SMS ${parties}`;
    case 'mms':
      return `MMS ${parties}`;
    case 'voice': {
      if (!item.call) throw new TypeError('a voice item has no call details');
      const duration = formatDuration(item.call.durationSeconds);
      switch (item.call.status) {
        case 'answered':
          return `Voice call ${parties} (${duration})`;
        case 'missed':
          return `Missed voice call ${parties}`;
        case 'rejected':
          return `Rejected voice call ${parties}`;
        case 'voicemail':
          return `Voicemail ${parties} (${duration})`;
      }
    }
  }
  throw new TypeError(`unknown item type or call status`);
}
