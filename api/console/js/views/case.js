/*
 * One case (GET /v1/cases/{id}): its subject, the evidence frozen when it was
 * opened (the alert, the decision's reasons, the ring's members with a picture),
 * the timeline of steps (who, when, action, outcome, reason, and what each did),
 * and a form for exactly the steps and outcomes this key may take now
 * (``actions`` and ``outcomes`` of the answer). A refused step (403) is shown
 * with its rule in plain words, and the case is read again.
 */

import {enc, get, localProblem, post} from '../api.js';
import {el} from '../dom.js';
import {ageSeconds, fmtAge, fmtScore, fmtTime, kindOf, nameOf, plural, stepName} from '../format.js';
import {RESCORE} from '../forms.js';
import {RECOMMENDABLE} from '../vocabulary.js';
import {
  bandBadge, busy, card, caseBadge, clearProblem, facts, flash, layerBadge, muted, nodeChip, problemBox, renderValue,
  showProblem, statusBadge, tierBadge,
} from '../widgets.js';
import {triggerText} from './alerts.js';
import {reasonList} from './applicant.js';
import {ringPicture, ringSummary} from './ring.js';

const STEP_HELP = {
  assign: 'Assign the case (empty: to you).',
  recommend: 'Recommend an outcome; a reviewer at its layer decides it.',
  decide: 'Decide the case. The outcomes offered are the ones this key’s layer may decide now.',
  escalate: 'Send the case to the next review layer.',
  appeal: 'File the customer’s appeal with their new evidence: the case reopens and the people in it are re-evaluated.',
  close: 'Close the case without an outcome.',
};

export async function render(ctx) {
  const view = await get(`/v1/cases/${enc(ctx.arg)}`);
  const now = view.subject_kind === 'ring' ? null : await get(`/v1/nodes/${enc(view.subject)}`).catch(() => null);
  const displays = displaysOf(view, now);
  ctx.show(el('div', {id: 'case-page', class: 'case-page', 'data-testid': 'case-page', 'data-case-id': view.case_id,
    'data-status': view.status, 'data-layer': view.layer, 'data-outcome': view.outcome || ''},
  el('p', {}, el('a', {href: '#/cases'}, '← the queue')),
  header(ctx, view, now),
  actionsCard(ctx, view),
  timelineCard(ctx, view, displays),
  evidenceCard(ctx, view)));
}

function displaysOf(view, now) {
  const map = new Map();
  const ev = view.evidence || {};
  if (ev.subject) map.set(ev.subject.node_id, ev.subject.display);
  for (const m of (ev.ring && ev.ring.members) || []) map.set(m.node_id, m.display);
  for (const i of (ev.ring && ev.ring.identifiers) || []) map.set(i.node_id, i.display);
  if (now) map.set(now.node_id, now.display);
  if (view.subject_display) map.set(view.subject, view.subject_display);
  return map;
}

function pending(view) {
  for (const step of view.timeline.slice().reverse()) {
    if (step.action === 'decide') return null;
    if (step.action === 'recommend') return step;
  }
  return null;
}

function nextStep(ctx, view) {
  const me = ctx.session.actor;
  if (view.status === 'open') return 'Waiting for an analyst’s recommendation (or an analyst’s own decision on a watch or a clear).';
  if (view.status === 'recommended') {
    const rec = pending(view);
    const own = rec && rec.actor === me ? ' You recommended it, so another key decides (four eyes).' : '';
    return `Waiting for a decision at the ${nameOf(view.layer)} layer on the recommendation to ${nameOf(rec && rec.outcome)}.${own}`;
  }
  if (view.status === 'decided') return `Decided: ${nameOf(view.outcome)}. The customer may appeal.`;
  if (view.status === 'appealed') {
    const filed = view.timeline.slice().reverse().find((s) => s.action === 'appeal');
    const own = filed && filed.actor === me ? ' You filed it, so another key decides (four eyes).' : '';
    return `Appeal filed; waiting for a decision at the ${nameOf(view.layer)} layer.${own}`;
  }
  return `Closed${view.outcome ? `: ${nameOf(view.outcome)}` : ''}.`;
}

