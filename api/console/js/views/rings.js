/*
 * Rings of the latest batch run, highest score first, each with the sentence that
 * says why it scored as it did.
 */

import {enc, get, query} from '../api.js';
import {el} from '../dom.js';
import {fmtScore, truncate} from '../format.js';
import {table} from '../widgets.js';

export async function render(ctx) {
  const minScore = Math.min(1, Math.max(0, Number(ctx.params.get('min_score')) || 0));
  const rings = await get(`/v1/rings${query({min_score: minScore})}`);
  const filter = el('form', {id: 'rings-filter', class: 'toolbar'},
    el('label', {for: 'rings-min-score'}, 'Minimum score'),
    el('input', {id: 'rings-min-score', name: 'min_score', type: 'number', min: 0, max: 1, step: 0.05, value: minScore}),
    el('button', {type: 'submit', 'data-testid': 'rings-refresh'}, 'Refresh'));
  filter.addEventListener('submit', (event) => {
    event.preventDefault();
    ctx.go(`#/rings${query({min_score: filter.elements.min_score.value || 0})}`);
  });
  ctx.show(el('div', {id: 'rings-view'}, filter,
    table(['Ring', 'Members', 'Score', 'Why', 'Run'], rings.map((r) => el('tr', {'data-testid': 'ring-row', 'data-ring-id': r.ring_id},
      el('td', {}, el('a', {href: `#/ring/${enc(r.ring_id)}`}, r.ring_id)),
      el('td', {class: 'num'}, String(r.size)),
      el('td', {class: 'num'}, fmtScore(r.score)),
      el('td', {class: 'why', title: (r.features && r.features.summary) || ''},
        truncate((r.features && r.features.summary) || '', 180)),
      el('td', {class: 'muted'}, r.run_id))),
    {empty: 'No rings yet. Rings are written by the batch ring-detection run.', testid: 'rings-table', id: 'rings-table'})));
}
