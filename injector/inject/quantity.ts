// Kubernetes resource quantities ("100m", "128Mi", "1.5", "2G"), parsed only far enough to
// validate an annotation and compare a request with a limit: the rendered value stays the text
// the user wrote.

const SUFFIX: Record<string, number> = {
  '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

const QUANTITY = /^(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei))?$/;

/** The quantity's value in base units, or null when it is not a Kubernetes quantity. */
export function parseQuantity(text: string): number | null {
  const m = QUANTITY.exec(text);
  if (!m) return null;
  const exponent = m[2] ? 10 ** Number(m[2].slice(1)) : 1;
  const value = Number(m[1]) * exponent * (SUFFIX[m[3] ?? ''] ?? 1);
  return Number.isFinite(value) ? value : null;
}