function header(ctx, view, now) {
  const label = now && now.label;
  return card({id: 'case-head', 'data-testid': 'case-head'},
    el('header', {class: 'subject-head'},
      el('h2', {}, `Case ${view.case_id}`), caseBadge(view.status), layerBadge(view.layer),
      view.outcome ? el('span', {class: 'badge outcome', 'data-testid': 'case-outcome'}, nameOf(view.outcome)) : null,
      view.tier ? tierBadge(view.tier) : null),
    facts([
      ['Subject', el('span', {}, nodeChip(view.subject, view.subject_display), ' ',
        view.subject_kind === 'ring' ? '' : label ? ['now ', el('span', {'data-testid': 'subject-label-now', 'data-status': label.status},
          statusBadge(label.status))] : muted('no label now'))],
      ['Opened', `${fmtTime(view.opened_at)} (${fmtAge(ageSeconds(view.opened_at))} ago) by ${who(ctx, view.opened_by)}, `
        + `from ${view.source === 'alert' ? 'an alert' : view.source === 'decision' ? 'a decision' : view.source === 'ring' ? 'a ring' : 'a person'}`],
      ['Why', el('q', {}, view.reason)],
      ['Owner', view.owner ? who(ctx, view.owner) : muted('unassigned')],
      ['Updated', `${fmtTime(view.updated_at)} · ${plural(view.version, 'step')}`],
      view.alert_id ? ['Alert', `${view.alert_id}`] : null,
      ctx.session.role === 'admin' ? ['Audit', el('a', {href: `#/audit?subject=${enc(view.case_id)}`, 'data-testid': 'case-audit-link'},
        'audit trail of this case')] : null,
    ]),
    el('p', {class: 'next-step', 'data-testid': 'next-step'}, nextStep(ctx, view)));
}

const who = (ctx, actor) => (actor === ctx.session.actor ? `${actor} (you)` : actor);

/* ---------- the steps this key may take ---------- */

function actionsCard(ctx, view) {
  const problem = ctx.state.problem;
  const forms = view.actions.map((action) => stepForm(ctx, view, action)).filter(Boolean);
  return card({id: 'case-actions', class: 'actions', 'data-testid': 'case-actions', 'data-actions': view.actions.join(' ')},
    el('h3', {}, 'Your next step'),
    el('div', {id: 'step-problem', class: 'problem-slot', 'data-testid': 'step-problem'},
      problem ? [problemBox(problem), el('p', {class: 'muted'}, 'The case was read again; the steps below are the ones '
        + 'this key may take now.')] : null),
    el('div', {class: 'flash-slot', 'data-testid': 'step-result'}, ctx.state.flash || null),
    forms.length ? el('div', {class: 'step-forms'}, forms)
      : el('p', {class: 'muted', 'data-testid': 'no-steps'}, `This key (${ctx.session.role}) can take no step on this case now.`));
}

function outcomeSelect(outcomes, id) {
  return el('select', {id, name: 'outcome', 'data-testid': `${id}`}, outcomes.map((o) => el('option', {value: o}, nameOf(o))));
}

