/*
 * The neighbourhood of an applicant or identifier, aggregated (GET
 * /v1/nodes/{id}/reach?hops=1..3): each identifier of an applicant (or the
 * identifier itself), how many applicants use it, how many confirmed-fraud
 * applicants it reaches within the hops (links between people) and how near the
 * nearest of them is. Most confirmed fraud first.
 */

import {enc, get, query} from '../api.js';
import {el} from '../dom.js';
import {hashFor, plural} from '../format.js';
import {card, muted, nodeChip, table} from '../widgets.js';

const HOPS = [1, 2, 3];

export async function render(ctx) {
  const id = ctx.arg;
  const hops = HOPS.includes(Number(ctx.params.get('hops'))) ? Number(ctx.params.get('hops')) : 2;
  const [root, reach] = await Promise.all([get(`/v1/nodes/${enc(id)}`), get(`/v1/nodes/${enc(id)}/reach${query({hops})}`)]);
  const identifiers = reach.identifiers; // most confirmed fraud first, as the API orders them
  const incriminating = identifiers.filter((i) => i.confirmed_fraud > 0);
  const maxFraud = Math.max(1, ...identifiers.map((i) => i.confirmed_fraud));
  const hopsSelect = el('select', {id: 'reach-hops', 'data-testid': 'reach-hops', 'aria-label': 'Hops'},
    HOPS.map((h) => el('option', {value: h, selected: h === hops}, plural(h, 'link'))));
  hopsSelect.addEventListener('change', () => ctx.go(`#/reach/${enc(id)}?hops=${hopsSelect.value}`));
  const rows = identifiers.map((i) => el('tr', {'data-testid': 'reach-row', 'data-node-id': i.node_id,
    'data-confirmed-fraud': i.confirmed_fraud, 'data-applicants': i.applicants},
  el('td', {}, nodeChip(i.node_id, i.display)),
  el('td', {class: 'num'}, String(i.applicants)),
  el('td', {class: 'num fraud-cell'}, el('span', {class: 'inline-bar', style: `width:${Math.round(60 * i.confirmed_fraud / maxFraud)}px`}),
    ` ${i.confirmed_fraud}`),
  el('td', {}, nearestText(i.nearest)),
  el('td', {}, i.hub ? el('span', {class: 'badge hub-badge'}, 'hub') : '')));
  ctx.show(card({id: 'reach-view', 'data-testid': 'reach-view', 'data-node-id': reach.root, 'data-hops': reach.hops},
    el('header', {class: 'subject-head'},
      el('h2', {}, 'Neighbourhood of ', nodeChip(root.node_id, root.display)),
      el('label', {for: 'reach-hops'}, 'Within'), hopsSelect,
      el('a', {href: hashFor(root.node_id)}, 'back to the page')),
    el('p', {class: 'summary', 'data-testid': 'reach-summary'},
      `Within ${plural(reach.hops, 'link')} between people, ${incriminating.length} of ${plural(identifiers.length, 'identifier')} `
      + `reach confirmed-fraud applicants${incriminating.length ? ` (up to ${maxFraud} through one identifier)` : ''}.`),
    reach.truncated ? el('p', {class: 'note', 'data-testid': 'reach-truncated'}, 'The walk stopped before the last hop: '
      + 'too many applicants to expand. The counts are a lower bound.') : null,
    table(['Identifier', 'Its applicants', 'Confirmed fraud within reach', 'Nearest of them', ''], rows,
      {empty: 'No identifier to walk from.', testid: 'reach-table', id: 'reach-table'}),
    el('p', {class: 'hint muted'}, 'One link is one identifier shared by two people (1: one of its own users). Hubs '
      + '(very common identifiers) and cleared or allow-listed nodes are counted but never walked through.')));
}

function nearestText(value) {
  if (value === null || value === undefined) return muted('—');
  if (typeof value === 'number') return plural(value, 'link');
  if (typeof value === 'string') return nodeChip(value);
  return muted(JSON.stringify(value));
}
