// Errors of the cluster box. A failed start names the component and the log to read, because
// the cause is almost always in that component's own output, not in the test's.
import { MeshletError } from '../../../api/errors.ts';

/** The built components (bin/ + crds/) are missing or the build script failed. */
export class ClusterComponentsMissingError extends MeshletError {
  constructor(detail: string) {
    super('E_CLUSTER_COMPONENTS_MISSING', `cluster components unavailable: ${detail} (build them with: bash scripts/build-cluster-components.sh)`);
  }
}

/** A component exited or did not become ready within its bound. */
export class ComponentStartError extends MeshletError {
  readonly component: string;
  readonly logPath: string;
  constructor(component: string, detail: string, logPath: string) {
    super('E_CLUSTER_COMPONENT_START', `${component} did not start: ${detail}; log: ${logPath}`);
    this.component = component;
    this.logPath = logPath;
  }
}
