'use strict';
/*
 * ringsight investigator console.
 *
 * Plain JavaScript with no dependencies, so it works offline and needs no build.
 * Every piece of data reaches the page through textContent or setAttribute (the
 * `el`/`svgEl` helpers); nothing from the API is ever parsed as HTML.
 * Navigation lives in location.hash (#/applicant/<id>, #/node/<id>, #/alerts,
 * #/rings, #/ring/<id>, #/audit) so the back button and links work.
 */

const KEY_STORE = 'ringsight.apiKey';
const NODE_ID = /^(applicant|application|device|phone|email|employer|address|ip|bank_account):[A-Za-z0-9._:-]+$/;
const KIND_NAMES = {
  applicant: 'Applicant', device: 'Device', phone: 'Phone', email: 'Email', employer: 'Employer',
  address: 'Address', ip: 'IP address', bank_account: 'Bank account',
};
const STATUS_NAMES = {confirmed_fraud: 'confirmed fraud', cleared: 'cleared', allow_listed: 'allow-listed'};
const ACTION_NAMES = {approve: 'approve', step_up: 'step-up verification', review: 'manual review', decline: 'decline'};
// An identifier used by this many applicants is a hub (a big employer, a kiosk): weak evidence, drawn small.
const HUB_APPLICANTS = 25;
// Above these sizes the graph stops labelling applicants, then identifiers (the root and hubs always are).
const LABEL_APPLICANTS_UP_TO = 24;
const LABEL_IDENTIFIERS_UP_TO = 60;
const GRAPH_W = 900;
const GRAPH_H = 700;

const state = {
  key: sessionStorage.getItem(KEY_STORE) || '',
  role: null,        // 'investigator' | 'admin' once the key is accepted
  seq: 0,            // bumps on every navigation so late answers for an old view are dropped
  shown: null,       // {view, id} of the subject on screen
  depth: 2,
  lookup: null,      // the last look-up answer (usage counts are only known from it)
};

/* ---------- DOM helpers (the only way data gets into the page) ---------- */

const $ = (selector, root = document) => root.querySelector(selector);

function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
}

function children(items) {
  return items.flat(Infinity)
    .filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : String(c)));
}

function el(tag, attrs, ...kids) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  node.append(...children(kids));  // strings become text nodes: escaped by construction
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
function svgEl(tag, attrs, ...kids) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  node.append(...children(kids));
  return node;
}

/* ---------- formatting ---------- */

function fmtTime(value) {
  if (value === null || value === undefined || value === '') return '—';
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
const fmtScore = (s) => (s === null || s === undefined ? '—' : Number(s).toFixed(3));
const fmtAmount = (a) => (a === null || a === undefined ? '' : Number(a).toLocaleString('en'));
const kindOf = (nodeId) => String(nodeId).split(':')[0];
const shortId = (nodeId) => (String(nodeId).length > 22 ? `${String(nodeId).slice(0, 21)}…` : String(nodeId));
const truncate = (text, n) => (String(text).length > n ? `${String(text).slice(0, n - 1)}…` : String(text));

function badge(kind, value, text) {
  if (!value) return null;
  return el('span', {class: `badge ${kind}-${value}`, 'data-testid': `${kind}-badge`}, text || value.replaceAll('_', ' '));
}
const statusBadge = (status) => badge('status', status, STATUS_NAMES[status]);
const bandBadge = (band) => badge('band', band);
const tierBadge = (tier) => badge('tier', tier);

function hashFor(nodeId) {
  const view = kindOf(nodeId) === 'applicant' ? 'applicant' : 'node';
  return `#/${view}/${encodeURIComponent(nodeId)}`;
}

function nodeLink(nodeId, text) {
  return el('a', {href: hashFor(nodeId), class: 'node-link', 'data-node-id': nodeId, title: nodeId},
    text || shortId(nodeId));
}

// Renders evidence and other free-form JSON as nested lists; node ids become links.
function renderValue(value, depth = 0) {
  if (value === null || value === undefined) return el('span', {class: 'muted'}, '—');
  if (depth > 5) return el('code', {}, JSON.stringify(value));
  if (Array.isArray(value)) {
    if (!value.length) return el('span', {class: 'muted'}, 'none');
    return el('ul', {class: 'kv-list'}, value.map((v) => el('li', {}, renderValue(v, depth + 1))));
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value);
    if (!entries.length) return el('span', {class: 'muted'}, 'none');
    return el('dl', {class: 'kv'}, entries.map(([k, v]) => [el('dt', {}, k), el('dd', {}, renderValue(v, depth + 1))]));
  }
  if (typeof value === 'string' && NODE_ID.test(value) && kindOf(value) !== 'application') return nodeLink(value);
  if (typeof value === 'number') return String(Number.isInteger(value) ? value : Number(value.toFixed(4)));
  return String(value);
}

