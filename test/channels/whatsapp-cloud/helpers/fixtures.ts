// Hand-written Meta webhook payloads (shapes from Meta's webhook reference; ids invented). Written out in
// full rather than produced by webhook-builders so that the parser is tested against independent data.

export const WABA_1 = '102290129340398';
export const WABA_2 = '102290129340399';
export const PHONE_A = '106540352242922';
export const PHONE_B = '106540352242923';

const metadata = (phoneNumberId: string) => ({ display_phone_number: '15550783881', phone_number_id: phoneNumberId });

export function envelope(entries: { id: string; changes?: unknown[] }[]): Record<string, unknown> {
  return { object: 'whatsapp_business_account', entry: entries };
}

export function messagesChange(phoneNumberId: string, value: Record<string, unknown>): Record<string, unknown> {
  return { field: 'messages', value: { messaging_product: 'whatsapp', metadata: metadata(phoneNumberId), ...value } };
}

/** Two WABAs × two changes each: messages, statuses, more messages, user_preferences. */
export function batchedEnvelope(): Record<string, unknown> {
  return envelope([
    {
      id: WABA_1,
      changes: [
        messagesChange(PHONE_A, {
          contacts: [
            { profile: { name: 'Sheena Nelson' }, wa_id: '16505551234', user_id: 'US.13491208655302741918' },
            { profile: { name: 'Ana Souza' }, wa_id: '5511987654321' },
          ],
          messages: [
            { from: '16505551234', id: 'wamid.A1', timestamp: '1739321024', type: 'text', text: { body: 'STOP' } },
            { from: '5511987654321', id: 'wamid.A2', timestamp: '1739321025', type: 'text', text: { body: 'olá' } },
            {
              from: '16505551234',
              id: 'wamid.A3',
              timestamp: '1739321026',
              type: 'reaction',
              reaction: { message_id: 'wamid.OUT9', emoji: '👍' },
            },
          ],
        }),
        messagesChange(PHONE_A, {
          statuses: [
            { id: 'wamid.OUT1', status: 'read', timestamp: '1750857390', recipient_id: '16505551234' },
            { id: 'wamid.OUT1', status: 'delivered', timestamp: '1750857385', recipient_id: '16505551234' },
            {
              id: 'wamid.OUT2',
              status: 'failed',
              timestamp: '1750857384',
              recipient_id: '5511987654321',
              biz_opaque_callback_data: 'consent-req-8f2c',
              errors: [
                {
                  code: 131050,
                  title:
                    'Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business',
                  message: 'Unable to deliver the message',
                  error_data: { details: 'User stopped marketing messages' },
                  href: '/documentation/business-messaging/whatsapp/support/error-codes',
                },
              ],
            },
          ],
        }),
      ],
    },
    {
      id: WABA_2,
      changes: [
        messagesChange(PHONE_B, {
          contacts: [{ profile: { name: 'Kai' }, wa_id: '447700900123' }],
          messages: [
            {
              context: { from: '15550783881', id: 'wamid.TEMPLATE_MSG_ID' },
              from: '447700900123',
              id: 'wamid.B1',
              timestamp: '1739321100',
              type: 'button',
              button: { payload: 'OPTOUT_MARKETING', text: 'Stop promotions' },
            },
            {
              context: { from: '15550783881', id: 'wamid.INTERACTIVE_ID' },
              from: '447700900123',
              id: 'wamid.B2',
              timestamp: '1739321101',
              type: 'interactive',
              interactive: { type: 'button_reply', button_reply: { id: 'optin_yes', title: 'Yes' } },
            },
          ],
        }),
        {
          field: 'user_preferences',
          value: {
            messaging_product: 'whatsapp',
            metadata: metadata(PHONE_B),
            contacts: [{ profile: { name: 'Kai' }, wa_id: '447700900123' }],
            user_preferences: [
              {
                wa_id: '447700900123',
                detail: 'User requested to stop marketing messages',
                category: 'marketing_messages',
                value: 'stop',
                timestamp: 1731705721,
              },
              {
                wa_id: '447700900123',
                detail: 'User requested to resume marketing messages',
                category: 'marketing_messages',
                value: 'resume',
                timestamp: 1731705800,
              },
            ],
          },
        },
      ],
    },
  ]);
}

/** One inbound message of every type in Meta's messages reference, all from the same user. */
export function everyMessageType(): Record<string, unknown>[] {
  const base = (id: string, type: string, body: Record<string, unknown>) => ({
    from: '16505551234',
    id,
    timestamp: '1739321024',
    type,
    ...body,
  });
  return [
    base('wamid.T_TEXT', 'text', { text: { body: 'Hello' } }),
    base('wamid.T_BUTTON', 'button', {
      context: { from: '15550783881', id: 'wamid.TPL' },
      button: { payload: 'YES_PLEASE', text: 'Yes please' },
    }),
    base('wamid.T_BREPLY', 'interactive', {
      interactive: { type: 'button_reply', button_reply: { id: 'optin_yes', title: 'Yes' } },
    }),
    base('wamid.T_LREPLY', 'interactive', {
      interactive: { type: 'list_reply', list_reply: { id: 'row1', title: 'Weekly', description: 'Once a week' } },
    }),
    base('wamid.T_NFM', 'interactive', {
      interactive: { type: 'nfm_reply', nfm_reply: { name: 'flow', response_json: '{}', body: 'Sent' } },
    }),
    base('wamid.T_REACTION', 'reaction', { reaction: { message_id: 'wamid.OUT1', emoji: '' } }),
    base('wamid.T_LOCATION', 'location', { location: { latitude: 38.7, longitude: -9.1, name: 'Lisboa' } }),
    base('wamid.T_IMAGE', 'image', { image: { id: '1234', mime_type: 'image/jpeg', sha256: 'abc', caption: 'STOP' } }),
    base('wamid.T_VIDEO', 'video', { video: { id: '1235', mime_type: 'video/mp4', sha256: 'abc' } }),
    base('wamid.T_AUDIO', 'audio', { audio: { id: '1236', mime_type: 'audio/ogg', sha256: 'abc', voice: true } }),
    base('wamid.T_DOCUMENT', 'document', {
      document: { id: '1237', mime_type: 'application/pdf', sha256: 'abc', filename: 'a.pdf' },
    }),
    base('wamid.T_STICKER', 'sticker', {
      sticker: { id: '1238', mime_type: 'image/webp', sha256: 'abc', animated: false },
    }),
    base('wamid.T_CONTACTS', 'contacts', {
      contacts: [{ name: { formatted_name: 'Bob' }, phones: [{ phone: '+1 650 555 0000', type: 'CELL' }] }],
    }),
    base('wamid.T_SYS_NUMBER', 'system', {
      system: {
        body: 'User A changed from 16505551234 to 16505559999',
        wa_id: '16505559999',
        type: 'user_changed_number',
      },
    }),
    base('wamid.T_SYS_IDENTITY', 'system', {
      system: { body: 'User A changed', customer: '16505551234', identity: 'abc=', type: 'customer_identity_changed' },
    }),
    base('wamid.T_UNSUPPORTED', 'unsupported', {
      unsupported: { type: 'poll' },
      errors: [
        {
          code: 131051,
          title: 'Message type unknown',
          message: 'Message type unknown',
          error_data: { details: 'Message type is currently not supported.' },
        },
      ],
    }),
    base('wamid.T_ORDER', 'order', { order: { catalog_id: '1', product_items: [] } }),
    base('wamid.T_WELCOME', 'request_welcome', {}),
  ];
}
