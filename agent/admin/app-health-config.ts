// MESHLET_APP_PROBERS, read once at start: the app's original probes keyed by the admin path the
// kubelet now calls. The injector writes it (injector/inject/probes.ts), so a value that does
// not parse means the injector and the agent disagree: the agent refuses to start and says
// why, rather than answer every probe with a failure nobody can explain.
import { MeshletError } from '../../api/errors.ts';
import { APP_HEALTH_PREFIX, PROBE_KINDS, type AppProber, type AppProbers } from '../../api/pod-env.ts';

export class AppProbersInvalidError extends MeshletError {
  constructor(message: string) {
    super('E_APP_PROBERS_INVALID', `MESHLET_APP_PROBERS: ${message}`);
  }
}

const KINDS = Object.values(PROBE_KINDS).join('|');
const PATH_RE = new RegExp(`^${APP_HEALTH_PREFIX}[^/]+/(${KINDS})$`);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0 && (v as number) <= 65535;

function checkHttp(at: string, a: Record<string, unknown>): void {
  if (a.path !== undefined && typeof a.path !== 'string') throw new AppProbersInvalidError(`${at}.path must be a string`);
  if (a.scheme !== undefined && a.scheme !== 'HTTP' && a.scheme !== 'HTTPS') throw new AppProbersInvalidError(`${at}.scheme must be HTTP or HTTPS`);
  if (a.httpHeaders === undefined) return;
  if (!Array.isArray(a.httpHeaders)) throw new AppProbersInvalidError(`${at}.httpHeaders must be a list`);
  for (const [i, h] of (a.httpHeaders as unknown[]).entries()) {
    if (!isObject(h) || typeof h.name !== 'string' || h.name === '' || typeof h.value !== 'string') {
      throw new AppProbersInvalidError(`${at}.httpHeaders[${i}] must be {name, value} strings`);
    }
  }
}

function checkProber(path: string, p: unknown): AppProber {
  if (!PATH_RE.test(path)) throw new AppProbersInvalidError(`'${path}' is not ${APP_HEALTH_PREFIX}<container>/<${KINDS}>`);
  if (!isObject(p)) throw new AppProbersInvalidError(`${path} must be an object`);
  const actions = (['httpGet', 'tcpSocket', 'grpc'] as const).filter((k) => p[k] !== undefined);
  if (actions.length !== 1) throw new AppProbersInvalidError(`${path} must have exactly one of httpGet, tcpSocket, grpc`);
  const kind = actions[0]!;
  const action = p[kind];
  const at = `${path}.${kind}`;
  if (!isObject(action)) throw new AppProbersInvalidError(`${at} must be an object`);
  // Named ports are resolved by the injector: the agent has no pod spec to look them up in.
  if (!isPort(action.port)) throw new AppProbersInvalidError(`${at}.port must be a port number, got ${JSON.stringify(action.port)}`);
  if (action.host !== undefined && typeof action.host !== 'string') throw new AppProbersInvalidError(`${at}.host must be a string`);
  if (kind === 'httpGet') checkHttp(at, action);
  if (kind === 'grpc' && action.service !== undefined && typeof action.service !== 'string') throw new AppProbersInvalidError(`${at}.service must be a string`);
  const t = p.timeoutSeconds;
  if (t !== undefined && !(Number.isInteger(t) && (t as number) > 0)) throw new AppProbersInvalidError(`${path}.timeoutSeconds must be a positive whole number`);
  return p;
}

/** Parses and checks the variable's value; an unset or empty variable means no probes. */
export function parseAppProbers(value: string | undefined): AppProbers {
  if (value === undefined || value.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new AppProbersInvalidError(`not JSON: ${(err as Error).message}`);
  }
  if (!isObject(parsed)) throw new AppProbersInvalidError('must be a JSON object keyed by admin path');
  const out: AppProbers = {};
  for (const [path, p] of Object.entries(parsed)) out[path] = checkProber(path, p);
  return out;
}
