/*
 * The network panel of an applicant's or identifier's page: nodes and edges
 * within 1–4 hops (GET /v1/applicants/{id}/network, /v1/nodes/{id}/network),
 * drawn by graph.js. Changing the depth redraws the panel only.
 */

import {enc, get} from '../api.js';
import {el, svgEl} from '../dom.js';
import {hashFor, kindOf} from '../format.js';
import {drawGraph, fromNetwork, legendItems} from '../graph.js';
import {card, problemBox} from '../widgets.js';

export function networkPanel(ctx, nodeId, depth) {
  const svg = svgEl('svg', {id: 'network-svg', 'data-testid': 'network-svg', role: 'img',
    'aria-label': 'Network of the opened node', viewBox: '0 0 900 640'});
  const summary = el('span', {id: 'network-summary', class: 'muted', 'data-testid': 'network-summary', 'aria-live': 'polite'});
  const slot = el('div', {class: 'problem-slot'});
  const depthSelect = el('select', {id: 'network-depth', 'data-testid': 'network-depth'},
    [1, 2, 3, 4].map((d) => el('option', {value: d, selected: d === depth}, `${d} hop${d > 1 ? 's' : ''}`)));
  const panel = card({id: 'network-panel', class: 'network-panel', 'data-testid': 'network-panel'},
    el('header', {class: 'network-head'}, el('h3', {}, 'Network'), el('label', {for: 'network-depth'}, 'Depth'),
      depthSelect, summary),
    slot, svg,
    el('ul', {class: 'legend', 'aria-label': 'Legend'}, legendItems(['applicant', 'device', 'phone', 'email', 'employer',
      'address', 'ip', 'bank_account']).map(([shape, cls, text]) => el('li', {}, el('span', {class: `${shape} ${cls}`}), text))),
    el('p', {class: 'hint muted'}, 'Click a node to open it. Dashed squares are hubs: counted, never expanded.'));

  const path = kindOf(nodeId) === 'applicant' ? `/v1/applicants/${enc(nodeId)}/network` : `/v1/nodes/${enc(nodeId)}/network`;
  let loads = 0;
  async function load(d) {
    const mine = ++loads;
    summary.textContent = 'Loading…';
    try {
      const network = await get(`${path}?depth=${d}`);
      if (mine !== loads || !ctx.live()) return;
      slot.replaceChildren();
      const graph = fromNetwork(network);
      drawGraph(svg, graph, {rootId: nodeId, onOpen: (id) => ctx.go(hashFor(id))});
      const applicants = graph.nodes.filter((n) => n.kind === 'applicant').length;
      const flagged = graph.nodes.filter((n) => n.status === 'confirmed_fraud').length;
      summary.dataset.applicants = String(applicants);
      summary.dataset.nodes = String(graph.nodes.length);
      summary.textContent = `${graph.nodes.length} nodes: ${applicants} applicant(s), ${graph.nodes.length - applicants} `
        + `identifier(s), ${graph.edges.length} link(s)${flagged ? `, ${flagged} confirmed fraud` : ''}`
        + `${network.truncated ? ' — truncated: open a node to see more' : ''}`;
    } catch (err) {
      if (mine !== loads || !ctx.live()) return;
      svg.replaceChildren();
      summary.textContent = '';
      slot.replaceChildren(problemBox(err));
    }
  }
  depthSelect.addEventListener('change', () => {
    const d = Number(depthSelect.value);
    const [base] = location.hash.split('?');
    history.replaceState(null, '', `${base}?depth=${d}`);
    load(d);
  });
  load(depth);
  return panel;
}
