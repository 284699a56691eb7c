/*
 * The overview for risk managers (GET /v1/overview?days=): decisions per day by
 * band and by action, by channel and by product; alerts and cases by tier,
 * status, layer and age; rings per batch run.
 */

import {get, query} from '../api.js';
import {el} from '../dom.js';
import {barChart, columnChart, pivot, pivotTable} from '../charts.js';
import {fmtTime} from '../format.js';
import {vocabulary} from '../vocabulary.js';
import {card, select, table} from '../widgets.js';

const DAYS = [['7', '7 days'], ['30', '30 days'], ['90', '90 days'], ['365', 'a year']];
const TIERS = ['watch', 'investigate', 'freeze_recommended'];

const shortDay = (day) => String(day).slice(5); // 2026-11-20 -> 11-20

export async function render(ctx) {
  const days = DAYS.some(([d]) => d === ctx.params.get('days')) ? ctx.params.get('days') : '30';
  const o = await get(`/v1/overview${query({days})}`);
  const bands = vocabulary.Band;
  const actions = vocabulary.Action;
  const picker = select({id: 'overview-days', 'data-testid': 'overview-days', 'aria-label': 'Period'}, DAYS, days);
  picker.addEventListener('change', () => ctx.go(`#/overview?days=${picker.value}`));
  const d = o.decisions;
  const total = d.by_day.reduce((sum, r) => sum + Number(r.count || 0), 0);
  const byDay = d.by_day.slice().sort((a, b) => String(a.day).localeCompare(String(b.day)));

  ctx.show(el('div', {id: 'overview-view', 'data-testid': 'overview-view', 'data-total-decisions': total},
    el('header', {class: 'subject-head'}, el('h2', {}, 'Overview'), el('label', {for: 'overview-days'}, 'Last'), picker,
      el('span', {class: 'muted'}, `since ${fmtTime(o.since)}`)),
    card({class: 'overview-decisions'}, el('h3', {}, `Decisions (${total})`),
      el('div', {class: 'charts'},
        columnChart(pivot(byDay, 'day', 'band', {seriesOrder: bands}), {family: 'band', title: 'Per day, by band',
          testid: 'chart-decisions-band', formatCategory: shortDay}),
        columnChart(pivot(byDay, 'day', 'action', {seriesOrder: actions}), {family: 'action', title: 'Per day, by action',
          testid: 'chart-decisions-action', formatCategory: shortDay}),
        barChart(pivot(d.by_channel, 'channel', 'band', {seriesOrder: bands}), {family: 'band', title: 'By channel',
          testid: 'chart-channel', formatCategory: (c) => (c === 'null' ? 'not given' : c)}),
        barChart(pivot(d.by_product, 'product', 'band', {seriesOrder: bands}), {family: 'band', title: 'By product',
          testid: 'chart-product', formatCategory: (c) => (c === 'null' ? 'not given' : c)}))),
    card({class: 'overview-alerts'}, el('h3', {}, 'Alerts'),
      el('div', {class: 'charts'},
        pivotTable(pivot(o.alerts.by_tier_status, 'tier', 'status', {categoryOrder: TIERS, seriesOrder: vocabulary.AlertStatus}),
          {rowTitle: 'tier', testid: 'table-alerts'}),
        columnChart(pivot(o.alerts.open_by_age, 'age', 'tier', {seriesOrder: TIERS}), {family: 'tier',
          title: 'Unresolved, by age', testid: 'chart-alerts-age'}))),
    card({class: 'overview-cases'}, el('h3', {}, 'Cases'),
      el('div', {class: 'charts'},
        pivotTable(pivot(o.cases.by_status_layer, 'status', 'layer', {categoryOrder: vocabulary.CaseStatus,
          seriesOrder: vocabulary.CaseLayer}), {rowTitle: 'status', testid: 'table-cases'}),
        columnChart(pivot(o.cases.open_by_age, 'age', 'layer', {seriesOrder: vocabulary.CaseLayer}), {family: 'layer',
          title: 'Open, by age', testid: 'chart-cases-age'}))),
    card({class: 'overview-rings'}, el('h3', {}, `Rings (${o.rings.active} active)`),
      table(['Run', 'At', 'Rings', 'Critical'], o.rings.runs.map((r) => el('tr', {'data-testid': 'ring-run', 'data-run-id': r.run_id},
        el('td', {}, r.run_id), el('td', {class: 'when'}, fmtTime(r.at)), el('td', {class: 'num'}, String(r.rings)),
        el('td', {class: 'num'}, String(r.critical)))), {empty: 'No ring run yet.', testid: 'table-ring-runs'}),
      o.rings.runs.length > 1 ? columnChart(pivot(o.rings.runs.flatMap((r) => [
        {run: r.run_id, kind: 'critical', count: r.critical}, {run: r.run_id, kind: 'other', count: r.rings - r.critical}]),
      'run', 'kind'), {family: 'rings', title: 'Rings per run', testid: 'chart-ring-runs'}) : null)));
}