function stepForm(ctx, view, action) {
  const id = `step-${action}`;
  const slot = el('div', {class: 'problem-slot'});
  const fields = [];
  let limit = null;
  if (action === 'assign') {
    fields.push(el('label', {for: `${id}-owner`}, 'To'), el('input', {id: `${id}-owner`, name: 'owner', type: 'text',
      placeholder: 'an actor (empty: you)', maxlength: 100}));
  } else if (action === 'recommend' || action === 'decide') {
    const outcomes = action === 'recommend' ? RECOMMENDABLE : view.outcomes;
    if (!outcomes.length) return null;
    const choice = outcomeSelect(outcomes, `${id}-outcome`);
    limit = el('span', {class: 'limit-share', hidden: choice.value !== 'limit_reduce'},
      el('label', {for: `${id}-share`}, 'Share of the limit to cut'),
      el('input', {id: `${id}-share`, name: 'limit_share', type: 'number', min: 0.05, max: 1, step: 0.05, value: 0.25}));
    choice.addEventListener('change', () => { limit.hidden = choice.value !== 'limit_reduce'; });
    fields.push(el('label', {for: `${id}-outcome`}, 'Outcome'), choice, limit);
  } else if (action === 'appeal') {
    fields.push(el('label', {for: `${id}-evidence`, class: 'block'}, 'The customer’s new evidence'),
      el('textarea', {id: `${id}-evidence`, name: 'evidence', rows: 2, maxlength: 4000, 'data-testid': `${id}-evidence`}));
  }
  const form = el('form', {id, class: 'step-form', 'data-testid': id, 'data-action': action, 'data-default-field': 'reason',
    novalidate: true},
  el('h4', {}, FORM_TITLES[action] || action),
  el('p', {class: 'muted help'}, STEP_HELP[action] || ''),
  el('div', {class: 'row'}, fields),
  el('label', {for: `${id}-reason`, class: 'block'}, 'Reason (required; kept in the timeline and the audit log)'),
  el('textarea', {id: `${id}-reason`, name: 'reason', rows: 2, maxlength: 2000, 'data-testid': `${id}-reason`}),
  el('div', {class: 'row buttons'}, el('button', {type: 'submit', 'data-testid': `${id}-submit`}, submitText(action))),
  slot);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearProblem(slot, form);
    const f = form.elements;
    const reason = f.reason.value.trim();
    if (reason.length < 3) return showProblem(slot, localProblem('reason', 'Say in a few words why (3 characters or more).'), form);
    const body = {action, reason};
    if (action === 'assign' && f.owner.value.trim()) body.outcome = f.owner.value.trim();
    if (f.outcome) body.outcome = f.outcome.value;
    if (f.limit_share && body.outcome === 'limit_reduce') body.limit_share = Number(f.limit_share.value);
    if (f.evidence) body.evidence = f.evidence.value.trim();
    try {
      const after = await busy(form, () => post(`/v1/cases/${enc(view.case_id)}/steps`, body));
      const last = after.timeline.at(-1);
      return ctx.refresh(flash(`${stepName(last.action)}${last.outcome ? `: ${nameOf(last.outcome)}` : ''}. `
        + `The case is ${nameOf(after.status)} at the ${nameOf(after.layer)} layer.`, 'step-flash'));
    } catch (err) {
      if (err.status === 403 || err.status === 409) return ctx.go(location.hash, {problem: err});
      return showProblem(slot, err, form);
    }
  });
  return form;
}

const FORM_TITLES = {assign: 'Assign', recommend: 'Recommend', decide: 'Decide', escalate: 'Escalate',
  appeal: 'File an appeal', close: 'Close'};

function submitText(action) {
  return {assign: 'Assign', recommend: 'Recommend', decide: 'Decide', escalate: 'Escalate', appeal: 'File the appeal',
    close: 'Close the case'}[action] || action;
}

/* ---------- the timeline ---------- */

function chips(ids, displays) {
  return ids.map((n, i) => [i ? ', ' : '', nodeChip(n, displays.get(n))]);
}

function stepDetail(step, displays) {
  const d = step.detail || {};
  const lines = [];
  const known = new Set();
  const line = (key, ...content) => { known.add(key); lines.push(el('li', {'data-detail': key}, ...content)); };
  if (d.source) line('source', `from ${nameOf(d.source)}`);
  if (d.limit_share !== undefined && d.limit_share !== null) line('limit_share', `cut ${Math.round(100 * d.limit_share)}% of the limit`);
  if (d.customer_action) {
    line('customer_action', 'Customer action for the lending system: ', el('strong', {}, nameOf(d.customer_action.action)),
      ' on ', chips(d.customer_action.applicants || [], displays));
  }
  if (d.labels_set) {
    line('labels_set', 'Labelled ', Object.entries(d.labels_set).map(([n, s], i) => [i ? ', ' : '', nodeChip(n, displays.get(n)),
      ' ', statusBadge(s)]));
  }
  if (d.linked_rescore) line('linked_rescore', RESCORE[d.linked_rescore] || nameOf(d.linked_rescore));
  if (d.alerts_raised) line('alerts_raised', `${plural(d.alerts_raised.length, 'alert')} raised on linked applicants`);
  if (d.evidence !== undefined) line('evidence', 'New evidence: ', d.evidence ? el('q', {}, d.evidence) : muted('none given'));
  if (d.reevaluated) {
    line('reevaluated', 'Re-evaluated with today’s graph: ', d.reevaluated.map((r, i) => [i ? '; ' : '',
      nodeChip(r.applicant_id, displays.get(r.applicant_id)), ' ', bandBadge(r.band), ` ${fmtScore(r.score)} → ${nameOf(r.action)}`]));
  }
  if (d.labels_cleared) {
    line('labels_cleared', d.labels_cleared.length ? ['Labels cleared: ', chips(d.labels_cleared, displays)] : 'No label to clear');
  }
  if (d.alerts_resolved) line('alerts_resolved', `${plural(d.alerts_resolved.length, 'alert')} resolved`);
  if (d.customer_action_withdrawn) line('customer_action_withdrawn', `Customer action withdrawn: ${nameOf(d.customer_action_withdrawn)}`);
  const rest = Object.fromEntries(Object.entries(d).filter(([k]) => !known.has(k)));
  return [lines.length ? el('ul', {class: 'step-detail'}, lines) : null,
    Object.keys(rest).length ? el('details', {class: 'evidence'}, el('summary', {}, 'More'), renderValue(rest)) : null];
}

