// Public surface of the Meta WhatsApp Cloud API channel.
export { signMetaBody, verifyMetaSignature, verifyToken } from './signature.js';
export { parseWebhook } from './payload.js';
export type {
  ErrorItem,
  MessageItem,
  OtherItem,
  ParseWebhookOptions,
  ParseWebhookResult,
  PreferenceItem,
  StatusItem,
  WebhookError,
  WebhookItem,
} from './payload.js';
export { buttonsMessage, listMessage, templateMessage, textMessage } from './messages.js';
export type { Addressee, CloudMessageBody } from './messages.js';
export { classifyMetaError } from './errors.js';
export type { MetaErrorClassification, MetaErrorKind, MetaErrorScope } from './errors.js';
export { createCloudClient } from './client.js';
export type { CloudClient, CloudClientOptions, SendResult } from './client.js';
export { startFakeCloudApi } from './fake-cloud-api.js';
export type { FakeCloudApi, FakeCloudApiCounts, FakeCloudApiOptions, FakeSentRecord } from './fake-cloud-api.js';
export {
  batch,
  DEFAULT_DISPLAY_PHONE_NUMBER,
  DEFAULT_WABA_ID,
  inboundButton,
  inboundInteractive,
  inboundText,
  legacyPreferenceSystem,
  metaJson,
  randomWamid,
  sendSignedWebhook,
  statusUpdate,
  userPreference,
} from './webhook-builders.js';
export type { EnvelopeBase, InboundBase, MetaChange, MetaEnvelope, StatusErrorInput } from './webhook-builders.js';
