import { ServiceError } from '../domain/errors';

/**
 * Batch size of a predict/infer request body: TF Serving / JSON `instances`, KServe v2 `inputs[0].shape[0]`,
 * TF Serving columnar `inputs`. Anything else counts as one prediction. A declared batch size that is not
 * a positive whole number is refused: it is what the call is billed and limited by.
 */
export function countInstances(body: unknown): number {
  const n = declaredInstances(body);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new ServiceError('invalid_request', `The batch size must be a positive whole number (got ${JSON.stringify(n)}).`, 'inputs');
  }
  return n;
}

function declaredInstances(body: unknown): number {
  if (!body || typeof body !== 'object') return 1;
  const b = body as { instances?: unknown; inputs?: unknown };
  if (Array.isArray(b.instances)) return b.instances.length;
  if (Array.isArray(b.inputs)) {
    const first = b.inputs[0] as { shape?: unknown } | undefined;
    if (first && Array.isArray(first.shape) && typeof first.shape[0] === 'number') return first.shape[0];
    return b.inputs.length;
  }
  if (b.inputs && typeof b.inputs === 'object') {
    const firstValue = Object.values(b.inputs)[0];
    if (Array.isArray(firstValue)) return firstValue.length;
  }
  return 1;
}

/** A unit count from a response header the model entry names; null when absent or not a whole number. */
export function unitsFromHeader(value: string | string[] | undefined): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\d+$/.test(text.trim())) return null;
  return Number(text.trim());
}
