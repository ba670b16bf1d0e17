import { headsOf, latestSeal } from '../../storage/consent/seal-store.js';
import type { ServiceContext } from '../context.js';
import { toText, type ConsentText } from '../admin/manage-texts.js';
import { signBundle } from '../../lib/proof-bundle.js';
import { getPersonOrFail, personEvents, toPerson, verifyChains } from './person-history.js';

/** Everything a regulator may ask about one person: every event with its evidence and text, and the chain check. */
export async function exportProof(ctx: ServiceContext, businessId: string, personId: string) {
  const q = ctx.database.db;
  const p = await getPersonOrFail(q, businessId, personId);
  const business = await q
    .selectFrom('businesses')
    .select(['id', 'slug', 'display_name'])
    .where('id', '=', businessId)
    .executeTakeFirstOrThrow();
  const events = await personEvents(q, businessId, personId);
  const hashes = [...new Set(events.map((e) => e.textHash).filter((h): h is string => !!h))];
  const texts: ConsentText[] = hashes.length
    ? (
        await q
          .selectFrom('consent_texts')
          .selectAll()
          .where('business_id', '=', businessId)
          .where('hash', 'in', hashes)
          .execute()
      ).map(toText)
    : [];
  const chain = await verifyChains(q, ctx.keyring.ledger, { businessId, personId });
  const seal = await latestSeal(q, businessId);
  const covered = (await headsOf(q, businessId, [personId])).get(personId) ?? null;
  const state = await q
    .selectFrom('consent_state as s')
    .innerJoin('topics as t', (j) => j.onRef('t.business_id', '=', 's.business_id').onRef('t.id', '=', 's.topic_id'))
    .select(['t.key', 's.status', 's.decided_at', 's.event_id'])
    .where('s.business_id', '=', businessId)
    .where('s.person_id', '=', personId)
    .execute();
  return signBundle(ctx.keyring.ledger, {
    format: 'optline-proof/1',
    generatedAt: new Date(ctx.clock.now()).toISOString(),
    business: { id: business.id, slug: business.slug, displayName: business.display_name },
    person: toPerson(p),
    state: state.map((s) => ({ topic: s.key, status: s.status, decidedAt: Number(s.decided_at), eventId: s.event_id })),
    events,
    texts,
    chain: { ok: chain.ok, events: chain.events, problems: chain.problems },
    // The newest seal of the business, and the head of this person's chain it covers (null: not sealed yet).
    seal:
      seal && seal.seq > 0
        ? {
            seq: seal.seq,
            sealedAt: new Date(seal.sealed_at).toISOString(),
            people: seal.people,
            events: seal.events,
            hash: seal.hash,
            coveredSeq: covered?.chain_seq ?? null,
            coveredHead: covered?.chain_head ?? null,
            coveredBySeal: covered?.seal_seq ?? null,
          }
        : null,
    howToVerify:
      'Signed with Ed25519: the signature covers this object without its "signature" member, as JSON with keys sorted and no whitespace; ' +
      'the public key is served at /.well-known/optline-ledger-key. Check it with `optline verify-proof <file> --public-key key.pem` or the ' +
      "steps in docs/proofs.md. Without the server's key a reader can also check that each prevHash is the hash of the event before and " +
      'that evidenceHash is SHA-256 over the evidence JSON with sorted keys. Event hashes starting "k1:" are HMAC-SHA256 under a key ' +
      "derived from the server's master key; bare ones are SHA-256 over the JSON array [business_id, id, person_id, seq, type, scope, " +
      'topic_keys, channel, action, text_hash, occurred_at, recorded_at, source_ref, actor, evidence_hash, prev_hash] (events from before keyed hashes).',
  });
}
