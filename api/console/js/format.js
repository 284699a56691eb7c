/*
 * Words and numbers for people: times, ages, scores, the names of kinds, labels,
 * actions and outcomes, and the short tag that tells identifiers apart.
 * The vocabularies themselves come from the API (vocabulary.js); these are only
 * their names in English, falling back to the code with spaces.
 */

const NAMES = {
  // node kinds
  applicant: 'Applicant', device: 'Device', phone: 'Phone', email: 'Email', employer: 'Employer',
  address: 'Address', ip: 'IP address', bank_account: 'Bank account', ring: 'Ring', identifier: 'Identifier',
  // labels
  confirmed_fraud: 'confirmed fraud', cleared: 'cleared', allow_listed: 'allow-listed',
  // scoring actions
  approve: 'approve', step_up: 'step-up verification', review: 'manual review', decline: 'decline',
  // alert tiers and statuses
  watch: 'watch', investigate: 'investigate', freeze_recommended: 'freeze recommended', in_case: 'in a case',
  // case outcomes
  limit_reduce: 'reduce the limit', freeze: 'freeze', close: 'close the account', clear: 'clear',
  upheld: 'appeal upheld', rejected: 'appeal rejected', appeal_upheld: 'appeal upheld',
};

/** The English name of a code (``freeze_recommended`` -> ``freeze recommended``). */
export const nameOf = (code) => (code === null || code === undefined ? '' : NAMES[code] || String(code).replaceAll('_', ' '));

/** Capitalised name of a node kind. */
export const kindName = (kind) => {
  const name = nameOf(kind);
  return name.charAt(0).toUpperCase() + name.slice(1);
};

const STEP_NAMES = {
  open: 'Opened', assign: 'Assigned', recommend: 'Recommended', decide: 'Decided', escalate: 'Escalated',
  appeal: 'Appeal filed', close: 'Closed',
};
export const stepName = (action) => STEP_NAMES[action] || nameOf(action);

export function fmtTime(value) {
  if (value === null || value === undefined || value === '') return '—';
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** The UTC day of a time, YYYY-MM-DD. */
export function fmtDay(value) {
  const text = fmtTime(value);
  return text === '—' ? text : text.slice(0, 10);
}

/** Seconds since an epoch time (or an ISO string). */
export function ageSeconds(value, now = Date.now() / 1000) {
  const at = typeof value === 'number' ? value : Date.parse(value) / 1000;
  return Number.isNaN(at) ? null : Math.max(0, now - at);
}

/** "40 s", "12 min", "5 h", "3 d". */
export function fmtAge(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400 * 2) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

export const fmtScore = (s) => (s === null || s === undefined ? '—' : Number(s).toFixed(3));
export const fmtAmount = (a) => (a === null || a === undefined ? '' : Number(a).toLocaleString('en'));
export const fmtShare = (x) => `${Math.round(100 * Number(x))}%`;
export const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
export const truncate = (text, n) => (String(text).length > n ? `${String(text).slice(0, n - 1)}…` : String(text));

export const kindOf = (nodeId) => {
  const id = String(nodeId);
  if (id.startsWith('RING-')) return 'ring';
  return id.includes(':') ? id.split(':')[0] : '';
};
export const keyOf = (nodeId) => String(nodeId).slice(String(nodeId).indexOf(':') + 1);

/**
 * A short stable tag for a node: the first four characters of its key (a keyed hash,
 * so they reveal nothing). Every device may read ``dfp-******``; the tag tells them apart.
 */
export const tagOf = (nodeId) => keyOf(nodeId).slice(0, 4).toLowerCase();

/** "Device dfp-****** #a1b2": kind, masked value and tag, for tooltips and graph labels. */
export function nodeText(nodeId, display) {
  const kind = kindOf(nodeId);
  if (kind === 'ring') return `Ring ${nodeId}`;
  return `${kindName(kind)} ${display || ''} #${tagOf(nodeId)}`.replace(/\s+/g, ' ');
}

export function hashFor(nodeId) {
  const kind = kindOf(nodeId);
  const id = encodeURIComponent(nodeId);
  if (kind === 'ring') return `#/ring/${id}`;
  if (kind === 'applicant') return `#/applicant/${id}`;
  return `#/node/${id}`;
}
