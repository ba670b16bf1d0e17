import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import { recordOptIn } from '../../services/consent/record-opt-in.js';
import { recordOptOut } from '../../services/consent/record-opt-out.js';
import type { Channel, Scope } from '../../domain/consent/model.js';
import { checkEvidence } from '../../domain/consent/evidence.js';
import type { PersonRefInput } from '../../services/consent/person-ref.js';
import { actorOf, businessOf } from '../auth.js';
import {
  ActiveActionSchema,
  ChannelSchema,
  errorResponses,
  Evidence,
  Nullable,
  PersonRefSchema,
  TextHash,
  Timestamp,
  TopicKey,
} from '../schemas/common.js';

const IdemHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, description: 'Retries with the same key record the consent once' }),
  ),
});

const OptInBody = Type.Object(
  {
    person: PersonRefSchema,
    topics: Type.Array(TopicKey, { minItems: 1, maxItems: 50, uniqueItems: true }),
    channel: ChannelSchema,
    action: ActiveActionSchema,
    textHash: Type.Optional(TextHash('The registered opt-in text the person saw')),
    occurredAt: Type.Optional(Timestamp),
    evidence: Evidence,
    language: Type.Optional(Type.String({ minLength: 2, maxLength: 15 })),
  },
  { additionalProperties: false },
);

const OptOutBody = Type.Object(
  {
    person: PersonRefSchema,
    scope: Type.Union([Type.Literal('all'), Type.Literal('topics'), Type.Literal('marketing')], { default: 'all' }),
    topics: Type.Optional(Type.Array(TopicKey, { minItems: 1, maxItems: 50, uniqueItems: true })),
    channel: ChannelSchema,
    action: Type.String({ minLength: 1, maxLength: 64 }),
    occurredAt: Type.Optional(Timestamp),
    evidence: Type.Optional(Evidence),
  },
  { additionalProperties: false },
);

const Changed = Type.Array(Type.Object({ topic: Type.String(), status: Type.String() }));
const OptInResult = Type.Object({
  eventId: Type.String(),
  personId: Type.String(),
  duplicate: Type.Boolean(),
  changed: Changed,
  confirmationMessageId: Nullable(Type.String()),
});
const OptOutResult = Type.Object({
  eventId: Type.String(),
  personId: Type.String(),
  duplicate: Type.Boolean(),
  changed: Changed,
  cancelledMessages: Type.Integer(),
});

const sourceRef = (req: FastifyRequest) => {
  const k = req.headers['idempotency-key'];
  return typeof k === 'string' ? `api:${k}` : null;
};

export const consentRoutes =
  (ctx: ServiceContext): FastifyPluginAsync =>
  async (app) => {
    const tags = ['consent'];
    app.post<{
      Body: {
        person: PersonRefInput;
        topics: string[];
        channel: Channel;
        action: string;
        textHash?: string;
        occurredAt?: number;
        evidence: Record<string, unknown>;
        language?: string;
      };
    }>(
      '/v1/opt-ins',
      {
        schema: {
          tags,
          summary: 'Record an opt-in (an active user action, with evidence and the text shown)',
          description:
            'Refused without an active action (NO_USER_ACTION), without the evidence its channel requires (MISSING_EVIDENCE), for categories the policy does not allow, or with an unusable text. A WhatsApp confirmation is queued in the same transaction.',
          headers: IdemHeaders,
          body: OptInBody,
          response: { 201: OptInResult, 200: OptInResult, ...errorResponses(409, 422) },
        },
      },
      async (req, reply) => {
        checkEvidence(req.body.evidence);
        const r = await recordOptIn(ctx, businessOf(req), {
          ...req.body,
          actor: actorOf(req),
          sourceRef: sourceRef(req),
        });
        return reply.code(r.duplicate ? 200 : 201).send({
          eventId: r.event.id,
          personId: r.personId,
          duplicate: r.duplicate,
          changed: r.changed,
          confirmationMessageId: r.confirmationMessageId,
        });
      },
    );

    app.post<{
      Body: {
        person: PersonRefInput;
        scope: Scope;
        topics?: string[];
        channel: Channel;
        action: string;
        occurredAt?: number;
        evidence?: Record<string, unknown>;
      };
    }>(
      '/v1/opt-outs',
      {
        schema: {
          tags,
          summary: 'Record an opt-out (one topic, marketing, or everything)',
          description:
            'Takes effect at once and cancels every queued message for those topics in the same transaction. Idempotent with Idempotency-Key.',
          headers: IdemHeaders,
          body: OptOutBody,
          response: { 201: OptOutResult, 200: OptOutResult, ...errorResponses(409, 422) },
        },
      },
      async (req, reply) => {
        if (req.body.evidence) checkEvidence(req.body.evidence);
        const r = await recordOptOut(ctx, businessOf(req), {
          ...req.body,
          evidence: req.body.evidence ?? {},
          actor: actorOf(req),
          sourceRef: sourceRef(req),
        });
        return reply.code(r.duplicate ? 200 : 201).send({
          eventId: r.event.id,
          personId: r.personId,
          duplicate: r.duplicate,
          changed: r.changed,
          cancelledMessages: r.cancelledMessages,
        });
      },
    );
  };
