/*
 * ringsight investigator console: sign-in and the router.
 *
 * ES modules, no build step and no dependency, so it works offline. Navigation
 * lives in location.hash, so the back button and links work:
 *
 *   #/cases?scope=mine|unassigned|all  the case queue       #/case/<case id>      one case
 *   #/alerts?status=                   monitoring alerts    #/overview?days=30    for risk managers
 *   #/lookup                           look a value up      #/applicant/<id>      an applicant
 *   #/node/<id>                        an identifier        #/reach/<id>?hops=2   its neighbourhood
 *   #/rings  #/ring/<ring id>          batch rings          #/audit?subject=      the audit log (admins)
 *
 * Every navigation replaces the whole view and bumps a counter, so an answer that
 * arrives for a view already left is dropped: nothing of a previous subject stays.
 */

import {ApiError, get, session, setKey} from './api.js';
import {$, $$, el} from './dom.js';
import {loadVocabulary} from './vocabulary.js';
import {problemBox} from './widgets.js';
import * as alerts from './views/alerts.js';
import * as applicant from './views/applicant.js';
import * as audit from './views/audit.js';
import * as casePage from './views/case.js';
import * as identifier from './views/identifier.js';
import * as lookup from './views/lookup.js';
import * as overview from './views/overview.js';
import * as queue from './views/queue.js';
import * as reach from './views/reach.js';
import * as ring from './views/ring.js';
import * as rings from './views/rings.js';

const ROUTES = {
  cases: [queue, 'cases'],
  case: [casePage, 'cases'],
  alerts: [alerts, 'alerts'],
  lookup: [lookup, 'investigate'],
  investigate: [lookup, 'investigate'],
  applicant: [applicant, 'investigate'],
  node: [identifier, 'investigate'],
  reach: [reach, 'investigate'],
  rings: [rings, 'rings'],
  ring: [ring, 'rings'],
  overview: [overview, 'overview'],
  audit: [audit, 'audit'],
};

let seq = 0;
let passed = null; // state handed to the next route (a flash message, a look-up's answer or miss)

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, q = ''] = raw.split('?');
  const [name, ...rest] = path.split('/');
  return {name: name || 'cases', arg: rest.length ? decodeURIComponent(rest.join('/')) : '', params: new URLSearchParams(q)};
}

/** Goes to ``hash``, handing ``state`` to the view it opens. */
export function go(hash, state = null) {
  passed = state;
  if (location.hash === hash) route();
  else location.hash = hash;
}

/** Empties the view now (a look-up in flight must not leave the previous subject on screen). */
export function invalidate(message = 'Loading…') {
  seq += 1;
  const root = $('#view');
  root.replaceChildren(el('p', {class: 'muted loading', 'data-testid': 'loading'}, message));
  for (const key of ['route', 'role', 'drawn']) delete root.dataset[key];
}

function selectTab(tab) {
  $$('.tabs a').forEach((a) => {
    const on = a.dataset.tab === tab;
    a.classList.toggle('active', on);
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
}

/** Puts a view on screen, marked with the route and the role it was drawn for. */
function shown(root, name, token, nodes) {
  root.replaceChildren(...nodes);
  Object.assign(root.dataset, {route: name, role: session.role, drawn: String(token)});
}

async function route() {
  if (!session.role) return;
  const {name, arg, params} = parseHash();
  const [view, tab] = name === 'audit' && session.role !== 'admin' ? [queue, 'cases'] : ROUTES[name] || ROUTES.cases;
  const state = passed || {};
  passed = null;
  selectTab(tab);
  invalidate();
  const token = seq;
  const root = $('#view');
  const ctx = {
    arg,
    params,
    state,
    session,
    live: () => token === seq,
    show: (...nodes) => { if (token === seq) shown(root, name, token, nodes); },
    fail: (err) => { if (token === seq) shown(root, name, token, [problemBox(err)]); },
    go,
    refresh: (flash) => go(location.hash, {...state, flash}),
  };
  try {
    await view.render(ctx);
  } catch (err) {
    ctx.fail(err instanceof ApiError ? err : new ApiError(0, {title: 'Console error', detail: String(err)}));
    if (!(err instanceof ApiError)) console.error(err);
  }
}

/* ---------- the API key ---------- */

function authMessage(...nodes) {
  $('#auth-message').replaceChildren(...nodes);
}

function updateChrome(status) {
  const signedIn = Boolean(session.role);
  $('#workspace').hidden = !signedIn;
  $('#signed-out').hidden = signedIn;
  $('#tab-audit').hidden = session.role !== 'admin';
  const keyStatus = $('#key-status');
  keyStatus.dataset.role = session.role || '';
  keyStatus.textContent = signedIn ? `Signed in as ${session.role} (${session.actor})` : status || 'No key';
}

async function signIn(key) {
  setKey(key);
  invalidate(key ? 'Checking key…' : '');
  authMessage();
  updateChrome(key ? 'Checking key…' : 'No key');
  if (!key) return;
  let who;
  try {
    who = await get('/v1/whoami');
  } catch (err) {
    if (err.status === 401) {
      authMessage(el('p', {'data-status': 401}, `The API key was refused (401 Unauthorized: ${err.message}). `
        + 'Enter an investigator, senior, committee or admin key.'));
    } else {
      authMessage(problemBox(err));
    }
    updateChrome('Key not accepted');
    return;
  }
  if (who.role === 'scorer') {
    authMessage(el('p', {'data-status': 403}, 'This key has the scorer role: it may score applications, but the API '
      + 'answers 403 Forbidden to everything the console does. Enter an investigator, senior, committee or admin key.'));
    updateChrome('Key not accepted');
    return;
  }
  session.actor = who.actor;
  session.role = who.role;
  updateChrome();
  route();
}

async function start() {
  $('#key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('#api-key');
    const key = input.value.trim();
    input.value = '';
    signIn(key);
  });
  $('#key-forget').addEventListener('click', () => signIn(''));
  window.addEventListener('hashchange', () => route());
  try {
    await loadVocabulary();
  } catch (err) {
    authMessage(problemBox(err));
    return;
  }
  $('#lookup-slot').replaceChildren(lookup.lookupBar({go, invalidate}));
  signIn(session.key);
}

start();
