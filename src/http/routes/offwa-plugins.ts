import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.js';
import type { OffWhatsAppOptions } from './offwa-options.js';
import { hostedOptInPage } from './pages-opt-in.js';
import { preferencePages } from './pages-preferences.js';
import { twilioCaptureWebhooks } from './twilio-capture.js';
import { invitationRoutes } from './invitations.js';
import { captureChannelRoutes } from './capture-channels.js';

export type { OffWhatsAppOptions } from './offwa-options.js';

type Plugin = (app: FastifyInstance) => Promise<void>;

/**
 * Every opt-in and opt-out path off WhatsApp, as buildApp plugins (each in its own encapsulated scope, so the
 * HTML error pages and form parsing stay out of the JSON API):
 *   buildApp({ ctx, config, plugins: offWhatsAppPlugins(ctx, { publicUrl, twilioApiUrl, smtp }) })
 */
export function offWhatsAppPlugins(ctx: ServiceContext, opts: OffWhatsAppOptions): Plugin[] {
  return [
    hostedOptInPage(ctx, opts),
    preferencePages(ctx, opts),
    twilioCaptureWebhooks(ctx, opts),
    invitationRoutes(ctx, opts),
    captureChannelRoutes(ctx, opts),
  ];
}

export { hostedOptInPage, preferencePages, twilioCaptureWebhooks, invitationRoutes, captureChannelRoutes };
