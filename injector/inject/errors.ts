// Why a pod cannot be injected. Each refuses the whole pod: the injector never returns a
// half-injected one.
import { MeshletError } from '../../api/errors.ts';

/** A `meshlet.dev/*` annotation has a value the injector does not accept. */
export class InjectionAnnotationError extends MeshletError {
  readonly annotation: string;
  constructor(annotation: string, value: string, expected: string) {
    super('E_INJECT_ANNOTATION', `annotation ${annotation}: '${value.slice(0, 200)}' is not valid (${expected})`);
    this.annotation = annotation;
  }
}

/** The object is not a pod the injector can work on (no containers, wrong shapes). */
export class PodInvalidError extends MeshletError {
  constructor(message: string) {
    super('E_INJECT_POD_INVALID', `not an injectable pod: ${message}`);
  }
}

/** The mesh configuration (defaults + overrides) is inconsistent. */
export class MeshConfigInvalidError extends MeshletError {
  constructor(message: string) {
    super('E_MESH_CONFIG_INVALID', `invalid mesh config: ${message}`);
  }
}
