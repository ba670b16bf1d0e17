import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';

/**
 * The public half of the Ed25519 key that signs proof bundles (lib/proof-bundle.ts), for anyone to fetch without
 * a key: a regulator or a court checks a bundle offline against it (docs/proofs.md).
 */
export const ledgerKeyRoutes =
  (ctx: ServiceContext): FastifyPluginAsync =>
  async (app) => {
    const key = ctx.keyring.ledger;
    const body = { alg: 'Ed25519' as const, keyId: key.keyId, publicKeyPem: key.publicKeyPem, jwk: key.publicKeyJwk };
    app.get(
      '/.well-known/optline-ledger-key',
      {
        config: { auth: 'none' },
        schema: {
          tags: ['ledger'],
          summary: 'The public key that signs proof bundles (Ed25519), as PEM and JWK',
          security: [],
          response: {
            200: Type.Object({
              alg: Type.Literal('Ed25519'),
              keyId: Type.String({
                description:
                  'First 16 hex digits of the SHA-256 of the raw 32-byte public key; a bundle names it in signature.keyId',
              }),
              publicKeyPem: Type.String({
                description: 'SubjectPublicKeyInfo PEM: save it as key.pem for optline verify-proof or openssl',
              }),
              jwk: Type.Object({ kty: Type.String(), crv: Type.String(), x: Type.String() }),
            }),
          },
        },
      },
      async (_req, reply) => reply.header('cache-control', 'public, max-age=3600').send(body),
    );
  };
