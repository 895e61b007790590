// One controller replica holds the Lease and renews it: without a leader nobody writes
// statuses, so routes stay without Accepted however healthy the data plane is.
import { isStatus } from '../../controller/provider/kubernetes/index.ts';
import type { Check } from './result.ts';

interface Lease { spec?: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number } }

export const leaderCheck: Check = {
  name: 'controller leader',
  async run({ client, namespace, now }) {
    let lease: Lease;
    try {
      lease = await client.get<Lease>(`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/meshlet-controller`);
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
      return { ok: false, detail: `no Lease ${namespace}/meshlet-controller`, hint: 'the first ready replica takes it: check the controller logs' };
    }
    const holder = lease.spec?.holderIdentity;
    const renewed = Date.parse(lease.spec?.renewTime ?? '');
    const validMs = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
    if (!holder) return { ok: false, detail: 'the Lease has no holder', hint: 'a replica is stepping down or none can renew: check the controller logs' };
    if (Number.isNaN(renewed) || now.getTime() - renewed > validMs) {
      return { ok: false, detail: `${holder} stopped renewing the Lease (last ${lease.spec?.renewTime ?? 'never'})`, hint: `is ${holder} running? kubectl -n ${namespace} get pods` };
    }
    return { ok: true, detail: `${holder} holds the Lease` };
  },
};
