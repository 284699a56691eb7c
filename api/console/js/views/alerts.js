/*
 * Monitoring alerts: who (masked), tier, the score move, what raised it, where it
 * is in its life (open -> acknowledged -> in_case -> resolved), and the moves an
 * investigator makes on it: acknowledge, resolve, or open a case from it.
 */

import {enc, get, localProblem, post, query} from '../api.js';
import {el} from '../dom.js';
import {ageSeconds, fmtAge, fmtScore, fmtTime, nameOf} from '../format.js';
import {vocabulary} from '../vocabulary.js';
import {
  alertBadge, bandBadge, busy, caseLink, clearProblem, flash, nodeChip, select, showProblem, table, tierBadge,
} from '../widgets.js';

export async function render(ctx) {
  const status = ctx.params.has('status') ? ctx.params.get('status') : 'open';
  const tier = ctx.params.get('tier') || '';
  const alerts = await get(`/v1/alerts${query({status: status || undefined, limit: 500})}`);
  const tiers = [...new Set(alerts.map((a) => a.tier))];
  const shown = alerts.filter((a) => !tier || a.tier === tier);

  const filter = el('form', {id: 'alerts-filter', class: 'toolbar'},
    el('label', {for: 'alerts-status'}, 'Status'),
    select({id: 'alerts-status', name: 'status', 'data-testid': 'alerts-status'},
      [['', 'all'], ...(vocabulary.AlertStatus || []).map((s) => [s, nameOf(s)])], status),
    el('label', {for: 'alerts-tier'}, 'Tier'),
    select({id: 'alerts-tier', name: 'tier', 'data-testid': 'alerts-tier'},
      [['', 'all'], ...tiers.map((t) => [t, nameOf(t)])], tier),
    el('button', {type: 'submit', id: 'alerts-refresh', 'data-testid': 'alerts-refresh'}, 'Refresh'));
  const apply = () => ctx.go(`#/alerts${query({status: filter.elements.status.value, tier: filter.elements.tier.value || undefined})}`);
  filter.addEventListener('submit', (event) => { event.preventDefault(); apply(); });
  filter.addEventListener('change', apply);

  ctx.show(el('div', {id: 'alerts-view', 'data-testid': 'alerts-view'},
    filter,
    el('div', {id: 'alerts-flash', class: 'flash-slot', 'aria-live': 'polite'}, ctx.state.flash || null),
    table(['Raised', 'Tier', 'Applicant', 'Score', 'Band', 'Raised by', 'Status', 'Act'],
      shown.map((a) => alertRow(ctx, a)),
      {empty: status ? `No ${nameOf(status)} alerts.` : 'No alerts.', testid: 'alerts-table', id: 'alerts-table'})));
}

/** What raised an alert, in words (never a hashed id). */
export function triggerText(trigger) {
  const [kind, ...rest] = String(trigger).split(':');
  if (kind === 'label' && rest.length >= 2) {
    const node = rest.slice(1).join(':');
    return [`${nameOf(rest[0])} label on `, nodeChip(node)];
  }
  if (kind === 'joined') return `a new application (${rest.join(':')}) joined their network`;
  if (kind === 'rescore') return `re-scored (${rest.join(':')})`;
  return String(trigger);
}

function alertRow(ctx, alert) {
  const slot = el('div', {class: 'problem-slot'});
  const live = alert.status !== 'resolved';
  const form = el('form', {class: 'alert-update', 'data-default-field': 'reason', novalidate: true},
    el('input', {name: 'reason', type: 'text', placeholder: 'reason', 'aria-label': 'Reason', maxlength: 2000,
      'data-testid': 'alert-reason'}),
    alert.status === 'open' ? el('button', {type: 'submit', value: 'acknowledged', class: 'secondary',
      'data-testid': 'alert-acknowledge'}, 'Acknowledge') : null,
    el('button', {type: 'submit', value: 'resolved', class: 'secondary', 'data-testid': 'alert-resolve'}, 'Resolve'),
    alert.case_id ? null : el('button', {type: 'submit', value: 'case', 'data-testid': 'alert-open-case'}, 'Open case'),
    slot);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearProblem(slot, form);
    const move = event.submitter ? event.submitter.value : 'acknowledged';
    const reason = form.elements.reason.value.trim();
    if (reason.length < 3) return showProblem(slot, localProblem('reason', 'Say in a few words why (3 characters or more).'), form);
    try {
      if (move === 'case') {
        const opened = await busy(form, () => post('/v1/cases', {alert_id: alert.alert_id, reason}));
        return ctx.go(`#/case/${enc(opened.case_id)}`, {flash: flash(`Case ${opened.case_id} opened from the alert.`)});
      }
      await busy(form, () => post(`/v1/alerts/${enc(alert.alert_id)}`, {status: move, reason}));
      return ctx.refresh(flash(`The alert on ${alert.applicant_display || 'the applicant'} is now ${nameOf(move)}.`));
    } catch (err) {
      return showProblem(slot, err, form);
    }
  });
  const moved = alert.updated_by ? `${nameOf(alert.status)} by ${alert.updated_by}, ${fmtTime(alert.updated_at)}: ${alert.note}` : '';
  return el('tr', {'data-testid': 'alert-row', 'data-alert-id': alert.alert_id, 'data-applicant-id': alert.applicant_id,
    'data-status': alert.status, 'data-tier': alert.tier, 'data-trigger': alert.trigger, class: `tier-row-${alert.tier}`},
  el('td', {class: 'when', title: fmtTime(alert.at)}, `${fmtAge(ageSeconds(alert.at))} ago`),
  el('td', {}, tierBadge(alert.tier)),
  el('td', {}, nodeChip(alert.applicant_id, alert.applicant_display)),
  el('td', {class: 'num'}, `${fmtScore(alert.previous_score)} → ${fmtScore(alert.score)}`),
  el('td', {}, alert.detail && alert.detail.previous_band ? [bandBadge(alert.detail.previous_band), ' → '] : null,
    bandBadge(alert.detail && alert.detail.band)),
  el('td', {}, triggerText(alert.trigger)),
  el('td', {title: moved}, alertBadge(alert.status), alert.case_id ? [' ', caseLink(alert.case_id)] : null),
  el('td', {}, live ? form : el('span', {class: 'muted'}, alert.note || '')));
}
