/*
 * Looking a value up: the bar in the navigation (on every page) and the
 * Investigate page. A look-up empties the view at once; a miss shows the miss
 * alone, never the subject that was on screen before.
 */

import {ApiError, enc, get, localProblem, post} from '../api.js';
import {el} from '../dom.js';
import {hashFor, kindName, kindOf, nameOf} from '../format.js';
import {vocabulary} from '../vocabulary.js';
import {busy, card, problemBox} from '../widgets.js';

const NODE_ID = /^(applicant|application|device|phone|email|employer|address|ip|bank_account):[A-Za-z0-9._:-]+$/;
const RING_ID = /^RING-[A-Za-z0-9-]+$/;
const CASE_ID = /^CS-[A-Za-z0-9]+$/;

const KIND_TEXT = {national_id: 'National id', device: 'Device fingerprint', ip: 'IP address'};

/** The look-up form in the navigation bar. */
export function lookupBar({go, invalidate}) {
  const kinds = [...(vocabulary.LookupKind || []), 'id'];
  const form = el('form', {id: 'search-form', class: 'search', 'data-testid': 'search-form', novalidate: true,
    'data-default-field': 'value', role: 'search'},
  el('label', {for: 'search-kind', class: 'visually-hidden'}, 'Look up'),
  el('select', {id: 'search-kind', name: 'kind', 'data-testid': 'search-kind'},
    kinds.map((k) => el('option', {value: k}, k === 'id' ? 'Id (node, ring, case, application)' : KIND_TEXT[k] || kindName(k)))),
  el('input', {id: 'search-value', name: 'value', type: 'search', spellcheck: 'false', 'data-testid': 'search-value',
    placeholder: 'value as the applicant gave it, or an id', 'aria-label': 'Value to look up'}),
  el('button', {id: 'search-submit', type: 'submit', 'data-testid': 'search-submit'}, 'Look up'));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const kind = form.elements.kind.value;
    const value = form.elements.value.value.trim();
    invalidate('Looking up…');
    if (!value) return go('#/lookup', {problem: localProblem('value', 'Enter a value to look up.')});
    if (kind === 'id') return openId(value, go, form);
    try {
      const found = await busy(form, () => post('/v1/lookup', {kind, value}));
      return go(hashFor(found.node_id), {lookup: found});
    } catch (err) {
      const problem = err.status === 404
        ? new ApiError(404, {...err.problem, detail: `No ${nameOf(kind)} matches the value you typed.`})
        : err;
      return go('#/lookup', {problem, kind});
    }
  });
  return form;
}

async function openId(value, go, form) {
  if (RING_ID.test(value)) return go(`#/ring/${enc(value)}`);
  if (CASE_ID.test(value)) return go(`#/case/${enc(value)}`);
  if (!NODE_ID.test(value)) {
    return go('#/lookup', {problem: localProblem('value',
      'An id looks like applicant:…, device:…, application:…, RING-… or CS-….')});
  }
  if (kindOf(value) !== 'application') return go(hashFor(value));
  try { // an application id opens the applicant who submitted it
    const app = await busy(form, () => get(`/v1/applications/${enc(value.slice('application:'.length))}`));
    return go(hashFor(app.applicant_id));
  } catch (err) {
    return go('#/lookup', {problem: err});
  }
}

/** The Investigate page: what a look-up does, or why the last one found nothing. */
export async function render(ctx) {
  const {problem} = ctx.state;
  ctx.show(card({id: 'lookup-view', 'data-testid': 'lookup-view', 'data-found': problem ? 'no' : ''},
    el('h2', {}, problem ? 'Nothing found' : 'Look a person or an identifier up'),
    problem ? el('div', {id: 'search-error', class: 'problem-slot', 'data-testid': 'search-error'}, problemBox(problem)) : null,
    el('p', {class: 'muted'}, 'Type a national id, phone, e-mail, device fingerprint, employer, address, IP or bank '
      + 'account as the applicant gave it (it is normalised and hashed the same way), or paste an id. Look-ups are audited.')));
}
