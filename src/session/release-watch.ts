// The waiting side of a lease's release (SessionStore.onRelease), shared by
// the stores: a release that arrives while nobody waits is kept for the next
// wait, so one between a waiter's checks is not lost.
import type { ReleaseWatch } from './store.js';

/** A watch and the function that wakes it; `stop` unregisters it. */
export function releaseWatch(stop: () => void): { watch: ReleaseWatch; wake: () => void } {
  let waiting: (() => void) | undefined;
  let early = false;
  const wake = () => {
    if (waiting) waiting();
    else early = true;
  };
  const watch: ReleaseWatch = {
    wait: (ms) => new Promise<boolean>((resolve) => {
      if (early) { early = false; return resolve(true); }
      const timer = setTimeout(() => { waiting = undefined; resolve(false); }, Math.max(0, ms));
      waiting = () => { waiting = undefined; clearTimeout(timer); resolve(true); };
    }),
    stop,
  };
  return { watch, wake };
}
