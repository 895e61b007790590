// controller/status: what the controller tells users through the Kubernetes API. A Lease-based
// leader election decides which replica writes; the status writer turns translate's statuses
// into status-subresource writes (only when something changed, retrying on conflict, touching
// only meshlet's route parent entries), creates the default XMesh, and adds meshlet's
// `meshlet.dev/Propagated` route condition from counts the distribution layer provides, summed
// across replicas from a Lease each replica keeps with its agents' acks.
export * from './leader-election.ts';
export * from './status-writer.ts';
export * from './propagation.ts';
export { sameStatus, stampTimes, mergeRouteStatus } from './status-diff.ts';
export * from './replica-propagation.ts';
export { ACK_LEASE_ANNOTATION, ACK_LEASE_LABEL, ackLeaseName } from './ack-lease-writer.ts';
export { AckRecordInvalidError, decodeAckRecord, encodeAckRecord, sumAcks, type AgentAck } from './ack-record.ts';
