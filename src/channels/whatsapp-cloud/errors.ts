// What a Meta error code means for the sender. Meta's advice is to branch on `code`, not on the HTTP
// status (sources disagree on the status for several codes), so the HTTP status is only a fallback for
// codes this table does not know.

export type MetaErrorKind =
  | 'throughput'
  | 'pair_rate'
  | 'marketing_stopped'
  | 'engagement_cap'
  | 'needs_template'
  | 'unreachable'
  | 'auth'
  | 'permission'
  | 'account_blocked'
  | 'template'
  | 'transient'
  | 'permanent';

/** What a retry or a pause should apply to. */
export type MetaErrorScope =
  | 'message' // this one send
  | 'recipient' // this user only; other users may go at once
  | 'number' // the business phone number (global per-number throttle)
  | 'template' // every send of this template
  | 'account' // the WABA / business / its token
  | 'app'; // the Meta app (Graph call quota)

export interface MetaErrorClassification {
  code: number;
  kind: MetaErrorKind;
  retryable: boolean;
  scope: MetaErrorScope;
  description: string;
}

type Rule = { kind: MetaErrorKind; scope: MetaErrorScope; description: string };

const RULES = new Map<number, Rule>([
  [0, { kind: 'auth', scope: 'account', description: 'Authentication failed; refresh the access token' }],
  [190, { kind: 'auth', scope: 'account', description: 'Access token expired or invalid; refresh it' }],
  [3, { kind: 'permission', scope: 'account', description: 'Capability or permission issue' }],
  [10, { kind: 'permission', scope: 'account', description: 'Permission missing' }],
  [1, { kind: 'transient', scope: 'message', description: 'Unknown error; retry with backoff' }],
  [2, { kind: 'transient', scope: 'message', description: 'Service temporarily unavailable; retry with backoff' }],
  [131000, { kind: 'transient', scope: 'message', description: 'Unknown send failure; retry with backoff' }],
  [131016, { kind: 'transient', scope: 'message', description: 'Service unavailable; retry with backoff' }],
  [
    131057,
    {
      kind: 'transient',
      scope: 'number',
      description: 'Account in maintenance (e.g. throughput upgrade); retry shortly',
    },
  ],
  [4, { kind: 'throughput', scope: 'app', description: 'App hit its Graph API call rate limit; back off' }],
  [
    80007,
    { kind: 'throughput', scope: 'account', description: 'WABA hit its rate limit; retry after the hourly reset' },
  ],
  [
    130429,
    {
      kind: 'throughput',
      scope: 'number',
      description: 'Per-number throughput exceeded; throttle the number and back off',
    },
  ],
  [
    131056,
    {
      kind: 'pair_rate',
      scope: 'recipient',
      description: 'Pair rate limit: too many messages to this user; delay only this user (1, 4, 16, 64 s…)',
    },
  ],
  [
    131050,
    {
      kind: 'marketing_stopped',
      scope: 'recipient',
      description: 'User stopped marketing messages from this business; never retry, suppress marketing',
    },
  ],
  [
    131049,
    {
      kind: 'engagement_cap',
      scope: 'recipient',
      description:
        'Marketing not delivered to keep ecosystem engagement healthy (per-user cap or US pause); wait 24 h or more',
    },
  ],
  [
    131047,
    {
      kind: 'needs_template',
      scope: 'recipient',
      description: 'Outside the 24 h customer-service window; send a template',
    },
  ],
  [
    470,
    {
      kind: 'needs_template',
      scope: 'recipient',
      description: 'Outside the service window (legacy On-Premises); send a template',
    },
  ],
  [
    131026,
    {
      kind: 'unreachable',
      scope: 'recipient',
      description: 'Undeliverable: not on WhatsApp, terms not accepted or app too old (not an opt-out)',
    },
  ],
  [
    368,
    {
      kind: 'account_blocked',
      scope: 'account',
      description: 'WABA restricted or disabled for a policy violation; halt for human review',
    },
  ],
  [
    131031,
    { kind: 'account_blocked', scope: 'account', description: 'Account locked (policy or wrong two-step PIN); halt' },
  ],
  [
    131048,
    {
      kind: 'account_blocked',
      scope: 'number',
      description: 'Spam rate limit: number restricted after blocks/flags; pause campaigns',
    },
  ],
  [130497, { kind: 'account_blocked', scope: 'account', description: 'WABA may not message users in this country' }],
  [131042, { kind: 'account_blocked', scope: 'account', description: 'Payment or billing problem' }],
  [100, { kind: 'template', scope: 'message', description: 'Invalid parameter' }],
  [131008, { kind: 'template', scope: 'message', description: 'Required parameter missing' }],
  [131009, { kind: 'template', scope: 'message', description: 'Parameter value invalid' }],
  [132000, { kind: 'template', scope: 'template', description: 'Template parameter count mismatch' }],
  [132001, { kind: 'template', scope: 'template', description: 'Template does not exist (name + language)' }],
  [132005, { kind: 'template', scope: 'template', description: 'Template hydrated text too long' }],
  [132007, { kind: 'template', scope: 'template', description: 'Template format character policy violated' }],
  [132008, { kind: 'template', scope: 'template', description: 'Template parameter format mismatch' }],
  [132012, { kind: 'template', scope: 'template', description: 'Template parameter format mismatch' }],
  [
    132015,
    {
      kind: 'template',
      scope: 'template',
      description: 'Template paused for low quality; switch template or wait for the pause to end',
    },
  ],
  [132016, { kind: 'template', scope: 'template', description: 'Template disabled for low quality; switch template' }],
  [
    130472,
    { kind: 'permanent', scope: 'recipient', description: "User's number is in a marketing experiment hold-out" },
  ],
  [131021, { kind: 'permanent', scope: 'message', description: 'Sender and recipient are the same number' }],
  [131030, { kind: 'permanent', scope: 'recipient', description: 'Recipient not in the test allow-list' }],
  [131037, { kind: 'permanent', scope: 'number', description: '555 number display name not approved' }],
  [131051, { kind: 'permanent', scope: 'message', description: 'Unsupported message type' }],
  [
    131062,
    {
      kind: 'permanent',
      scope: 'message',
      description: 'Message type not allowed to a BSUID recipient; send to the phone number',
    },
  ],
  [
    131063,
    {
      kind: 'permanent',
      scope: 'account',
      description: 'Marketing templates disabled on Cloud API; use the Marketing Messages API',
    },
  ],
  [
    131064,
    {
      kind: 'permanent',
      scope: 'account',
      description: 'Messaging limit reached after template-classification violations',
    },
  ],
  [133016, { kind: 'permanent', scope: 'number', description: 'Register/deregister attempts rate-limited' }],
  [137000, { kind: 'permanent', scope: 'message', description: 'Recipient identity-key hash mismatch; re-verify' }],
]);

