// Time, injected: every lifetime, expiry and skew rule reads the clock it is
// given, so that tests move time instead of waiting for it.
export interface Clock {
  /** Milliseconds since the epoch, as Date.now(). */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
