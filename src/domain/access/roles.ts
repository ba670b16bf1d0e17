/**
 * Roles of business API keys (issue 11). Each role is a set of permissions; each route needs exactly one.
 * - read:  compliance and support: look, export, verify, ask the gate (nothing changes).
 * - write: the business's systems: read, plus record consents, queue messages, erase, resolve.
 * - admin: write, plus the business's own keys, settings and channels.
 * Keys created before roles existed became `write` (migration 0009): they could do everything but manage
 * keys from the API, so write keeps what every integration uses; key management now needs admin.
 */
export const ROLES = ['read', 'write', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export type Permission = Role;

const PERMISSIONS: Record<Role, readonly Permission[]> = {
  read: ['read'],
  write: ['read', 'write'],
  admin: ['read', 'write', 'admin'],
};

export const permissionsOf = (role: Role): readonly Permission[] => PERMISSIONS[role];
export const isRole = (v: unknown): v is Role => typeof v === 'string' && (ROLES as readonly string[]).includes(v);
export const allows = (role: Role, needed: Permission): boolean => PERMISSIONS[role].includes(needed);

/**
 * The exceptions to "GET needs read, anything else needs write", by `METHOD url` as registered. A route may
 * also name its permission in its own config (`config.permission`), which wins over both.
 */
export const PERMISSION_EXCEPTIONS: Readonly<Record<string, Permission>> = {
  // Asking the gate and checking a text change nothing.
  'POST /v1/decisions': 'read',
  'POST /v1/decisions/batch': 'read',
  'POST /v1/texts/check': 'read',
  // Keys, business settings and channels (which hold secrets) are the business admin's.
  'GET /v1/keys': 'admin',
  'POST /v1/keys': 'admin',
  'DELETE /v1/keys/:id': 'admin',
  'PATCH /v1/business': 'admin',
  'PUT /v1/capture-settings': 'admin',
  'PUT /v1/channels/whatsapp': 'admin',
  'PUT /v1/channels/twilio': 'admin',
  'PUT /v1/channels/smtp': 'admin',
};

export function requiredPermission(method: string, url: string, declared?: Permission): Permission {
  if (declared) return declared;
  const m = method.toUpperCase();
  const exception = PERMISSION_EXCEPTIONS[`${m} ${url}`];
  if (exception) return exception;
  return m === 'GET' || m === 'HEAD' ? 'read' : 'write';
}
