// The parser's result types; the items themselves are domain events (domain/inbound.ts).

export type {
  WebhookError,
  MessageItem,
  StatusItem,
  PreferenceItem,
  ErrorItem,
  OtherItem,
  QualityItem,
  WebhookItem,
} from '../../domain/inbound.js';
import type { WebhookItem } from '../../domain/inbound.js';

export type ParseWebhookResult = { ok: true; items: WebhookItem[] } | { ok: false; field: string; message: string };

export interface ParseWebhookOptions {
  /** Used as the timestamp of an element that lacks a usable one (default: Date.now()). */
  receivedAtMs?: number;
}
