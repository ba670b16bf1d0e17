import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import { getPersonTimezone, setPersonTimezone } from '../../services/consent/set-person-timezone.js';
import { businessOf } from '../auth.js';
import { errorResponses, IdParams, Nullable, Timestamp } from '../schemas/common.js';

const PersonTimezoneSchema = Type.Object({
  personId: Type.String(),
  timezone: Nullable(Type.String({ description: "The zone quiet hours use for this person; null: the business's" })),
  source: Type.Union([Type.Literal('person'), Type.Literal('number'), Type.Literal('business_default')], {
    description: 'person: their choice (it wins over their number); number: from their number; else business_default',
  }),
  chosenAt: Nullable(Timestamp),
});

/** A person's time zone for quiet hours: read it, or set their own choice (which wins over their number). */
export const personTimezoneRoutes =
  (ctx: ServiceContext): FastifyPluginAsync =>
  async (app) => {
    const tags = ['people'];
    app.get<{ Params: { id: string } }>(
      '/v1/people/:id/timezone',
      {
        schema: {
          tags,
          summary: "The person's time zone for quiet hours, and where it comes from",
          params: IdParams,
          response: { 200: PersonTimezoneSchema, ...errorResponses(404) },
        },
      },
      async (req) => getPersonTimezone(ctx, businessOf(req), req.params.id),
    );

    app.put<{ Params: { id: string }; Body: { timezone: string | null } }>(
      '/v1/people/:id/timezone',
      {
        schema: {
          tags,
          summary: "Set the person's own time zone (it wins over their number's); null gives it back to the number",
          description:
            'An IANA zone such as America/Chicago; anything else is 400 VALIDATION_FAILED naming `timezone`. ' +
            '409 PERSON_ERASED for an erased person.',
          params: IdParams,
          body: Type.Object(
            { timezone: Nullable(Type.String({ minLength: 1, maxLength: 64 })) },
            {
              additionalProperties: false,
            },
          ),
          response: { 200: PersonTimezoneSchema, ...errorResponses(404, 409) },
        },
      },
      async (req) => setPersonTimezone(ctx, businessOf(req), req.params.id, req.body.timezone),
    );
  };
