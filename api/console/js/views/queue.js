/*
 * The case queue (GET /v1/cases): mine, unassigned or all, by status and layer
 * (asked of the API), by the tier of the alert a case came from and by age
 * (filtered here), most recently updated or oldest first.
 */

import {get, query} from '../api.js';
import {el} from '../dom.js';
import {ageSeconds, fmtAge, fmtTime, nameOf} from '../format.js';
import {vocabulary} from '../vocabulary.js';
import {caseBadge, caseLink, layerBadge, muted, nodeChip, select, table, tierBadge} from '../widgets.js';

const SCOPES = [['mine', 'Mine'], ['unassigned', 'Unassigned'], ['all', 'All']];
const AGES = [['', 'any age'], ['3600', 'older than 1 hour'], ['86400', 'older than 1 day'], ['604800', 'older than 7 days']];
const ACTIVE = 'active';

export async function render(ctx) {
  const p = ctx.params;
  const scope = SCOPES.some(([s]) => s === p.get('scope')) ? p.get('scope') : 'all';
  const status = p.has('status') ? p.get('status') : ACTIVE;
  const layer = p.get('layer') || '';
  const tier = p.get('tier') || '';
  const age = p.get('age') || '';
  const sort = p.get('sort') === 'oldest' ? 'oldest' : 'updated';
  const owner = scope === 'mine' ? ctx.session.actor : scope === 'unassigned' ? '' : undefined;
  const found = await get(`/v1/cases${query({
    owner, layer: layer || undefined, status: status && status !== ACTIVE ? status : undefined, limit: 1000,
  })}`);
  const now = Date.now() / 1000;
  const tiers = [...new Set(found.map((c) => c.tier).filter(Boolean))];
  let cases = found.filter((c) => (status !== ACTIVE || c.status !== 'closed')
    && (!tier || (tier === 'none' ? !c.tier : c.tier === tier))
    && (!age || ageSeconds(c.opened_at, now) >= Number(age)));
  if (sort === 'oldest') cases = cases.slice().sort((a, b) => a.opened_at - b.opened_at);

  const params = (changes) => `#/cases${query({scope, status, layer: layer || undefined, tier: tier || undefined,
    age: age || undefined, sort: sort === 'oldest' ? 'oldest' : undefined, ...changes})}`;
  const filter = el('form', {id: 'queue-filter', class: 'toolbar', 'data-testid': 'queue-filter'},
    el('label', {for: 'queue-status'}, 'Status'),
    select({id: 'queue-status', name: 'status', 'data-testid': 'queue-status'},
      [[ACTIVE, 'not closed'], ['', 'any'], ...(vocabulary.CaseStatus || []).map((s) => [s, nameOf(s)])], status),
    el('label', {for: 'queue-layer'}, 'Layer'),
    select({id: 'queue-layer', name: 'layer', 'data-testid': 'queue-layer'},
      [['', 'any'], ...(vocabulary.CaseLayer || []).map((l) => [l, nameOf(l)])], layer),
    el('label', {for: 'queue-tier'}, 'Alert tier'),
    select({id: 'queue-tier', name: 'tier', 'data-testid': 'queue-tier'},
      [['', 'any'], ...tiers.map((t) => [t, nameOf(t)]), ['none', 'not from an alert']], tier),
    el('label', {for: 'queue-age'}, 'Age'),
    select({id: 'queue-age', name: 'age', 'data-testid': 'queue-age'}, AGES, age),
    el('label', {for: 'queue-sort'}, 'Order'),
    select({id: 'queue-sort', name: 'sort', 'data-testid': 'queue-sort'},
      [['updated', 'recently updated first'], ['oldest', 'oldest first']], sort));
  filter.addEventListener('change', () => {
    const f = filter.elements;
    ctx.go(params({status: f.status.value, layer: f.layer.value || undefined, tier: f.tier.value || undefined,
      age: f.age.value || undefined, sort: f.sort.value === 'oldest' ? 'oldest' : undefined}));
  });

  const rows = cases.map((c) => el('tr', {'data-testid': 'case-row', 'data-case-id': c.case_id, 'data-status': c.status,
    'data-layer': c.layer, 'data-owner': c.owner || '', 'data-tier': c.tier || ''},
  el('td', {}, caseLink(c.case_id)),
  el('td', {}, nodeChip(c.subject, c.subject_display)),
  el('td', {}, c.tier ? tierBadge(c.tier) : muted(nameOf(c.source))),
  el('td', {}, caseBadge(c.status), c.outcome ? ` ${nameOf(c.outcome)}` : ''),
  el('td', {}, layerBadge(c.layer)),
  el('td', {}, c.owner ? (c.owner === ctx.session.actor ? 'you' : c.owner) : muted('unassigned')),
  el('td', {class: 'when', title: fmtTime(c.opened_at)}, fmtAge(ageSeconds(c.opened_at, now))),
  el('td', {class: 'when'}, fmtTime(c.updated_at))));

  ctx.show(el('div', {id: 'queue-view', 'data-testid': 'queue-view', 'data-scope': scope},
    el('nav', {class: 'scopes', 'aria-label': 'Whose cases'}, SCOPES.map(([s, text]) => el('a', {href: params({scope: s}),
      class: s === scope ? 'scope active' : 'scope', 'aria-current': s === scope ? 'page' : null,
      'data-testid': `scope-${s}`}, text))),
    filter,
    table(['Case', 'Subject', 'Tier / source', 'Status', 'Layer', 'Owner', 'Age', 'Updated'], rows,
      {empty: scope === 'mine' ? 'No case is assigned to you.' : 'No case matches.', testid: 'queue-table', id: 'queue-table'}),
    el('p', {class: 'hint muted'}, 'Open a case from an alert, an applicant, an identifier or a ring. ',
      el('a', {href: `#/alerts`}, 'Open alerts'), '.')));
}
