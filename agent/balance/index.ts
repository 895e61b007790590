// agent/balance: load balancing decisions, with no I/O. Which backend of a rule gets a request
// (smooth weighted round-robin: exact shares) and which endpoint of that backend serves it
// (power of two choices over peak-EWMA latency). The proxy reports request start and end.
export { smoothWeighted, WeightedPickers, type WeightedPicker } from './weighted.ts';
export { PeakEwma, DEFAULT_EWMA, type EwmaOptions } from './peak-ewma.ts';
export { pickP2C, type Loaded } from './p2c.ts';
export { EndpointBalancer, endpointKey, usableEndpoints, type BalancerOptions } from './endpoint-balancer.ts';
