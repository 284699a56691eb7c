/*
 * Forms shared by several pages: opening a case (from an alert, an applicant,
 * an identifier or a ring) and labelling a node. Each shows the API's problem
 * next to itself and marks the field it names.
 */

import {ApiError, enc, get, localProblem, post} from './api.js';
import {el} from './dom.js';
import {fmtScore, nameOf} from './format.js';
import {vocabulary} from './vocabulary.js';
import {busy, caseLink, clearProblem, flash, nodeChip, showProblem, tierBadge} from './widgets.js';

/**
 * "Open case": POST /v1/cases with ``target`` ({subject} or {alert_id}) and a reason,
 * then ``onOpened(case)`` (the pages go to the new case).
 */
export function openCaseForm(target, onOpened, {compact = false, placeholder = 'why this needs a case'} = {}) {
  const slot = el('div', {class: 'problem-slot', 'data-testid': 'open-case-error'});
  const form = el('form', {class: compact ? 'open-case compact' : 'open-case', 'data-testid': 'open-case',
    'data-default-field': 'reason', novalidate: true},
  el('input', {name: 'reason', type: 'text', placeholder, 'aria-label': 'Reason for the case', maxlength: 2000,
    'data-testid': 'open-case-reason'}),
  el('button', {type: 'submit', 'data-testid': 'open-case-submit'}, 'Open case'),
  slot);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearProblem(slot, form);
    const reason = form.elements.reason.value.trim();
    if (reason.length < 3) return showProblem(slot, localProblem('reason', 'Say in a few words why (3 characters or more).'), form);
    try {
      const opened = await busy(form, () => post('/v1/cases', {...target, reason}));
      onOpened(opened);
    } catch (err) {
      showProblem(slot, err, form);
    }
  });
  return form;
}

const LABEL_ACTIONS = {
  confirmed_fraud: 'Mark confirmed fraud', cleared: 'Clear (appeal upheld)', allow_listed: 'Allow-list',
};

/** What became of the re-scoring of whom a label change reaches (LabelResult.rescore), in words. */
export const RESCORE = {
  queued: 'Linked applicants are being re-scored in the background; alerts it raises appear in the alert queue.',
  done: 'Linked applicants were re-scored.',
  off: 'Monitoring is off: linked applicants are not re-scored.',
};

const pause = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/**
 * The alerts raised with ``trigger`` once the monitoring worker has done what is queued
 * (GET /v1/monitoring), waiting at most ``seconds``; ``done`` is false when it had not.
 */
export async function alertsRaisedBy(trigger, seconds = 15) {
  const until = Date.now() + seconds * 1000;
  let pending = (await get('/v1/monitoring')).pending;
  while (pending > 0 && Date.now() < until) {
    await pause(250);
    pending = (await get('/v1/monitoring')).pending;
  }
  const alerts = (await get('/v1/alerts?limit=200')).filter((a) => a.trigger === trigger);
  return {alerts, done: pending === 0};
}

/** What a label change did, in words, with the alerts its re-scoring raised. */
async function labelOutcome(said, answer, trigger) {
  if (answer.rescore !== 'queued') return el('div', {}, flash(`${said} ${RESCORE[answer.rescore]}`), raisedAlerts(answer.alerts));
  const {alerts, done} = await alertsRaisedBy(trigger);
  const how = done ? `Linked applicants re-scored: ${alerts.length} alert(s) raised.` : RESCORE.queued;
  return el('div', {}, flash(`${said} ${how}`), raisedAlerts(alerts));
}

/** The alerts a label raised, as a list a person reads. */
export function raisedAlerts(alerts) {
  if (!alerts.length) return null;
  return el('ul', {class: 'raised-alerts'}, alerts.map((a) => el('li', {'data-testid': 'raised-alert', 'data-alert-id': a.alert_id},
    tierBadge(a.tier), ' ', nodeChip(a.applicant_id, a.applicant_display),
    ` ${nameOf(a.detail.previous_band) || '—'} → ${nameOf(a.detail.band)}, score ${fmtScore(a.previous_score)} → ${fmtScore(a.score)}`)));
}

