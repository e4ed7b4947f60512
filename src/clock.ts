// Time, injected: every lifetime, expiry and skew rule reads the clock it is
// given, so that tests move time instead of waiting for it.
export interface Clock {
  /** Milliseconds since the epoch, as Date.now(). */
  now(): number;
  /** A timer on this clock (optional; a test clock fires it when moved): see setTimer. */
  setTimer?(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = { now: () => Date.now() };

/** The longest delay setTimeout takes (about 24.8 days); longer waits are taken in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * Runs `fn` once `ms` milliseconds have passed on `clock` (a test clock that
 * has timers fires them when it is moved); resolves the function that cancels
 * it. System timers are unref'd: a waiting timer never holds a process open.
 */
export function setTimer(clock: Clock, ms: number, fn: () => void): () => void {
  if (clock.setTimer) return clock.setTimer(ms, fn);
  let timer: NodeJS.Timeout;
  const arm = (left: number) => {
    timer = setTimeout(() => (left > MAX_DELAY_MS ? arm(left - MAX_DELAY_MS) : fn()), Math.min(Math.max(0, left), MAX_DELAY_MS));
    timer.unref();
  };
  arm(ms);
  return () => clearTimeout(timer);
}