const RETRYABLE: ReadonlySet<MetaErrorKind> = new Set(['throughput', 'pair_rate', 'transient']);

function ruleFor(code: number, httpStatus: number | undefined): Rule {
  const exact = RULES.get(code);
  if (exact) return exact;
  if (code >= 200 && code <= 299) return { kind: 'permission', scope: 'account', description: 'Permission missing' };
  if (code >= 132000 && code <= 132016) return { kind: 'template', scope: 'template', description: 'Template error' };
  // Fallbacks for codes the table does not know (or no Meta code at all, e.g. a proxy's HTML error page).
  if (httpStatus === 0)
    return { kind: 'transient', scope: 'message', description: 'No HTTP response (network error or timeout)' };
  if (httpStatus !== undefined && httpStatus >= 500)
    return { kind: 'transient', scope: 'message', description: `Server error (HTTP ${httpStatus})` };
  if (httpStatus === 429) return { kind: 'throughput', scope: 'number', description: 'Rate limited (HTTP 429)' };
  if (httpStatus === 401) return { kind: 'auth', scope: 'account', description: 'Unauthorized (HTTP 401)' };
  if (httpStatus === 403) return { kind: 'permission', scope: 'account', description: 'Forbidden (HTTP 403)' };
  return { kind: 'permanent', scope: 'message', description: 'Unrecognised error; do not retry' };
}

export function classifyMetaError(code: number, httpStatus?: number): MetaErrorClassification {
  const r = ruleFor(code, httpStatus);
  return { code, kind: r.kind, retryable: RETRYABLE.has(r.kind), scope: r.scope, description: r.description };
}
