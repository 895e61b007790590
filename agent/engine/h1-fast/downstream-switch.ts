// Whether a composition serves HTTP/1.1 on the fast path: its option, else MESHLET_H1_FAST=1
// (so a whole test suite can run on the fast path), and only where the llhttp binding has the
// shape the fast path was written for. Light on purpose: the fast path's modules
// (downstream-hook.ts and what it imports) are loaded only when this says yes.
import { llhttpAvailable } from './llhttp.ts';

/** The environment variable that turns the fast path on where no option says otherwise. */
export const H1_FAST_ENV = 'MESHLET_H1_FAST';

export function fastPathWanted(option: boolean | undefined): boolean {
  return (option ?? process.env[H1_FAST_ENV] === '1') && llhttpAvailable();
}
