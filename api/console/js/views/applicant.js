/*
 * An applicant: masked display and tag, label, ring, the identifiers they used,
 * their cases, applications with every decision and its reasons, label actions,
 * "Open case" and the network around them.
 */

import {enc, get, query} from '../api.js';
import {el} from '../dom.js';
import {fmtAmount, fmtScore, fmtTime, nameOf} from '../format.js';
import {casesList, labelForm, openCaseForm} from '../forms.js';
import {bandBadge, card, facts, muted, nodeChip, renderValue, statusBadge, tag} from '../widgets.js';
import {networkPanel} from './network.js';

export async function render(ctx) {
  const id = ctx.arg;
  const depth = Number(ctx.params.get('depth')) || 2;
  const [applicant, cases] = await Promise.all([
    get(`/v1/applicants/${enc(id)}`),
    get(`/v1/cases${query({subject: id, limit: 20})}`),
  ]);
  const label = applicant.label;
  const result = el('div', {id: 'action-result', class: 'flash-slot', 'data-testid': 'action-result', 'aria-live': 'polite'},
    ctx.state.flash || null);
  ctx.show(el('div', {class: 'workbench'},
    el('div', {class: 'subject-column'},
      card({id: 'applicant-view', class: 'subject', 'data-testid': 'applicant-view', 'data-node-id': applicant.applicant_id,
        'data-status': label ? label.status : ''},
      el('header', {class: 'subject-head'},
        el('h2', {}, 'Applicant ', el('span', {class: 'masked', id: 'subject-display'}, applicant.display), ' ',
          tag(applicant.applicant_id)),
        statusBadge(label && label.status),
        applicant.ring ? el('a', {href: `#/ring/${enc(applicant.ring)}`, class: 'badge ring', 'data-testid': 'ring-link'},
          `ring ${applicant.ring}`) : null),
      facts([
        ['Applications', String(applicant.applications.length)],
        ['Ring', applicant.ring ? el('a', {href: `#/ring/${enc(applicant.ring)}`}, applicant.ring) : 'none'],
        ['Label', labelText(label)],
        ['Neighbourhood', el('a', {href: `#/reach/${enc(applicant.applicant_id)}?hops=2`, 'data-testid': 'reach-link'},
          'identifiers within 1–3 hops')],
        ctx.session.role === 'admin' ? ['Audit', el('a', {href: `#/audit?subject=${enc(applicant.applicant_id)}`},
          'audit trail')] : null,
      ]),
      applicant.identifiers.length ? el('div', {class: 'identifiers'}, el('h3', {}, 'Identifiers used'),
        el('ul', {class: 'chips'}, applicant.identifiers.map((i) => el('li', {'data-testid': 'identifier-link',
          'data-node-id': i.node_id}, nodeChip(i.node_id, i.display))))) : null,
      el('h3', {}, 'Cases'),
      casesList(cases),
      openCaseForm({subject: applicant.applicant_id}, (c) => ctx.go(`#/case/${enc(c.case_id)}`))),
      labelForm(applicant.applicant_id, true, label, (message) => ctx.refresh(message)),
      result,
      card({class: 'applications'}, el('h3', {}, 'Applications and decisions'),
        applicant.applications.slice().reverse().map((app, i) => applicationBlock(app, i === 0)))),
    networkPanel(ctx, applicant.applicant_id, depth)));
}

export function labelText(label) {
  if (!label) return muted('none');
  return el('span', {'data-testid': 'label-detail', 'data-status': label.status}, statusBadge(label.status),
    ` by ${label.by}, ${fmtTime(label.at)}: `, el('q', {}, label.reason));
}

function applicationBlock(app, open) {
  const latest = app.decisions.at(-1);
  return el('details', {class: 'application', 'data-testid': 'application', 'data-application-id': app.application_id, open},
    el('summary', {},
      el('strong', {}, app.application_id), ` · ${fmtTime(app.submitted_at)} · ${fmtAmount(app.amount)} ${app.product || ''}`,
      latest ? [' · ', bandBadge(latest.band), ` ${fmtScore(latest.score)} → ${nameOf(latest.action)}`] : ' · not scored'),
    app.decisions.length
      ? el('ol', {class: 'decisions'}, app.decisions.slice().reverse().map((d, i) => decisionBlock(d, open && i === 0)))
      : el('p', {class: 'muted'}, 'No decisions recorded.'));
}

function decisionBlock(decision, open) {
  return el('li', {},
    el('details', {class: 'decision', 'data-testid': 'decision', 'data-trigger': decision.trigger, 'data-at': decision.at, open},
      el('summary', {}, `${fmtTime(decision.at)} · ${decision.trigger} · `, bandBadge(decision.band),
        ` score ${fmtScore(decision.score)} · ${nameOf(decision.action)}`,
        el('span', {class: 'muted'}, ` · model ${decision.model_version}`)),
      reasonList(decision.reasons)));
}

export function reasonList(reasons) {
  if (!reasons.length) return el('p', {class: 'muted'}, 'No reasons: nothing unusual was found.');
  return el('ol', {class: 'reasons'}, reasons.map((reason) => el('li', {class: 'reason', 'data-testid': 'reason',
    'data-code': reason.code},
  el('p', {class: 'sentence'}, reason.sentence),
  el('p', {class: 'meta'}, el('code', {}, reason.code), ` · ${reason.detector} · strength ${fmtScore(reason.strength)}`
    + ` · contribution ${reason.contribution >= 0 ? '+' : ''}${Number(reason.contribution).toFixed(2)}`),
  el('details', {class: 'evidence'}, el('summary', {}, 'Evidence'), renderValue(reason.evidence)))));
}
