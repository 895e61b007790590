import { MeshletError } from '../api/errors.ts';

/** The user asked for something malformed (bad flag, missing file): exit code 1, no stack. */
export class UsageError extends MeshletError {
  constructor(message: string) {
    super('E_USAGE', message);
  }
}

/** The input was read but is wrong (e.g. a manifest document failed to parse): exit code 1. */
export class InputError extends MeshletError {
  constructor(message: string) {
    super('E_INPUT', message);
  }
}
