// When to re-open a watch the server ended cleanly. client-node's ListWatch backs off (1 s, 2 s,
// … 30 s) every time a watch ends without having delivered an event, so a quiet kind the API
// server closes every few minutes (its --min-request-timeout) was re-watched up to 30 s late,
// and changes in that window waited for it. A watch that stayed open a while and then ended is
// the server's normal rotation: re-open at once. Only a watch that ends almost as soon as it
// opened (a misbehaving server or proxy) gets ListWatch's growing delay, so nothing tight-loops.
import { setTimeout as sleep } from 'node:timers/promises';

/** A watch open at least this long ended normally. */
export const HEALTHY_WATCH_MS = 1_000;

export function rewatchDelay(now: () => number = Date.now, wait: (ms: number) => Promise<unknown> = sleep): (ms: number) => Promise<void> {
  let openedAt = now();
  return async (ms) => {
    const lived = now() - openedAt;
    if (lived < HEALTHY_WATCH_MS) await wait(ms);
    openedAt = now();
  };
}