function timelineCard(ctx, view, displays) {
  return card({id: 'case-timeline', 'data-testid': 'case-timeline'}, el('h3', {}, 'Timeline'),
    el('ol', {class: 'timeline'}, view.timeline.map((s) => el('li', {class: `step step-${s.action}`, 'data-testid': 'timeline-step',
      'data-seq': s.seq, 'data-action': s.action, 'data-outcome': s.outcome || '', 'data-actor': s.actor, 'data-status': s.status},
    el('div', {class: 'step-head'},
      el('strong', {}, stepName(s.action)), s.outcome ? [' ', el('span', {class: 'step-outcome'},
        s.action === 'assign' ? `to ${who(ctx, s.outcome)}` : nameOf(s.outcome))] : null,
      el('span', {class: 'muted'}, ` · ${who(ctx, s.actor)} · ${fmtTime(s.at)} · now `), caseBadge(s.status), ' ', layerBadge(s.layer)),
    el('p', {class: 'step-reason'}, el('q', {}, s.reason)),
    stepDetail(s, displays)))));
}

/* ---------- the frozen evidence ---------- */

function evidenceCard(ctx, view) {
  const ev = view.evidence || {};
  const parts = [];
  if (ev.alert) {
    const a = ev.alert;
    parts.push(el('section', {class: 'evidence-part', 'data-testid': 'evidence-alert'}, el('h4', {}, 'The alert'),
      facts([
        ['Tier', tierBadge(a.tier)],
        ['Raised', fmtTime(a.at)],
        ['Because', triggerText(a.trigger)],
        ['Score', `${fmtScore(a.previous_score)} → ${fmtScore(a.score)}`],
        a.band ? ['Band', [a.previous_band ? [bandBadge(a.previous_band), ' → '] : null, bandBadge(a.band)]] : null,
      ])));
  }
  if (ev.decision) {
    const d = ev.decision;
    parts.push(el('section', {class: 'evidence-part', 'data-testid': 'evidence-decision'}, el('h4', {}, 'The decision'),
      facts([['Application', d.application_id], ['Decided', fmtTime(d.at)],
        ['Score', [bandBadge(d.band), ` ${fmtScore(d.score)} → ${nameOf(d.action)}`]], ['Model', d.model_version]]),
      reasonList(d.reasons || [])));
  }
  if (ev.subject) {
    const s = ev.subject;
    parts.push(el('section', {class: 'evidence-part', 'data-testid': 'evidence-subject'}, el('h4', {}, 'The subject then'),
      facts([['Who', nodeChip(s.node_id, s.display)], ['Label', s.label ? statusBadge(s.label) : muted('none')],
        kindOf(s.node_id) === 'applicant' ? ['Ring', s.ring_id ? el('a', {href: `#/ring/${enc(s.ring_id)}`}, s.ring_id) : 'none'] : null])));
  }
  if (ev.ring) {
    const r = ev.ring;
    const members = r.members.map((m) => ({node_id: m.node_id, display: m.display, status: m.label}));
    parts.push(el('section', {class: 'evidence-part', 'data-testid': 'evidence-ring'}, el('h4', {}, `The ring ${r.ring_id}`),
      el('p', {class: 'summary', 'data-testid': 'ring-summary'}, ringSummary({features: {summary: r.summary}, score: r.score,
        identifiers: r.identifiers}, members)),
      ringPicture(ctx, members, r.identifiers),
      el('ul', {class: 'chips'}, members.map((m) => el('li', {'data-testid': 'ring-member', 'data-node-id': m.node_id},
        nodeChip(m.node_id, m.display, {status: m.status}))))));
  }
  return card({id: 'case-evidence', 'data-testid': 'case-evidence'},
    el('h3', {}, `Evidence frozen at opening (${fmtTime(view.opened_at)})`),
    parts.length ? parts : muted('No evidence was recorded.'),
    el('details', {class: 'evidence'}, el('summary', {}, 'All of it, as recorded'), renderValue(ev)));
}
