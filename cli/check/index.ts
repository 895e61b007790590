// cli/check: the checks behind `meshlet check` (after `linkerd check` and `istioctl
// precheck`). Each check reads the cluster through the controller's KubeClient and returns one
// line: passed or not, what it saw, and on failure a hint saying what to do. Pre-install checks
// ask whether the cluster can take meshlet; post-install checks whether the installed mesh works.
export { type CheckContext, type CheckResult, type Check, formatResult } from './result.ts';
export { PRE_INSTALL_CHECKS, versionAtLeast } from './pre-install.ts';
export { POST_INSTALL_CHECKS } from './post-install.ts';
export { runChecks } from './run.ts';
