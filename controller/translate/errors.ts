// Errors raised while reading one route and caught by the route compiler: each turns into the
// route's Accepted=False condition (reason + message) and never escapes translate(), so a bad
// route cannot stop the others.
import { MeshletError } from '../../api/errors.ts';

/** A route the spec says must not be accepted; `reason` is the condition reason to report. */
export class RouteInvalidError extends MeshletError {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super('E_ROUTE_INVALID', message);
    this.reason = reason;
  }
}

export function unsupported(message: string): RouteInvalidError {
  return new RouteInvalidError('UnsupportedValue', message);
}

export function incompatible(message: string): RouteInvalidError {
  return new RouteInvalidError('IncompatibleFilters', message);
}
