// injector/webhook: the mutating admission webhook. startWebhook() serves POST /inject over
// HTTPS (port 15017 in a cluster) and answers each AdmissionReview v1 for a pod CREATE with the
// JSON Patch inject() computes, admission warnings for pods left alone, or a denial naming an
// invalid annotation. The controller process starts it with its certificate and mesh config.
export { startWebhook, WEBHOOK_PATH, type Webhook, type WebhookOptions, type WebhookTls, type WebhookStats } from './server.ts';
export { admit, parseReview, reviewOf, isPodCreate, namespaceOf, AdmissionReviewInvalidError, ADMISSION_API_VERSION } from './admission.ts';
export type { AdmissionRequest, AdmissionResponse, AdmissionReview, NamespaceMeta } from './admission.ts';
