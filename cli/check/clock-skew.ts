// Clock skew between this machine and the API server, from the server's Date header. Workload
// certificates are short-lived and checked against the verifier's clock: a clock minutes off
// makes fresh certificates "not yet valid" and expired ones accepted.
import { rawGet } from './raw-get.ts';
import type { Check } from './result.ts';

/** The Date header has one-second resolution, and the request takes time: allow that. */
export const MAX_CLOCK_SKEW_MS = 30_000;

export const clockSkewCheck: Check = {
  name: 'clock skew',
  async run({ client, now }) {
    const { date } = await rawGet(client, '/version');
    const server = date === null ? NaN : Date.parse(date);
    if (Number.isNaN(server)) return { ok: true, detail: 'the API server sent no Date header; not measured' };
    const skew = Math.round((now.getTime() - server) / 1000);
    const detail = skew === 0 ? 'within a second of the API server' : `${Math.abs(skew)} s ${skew > 0 ? 'ahead of' : 'behind'} the API server`;
    return Math.abs(skew) * 1000 <= MAX_CLOCK_SKEW_MS
      ? { ok: true, detail }
      : { ok: false, detail, hint: 'synchronise clocks (NTP/chrony) here and on the nodes: certificates are checked against them' };
  },
};
