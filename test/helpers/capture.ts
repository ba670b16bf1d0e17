import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import type { CaptureOptions } from '../../src/http/capture-options.js';
import { upsertChannelAccount } from '../../src/storage/business/channel-store.js';
import { putCaptureSettings } from '../../src/storage/capture/capture-settings-store.js';
import type { Database } from '../../src/storage/db.js';
import { testContext } from './context.js';
import { seedBusiness } from './seed.js';

export const PUBLIC_URL = 'https://optline.example';
export const WA_DISPLAY = '+1 555 010 0999';

export interface CaptureApp {
  app: FastifyInstance;
  ctx: ReturnType<typeof testContext>;
  opts: CaptureOptions;
  close(): Promise<void>;
}

/** The whole app with the capture plugins registered the way main.ts does, public URL behind a proxy. */
export async function buildCaptureApp(
  database: Database,
  overrides: Partial<CaptureOptions> = {},
): Promise<CaptureApp> {
  const ctx = testContext(database);
  const opts: CaptureOptions = {
    publicUrl: PUBLIC_URL,
    twilioApiUrl: 'http://127.0.0.1:9',
    smtp: { url: null, from: 'Optline <no-reply@optline.example>' },
    ...overrides,
  };
  const app = await buildApp({
    ctx,
    config: { bodyLimitBytes: 1024 * 1024, webhookBodyLimitBytes: 4 * 1024 * 1024, publicUrl: opts.publicUrl },
    capture: opts,
  });
  await app.ready();
  return { app, ctx, opts, close: () => app.close() };
}

/** A seeded business whose WhatsApp number is known (the ownership check needs it). */
export async function seedCaptureBusiness(
  ctx: ReturnType<typeof testContext>,
  opts: { ownershipCheck?: boolean; doubleOptIn?: boolean; name?: string } = {},
) {
  const seed = await seedBusiness(ctx, {
    ...(opts.name ? { name: opts.name } : {}),
    ...(opts.doubleOptIn ? { policy: { doubleOptIn: true } } : {}),
  });
  await upsertChannelAccount(
    ctx.database,
    ctx.keyring,
    {
      businessId: seed.business.id,
      provider: 'whatsapp_cloud',
      externalId: `pn-${seed.business.id}`,
      settings: { phoneNumberId: `pn-${seed.business.id}`, displayPhoneNumber: WA_DISPLAY },
      secrets: { accessToken: 'x' },
    },
    ctx.clock.now(),
  );
  if (opts.ownershipCheck === false) {
    await putCaptureSettings(
      ctx.database.db,
      seed.business.id,
      { ownershipCheck: false, defaultCountry: null, whatsappNumber: null },
      ctx.clock.now(),
    );
  }
  return seed;
}

/** The hidden form token and the CSRF cookie of a rendered page, to post the form back as a browser would. */
export function formState(res: LightMyRequestResponse): { formToken: string; cookie: string } {
  const m = /name="formToken" value="([^"]+)"/.exec(res.body);
  if (!m) throw new Error(`no form token in page (status ${res.statusCode}): ${res.body.slice(0, 500)}`);
  const set = res.headers['set-cookie'];
  const raw = Array.isArray(set) ? set.join('; ') : (set ?? '');
  const c = /optline_csrf=([^;]+)/.exec(raw);
  return {
    formToken: m[1]!
      .replace(/&#39;/g, "'")
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, '&'),
    cookie: c ? `optline_csrf=${c[1]}` : '',
  };
}

/** Form-encodes fields; arrays repeat the key (topics=a&topics=b), as a browser sends checkboxes. */
export function form(fields: Record<string, string | string[] | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
  }
  return p.toString();
}

export async function countRows(
  database: Database,
  table: 'consent_events' | 'ownership_requests' | 'messages',
  businessId: string,
): Promise<number> {
  const r = await database.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .where('business_id', '=', businessId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}