function facts(rows) {
  return el('dl', {class: 'facts'}, rows.filter(Boolean).map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

/* ---------- the API ---------- */

class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

// Calls the JSON API with the session's key; failures become ApiError carrying the problem body.
async function api(method, path, body, {quiet = false} = {}) {
  const headers = {Accept: 'application/json, application/problem+json'};
  if (state.key) headers['X-API-Key'] = state.key;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (err) {
    throw new ApiError(0, {title: 'Service unreachable', detail: `The request did not reach ringsight (${err.message}).`});
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = {detail: text.slice(0, 300)};
  }
  if (!response.ok) {
    const problem = data && typeof data === 'object' ? data : {};
    if (!problem.title) problem.title = response.statusText || 'Error';
    const err = new ApiError(response.status, problem);
    if (!quiet && (err.status === 401 || err.status === 403)) showAuthProblem(err);
    throw err;
  }
  return data;
}

const enc = encodeURIComponent;

/* ---------- problems (application/problem+json) shown where they happened ---------- */

function problemBox(err) {
  const p = err.problem || {};
  const box = el('div', {class: 'problem', role: 'alert', 'data-testid': 'problem',
    'data-status': err.status || '', 'data-field': p.field || ''},
  el('strong', {}, p.title || 'Error', err.status ? ` (${err.status})` : ''), ' ',
  el('span', {class: 'problem-detail'}, p.detail || err.message),
  p.field ? el('span', {class: 'problem-field'}, 'field: ', el('code', {}, p.field)) : null);
  if (Array.isArray(p.errors) && p.errors.length > 1) {
    box.append(el('ul', {}, p.errors.map((e) => el('li', {}, el('code', {}, e.field), ': ', e.message))));
  }
  return box;
}

function clearProblem(slot, form) {
  slot.replaceChildren();
  if (form) form.querySelectorAll('[aria-invalid]').forEach((n) => n.removeAttribute('aria-invalid'));
}

// Shows a problem in `slot` and marks the form control it names (falling back to the form's main field).
function showProblem(slot, err, form) {
  clearProblem(slot, form);
  slot.append(problemBox(err));
  const field = err.problem && err.problem.field;
  if (!form || !field) return;
  const name = field.split('.').at(-1);
  const control = form.elements.namedItem(name) || form.elements.namedItem(form.dataset.defaultField || '');
  if (control && control.setAttribute) control.setAttribute('aria-invalid', 'true');
}

const localProblem = (field, detail) => new ApiError(0, {title: 'Check the form', detail, field});

function showAuthProblem(err) {
  const detail = (err.problem && err.problem.detail) || err.message;
  const text = err.status === 401
    ? `The API key was refused (401 Unauthorized: ${detail}). Enter a valid investigator or admin key.`
    : `This key is not allowed to do that (403 Forbidden: ${detail}). Investigators need an investigator `
      + 'or admin key; the audit log needs an admin key.';
  $('#auth-message').replaceChildren(el('p', {'data-status': err.status}, text));
}

async function busy(form, work) {
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

/* ---------- the API key ---------- */

async function signIn(key) {
  state.key = key;
  state.role = null;
  state.shown = null;
  $('#auth-message').replaceChildren();
  if (key) sessionStorage.setItem(KEY_STORE, key);
  else sessionStorage.removeItem(KEY_STORE);
  updateChrome(key ? 'Checking key…' : 'No key');
  if (!key) return;
  try {
    await api('GET', '/v1/stats', undefined, {quiet: true});
  } catch (err) {
    if (err.status === 403) {
      showAuthProblem(new ApiError(403, {detail: `${err.problem.detail}; the console needs an investigator or admin key`}));
    } else if (err.status === 401) {
      showAuthProblem(err);
    } else {
      $('#auth-message').replaceChildren(problemBox(err));
    }
    updateChrome('Key not accepted');
    return;
  }
  try {
    await api('GET', '/v1/audit?limit=1', undefined, {quiet: true});
    state.role = 'admin';
  } catch (err) {
    if (err.status !== 403) {
      $('#auth-message').replaceChildren(problemBox(err));
      return;
    }
    state.role = 'investigator';
  }
  updateChrome();
  route();
}

function updateChrome(status) {
  const signedIn = Boolean(state.role);
  $('#workspace').hidden = !signedIn;
  $('#signed-out').hidden = signedIn;
  $('#tab-audit').hidden = state.role !== 'admin';
  const keyStatus = $('#key-status');
  keyStatus.dataset.role = state.role || '';
  keyStatus.textContent = signedIn ? `Signed in as ${state.role} (key …${state.key.slice(-4)})` : status || 'No key';
}

/* ---------- navigation ---------- */

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  const [view, ...rest] = path.split('/');
  return {view: view || 'investigate', arg: rest.length ? decodeURIComponent(rest.join('/')) : '',
    params: new URLSearchParams(query)};
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function selectTab(tab) {
  document.querySelectorAll('.tabs a').forEach((a) => {
    const on = a.dataset.tab === tab;
    a.classList.toggle('active', on);
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  document.querySelectorAll('.panel').forEach((p) => { p.hidden = p.dataset.panel !== tab; });
}

async function route(flash) {
  if (!state.role) return;
  const {view, arg, params} = parseHash();
  const seq = ++state.seq;
  if (view === 'applicant' || view === 'node') {
    selectTab('investigate');
    const depth = Number(params.get('depth')) || state.depth;
    await openSubject(view, arg, depth, seq, flash);
  } else if (view === 'alerts') {
    selectTab('alerts');
    await showAlerts(seq);
  } else if (view === 'rings' || view === 'ring') {
    selectTab('rings');
    await (view === 'ring' && arg ? showRing(arg, seq) : showRings(seq));
  } else if (view === 'audit' && state.role === 'admin') {
    selectTab('audit');
    if (params.has('subject')) $('#audit-subject').value = params.get('subject');
    await showAudit(seq);
  } else {
    selectTab('investigate');
  }
}

/* ---------- search ---------- */

async function onSearch(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const slot = $('#search-error');
  clearProblem(slot, form);
  const kind = form.elements.kind.value;
  const value = form.elements.value.value.trim();
  if (!value) return showProblem(slot, localProblem('value', 'Enter a value to look up.'), form);
  if (kind === 'node') {
    if (!NODE_ID.test(value)) {
      return showProblem(slot, localProblem('value', 'A node id looks like applicant:…, device:… or application:….'), form);
    }
    $('#lookup-result').replaceChildren();
    if (kindOf(value) !== 'application') return go(hashFor(value));
    try {  // an application id opens the applicant who submitted it
      const app = await busy(form, () => api('GET', `/v1/applications/${enc(value.slice('application:'.length))}`));
      return go(hashFor(app.applicant_id));
    } catch (err) {
      return showProblem(slot, err, form);
    }
  }
  try {
    const found = await busy(form, () => api('POST', '/v1/lookup', {kind, value}));
    state.lookup = found;
    $('#lookup-result').replaceChildren(lookupCard(found));
    go(hashFor(found.node_id));
  } catch (err) {
    $('#lookup-result').replaceChildren();
    showProblem(slot, err, form);
  }
}

function lookupCard(found) {
  const usage = found.applicants === null || found.applicants === undefined ? null
    : `used by ${found.applicants} applicant(s) in ${found.applications} application(s)`;
  return el('div', {class: 'lookup-card', 'data-testid': 'lookup-result', 'data-node-id': found.node_id},
    'Found ', el('strong', {}, KIND_NAMES[kindOf(found.node_id)] || found.kind), ' ',
    el('span', {class: 'masked'}, found.display), usage ? ` — ${usage}` : '',
    found.label ? [' ', statusBadge(found.label.status)] : null);
}

/* ---------- the opened subject: an applicant or an identifier, with its network ---------- */

async function openSubject(view, id, depth, seq, flash) {
  state.depth = depth;
  $('#network-depth').value = String(depth);
  const same = state.shown && state.shown.view === view && state.shown.id === id;
  if (same && !flash) {
    await loadNetwork(view, id, depth, seq);  // only the depth changed
    return;
  }
  const slot = $('#subject');
  if (!same) slot.replaceChildren(el('p', {class: 'muted'}, 'Loading…'));
  state.shown = {view, id};
  $('#tab-investigate').setAttribute('href', hashFor(id));
  if (!state.lookup || state.lookup.node_id !== id) $('#lookup-result').replaceChildren();
  try {
    if (view === 'applicant') {
      const [applicant] = await Promise.all([
        api('GET', `/v1/applicants/${enc(id)}`), loadNetwork(view, id, depth, seq)]);
      if (seq !== state.seq) return;
      const identifiers = await applicantIdentifiers(applicant);
      if (seq !== state.seq) return;
      slot.replaceChildren(applicantView(applicant, identifiers, flash));
    } else {
      const [network, labels] = await Promise.all([loadNetwork(view, id, depth, seq), api('GET', '/v1/labels')]);
      if (seq !== state.seq) return;
      const root = network && network.nodes.find((n) => n.id === id);
      if (!root) {
        slot.replaceChildren(el('p', {class: 'muted'}, 'This node could not be opened.'));
        return;
      }
      slot.replaceChildren(identifierView(root, labels.find((l) => l.node_id === id) || null, flash));
    }
  } catch (err) {
    if (seq !== state.seq) return;
    state.shown = null;
    $('#network-panel').hidden = true;
    slot.replaceChildren(problemBox(err));
  }
}

// The identifiers an applicant used, gathered from their applications (newest first, deduplicated).
async function applicantIdentifiers(applicant) {
  const recent = applicant.applications.slice(-20);
  const details = await Promise.all(recent.map((a) =>
    api('GET', `/v1/applications/${enc(a.application_id)}`).catch(() => null)));
  const seen = new Map();
  for (const app of details.reverse()) {
    for (const ident of (app && app.identifiers) || []) if (!seen.has(ident.node_id)) seen.set(ident.node_id, ident);
  }
  return [...seen.values()];
}

function applicantView(applicant, identifiers, flash) {
  const label = applicant.label;
  return el('article', {id: 'applicant-view', class: 'card subject', 'data-testid': 'applicant-view',
    'data-node-id': applicant.applicant_id, 'data-status': label ? label.status : ''},
  el('header', {class: 'subject-head'},
    el('h2', {}, 'Applicant ', el('span', {class: 'masked', id: 'subject-display'}, applicant.display)),
    statusBadge(label && label.status),
    applicant.ring ? el('a', {href: `#/ring/${enc(applicant.ring)}`, class: 'badge ring', 'data-testid': 'ring-link'},
      `ring ${applicant.ring}`) : null),
  facts([
    ['Node id', el('code', {}, applicant.applicant_id)],
    ['Applications', String(applicant.applications.length)],
    ['Ring', applicant.ring ? el('a', {href: `#/ring/${enc(applicant.ring)}`}, applicant.ring) : 'none'],
    ['Label', labelText(label)],
    state.role === 'admin' ? ['Audit', el('a', {href: `#/audit?subject=${enc(applicant.applicant_id)}`},
      'audit trail')] : null,
  ]),
  identifiers.length ? el('div', {class: 'identifiers'}, el('h3', {}, 'Identifiers used'),
    el('ul', {class: 'chips'}, identifiers.map((i) => el('li', {},
      el('a', {href: hashFor(i.node_id), class: `chip kind-${i.kind}`, 'data-testid': 'identifier-link',
        'data-node-id': i.node_id, title: i.node_id}, el('span', {class: 'chip-kind'}, KIND_NAMES[i.kind] || i.kind),
      ' ', i.display))))) : null,
  actionsForm(applicant.applicant_id, true, label, flash),
  el('h3', {}, 'Applications and decisions'),
  applicant.applications.slice().reverse().map((app, i) => applicationBlock(app, i === 0)));
}

function identifierView(node, label, flash) {
  const kind = node.kind;
  const lookup = state.lookup && state.lookup.node_id === node.id ? state.lookup : null;
  const applicants = node.props ? node.props.applicants : undefined;
  return el('article', {id: 'node-view', class: 'card subject', 'data-testid': 'node-view', 'data-node-id': node.id,
    'data-status': label ? label.status : ''},
  el('header', {class: 'subject-head'},
    el('h2', {}, KIND_NAMES[kind] || kind, ' ', el('span', {class: 'masked', id: 'subject-display'}, node.label)),
    statusBadge(label && label.status),
    applicants >= HUB_APPLICANTS ? el('span', {class: 'badge hub-badge'}, 'hub') : null),
  facts([
    ['Node id', el('code', {}, node.id)],
    applicants !== undefined ? ['Applicants', String(applicants)] : null,
    lookup && lookup.applications !== null ? ['Applications', String(lookup.applications)] : null,
    ['Label', labelText(label)],
    state.role === 'admin' ? ['Audit', el('a', {href: `#/audit?subject=${enc(node.id)}`}, 'audit trail')] : null,
  ]),
  applicants >= HUB_APPLICANTS ? el('p', {class: 'note'},
    `Used by ${applicants} applicants: a shared identifier this common is weak evidence of a ring.`) : null,
  actionsForm(node.id, false, label, flash));
}

function labelText(label) {
  if (!label) return el('span', {class: 'muted'}, 'none');
  return el('span', {'data-testid': 'label-detail'}, statusBadge(label.status), ` by ${label.by}, ${fmtTime(label.at)}: `,
    el('q', {}, label.reason));
}

function applicationBlock(app, open) {
  const latest = app.decisions.at(-1);
  return el('details', {class: 'application', 'data-testid': 'application', 'data-application-id': app.application_id,
    open},
  el('summary', {},
    el('strong', {}, app.application_id), ` · ${fmtTime(app.submitted_at)} · ${fmtAmount(app.amount)} ${app.product || ''}`,
    latest ? [' · ', bandBadge(latest.band), ` ${fmtScore(latest.score)} → ${ACTION_NAMES[latest.action] || latest.action}`]
      : ' · not scored'),
  app.decisions.length
    ? el('ol', {class: 'decisions'}, app.decisions.slice().reverse().map((d, i) => decisionBlock(d, open && i === 0)))
    : el('p', {class: 'muted'}, 'No decisions recorded.'));
}

function decisionBlock(decision, open) {
  return el('li', {},
    el('details', {class: 'decision', 'data-testid': 'decision', open},
      el('summary', {}, `${fmtTime(decision.at)} · ${decision.trigger} · `, bandBadge(decision.band),
        ` score ${fmtScore(decision.score)} · ${ACTION_NAMES[decision.action] || decision.action}`,
        el('span', {class: 'muted'}, ` · model ${decision.model_version}`)),
      decision.reasons.length
        ? el('ol', {class: 'reasons'}, decision.reasons.map(reasonItem))
        : el('p', {class: 'muted'}, 'No reasons: nothing unusual was found.')));
}

function reasonItem(reason) {
  return el('li', {class: 'reason', 'data-testid': 'reason', 'data-code': reason.code},
    el('p', {class: 'sentence'}, reason.sentence),
    el('p', {class: 'meta'}, el('code', {}, reason.code), ` · ${reason.detector} · strength ${fmtScore(reason.strength)}`
      + ` · contribution ${reason.contribution >= 0 ? '+' : ''}${Number(reason.contribution).toFixed(2)}`),
    el('details', {class: 'evidence'}, el('summary', {}, 'Evidence'), renderValue(reason.evidence)));
}

/* ---------- investigator actions: labels, withdrawal, re-scoring ---------- */

function actionsForm(nodeId, isApplicant, label, flash) {
  const statuses = isApplicant ? ['confirmed_fraud', 'cleared'] : ['confirmed_fraud', 'cleared', 'allow_listed'];
  const names = {confirmed_fraud: 'Mark confirmed fraud', cleared: 'Clear (appeal upheld)', allow_listed: 'Allow-list'};
  const errorSlot = el('div', {id: 'label-error', class: 'problem-slot', 'data-testid': 'label-error'});
  const result = el('div', {id: 'action-result', class: 'flash-slot', 'data-testid': 'action-result',
    'aria-live': 'polite'}, flash || null);
  const form = el('form', {id: 'label-form', class: 'card actions', 'data-testid': 'label-form', novalidate: true,
    'data-default-field': 'reason'},
  el('h3', {}, 'Actions'),
  el('div', {class: 'row'},
    el('label', {for: 'label-status'}, 'Label'),
    el('select', {id: 'label-status', name: 'status', 'data-testid': 'label-status'},
      statuses.map((s) => el('option', {value: s}, names[s])))),
  el('label', {for: 'label-reason', class: 'block'}, 'Reason (required; kept in the audit log)'),
  el('textarea', {id: 'label-reason', name: 'reason', rows: 2, maxlength: 2000, 'data-testid': 'label-reason',
    placeholder: 'e.g. chargeback confirmed by the issuing bank'}),
  el('div', {class: 'row buttons'},
    el('button', {type: 'submit', id: 'label-submit', 'data-testid': 'label-submit'}, 'Apply label'),
    label ? el('button', {type: 'button', id: 'label-remove', class: 'secondary', 'data-testid': 'label-remove',
      onclick: () => withdraw()}, `Withdraw “${STATUS_NAMES[label.status]}”`) : null,
    isApplicant ? el('button', {type: 'button', id: 'rescore', class: 'secondary', 'data-testid': 'rescore',
      onclick: () => rescore()}, 'Re-score now') : null),
  errorSlot, result);

  const reasonText = () => form.elements.reason.value.trim();
  const act = async (work) => {
    clearProblem(errorSlot, form);
    result.replaceChildren();
    try {
      const message = await busy(form, work);
      await route(message);  // re-draw the subject and network with the new state
    } catch (err) {
      showProblem(errorSlot, err, form);
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const status = form.elements.status.value;
    if (!reasonText()) {
      showProblem(errorSlot, localProblem('reason', 'A reason is required for every label.'), form);
      return;
    }
    act(async () => {
      const answer = await api('POST', '/v1/labels', {node_id: nodeId, status, reason: reasonText()});
      return flashBox(`Labelled ${STATUS_NAMES[answer.status]}.`, answer.alerts);
    });
  });

  function withdraw() {
    if (!reasonText()) {
      showProblem(errorSlot, localProblem('reason', 'Say why the label is withdrawn.'), form);
      return;
    }
    act(async () => {
      await api('POST', `/v1/labels/${enc(nodeId)}/remove`, {reason: reasonText()});
      return flashBox('Label withdrawn.', []);
    });
  }

  function rescore() {
    act(async () => {
      const answer = await api('POST', `/v1/applicants/${enc(nodeId)}/rescore`);
      const d = answer.decision;
      return flashBox(`Re-scored ${d.application_id}: ${d.band}, score ${fmtScore(d.score)}, `
        + `${ACTION_NAMES[d.action] || d.action}.`, answer.alerts);
    });
  }
  return form;
}

function flashBox(text, alerts) {
  return el('div', {class: 'flash', 'data-testid': 'flash'},
    el('p', {}, text, ` ${alerts.length} alert(s) raised${alerts.length ? ':' : '.'}`),
    alerts.length ? el('ul', {id: 'raised-alerts'}, alerts.map((a) => el('li', {'data-testid': 'raised-alert',
      'data-alert-id': a.alert_id}, tierBadge(a.tier), ' ', nodeLink(`applicant:${a.applicant_key}`),
    ` ${a.detail.previous_band || '—'} → ${a.detail.band}, score ${fmtScore(a.previous_score)} → ${fmtScore(a.score)}`)))
      : null);
}

/* ---------- network view ---------- */

async function loadNetwork(view, id, depth, seq) {
  const panel = $('#network-panel');
  const errorSlot = $('#network-error');
  panel.hidden = false;
  $('#network-summary').textContent = 'Loading…';
  const path = view === 'applicant'
    ? `/v1/applicants/${enc(id)}/network?depth=${depth}`
    : `/v1/nodes/${enc(id)}/network?depth=${depth}`;
  try {
    const network = await api('GET', path);
    if (seq !== state.seq) return network;
    errorSlot.replaceChildren();
    drawNetwork(network, network.nodes.some((n) => n.id === id) ? id : network.root);
    return network;
  } catch (err) {
    if (view === 'node') {  // the identifier view shows the problem in its place
      panel.hidden = true;
      throw err;
    }
    if (seq === state.seq) {
      $('#network-svg').replaceChildren();
      $('#network-summary').textContent = '';
      errorSlot.replaceChildren(problemBox(err));
    }
    return null;
  }
}

// Force-directed layout (Fruchterman–Reingold with cooling). Deterministic start positions on a
// spiral, so the same network is always drawn the same way.
function forceLayout(nodes, edges) {
  const n = nodes.length;
  const index = new Map(nodes.map((node, i) => [node.id, i]));
  const pos = nodes.map((_, i) => {
    const r = 30 * Math.sqrt(i + 0.5);
    const a = i * 2.399963;  // golden angle
    return {x: r * Math.cos(a), y: r * Math.sin(a)};
  });
  const links = edges.map((e) => [index.get(e.source), index.get(e.target)])
    .filter(([s, t]) => s !== undefined && t !== undefined && s !== t);
  const k = 70;  // preferred edge length
  const iterations = n > 150 ? 180 : 300;
  let temperature = 60;
  const dx = new Float64Array(n);
  const dy = new Float64Array(n);
  for (let it = 0; it < iterations; it++) {
    dx.fill(0);
    dy.fill(0);
    for (let i = 0; i < n; i++) {  // every pair repels
      for (let j = i + 1; j < n; j++) {
        let x = pos[i].x - pos[j].x;
        let y = pos[i].y - pos[j].y;
        let d2 = x * x + y * y;
        if (d2 < 0.01) { x = 0.1 * (i - j); y = 0.1; d2 = x * x + y * y; }
        const f = (k * k) / d2;  // = (k²/d) / d, so x*f is the unit vector times k²/d
        dx[i] += x * f; dy[i] += y * f;
        dx[j] -= x * f; dy[j] -= y * f;
      }
    }
    for (const [s, t] of links) {  // linked nodes attract
      const x = pos[s].x - pos[t].x;
      const y = pos[s].y - pos[t].y;
      const d = Math.sqrt(x * x + y * y) || 0.01;
      const f = d / k;  // = (d²/k) / d
      dx[s] -= x * f; dy[s] -= y * f;
      dx[t] += x * f; dy[t] += y * f;
    }
    for (let i = 0; i < n; i++) {  // gentle pull to the centre keeps components together
      dx[i] -= pos[i].x * 0.02;
      dy[i] -= pos[i].y * 0.02;
      const d = Math.sqrt(dx[i] * dx[i] + dy[i] * dy[i]) || 1;
      const step = Math.min(d, temperature);
      pos[i].x += (dx[i] / d) * step;
      pos[i].y += (dy[i] / d) * step;
    }
    temperature = Math.max(temperature * 0.975, 0.5);
  }
  return pos;
}

// Scales layout coordinates into the drawing area, keeping the aspect ratio.
function fitToBox(pos, width, height, pad) {
  if (!pos.length) return pos;
  const xs = pos.map((p) => p.x);
  const ys = pos.map((p) => p.y);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const scale = Math.min((width - 2 * pad) / (maxX - minX || 1), (height - 2 * pad) / (maxY - minY || 1), 1.6);
  const offX = (width - (maxX - minX) * scale) / 2;
  const offY = (height - (maxY - minY) * scale) / 2;
  return pos.map((p) => ({x: offX + (p.x - minX) * scale, y: offY + (p.y - minY) * scale}));
}

function drawNetwork(network, rootId) {
  const svg = $('#network-svg');
  const {nodes, edges} = network;
  const pos = fitToBox(forceLayout(nodes, edges), GRAPH_W, GRAPH_H, 36);
  const at = new Map(nodes.map((node, i) => [node.id, pos[i]]));
  const labelApplicants = nodes.length <= LABEL_APPLICANTS_UP_TO;
  const labelIdentifiers = nodes.length <= LABEL_IDENTIFIERS_UP_TO;

  const edgeLayer = svgEl('g', {class: 'edges'}, edges.filter((e) => at.has(e.source) && at.has(e.target)).map((e) => {
    const [a, b] = [at.get(e.source), at.get(e.target)];
    return svgEl('line', {class: `edge edge-${e.type}`, x1: a.x.toFixed(1), y1: a.y.toFixed(1), x2: b.x.toFixed(1),
      y2: b.y.toFixed(1), 'data-source': e.source, 'data-target': e.target},
    svgEl('title', {}, `${e.type}${e.ts ? ` · ${fmtTime(e.ts)}` : ''}`));
  }));

  const nodeLayer = svgEl('g', {class: 'nodes'}, nodes.map((node, i) => {
    const p = pos[i];
    const props = node.props || {};
    const applicant = node.kind === 'applicant';
    const hub = !applicant && props.applicants >= HUB_APPLICANTS;
    const root = node.id === rootId;
    const r = applicant ? 11 : hub ? 5 : 8;
    const classes = ['node', `kind-${node.kind}`, props.status ? `status-${props.status}` : '', hub ? 'hub' : '',
      root ? 'root' : ''].filter(Boolean).join(' ');
    const tip = [`${KIND_NAMES[node.kind] || node.kind} ${node.label}`, node.id,
      props.status ? `label: ${STATUS_NAMES[props.status] || props.status}` : null,
      applicant ? `${props.applications} application(s)` : `${props.applicants} applicant(s)`].filter(Boolean).join('\n');
    const shape = applicant
      ? svgEl('circle', {class: 'shape', r})
      : svgEl('rect', {class: 'shape', x: -r, y: -r, width: 2 * r, height: 2 * r, rx: 2});
    const halo = props.status ? svgEl('circle', {class: 'halo', r: r + 5}) : null;
    let text = null;
    if (hub) text = `${KIND_NAMES[node.kind] || node.kind} · ${props.applicants} applicants`;
    else if (root || (applicant ? labelApplicants : labelIdentifiers)) text = truncate(node.label || node.id, 18);
    const g = svgEl('g', {class: classes, transform: `translate(${p.x.toFixed(1)},${p.y.toFixed(1)})`,
      'data-testid': 'graph-node', 'data-node-id': node.id, 'data-kind': node.kind, 'data-status': props.status || '',
      tabindex: 0, role: 'button', 'aria-label': tip.replaceAll('\n', ', ')},
    svgEl('title', {}, tip), halo, shape,
    text ? svgEl('text', {class: 'node-label', y: r + 13, 'text-anchor': 'middle'}, text) : null);
    const open = () => go(hashFor(node.id));
    g.addEventListener('click', open);
    g.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); open(); }
    });
    return g;
  }));

  svg.replaceChildren(edgeLayer, nodeLayer);
  const applicants = nodes.filter((node) => node.kind === 'applicant').length;
  const flagged = nodes.filter((node) => node.props && node.props.status === 'confirmed_fraud').length;
  const summary = $('#network-summary');
  summary.dataset.applicants = String(applicants);
  summary.dataset.nodes = String(nodes.length);
  summary.textContent = `${nodes.length} nodes: ${applicants} applicant(s), ${nodes.length - applicants} identifier(s),`
    + ` ${edges.length} link(s)${flagged ? `, ${flagged} confirmed fraud` : ''}`
    + `${network.truncated ? ' — truncated: open a node to see more' : ''}`;
}

/* ---------- alerts ---------- */

async function showAlerts(seq, flash) {
  const status = $('#alerts-status').value;
  const body = $('#alerts-body');
  const errorSlot = $('#alerts-error');
  $('#alerts-flash').replaceChildren(flash || '');
  try {
    const alerts = await api('GET', `/v1/alerts?limit=500${status ? `&status=${enc(status)}` : ''}`);
    if (seq !== state.seq) return;
    errorSlot.replaceChildren();
    body.replaceChildren(...(alerts.length ? alerts.map(alertRow)
      : [el('tr', {}, el('td', {colspan: 8, class: 'muted empty'}, status ? `No ${status} alerts.` : 'No alerts.'))]));
  } catch (err) {
    if (seq === state.seq) { body.replaceChildren(); showProblem(errorSlot, err); }
  }
}

function triggerText(trigger) {
  const [kind, ...rest] = String(trigger).split(':');
  if (kind === 'label' && rest.length >= 2) {
    const status = rest[0];
    const node = rest.slice(1).join(':');
    return [`${STATUS_NAMES[status] || status} label on `, NODE_ID.test(node) ? nodeLink(node) : node];
  }
  if (kind === 'joined') return `new application ${rest.join(':')} joined`;
  if (kind === 'rescore') return `re-scored by ${rest.join(':')}`;
  return String(trigger);
}

function alertRow(alert) {
  const applicant = `applicant:${alert.applicant_key}`;
  const errorSlot = el('div', {class: 'problem-slot'});
  const form = el('form', {class: 'alert-update', 'data-default-field': 'reason', novalidate: true},
    el('select', {name: 'status', 'aria-label': 'New status'},
      ['acknowledged', 'escalated', 'closed', 'open'].filter((s) => s !== alert.status)
        .map((s) => el('option', {value: s}, s))),
    el('input', {name: 'reason', type: 'text', placeholder: 'reason', 'aria-label': 'Reason', maxlength: 2000}),
    el('button', {type: 'submit'}, 'Save'),
    errorSlot);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const reason = form.elements.reason.value.trim();
    if (!reason) return showProblem(errorSlot, localProblem('reason', 'A reason is required.'), form);
    const status = form.elements.status.value;
    try {
      await busy(form, () => api('POST', `/v1/alerts/${enc(alert.alert_id)}`, {status, reason}));
      await showAlerts(state.seq, el('p', {class: 'flash'}, `Alert ${alert.alert_id} is now ${status}.`));
    } catch (err) {
      showProblem(errorSlot, err, form);
    }
  });
  return el('tr', {'data-testid': 'alert-row', 'data-alert-id': alert.alert_id, 'data-applicant-id': applicant,
    'data-status': alert.status, 'data-trigger': alert.trigger, class: `tier-row-${alert.tier}`},
  el('td', {class: 'when'}, fmtTime(alert.at)),
  el('td', {}, tierBadge(alert.tier)),
  el('td', {}, nodeLink(applicant)),
  el('td', {class: 'num'}, `${fmtScore(alert.previous_score)} → ${fmtScore(alert.score)}`),
  el('td', {}, alert.detail && alert.detail.previous_band ? [bandBadge(alert.detail.previous_band), ' → '] : null,
    bandBadge(alert.detail && alert.detail.band)),
  el('td', {title: alert.trigger}, triggerText(alert.trigger)),
  el('td', {}, el('span', {class: `badge alert-${alert.status}`}, alert.status)),
  el('td', {}, form));
}

