// injector/: sidecar injection. inject/ is the pure core (pod → injected pod + JSON Patch);
// manifests.ts applies it to multi-document YAML for `meshlet inject`; webhook/ serves it as a
// mutating admission webhook; webhook-config.ts and ca-bundle-patcher.ts describe that webhook
// to the API server and keep its caBundle current. Never imports agent/ or ingress/.
export * from './inject/index.ts';
export { injectManifests, type ManifestResult } from './manifests.ts';
export * from './webhook/index.ts';
export { webhookConfiguration, webhookConfigPath, caBundleOf, WEBHOOK_ENTRY_NAME, WEBHOOK_CONFIG_API, type WebhookConfigOptions } from './webhook-config.ts';
export { caBundlePatcher, type CaBundlePatcher, type CaBundlePatcherOptions, type WebhookConfigClient, type SyncResult } from './ca-bundle-patcher.ts';
