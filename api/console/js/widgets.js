/*
 * Small building blocks every view uses: badges, node chips (kind, masked value
 * and tag; never a hashed id where a person reads a name), problems shown where
 * they happened, fact lists, tables and busy forms.
 */

import {el} from './dom.js';
import {hashFor, kindName, kindOf, nameOf, nodeText, tagOf} from './format.js';

export function badge(family, value, text) {
  if (!value) return null;
  return el('span', {class: `badge ${family}-${value}`, 'data-testid': `${family}-badge`, 'data-value': value},
    text || nameOf(value));
}
export const statusBadge = (status) => badge('status', status);
export const bandBadge = (band) => badge('band', band);
export const tierBadge = (tier) => badge('tier', tier);
export const alertBadge = (status) => badge('alert', status);
export const caseBadge = (status) => badge('case', status);
export const layerBadge = (layer) => badge('layer', layer, `${nameOf(layer)} layer`);

/** The short tag of a node, e.g. ``#a1b2``. */
export const tag = (nodeId) => el('span', {class: 'tag', 'data-testid': 'tag', title: 'first characters of the node key'},
  `#${tagOf(nodeId)}`);

/**
 * A node as people read it: its kind, its masked display and its tag, linking to its page.
 * ``display`` is the masked value the API answered; without one only kind and tag show.
 */
export function nodeChip(nodeId, display, {link = true, status = null} = {}) {
  const kind = kindOf(nodeId);
  const body = [
    el('span', {class: 'chip-kind'}, kind === 'ring' ? 'Ring' : kindName(kind)), ' ',
    kind === 'ring' ? el('span', {class: 'masked'}, nodeId) : display ? el('span', {class: 'masked'}, display) : null,
    kind === 'ring' ? null : [' ', tag(nodeId)],
    status ? [' ', statusBadge(status)] : null,
  ];
  const attrs = {class: `chip kind-${kind}`, 'data-testid': 'node-chip', 'data-node-id': nodeId, title: nodeText(nodeId, display)};
  return link ? el('a', {...attrs, href: hashFor(nodeId)}, body) : el('span', attrs, body);
}

export const caseLink = (caseId) => el('a', {href: `#/case/${encodeURIComponent(caseId)}`, class: 'case-link',
  'data-testid': 'case-link', 'data-case-id': caseId}, caseId);

const RULES = {
  four_eyes: 'Four eyes: the key that recommended this step, or filed this appeal, cannot also decide it. '
    + 'Another reviewer has to decide.',
  layer: 'Review layer: this outcome is decided at a higher layer than the one this key reviews at.',
  layered_review: 'Layered review: this outcome is decided on a recommendation, so an analyst recommends it first.',
  reviewer_role: 'This key’s role does not review cases.',
};

/** The desk rule behind a 403, in plain words. */
export const ruleText = (rule) => RULES[rule] || (rule ? `Rule ${nameOf(rule)}.` : '');

/** An API problem (application/problem+json) for a person: title, status, rule, detail and field. */
export function problemBox(err) {
  const p = err.problem || {};
  const rule = p.rule || '';
  const box = el('div', {class: 'problem', role: 'alert', 'data-testid': 'problem', 'data-status': err.status || '',
    'data-field': p.field || '', 'data-rule': rule},
  el('strong', {}, p.title || 'Error', err.status ? ` (${err.status})` : ''),
  rule ? el('p', {class: 'problem-rule', 'data-testid': 'problem-rule'}, ruleText(rule)) : ' ',
  el('span', {class: 'problem-detail'}, p.detail || err.message),
  p.field ? el('span', {class: 'problem-field'}, 'field: ', el('code', {}, p.field)) : null);
  if (Array.isArray(p.errors) && p.errors.length > 1) {
    box.append(el('ul', {}, p.errors.map((e) => el('li', {}, el('code', {}, e.field), ': ', e.message))));
  }
  return box;
}

export function clearProblem(slot, form) {
  slot.replaceChildren();
  if (form) form.querySelectorAll('[aria-invalid]').forEach((n) => n.removeAttribute('aria-invalid'));
}

/** Shows a problem in ``slot`` and marks the control of ``form`` it names (or the form's main field). */
export function showProblem(slot, err, form) {
  clearProblem(slot, form);
  slot.append(problemBox(err));
  const field = err.problem && err.problem.field;
  if (!form || !field) return;
  const name = field.split('.').at(-1);
  const control = form.elements.namedItem(name) || form.elements.namedItem(form.dataset.defaultField || '');
  if (control && control.setAttribute) control.setAttribute('aria-invalid', 'true');
}

/** Runs ``work`` with the form's controls disabled. */
export async function busy(form, work) {
  const controls = form.querySelectorAll('button, input, select, textarea');
  form.setAttribute('aria-busy', 'true');
  controls.forEach((c) => { c.disabled = true; });
  try {
    return await work();
  } finally {
    controls.forEach((c) => { c.disabled = false; });
    form.removeAttribute('aria-busy');
  }
}

export function facts(rows) {
  return el('dl', {class: 'facts'}, rows.filter(Boolean).map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

export const flash = (text, testid = 'flash') => el('div', {class: 'flash', 'data-testid': testid, role: 'status'}, text);

export const muted = (text) => el('span', {class: 'muted'}, text);

/** A table with a header row; ``rows`` empty shows ``empty`` across the columns. */
export function table(headers, rows, {empty = 'Nothing to show.', testid = null, id = null} = {}) {
  return el('table', {class: 'grid', 'data-testid': testid, id},
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))),
    el('tbody', {}, rows.length ? rows : el('tr', {}, el('td', {colspan: headers.length, class: 'muted empty'}, empty))));
}

export const card = (attrs, ...kids) => el('section', {...attrs, class: `card ${attrs.class || ''}`.trim()}, ...kids);

/** A <select> of ``values`` (code -> name), with ``selected`` chosen. */
export function select(attrs, values, selected) {
  return el('select', attrs, values.map(([value, text]) => el('option', {value, selected: value === selected}, text)));
}

const NODE_ID = /^(applicant|device|phone|email|employer|address|ip|bank_account):[A-Za-z0-9._:-]+$/;

/** Free-form JSON (evidence, details) as nested lists; node ids become chips (kind and tag, no hash). */
export function renderValue(value, depth = 0) {
  if (value === null || value === undefined) return muted('—');
  if (depth > 5) return el('code', {}, JSON.stringify(value));
  if (Array.isArray(value)) {
    if (!value.length) return muted('none');
    return el('ul', {class: 'kv-list'}, value.map((v) => el('li', {}, renderValue(v, depth + 1))));
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value);
    if (!entries.length) return muted('none');
    return el('dl', {class: 'kv'}, entries.map(([k, v]) => [el('dt', {}, NODE_ID.test(k) ? nodeChip(k) : k),
      el('dd', {}, renderValue(v, depth + 1))]));
  }
  if (typeof value === 'string' && NODE_ID.test(value)) return nodeChip(value);
  if (typeof value === 'number') return String(Number.isInteger(value) ? value : Number(value.toFixed(4)));
  return String(value);
}