/* ---------- rings ---------- */

function featureSummary(features) {
  return Object.entries(features || {}).slice(0, 4)
    .map(([k, v]) => `${k} ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : JSON.stringify(v)}`)
    .join(' · ');
}

async function showRings(seq) {
  $('#rings-list-view').hidden = false;
  $('#ring-view').hidden = true;
  const body = $('#rings-body');
  const errorSlot = $('#rings-error');
  const form = $('#rings-filter');
  const minScore = Number(form.elements.min_score.value) || 0;
  try {
    const rings = await api('GET', `/v1/rings?min_score=${minScore}`);
    if (seq !== state.seq) return;
    clearProblem(errorSlot, form);
    body.replaceChildren(...(rings.length ? rings.map((r) => el('tr', {'data-testid': 'ring-row',
      'data-ring-id': r.ring_id},
    el('td', {}, el('a', {href: `#/ring/${enc(r.ring_id)}`}, r.ring_id)),
    el('td', {class: 'num'}, String(r.size)),
    el('td', {class: 'num'}, fmtScore(r.score)),
    el('td', {class: 'muted'}, featureSummary(r.features)),
    el('td', {class: 'muted'}, r.run_id)))
      : [el('tr', {}, el('td', {colspan: 5, class: 'muted empty'},
        'No rings yet. Rings are written by the batch ring-detection run.'))]));
  } catch (err) {
    if (seq === state.seq) { body.replaceChildren(); showProblem(errorSlot, err, form); }
  }
}