/**
 * Label actions on a node: set a label (applicants: confirmed fraud or cleared; identifiers also
 * allow-listed), withdraw the current one, re-score an applicant. ``done(message)`` re-draws the page.
 */
export function labelForm(nodeId, isApplicant, label, done) {
  const statuses = (vocabulary.LabelStatus || Object.keys(LABEL_ACTIONS))
    .filter((s) => isApplicant ? s !== 'allow_listed' : true);
  const slot = el('div', {id: 'label-error', class: 'problem-slot', 'data-testid': 'label-error'});
  const form = el('form', {id: 'label-form', class: 'card actions', 'data-testid': 'label-form', novalidate: true,
    'data-default-field': 'reason'},
  el('h3', {}, 'Label'),
  el('div', {class: 'row'},
    el('label', {for: 'label-status'}, 'Label'),
    el('select', {id: 'label-status', name: 'status', 'data-testid': 'label-status'},
      statuses.map((s) => el('option', {value: s}, LABEL_ACTIONS[s] || nameOf(s))))),
  el('label', {for: 'label-reason', class: 'block'}, 'Reason (required; kept in the audit log)'),
  el('textarea', {id: 'label-reason', name: 'reason', rows: 2, maxlength: 2000, 'data-testid': 'label-reason',
    placeholder: 'e.g. chargeback confirmed by the issuing bank'}),
  el('div', {class: 'row buttons'},
    el('button', {type: 'submit', id: 'label-submit', 'data-testid': 'label-submit'}, 'Apply label'),
    label ? el('button', {type: 'button', id: 'label-remove', class: 'secondary', 'data-testid': 'label-remove',
      onclick: () => withdraw()}, `Withdraw “${nameOf(label.status)}”`) : null,
    isApplicant ? el('button', {type: 'button', id: 'rescore', class: 'secondary', 'data-testid': 'rescore',
      onclick: () => rescore()}, 'Re-score now') : null),
  slot);

  const reason = () => form.elements.reason.value.trim();
  const act = async (work) => {
    clearProblem(slot, form);
    try {
      done(await busy(form, work));
    } catch (err) {
      showProblem(slot, err instanceof ApiError ? err : localProblem('reason', String(err)), form);
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!reason()) return showProblem(slot, localProblem('reason', 'A reason is required for every label.'), form);
    const status = form.elements.status.value;
    return act(async () => {
      const answer = await post('/v1/labels', {node_id: nodeId, status, reason: reason()});
      return labelOutcome(`Labelled ${nameOf(answer.status)}.`, answer, `label:${status}:${nodeId}`);
    });
  });
  function withdraw() {
    if (!reason()) return showProblem(slot, localProblem('reason', 'Say why the label is withdrawn.'), form);
    return act(async () => {
      const answer = await post(`/v1/labels/${enc(nodeId)}/remove`, {reason: reason()});
      return labelOutcome('Label withdrawn.', answer, `label:removed:${nodeId}`);
    });
  }
  function rescore() {
    return act(async () => {
      const answer = await post(`/v1/applicants/${enc(nodeId)}/rescore`);
      const d = answer.decision;
      return el('div', {}, flash(`Re-scored ${d.application_id}: ${nameOf(d.band)}, score ${fmtScore(d.score)}, `
        + `${nameOf(d.action)}. ${answer.alerts.length} alert(s) raised.`), raisedAlerts(answer.alerts));
    });
  }
  return form;
}

/** Cases on a subject (GET /v1/cases?subject=), as a short list of links. */
export function casesList(cases) {
  if (!cases.length) return el('p', {class: 'muted', 'data-testid': 'subject-cases'}, 'No case on this subject yet.');
  return el('ul', {class: 'subject-cases', 'data-testid': 'subject-cases'}, cases.map((c) => el('li', {},
    caseLink(c.case_id), ` · ${nameOf(c.status)} at the ${nameOf(c.layer)} layer`,
    c.outcome ? ` · ${nameOf(c.outcome)}` : '')));
}
