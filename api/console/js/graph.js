/*
 * Graph layout and SVG drawing: a deterministic force-directed layout and one
 * drawer for every picture of people and the identifiers they share (an
 * applicant's or identifier's network, a ring's members).
 *
 * A node to draw is {id, kind, display, status, applicants, applications, hub};
 * an edge is {source, target, type, ts}. Applicants are circles, identifiers
 * squares coloured by kind; a label (confirmed fraud, cleared, allow-listed)
 * overrides the colour and adds a halo, so confirmed fraud reads at a glance.
 */

import {svgEl} from './dom.js';
import {fmtTime, kindName, nameOf, nodeText, tagOf, truncate} from './format.js';

export const GRAPH_W = 900;
export const GRAPH_H = 640;

/**
 * Identifiers used by more applicants than this are hubs (graph/vocabulary.py HUB_LIMIT);
 * the API's own ``hub`` flag wins where it sends one.
 */
const HUB_APPLICANTS = 30;
// Above these sizes the drawing stops labelling applicants, then identifiers (the root and hubs always are).
const LABEL_APPLICANTS_UP_TO = 24;
const LABEL_IDENTIFIERS_UP_TO = 60;

/**
 * Fruchterman–Reingold with cooling, started from a spiral in the given node order,
 * so the same graph is always drawn the same way.
 */