async function showRing(ringId, seq) {
  $('#rings-list-view').hidden = true;
  const view = $('#ring-view');
  view.hidden = false;
  view.replaceChildren(el('p', {class: 'muted'}, 'Loading…'));
  try {
    const ring = await api('GET', `/v1/rings/${enc(ringId)}`);
    if (seq !== state.seq) return;
    view.replaceChildren(el('article', {class: 'card', id: 'ring-detail', 'data-testid': 'ring-detail',
      'data-ring-id': ring.ring_id},
    el('p', {}, el('a', {href: '#/rings'}, '← all rings')),
    el('h2', {}, `Ring ${ring.ring_id}`),
    facts([['Score', fmtScore(ring.score)], ['Members', String(ring.size)], ['Run', ring.run_id],
      ['Features', renderValue(ring.features)],
      ring.lineage && Object.keys(ring.lineage).length ? ['Lineage', renderValue(ring.lineage)] : null]),
    el('h3', {}, 'Shared identifiers'),
    ring.identifiers.length ? el('ul', {class: 'chips'}, ring.identifiers.map((i) => el('li', {},
      el('a', {href: hashFor(i.node_id), class: `chip kind-${kindOf(i.node_id)}`, title: i.node_id},
        el('span', {class: 'chip-kind'}, KIND_NAMES[kindOf(i.node_id)] || kindOf(i.node_id)), ' ',
        i.display || i.node_id)))) : el('p', {class: 'muted'}, 'none recorded'),
    el('h3', {}, 'Members'),
    el('table', {class: 'grid'}, el('thead', {}, el('tr', {}, el('th', {}, 'Applicant'), el('th', {}, 'Node id'),
      el('th', {}, 'Label'))),
    el('tbody', {}, ring.members.map((m) => el('tr', {'data-testid': 'ring-member', 'data-node-id': m.node_id},
      el('td', {}, nodeLink(m.node_id, m.display || m.node_id)), el('td', {}, el('code', {}, m.node_id)),
      el('td', {}, statusBadge(m.status) || el('span', {class: 'muted'}, '—'))))))));
  } catch (err) {
    if (seq === state.seq) view.replaceChildren(el('p', {}, el('a', {href: '#/rings'}, '← all rings')), problemBox(err));
  }
}

