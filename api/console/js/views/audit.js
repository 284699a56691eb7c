/*
 * The append-only audit log (admins): who did what to which subject, and why.
 * A subject that is a case links to the case; a node shows as its kind and tag.
 */

import {get, query} from '../api.js';
import {el} from '../dom.js';
import {fmtTime} from '../format.js';
import {caseLink, nodeChip, renderValue, select, table} from '../widgets.js';

const NODE = /^(applicant|device|phone|email|employer|address|ip|bank_account):/;

function subjectCell(subject) {
  if (/^CS-/.test(subject)) return caseLink(subject);
  if (/^RING-/.test(subject) || NODE.test(subject)) return nodeChip(subject);
  return subject;
}

export async function render(ctx) {
  const subject = (ctx.params.get('subject') || '').trim();
  const limit = ['50', '100', '500'].includes(ctx.params.get('limit')) ? ctx.params.get('limit') : '100';
  const events = await get(`/v1/audit${query({subject: subject || undefined, limit})}`);
  const form = el('form', {id: 'audit-filter', class: 'toolbar', 'data-default-field': 'subject'},
    el('label', {for: 'audit-subject'}, 'Subject'),
    el('input', {id: 'audit-subject', name: 'subject', type: 'search', value: subject, spellcheck: 'false',
      placeholder: 'case id, node id, alert id… (empty: everything)', 'data-testid': 'audit-subject'}),
    el('label', {for: 'audit-limit'}, 'Rows'),
    select({id: 'audit-limit', name: 'limit'}, [['50', '50'], ['100', '100'], ['500', '500']], limit),
    el('button', {type: 'submit', 'data-testid': 'audit-refresh'}, 'Load'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    ctx.go(`#/audit${query({subject: form.elements.subject.value.trim() || undefined, limit: form.elements.limit.value})}`);
  });
  ctx.show(el('div', {id: 'audit-view'}, form,
    table(['#', 'At', 'Actor', 'Action', 'Subject', 'Detail'], events.map((e) => el('tr', {'data-testid': 'audit-row',
      'data-action': e.action, 'data-subject': e.subject, 'data-actor': e.actor},
    el('td', {class: 'num'}, String(e.seq)),
    el('td', {class: 'when'}, fmtTime(e.at)),
    el('td', {}, e.actor === ctx.session.actor ? `${e.actor} (you)` : e.actor),
    el('td', {}, el('code', {}, e.action)),
    el('td', {}, subjectCell(e.subject)),
    el('td', {class: 'detail'}, renderValue(e.detail)))),
    {empty: 'No audit events.', testid: 'audit-table', id: 'audit-table'})));
}
