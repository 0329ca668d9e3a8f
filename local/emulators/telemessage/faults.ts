/**
 * Which requests the emulator answers badly: seeded at a fault rate, or forced
 * by a test. The same seed and the same order of requests give the same faults.
 */
import { SeededRandom } from './random';

/**
 * throttle: 429 with Retry-After: 1; unavailable: 503; reset: the connection
 * is destroyed without an answer; slow: the answer comes late; hang: no
 * answer ever (forced only, or the neverAnswer option).
 */
export type FaultKind = 'throttle' | 'unavailable' | 'reset' | 'slow' | 'hang';
export type EmulatorRoute = 'auth' | 'list' | 'media';

const RANDOM_FAULTS: readonly FaultKind[] = ['throttle', 'unavailable', 'reset', 'slow'];

interface ForcedFault {
  remaining: number;
  kind: FaultKind;
  route?: EmulatorRoute;
}

/** Decides, request by request, whether a fault is served and which. */
export class FaultPlan {
  private readonly random: SeededRandom;
  private readonly forced: ForcedFault[] = [];
  neverAnswer: boolean;

  constructor(
    private readonly faultRate: number,
    seed: string,
    neverAnswer = false,
  ) {
    if (!(faultRate >= 0 && faultRate <= 1)) throw new RangeError(`faultRate must be from 0 to 1, not ${faultRate}`);
    this.random = new SeededRandom(`telemessage-faults:${seed}`);
    this.neverAnswer = neverAnswer;
  }

  /** Forces `kind` on the next `count` requests (of `route`, when given), before any seeded fault. */
  failNext(count: number, kind: FaultKind, route?: EmulatorRoute): void {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, not ${count}`);
    this.forced.push({ remaining: count, kind, route });
  }

  /** The fault for this request, or null to answer it properly. */
  next(route: EmulatorRoute): FaultKind | null {
    const forced = this.forced.find((f) => f.route === undefined || f.route === route);
    if (forced) {
      forced.remaining -= 1;
      if (forced.remaining === 0) this.forced.splice(this.forced.indexOf(forced), 1);
      return forced.kind;
    }
    if (this.neverAnswer) return 'hang';
    // Two draws for every request, fault or not, so that one request's fault never shifts the next one's.
    const roll = this.random.float();
    const kind = this.random.pick(RANDOM_FAULTS);
    return this.faultRate > 0 && roll < this.faultRate ? kind : null;
  }
}
