/**
 * Who may lift a template's pause. Optline lifts only its own opt-out guard's pause; a pause or disablement by
 * Meta ends only when Meta says so (REINSTATED, services/quality/apply-quality-item.ts), because Meta refuses
 * the template's sends (132015 / 132016) whatever Optline allows. Pure: no I/O.
 */

/** Meta's template statuses under which the template cannot be sent. */
export const META_STOPPED_STATUSES: readonly string[] = ['PAUSED', 'DISABLED'];

export interface PauseFacts {
  status: 'active' | 'paused' | 'disabled';
  pausedBy: 'meta' | 'opt_out_guard' | null;
  /** Meta's last status webhook for the template (kept even when the guard paused it first). */
  metaStatus: string | null;
}

/** Why staff cannot resume the template (null: they can, or it is not stopped). */
export function resumeRefusal(t: PauseFacts): string | null {
  if (t.status === 'active') return null;
  if (t.pausedBy === 'meta') {
    return `Meta ${t.status === 'disabled' ? 'disabled' : 'paused'} this template (pausedBy meta): only Meta can lift it (a REINSTATED status webhook does).`;
  }
  if (t.metaStatus && META_STOPPED_STATUSES.includes(t.metaStatus)) {
    return `Meta also reported this template ${t.metaStatus} (metaStatus): it stays stopped until Meta reinstates it.`;
  }
  return null;
}

/** Whether the console offers a resume: a stopped template only Optline's guard holds. */
export const isResumable = (t: PauseFacts): boolean => t.status !== 'active' && resumeRefusal(t) === null;
