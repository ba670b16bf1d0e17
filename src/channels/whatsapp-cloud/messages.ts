import type { ChatPrompt } from '../../domain/messages.js';

// Builders for Cloud API send bodies (POST /<version>/<phone_number_id>/messages). They validate the limits
// Meta enforces so a bad body fails here with a clear message instead of a 400 from Meta after queueing.

export interface Addressee {
  /** Phone number, E.164 ("+16505551234") or digits ("16505551234"). */
  to?: string;
  /** Business-scoped user id (BSUID, 2026). Meta lets `to` win when both are given. */
  recipient?: string;
}

export type CloudMessageBody = {
  messaging_product: 'whatsapp';
  recipient_type: 'individual';
  to?: string;
  recipient?: string;
  type: string;
  [key: string]: unknown;
};

const PHONE = /^\+?[1-9]\d{5,14}$/;

/** Length as WhatsApp counts it: characters (code points), not UTF-16 units. */
function chars(s: string): number {
  return [...s].length;
}

function requireText(what: string, v: unknown, max: number): string {
  if (typeof v !== 'string' || v.trim().length === 0) throw new Error(`${what} must be a non-empty string`);
  if (chars(v) > max) throw new Error(`${what} must be at most ${max} characters (got ${chars(v)})`);
  return v;
}

function base(a: Addressee, type: string): CloudMessageBody {
  if (a.to === undefined && a.recipient === undefined) throw new Error('either `to` or `recipient` is required');
  const body: CloudMessageBody = { messaging_product: 'whatsapp', recipient_type: 'individual', type };
  if (a.to !== undefined) {
    if (!PHONE.test(a.to)) throw new Error(`to must be an E.164 number or its digits, got ${JSON.stringify(a.to)}`);
    body.to = a.to;
  }
  if (a.recipient !== undefined) body.recipient = requireText('recipient', a.recipient, 256);
  return body;
}

function requireUnique(what: string, values: string[]): void {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) throw new Error(`${what} must be unique; ${JSON.stringify(v)} appears twice`);
    seen.add(v);
  }
}

export function textMessage(o: Addressee & { body: string; previewUrl?: boolean }): CloudMessageBody {
  return {
    ...base(o, 'text'),
    text: { body: requireText('text body', o.body, 4096), preview_url: o.previewUrl ?? false },
  };
}

export function templateMessage(
  o: Addressee & {
    name: string;
    /** Template language code, e.g. "en_US". */
    language: string;
    /** Positional body parameters; count and order must match the approved template (else 132000). */
    bodyParams?: string[];
    /**
     * Developer payloads for the template's quick-reply buttons, by button index; they come back in `button.payload`.
     */
    quickReplyPayloads?: string[];
    /** Echoed back in status webhooks as biz_opaque_callback_data. */
    bizOpaque?: string;
  },
): CloudMessageBody {
  const components: unknown[] = [];
  if (o.bodyParams && o.bodyParams.length > 0) {
    components.push({
      type: 'body',
      parameters: o.bodyParams.map((p, i) => ({ type: 'text', text: requireText(`bodyParams[${i}]`, p, 32768) })),
    });
  }
  (o.quickReplyPayloads ?? []).forEach((payload, i) => {
    components.push({
      type: 'button',
      sub_type: 'quick_reply',
      index: String(i),
      parameters: [{ type: 'payload', payload: requireText(`quickReplyPayloads[${i}]`, payload, 1000) }],
    });
  });
  const template: Record<string, unknown> = {
    name: requireText('template name', o.name, 512),
    language: { code: requireText('template language', o.language, 20) },
  };
  if (components.length > 0) template.components = components;
  const body: CloudMessageBody = { ...base(o, 'template'), template };
  if (o.bizOpaque !== undefined) body.biz_opaque_callback_data = requireText('bizOpaque', o.bizOpaque, 512);
  return body;
}

export function buttonsMessage(
  o: Addressee & { body: string; buttons: { id: string; title: string }[] },
): CloudMessageBody {
  if (!Array.isArray(o.buttons) || o.buttons.length < 1 || o.buttons.length > 3) {
    throw new Error(`buttons must have 1 to 3 items (got ${Array.isArray(o.buttons) ? o.buttons.length : 'none'})`);
  }
  const buttons = o.buttons.map((b, i) => ({
    type: 'reply',
    reply: { id: requireText(`buttons[${i}].id`, b.id, 256), title: requireText(`buttons[${i}].title`, b.title, 20) },
  }));
  requireUnique(
    'button ids',
    o.buttons.map((b) => b.id),
  );
  requireUnique(
    'button titles',
    o.buttons.map((b) => b.title),
  );
  return {
    ...base(o, 'interactive'),
    interactive: { type: 'button', body: { text: requireText('body', o.body, 1024) }, action: { buttons } },
  };
}

export function listMessage(
  o: Addressee & {
    body: string;
    buttonText: string;
    sections: { title: string; rows: { id: string; title: string; description?: string }[] }[];
  },
): CloudMessageBody {
  if (!Array.isArray(o.sections) || o.sections.length < 1 || o.sections.length > 10) {
    throw new Error('sections must have 1 to 10 items');
  }
  const allRows = o.sections.flatMap((s) => (Array.isArray(s.rows) ? s.rows : []));
  if (allRows.length < 1 || allRows.length > 10)
    throw new Error(`a list must have 1 to 10 rows in total (got ${allRows.length})`);
  const sections = o.sections.map((s, si) => {
    if (!Array.isArray(s.rows) || s.rows.length === 0) throw new Error(`sections[${si}] must have at least one row`);
    return {
      // Meta requires a section title as soon as there is more than one section.
      ...(o.sections.length > 1 || s.title ? { title: requireText(`sections[${si}].title`, s.title, 24) } : {}),
      rows: s.rows.map((r, ri) => ({
        id: requireText(`sections[${si}].rows[${ri}].id`, r.id, 200),
        title: requireText(`sections[${si}].rows[${ri}].title`, r.title, 24),
        ...(r.description !== undefined
          ? { description: requireText(`sections[${si}].rows[${ri}].description`, r.description, 72) }
          : {}),
      })),
    };
  });
  requireUnique(
    'row ids',
    allRows.map((r) => r.id),
  );
  return {
    ...base(o, 'interactive'),
    interactive: {
      type: 'list',
      body: { text: requireText('body', o.body, 4096) },
      action: { button: requireText('buttonText', o.buttonText, 20), sections },
    },
  };
}

/** An in-chat prompt (domain/messages.ts) as buttons or a one-section list, with WhatsApp's limits checked. */
export function promptMessage(to: Addressee, p: ChatPrompt): CloudMessageBody {
  return p.style === 'buttons'
    ? buttonsMessage({ ...to, body: p.body, buttons: p.options })
    : listMessage({
        ...to,
        body: p.body,
        buttonText: p.buttonText ?? 'Choose',
        sections: [{ title: '', rows: p.options }],
      });
}
