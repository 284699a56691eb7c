/*
 * The service's vocabularies, read from its OpenAPI document (the named enums:
 * CaseStatus, CaseLayer, AlertStatus, AlertMove, LookupKind, LabelStatus, Band,
 * Action), so the console never repeats them.
 */

import {ApiError} from './api.js';

export const vocabulary = {};

/**
 * What an analyst may recommend. The API names the outcomes a key may *decide*
 * on each case (``outcomes`` of GET /v1/cases/{id}) but has no enum of every
 * outcome; this mirrors ``OUTCOMES`` of api/service/review_policy.py, mildest first.
 */
export const RECOMMENDABLE = ['watch', 'limit_reduce', 'freeze', 'close', 'clear', 'confirmed_fraud'];

export async function loadVocabulary() {
  const response = await fetch('/openapi.json', {headers: {Accept: 'application/json'}});
  if (!response.ok) throw new ApiError(response.status, {title: 'No API description', detail: '/openapi.json did not load'});
  const schemas = (await response.json()).components.schemas;
  for (const [name, schema] of Object.entries(schemas)) if (Array.isArray(schema.enum)) vocabulary[name] = schema.enum;
  return vocabulary;
}
