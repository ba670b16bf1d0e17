import { preferenceUrl, type PreferenceLinkPolicy } from '../../domain/consent/preference-link-policy.js';
import type { ServiceContext } from '../context.js';
import { preferenceLink } from './preference-links.js';

/**
 * The preference link a confirmation carries, minted when the confirmation is queued (in the opt-in's
 * transaction) so the worker only renders it: `{ preferenceLink: { url, templateParam } }`, or nothing when
 * the business's policy does not ask for it.
 */
export function confirmationLink(
  ctx: ServiceContext,
  businessId: string,
  personId: string,
  policy: PreferenceLinkPolicy | null | undefined,
): { preferenceLink?: { url: string; templateParam: number | null } } {
  if (!policy?.inConfirmation) return {};
  const link = preferenceLink(ctx, businessId, personId);
  return { preferenceLink: { url: preferenceUrl(policy, link.path), templateParam: policy.templateParam ?? null } };
}