/* ---------- audit (admins) ---------- */

async function showAudit(seq) {
  const form = $('#audit-filter');
  const errorSlot = $('#audit-error');
  const body = $('#audit-body');
  const subject = form.elements.subject.value.trim();
  const query = new URLSearchParams({limit: form.elements.limit.value});
  if (subject) query.set('subject', subject);
  try {
    const events = await api('GET', `/v1/audit?${query}`);
    if (seq !== state.seq) return;
    clearProblem(errorSlot, form);
    body.replaceChildren(...(events.length ? events.map((e) => el('tr', {'data-testid': 'audit-row',
      'data-action': e.action, 'data-subject': e.subject},
    el('td', {class: 'num'}, String(e.seq)),
    el('td', {class: 'when'}, fmtTime(e.at)),
    el('td', {}, e.actor),
    el('td', {}, el('code', {}, e.action)),
    el('td', {}, NODE_ID.test(e.subject) && kindOf(e.subject) !== 'application' ? nodeLink(e.subject) : e.subject),
    el('td', {class: 'detail'}, renderValue(e.detail))))
      : [el('tr', {}, el('td', {colspan: 6, class: 'muted empty'}, 'No audit events.'))]));
  } catch (err) {
    if (seq === state.seq) { body.replaceChildren(); showProblem(errorSlot, err, form); }
  }
}

/* ---------- wiring ---------- */

function start() {
  $('#key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('#api-key');
    const key = input.value.trim();
    input.value = '';
    signIn(key);
  });
  $('#key-forget').addEventListener('click', () => signIn(''));
  $('#search-form').addEventListener('submit', onSearch);
  $('#network-depth').addEventListener('change', (event) => {
    const {view, arg} = parseHash();
    if (view === 'applicant' || view === 'node') go(`#/${view}/${enc(arg)}?depth=${event.target.value}`);
  });
  $('#alerts-filter').addEventListener('submit', (event) => { event.preventDefault(); showAlerts(++state.seq); });
  $('#alerts-status').addEventListener('change', () => showAlerts(++state.seq));
  $('#rings-filter').addEventListener('submit', (event) => { event.preventDefault(); showRings(++state.seq); });
  $('#audit-filter').addEventListener('submit', (event) => {
    event.preventDefault();
    const subject = event.currentTarget.elements.subject.value.trim();
    go(subject ? `#/audit?subject=${enc(subject)}` : '#/audit');
  });
  window.addEventListener('hashchange', () => route());
  signIn(state.key);
}

document.addEventListener('DOMContentLoaded', start);
