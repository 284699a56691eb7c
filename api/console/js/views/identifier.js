/*
 * An identifier (device, phone, e-mail, employer, address, IP, bank account):
 * kind, masked value and tag, how many people used it, the applicants who used
 * it (GET /v1/nodes/{id}/applicants), its cases, label actions, "Open case" and
 * its network.
 */

import {enc, get, query} from '../api.js';
import {el} from '../dom.js';
import {fmtDay, fmtTime, kindName, plural} from '../format.js';
import {casesList, labelForm, openCaseForm} from '../forms.js';
import {card, facts, nodeChip, problemBox, statusBadge, table, tag} from '../widgets.js';
import {labelText} from './applicant.js';
import {networkPanel} from './network.js';

const APPLICANTS_SHOWN = 200;

export async function render(ctx) {
  const id = ctx.arg;
  const depth = Number(ctx.params.get('depth')) || 2;
  const [node, users, cases] = await Promise.all([
    get(`/v1/nodes/${enc(id)}`),
    get(`/v1/nodes/${enc(id)}/applicants${query({limit: APPLICANTS_SHOWN})}`).catch((err) => err),
    get(`/v1/cases${query({subject: id, limit: 20})}`),
  ]);
  if (node.kind === 'applicant') return ctx.go(`#/applicant/${enc(id)}`);
  const label = node.label;
  const result = el('div', {id: 'action-result', class: 'flash-slot', 'data-testid': 'action-result', 'aria-live': 'polite'},
    ctx.state.flash || null);
  return ctx.show(el('div', {class: 'workbench'},
    el('div', {class: 'subject-column'},
      card({id: 'node-view', class: 'subject', 'data-testid': 'node-view', 'data-node-id': node.node_id,
        'data-status': label ? label.status : ''},
      el('header', {class: 'subject-head'},
        el('h2', {}, kindName(node.kind), ' ', el('span', {class: 'masked', id: 'subject-display'}, node.display), ' ',
          tag(node.node_id)),
        statusBadge(label && label.status),
        node.hub ? el('span', {class: 'badge hub-badge', 'data-testid': 'hub-badge'}, 'hub') : null),
      facts([
        ['Applicants', String(node.applicants ?? '—')],
        ['Applications', String(node.applications ?? '—')],
        ['In the last 30 days', plural(node.applications_30d ?? 0, 'application')],
        ['Label', labelText(label)],
        ['Neighbourhood', el('a', {href: `#/reach/${enc(node.node_id)}?hops=2`, 'data-testid': 'reach-link'},
          'what it reaches within 1–3 hops')],
        ctx.session.role === 'admin' ? ['Audit', el('a', {href: `#/audit?subject=${enc(node.node_id)}`}, 'audit trail')] : null,
      ]),
      node.hub ? el('p', {class: 'note'}, `Used by ${node.applicants} applicants: a shared identifier this common is weak `
        + 'evidence of a ring.') : null,
      el('h3', {}, 'Who used it'),
      users instanceof Error ? problemBox(users) : applicantsTable(users, node.applicants),
      el('h3', {}, 'Cases'),
      casesList(cases),
      openCaseForm({subject: node.node_id}, (c) => ctx.go(`#/case/${enc(c.case_id)}`))),
      labelForm(node.node_id, false, label, (message) => ctx.refresh(message)),
      result),
    networkPanel(ctx, node.node_id, depth)));
}

function applicantsTable(users, total) {
  const rows = users.map((u) => {
    const status = u.label && typeof u.label === 'object' ? u.label.status : u.label;
    return el('tr', {'data-testid': 'identifier-applicant', 'data-node-id': u.applicant_id, 'data-status': status || ''},
      el('td', {}, nodeChip(u.applicant_id, u.display)),
      el('td', {class: 'num'}, String(u.applications)),
      el('td', {class: 'when', title: fmtTime(u.first_at)}, fmtDay(u.first_at)),
      el('td', {class: 'when', title: fmtTime(u.last_at)}, fmtDay(u.last_at)),
      el('td', {}, statusBadge(status) || '—'));
  });
  const more = users.length >= APPLICANTS_SHOWN && total > users.length
    ? el('p', {class: 'muted'}, `Showing the first ${users.length} of ${total} applicants.`) : null;
  return [table(['Applicant', 'Applications', 'First used', 'Last used', 'Label'], rows,
    {empty: 'Nobody has used it.', testid: 'identifier-applicants', id: 'identifier-applicants'}), more];
}
