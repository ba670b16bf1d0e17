import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import { resumeTemplateByStaff, templateHealth } from '../../services/quality/template-health.js';
import { actorOf, businessOf } from '../auth.js';
import { errorResponses, Nullable, Timestamp } from '../schemas/common.js';

const Status = Type.Union([Type.Literal('active'), Type.Literal('paused'), Type.Literal('disabled')]);
const PausedBy = Type.Union([Type.Literal('meta'), Type.Literal('opt_out_guard')], {
  description:
    "meta: Meta's template status webhook (only Meta lifts it); opt_out_guard: Optline's policy.templateGuard",
});

export const TemplateHealthSchema = Type.Object({
  name: Type.String(),
  status: Status,
  pausedBy: Nullable(PausedBy),
  reason: Nullable(Type.String({ description: 'opt_out_rate, or meta_paused / meta_disabled' })),
  guard: Nullable(
    Type.Object(
      {
        optOutRate: Type.Number({ description: 'The opt-out rate that tripped the guard (0.05 = 5 %)' }),
        optOuts: Type.Integer(),
        notifications: Type.Integer(),
        windowHours: Type.Number(),
        threshold: Type.Number(),
      },
      { description: 'Set while the opt-out guard holds the pause' },
    ),
  ),
  resumable: Type.Boolean({
    description: 'POST /v1/templates/{name}/resume can lift the pause (the guard paused it, Meta did not)',
  }),
  metaStatus: Nullable(
    Type.String({ description: "Meta's last template status (APPROVED, PAUSED, DISABLED, REINSTATED …)" }),
  ),
  metaQuality: Nullable(Type.String({ description: "Meta's last quality score (GREEN, YELLOW, RED …)" })),
  category: Nullable(Type.String()),
  pausedAt: Nullable(Timestamp),
  resumedAt: Nullable(Timestamp),
  sentLast30Days: Type.Integer({ description: 'Notifications sent with it in the last 30 days' }),
  lastSentAt: Nullable(Timestamp),
});

const NumberQuality = Type.Object({
  phone: Type.String({ description: 'The display phone number Meta reported' }),
  event: Type.String({ description: "Meta's latest quality event for it: FLAGGED, UNFLAGGED, UPGRADE, DOWNGRADE …" }),
  currentLimit: Nullable(Type.String({ description: 'Its messaging limit tier then, e.g. TIER_10K' })),
  receivedAt: Timestamp,
});

const NameParams = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 512, description: 'The WhatsApp template name' }),
  },
  { additionalProperties: false },
);

export const templateRoutes =
  (ctx: ServiceContext): FastifyPluginAsync =>
  async (app) => {
    const tags = ['templates'];
    app.get(
      '/v1/templates/health',
      {
        schema: {
          tags,
          summary:
            "Templates sent in the last 30 days or reported by Meta, paused or not, and each number's latest quality rating",
          response: {
            200: Type.Object({ templates: Type.Array(TemplateHealthSchema), numbers: Type.Array(NumberQuality) }),
            ...errorResponses(),
          },
        },
      },
      async (req) => templateHealth(ctx, businessOf(req)),
    );
    app.post<{ Params: { name: string } }>(
      '/v1/templates/:name/resume',
      {
        schema: {
          tags,
          summary:
            'Resume a template the opt-out guard paused (409 CONFLICT when Meta paused it: only Meta lifts that)',
          params: NameParams,
          response: {
            200: Type.Object({ template: TemplateHealthSchema, resumed: Type.Boolean() }),
            ...errorResponses(404, 409),
          },
        },
      },
      async (req) => resumeTemplateByStaff(ctx, businessOf(req), req.params.name, actorOf(req)),
    );
  };