export function forceLayout(nodes, edges) {
  const n = nodes.length;
  const index = new Map(nodes.map((node, i) => [node.id, i]));
  const pos = nodes.map((_, i) => {
    const r = 30 * Math.sqrt(i + 0.5);
    const a = i * 2.399963; // golden angle
    return {x: r * Math.cos(a), y: r * Math.sin(a)};
  });
  const links = edges.map((e) => [index.get(e.source), index.get(e.target)])
    .filter(([s, t]) => s !== undefined && t !== undefined && s !== t);
  const k = 70; // preferred edge length
  const iterations = n > 150 ? 180 : 300;
  let temperature = 60;
  const dx = new Float64Array(n);
  const dy = new Float64Array(n);
  for (let it = 0; it < iterations; it++) {
    dx.fill(0);
    dy.fill(0);
    for (let i = 0; i < n; i++) { // every pair repels
      for (let j = i + 1; j < n; j++) {
        let x = pos[i].x - pos[j].x;
        let y = pos[i].y - pos[j].y;
        let d2 = x * x + y * y;
        if (d2 < 0.01) { x = 0.1 * (i - j); y = 0.1; d2 = x * x + y * y; }
        const f = (k * k) / d2;
        dx[i] += x * f; dy[i] += y * f;
        dx[j] -= x * f; dy[j] -= y * f;
      }
    }
    for (const [s, t] of links) { // linked nodes attract
      const x = pos[s].x - pos[t].x;
      const y = pos[s].y - pos[t].y;
      const d = Math.sqrt(x * x + y * y) || 0.01;
      const f = d / k;
      dx[s] -= x * f; dy[s] -= y * f;
      dx[t] += x * f; dy[t] += y * f;
    }
    for (let i = 0; i < n; i++) { // a gentle pull to the centre keeps components together
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

/** Scales layout coordinates into the drawing area, keeping the aspect ratio. */
export function fitToBox(pos, width, height, pad) {
  if (!pos.length) return pos;
  const xs = pos.map((p) => p.x);
  const ys = pos.map((p) => p.y);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const scale = Math.min((width - 2 * pad) / (maxX - minX || 1), (height - 2 * pad) / (maxY - minY || 1), 1.6);
  const offX = (width - (maxX - minX) * scale) / 2;
  const offY = (height - (maxY - minY) * scale) / 2;
  return pos.map((p) => ({x: offX + (p.x - minX) * scale, y: offY + (p.y - minY) * scale}));
}

/** Nodes and edges of a /network answer in the drawer's shape. */
export function fromNetwork(network) {
  return {
    nodes: network.nodes.map((n) => ({
      id: n.id, kind: n.kind, display: n.label, status: (n.props || {}).status || null,
      applicants: (n.props || {}).applicants, applications: (n.props || {}).applications, hub: (n.props || {}).hub,
    })),
    edges: network.edges,
  };
}

function isHub(node) {
  if (node.kind === 'applicant') return false;
  if (typeof node.hub === 'boolean') return node.hub;
  return node.applicants > HUB_APPLICANTS;
}

function tooltip(node) {
  return [
    nodeText(node.id, node.display),
    node.status ? `label: ${nameOf(node.status)}` : null,
    node.kind === 'applicant'
      ? (node.applications !== undefined ? `${node.applications} application(s)` : null)
      : (node.applicants !== undefined ? `${node.applicants} applicant(s)` : null),
  ].filter(Boolean).join('\n');
}

function nodeCaption(node, labelled, hub) {
  if (hub) return `${kindName(node.kind)} · ${node.applicants} applicants`;
  if (!labelled) return null;
  const text = node.kind === 'applicant' ? `${node.display || ''} #${tagOf(node.id)}` : `${kindName(node.kind)} #${tagOf(node.id)}`;
  return truncate(text.trim(), 24);
}

/**
 * Draws ``graph`` into ``svg`` (replacing what was there). ``onOpen(nodeId)`` runs on a
 * click or Enter on a node; ``rootId`` is drawn bold.
 */
export function drawGraph(svg, graph, {rootId = null, onOpen = null, width = GRAPH_W, height = GRAPH_H} = {}) {
  const {nodes, edges} = graph;
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const pos = fitToBox(forceLayout(nodes, edges), width, height, 40);
  const at = new Map(nodes.map((node, i) => [node.id, pos[i]]));
  const labelApplicants = nodes.length <= LABEL_APPLICANTS_UP_TO;
  const labelIdentifiers = nodes.length <= LABEL_IDENTIFIERS_UP_TO;

  const edgeLayer = svgEl('g', {class: 'edges'}, edges.filter((e) => at.has(e.source) && at.has(e.target)).map((e) => {
    const [a, b] = [at.get(e.source), at.get(e.target)];
    return svgEl('line', {class: `edge edge-${e.type || 'link'}`, x1: a.x.toFixed(1), y1: a.y.toFixed(1),
      x2: b.x.toFixed(1), y2: b.y.toFixed(1), 'data-source': e.source, 'data-target': e.target},
    svgEl('title', {}, `${e.type || 'shares'}${e.ts ? ` · ${fmtTime(e.ts)}` : ''}`));
  }));

  const nodeLayer = svgEl('g', {class: 'nodes'}, nodes.map((node, i) => {
    const p = pos[i];
    const applicant = node.kind === 'applicant';
    const hub = isHub(node);
    const root = node.id === rootId;
    const r = applicant ? 11 : hub ? 5 : 8;
    const classes = ['node', `kind-${node.kind}`, node.status ? `status-${node.status}` : '', hub ? 'hub' : '',
      root ? 'root' : ''].filter(Boolean).join(' ');
    const tip = tooltip(node);
    const shape = applicant
      ? svgEl('circle', {class: 'shape', r})
      : svgEl('rect', {class: 'shape', x: -r, y: -r, width: 2 * r, height: 2 * r, rx: 2});
    const halo = node.status ? svgEl('circle', {class: 'halo', r: r + 5}) : null;
    const caption = nodeCaption(node, root || (applicant ? labelApplicants : labelIdentifiers), hub);
    const g = svgEl('g', {class: classes, transform: `translate(${p.x.toFixed(1)},${p.y.toFixed(1)})`,
      'data-testid': 'graph-node', 'data-node-id': node.id, 'data-kind': node.kind, 'data-status': node.status || '',
      tabindex: onOpen ? 0 : null, role: onOpen ? 'button' : 'img', 'aria-label': tip.replaceAll('\n', ', ')},
    svgEl('title', {}, tip), halo, shape,
    caption ? svgEl('text', {class: 'node-label', y: r + 13, 'text-anchor': 'middle'}, caption) : null);
    if (onOpen) {
      g.addEventListener('click', () => onOpen(node.id));
      g.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); onOpen(node.id); }
      });
    }
    return g;
  }));
  svg.replaceChildren(edgeLayer, nodeLayer);
}

/** The legend of the drawings (kinds present, and the labels). */
export function legendItems(kinds) {
  const items = kinds.map((kind) => [kind === 'applicant' ? 'swatch' : 'swatch square', `kind-${kind}`, kindName(kind)]);
  items.push(['swatch', 'status-confirmed_fraud', 'confirmed fraud'], ['swatch', 'status-cleared', 'cleared'],
    ['swatch', 'status-allow_listed', 'allow-listed']);
  return items;
}
