/*
 * Simple SVG bar charts for the overview: stacked vertical bars (one per day or
 * age bucket) and stacked horizontal bars (one per channel or product), with
 * axes, tick labels and a legend. Every bar segment carries its count in
 * ``data-count`` and a tooltip.
 */

import {el, svgEl} from './dom.js';
import {nameOf} from './format.js';

/** Groups ``rows`` into {categories, series, value(category, series)} by two keys, summing ``count``. */
export function pivot(rows, categoryKey, seriesKey, {categoryOrder = null, seriesOrder = null} = {}) {
  const sums = new Map();
  const categories = [];
  const series = [];
  for (const row of rows) {
    const c = String(row[categoryKey]);
    const s = String(row[seriesKey]);
    if (!categories.includes(c)) categories.push(c);
    if (!series.includes(s)) series.push(s);
    sums.set(`${c}\u0000${s}`, (sums.get(`${c}\u0000${s}`) || 0) + Number(row.count || 0));
  }
  const order = (found, wanted) => (wanted ? [...wanted.filter((w) => found.includes(w)), ...found.filter((f) => !wanted.includes(f))] : found);
  return {
    categories: order(categories, categoryOrder),
    series: order(series, seriesOrder),
    value: (c, s) => sums.get(`${c}\u0000${s}`) || 0,
  };
}

function niceMax(value) {
  if (value <= 5) return Math.max(1, Math.ceil(value));
  const step = 10 ** Math.floor(Math.log10(value));
  return Math.ceil(value / step) * step;
}

function legend(series, family) {
  return el('ul', {class: 'legend chart-legend'}, series.map((s) => el('li', {},
    el('span', {class: `swatch square ${family}-${s}`}), nameOf(s))));
}

/**
 * Vertical stacked bars: one bar per category, one segment per series.
 * ``family`` names the colour classes of the series (``band``, ``tier``, ``layer``...).
 */
export function columnChart(table, {family, title, testid, height = 220, formatCategory = String}) {
  const {categories, series, value} = table;
  const width = Math.max(360, Math.min(1100, 60 + categories.length * 28));
  const [left, bottom, top] = [44, 46, 10];
  const plotH = height - bottom - top;
  const totals = categories.map((c) => series.reduce((sum, s) => sum + value(c, s), 0));
  const max = niceMax(Math.max(0, ...totals));
  const band = (width - left - 10) / Math.max(1, categories.length);
  const barW = Math.max(4, Math.min(36, band * 0.7));
  const y = (v) => top + plotH - (v / max) * plotH;
  const ticks = [0, max / 2, max].map((t) => svgEl('g', {class: 'tick'},
    svgEl('line', {x1: left - 4, x2: width - 10, y1: y(t), y2: y(t)}),
    svgEl('text', {x: left - 6, y: y(t) + 4, 'text-anchor': 'end'}, String(Math.round(t)))));
  const every = Math.ceil(categories.length / 16); // at most ~16 category labels
  const bars = categories.map((c, i) => {
    const x = left + i * band + (band - barW) / 2;
    let base = 0;
    const segments = series.map((s) => {
      const v = value(c, s);
      if (!v) return null;
      const rect = svgEl('rect', {class: `bar ${family}-${s}`, x: x.toFixed(1), y: y(base + v).toFixed(1), width: barW.toFixed(1),
        height: Math.max(0.5, y(base) - y(base + v)).toFixed(1), 'data-testid': 'bar', 'data-category': c, 'data-series': s,
        'data-count': v}, svgEl('title', {}, `${formatCategory(c)} · ${nameOf(s)}: ${v}`));
      base += v;
      return rect;
    });
    const label = i % every === 0
      ? svgEl('text', {class: 'category', x: (x + barW / 2).toFixed(1), y: height - bottom + 14, 'text-anchor': 'middle'},
        formatCategory(c))
      : null;
    return svgEl('g', {class: 'column'}, segments, label);
  });
  const svg = svgEl('svg', {class: 'chart', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    'aria-label': title, 'data-testid': testid},
  svgEl('g', {class: 'axis'}, ticks, svgEl('line', {x1: left, x2: left, y1: top, y2: top + plotH})),
  bars);
  return el('figure', {class: 'chart-figure'}, el('figcaption', {}, title), svg, legend(series, family));
}

/** Horizontal stacked bars: one row per category (a channel, a product), one segment per series. */
export function barChart(table, {family, title, testid, formatCategory = String}) {
  const {categories, series, value} = table;
  const [left, right, rowH] = [130, 50, 24];
  const width = 640;
  const height = 20 + categories.length * rowH;
  const totals = categories.map((c) => series.reduce((sum, s) => sum + value(c, s), 0));
  const max = niceMax(Math.max(0, ...totals));
  const x = (v) => left + (v / max) * (width - left - right);
  const rows = categories.map((c, i) => {
    const yy = 10 + i * rowH;
    let base = 0;
    const segments = series.map((s) => {
      const v = value(c, s);
      if (!v) return null;
      const rect = svgEl('rect', {class: `bar ${family}-${s}`, x: x(base).toFixed(1), y: yy, height: rowH - 6,
        width: Math.max(0.5, x(base + v) - x(base)).toFixed(1), 'data-testid': 'bar', 'data-category': c, 'data-series': s,
        'data-count': v}, svgEl('title', {}, `${formatCategory(c)} · ${nameOf(s)}: ${v}`));
      base += v;
      return rect;
    });
    return svgEl('g', {class: 'row'},
      svgEl('text', {class: 'category', x: left - 8, y: yy + rowH / 2, 'text-anchor': 'end'}, formatCategory(c)),
      segments,
      svgEl('text', {class: 'total', x: x(totals[i]) + 6, y: yy + rowH / 2}, String(totals[i])));
  });
  const svg = svgEl('svg', {class: 'chart', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    'aria-label': title, 'data-testid': testid}, rows);
  return el('figure', {class: 'chart-figure'}, el('figcaption', {}, title), svg, legend(series, family));
}

/** A category x series table of counts, with totals. */
export function pivotTable(table, {rowTitle, testid}) {
  const {categories, series, value} = table;
  const head = el('tr', {}, el('th', {}, rowTitle), series.map((s) => el('th', {class: 'num'}, nameOf(s))),
    el('th', {class: 'num'}, 'total'));
  const body = categories.map((c) => {
    const cells = series.map((s) => value(c, s));
    return el('tr', {'data-category': c}, el('th', {scope: 'row'}, nameOf(c)),
      cells.map((v, i) => el('td', {class: 'num', 'data-series': series[i], 'data-count': v}, String(v))),
      el('td', {class: 'num'}, String(cells.reduce((a, b) => a + b, 0))));
  });
  return el('table', {class: 'grid compact', 'data-testid': testid}, el('thead', {}, head),
    el('tbody', {}, body.length ? body : el('tr', {}, el('td', {colspan: series.length + 2, class: 'muted empty'}, 'none'))));
}
