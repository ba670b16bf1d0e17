import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../services/context.js';
import type { CaptureOptions } from './capture-options.js';
import { hostedOptInPage } from './routes/pages-opt-in.js';
import { preferencePages } from './routes/pages-preferences.js';
import { twilioCaptureWebhooks } from './routes/twilio-capture.js';
import { invitationRoutes } from './routes/invitations.js';
import { captureChannelRoutes } from './routes/capture-channels.js';

export type { CaptureOptions } from './capture-options.js';

type Plugin = (app: FastifyInstance) => Promise<void>;

/**
 * Every opt-in and opt-out path off WhatsApp, as the plugins buildApp registers (each in its own encapsulated
 * scope, so the HTML error pages and form parsing stay out of the JSON API).
 */
export function capturePlugins(ctx: ServiceContext, opts: CaptureOptions): Plugin[] {
  return [
    hostedOptInPage(ctx, opts),
    preferencePages(ctx, opts),
    twilioCaptureWebhooks(ctx, opts),
    invitationRoutes(ctx, opts),
    captureChannelRoutes(ctx, opts),
  ];
}

export { hostedOptInPage, preferencePages, twilioCaptureWebhooks, invitationRoutes, captureChannelRoutes };
