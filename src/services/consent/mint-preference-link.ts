import { fail } from '../../domain/errors.js';
import type { ServiceContext } from '../context.js';
import { getPersonOrFail } from './person-history.js';
import { preferenceLink, type PreferenceLink } from './preference-links.js';

/**
 * Mints a signed link to a person's preference page (API, CLI and console share this). A person who was erased
 * has nothing to manage: PERSON_ERASED, nothing minted.
 */
export async function mintPreferenceLink(
  ctx: ServiceContext,
  businessId: string,
  personId: string,
  opts: { publicUrl?: string; ttlMs?: number } = {},
): Promise<PreferenceLink> {
  const p = await getPersonOrFail(ctx.database.db, businessId, personId);
  if (p.erased_at !== null)
    return fail('PERSON_ERASED', 'The person was erased; there are no preferences to manage.', 'personId');
  return preferenceLink(ctx, businessId, personId, opts);
}
