// IPv4/IPv6 CIDR syntax, checked without node:net so inject() stays a pure module. The same
// strings go to `meshlet init`, which checks them again with node:net when it runs; this check
// exists so a typo denies the pod at admission instead of crash-looping its init container.

function ipv4(s: string): boolean {
  const parts = s.split('.');
  // No leading zeros: node:net (the agent, `meshlet init`) refuses 010.0.0.1 (octal or decimal?).
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

function ipv6(s: string): boolean {
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = (h: string): string[] => (h === '' ? [] : h.split(':'));
  const all = halves.flatMap(groups);
  let count = all.length;
  const last = all.at(-1);
  if (last !== undefined && last.includes('.')) {
    if (!ipv4(last)) return false;
    all.pop();
    count += 1; // an embedded IPv4 address fills two groups
  }
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  return halves.length === 2 ? count <= 7 : count === 8;
}

/** `10.0.0.0/8`, `fd00::/8`, or a bare address (one host). */
export function isCidr(text: string): boolean {
  const [addr = '', bits, extra] = text.split('/');
  if (extra !== undefined) return false;
  const max = ipv4(addr) ? 32 : ipv6(addr) ? 128 : 0;
  if (max === 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max);
}
