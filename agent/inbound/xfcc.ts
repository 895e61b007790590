// x-forwarded-client-cert in Envoy's format, which apps and Istio users already parse:
// `By=<this workload's SPIFFE ID>;URI=<the caller's SPIFFE ID>`.
export const XFCC = 'x-forwarded-client-cert';

export function forwardedClientCert(own: string, peer: string): string {
  return `By=${own};URI=${peer}`;
}
