/*
 * A ring of a batch run: why it scored as it did in plain words, a picture of its
 * members and the identifiers they share (confirmed fraud highlighted), members
 * and identifiers listed, its cases and "Open case"; the internal features stay in
 * a collapsed "details".
 */

import {enc, get, query} from '../api.js';
import {el, svgEl} from '../dom.js';
import {fmtScore, fmtShare, kindOf, nameOf, plural} from '../format.js';
import {casesList, openCaseForm} from '../forms.js';
import {drawGraph, legendItems} from '../graph.js';
import {card, facts, nodeChip, problemBox, renderValue, statusBadge, table} from '../widgets.js';

export async function render(ctx) {
  const ring = await get(`/v1/rings/${enc(ctx.arg)}`);
  const cases = await get(`/v1/cases${query({subject: ring.ring_id, limit: 20})}`);
  const members = ring.members.map((m) => ({node_id: m.node_id, display: m.display, status: m.status}));
  ctx.show(el('div', {class: 'ring-page'},
    el('p', {}, el('a', {href: '#/rings'}, '← all rings')),
    card({id: 'ring-detail', 'data-testid': 'ring-detail', 'data-ring-id': ring.ring_id},
      el('header', {class: 'subject-head'}, el('h2', {}, `Ring ${ring.ring_id}`),
        el('span', {class: 'badge score-badge'}, `score ${fmtScore(ring.score)}`)),
      el('p', {class: 'summary', id: 'ring-summary', 'data-testid': 'ring-summary'}, ringSummary(ring, members)),
      facts([['Members', String(ring.size)], ['Shared identifiers', String(ring.identifiers.length)], ['Run', ring.run_id]])),
    ringPicture(ctx, members, ring.identifiers),
    card({class: 'ring-lists'},
      el('h3', {}, 'Members'),
      table(['Applicant', 'Label'], members.map((m) => el('tr', {'data-testid': 'ring-member', 'data-node-id': m.node_id,
        'data-status': m.status || ''}, el('td', {}, nodeChip(m.node_id, m.display)), el('td', {}, statusBadge(m.status) || '—'))),
      {testid: 'ring-members'}),
      el('h3', {}, 'Shared identifiers'),
      ring.identifiers.length ? el('ul', {class: 'chips'}, ring.identifiers.map((i) => el('li', {'data-testid': 'ring-identifier',
        'data-node-id': i.node_id}, nodeChip(i.node_id, i.display)))) : el('p', {class: 'muted'}, 'none recorded')),
    card({class: 'ring-cases'}, el('h3', {}, 'Cases'), casesList(cases),
      openCaseForm({subject: ring.ring_id}, (c) => ctx.go(`#/case/${enc(c.case_id)}`))),
    el('details', {class: 'card details', 'data-testid': 'ring-features'}, el('summary', {}, 'Details: the measured features'),
      renderValue(Object.fromEntries(Object.entries(ring.features).filter(([k]) => k !== 'summary'))),
      ring.lineage && Object.keys(ring.lineage).length ? [el('h4', {}, 'Lineage'), renderValue(ring.lineage)] : null)));
}

/**
 * Why a ring scored as it did: the batch run's own summary (``features.summary``), else a
 * sentence built from its size, confirmed-fraud share and what the members share.
 */
export function ringSummary(ring, members) {
  const summary = ring.features && ring.features.summary;
  if (summary) return summary;
  const confirmed = members.filter((m) => m.status === 'confirmed_fraud').length;
  const kinds = {};
  for (const i of ring.identifiers) kinds[kindOf(i.node_id)] = (kinds[kindOf(i.node_id)] || 0) + 1;
  const shared = Object.entries(kinds).map(([k, n]) => plural(n, nameOf(k))).join(', ') || 'no identifier recorded';
  const fraud = confirmed ? `${confirmed} of them (${fmtShare(confirmed / Math.max(1, members.length))}) confirmed fraud`
    : 'none of them confirmed fraud yet';
  return `${plural(members.length, 'applicant')} linked by what they share (${shared}); ${fraud}. `
    + `Ring score ${fmtScore(ring.score)}.`;
}

/**
 * A picture of a ring: its members and shared identifiers, linked where a member used the
 * identifier (GET /v1/nodes/{id}/applicants of each identifier); confirmed fraud highlighted.
 */
const PICTURE_IDENTIFIERS = 80; // one request each for who used it

export function ringPicture(ctx, members, allIdentifiers) {
  const identifiers = allIdentifiers.slice(0, PICTURE_IDENTIFIERS);
  const svg = svgEl('svg', {id: 'ring-svg', class: 'ring-svg', 'data-testid': 'ring-svg', role: 'img',
    'aria-label': 'Members of the ring and the identifiers they share', viewBox: '0 0 900 520'});
  const note = el('p', {class: 'muted', 'data-testid': 'ring-picture-note'}, 'Drawing…');
  const kinds = [...new Set(['applicant', ...identifiers.map((i) => kindOf(i.node_id))])];
  const panel = card({class: 'ring-picture', 'data-testid': 'ring-picture'}, el('h3', {}, 'Picture'), svg,
    el('ul', {class: 'legend', 'aria-label': 'Legend'}, legendItems(kinds).map(([shape, cls, text]) => el('li', {},
      el('span', {class: `${shape} ${cls}`}), text))),
    note);
  const memberIds = new Set(members.map((m) => m.node_id));
  Promise.all(identifiers.map((i) => get(`/v1/nodes/${enc(i.node_id)}/applicants${query({limit: 500})}`)
    .then((users) => ({i, users}), (err) => ({i, err}))))
    .then((answers) => {
      if (!ctx.live()) return;
      const edges = [];
      const failed = answers.find((a) => a.err);
      const nodes = [
        ...members.map((m) => ({id: m.node_id, kind: 'applicant', display: m.display, status: m.status})),
        ...answers.map(({i, users}) => ({id: i.node_id, kind: kindOf(i.node_id), display: i.display,
          applicants: users ? users.length : undefined, hub: false})),
      ];
      for (const {i, users} of answers) {
        for (const u of users || []) if (memberIds.has(u.applicant_id)) edges.push({source: u.applicant_id, target: i.node_id});
      }
      drawGraph(svg, {nodes, edges}, {width: 900, height: 520, onOpen: (id) => ctx.go(`#/${kindOf(id) === 'applicant'
        ? 'applicant' : 'node'}/${enc(id)}`)});
      const confirmed = members.filter((m) => m.status === 'confirmed_fraud').length;
      note.replaceChildren(failed ? problemBox(failed.err) : `${plural(members.length, 'member')} (${confirmed} confirmed `
        + `fraud, in red), ${plural(identifiers.length, 'shared identifier')}`
        + `${allIdentifiers.length > identifiers.length ? ` (of ${allIdentifiers.length})` : ''}, `
        + `${plural(edges.length, 'link')}. Click a node to open it.`);
    });
  return panel;
}
