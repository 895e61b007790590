// Whether a composition serves HTTP/1.1 on the fast path: its option, else on unless
// MESHLET_H1_FAST=0 (the default since the whole suite, conformance e2e included, passed on it:
// ADR 0017 item 6; the variable lets a whole suite or a deployment run on node:http only), and
// only where the llhttp binding has the shape the fast path was written for. Light on purpose: the fast path's modules
// (downstream-hook.ts and what it imports) are loaded only when this says yes.
import { llhttpAvailable } from './llhttp.ts';

/** The environment variable that turns the fast path off (`0`) where no option says otherwise. */
export const H1_FAST_ENV = 'MESHLET_H1_FAST';

export function fastPathWanted(option: boolean | undefined, env: string | undefined = process.env[H1_FAST_ENV]): boolean {
  return (option ?? env !== '0') && llhttpAvailable();
}
