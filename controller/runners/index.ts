// controller/runners: the controller process as a list of parts with one shape (name, start,
// stop, optional ready and metrics), started in order and stopped in reverse: the agent config
// server, the translation loop (provider → translate → publish → status) or file mode, the
// admin port (/ready, /metrics), and later the CA, the webhook and the root-CA publisher. The
// CLI parses flags into a ControlPlaneConfig and calls startControlPlane; it composes nothing.
export { startRunners, type Runner, type RunningRunners } from './runner.ts';
export { startControlPlane, type ControlPlane, type ControlPlaneConfig } from './control-plane.ts';
export { TranslationRunner, startController, type Controller, type ControllerOptions } from './translation-runner.ts';
export { PublisherRunner } from './publisher-runner.ts';
export { FileSourceRunner } from './file-source-runner.ts';
export { AdminRunner, type AdminRunnerOptions } from './admin-runner.ts';
export { IdentityRunner, type IdentityRunnerOptions } from './identity-runner.ts';
export { WebhookRunner, CaBundleRunner, type WebhookRunnerOptions, type CaBundleRunnerOptions } from './webhook-runner.ts';
