/** A fake Stripe answer. */
export interface Reply {
  status: number;
  body: unknown;
}

/** What a handler gets. `body` is the decoded form (v1) or JSON (v2) body. */
export interface HandlerInput {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

/** A v1 error in Stripe's shape: `{"error":{"type","code","message","param"}}`. */
export function v1Error(status: number, type: string, message: string, extra: { code?: string; param?: string } = {}): Reply {
  return { status, body: { error: { type, message, ...(extra.code ? { code: extra.code } : {}), ...(extra.param ? { param: extra.param } : {}) } } };
}

/** A v2 error in Stripe's shape: `{"error":{"type","code","message"}}`. */
export function v2Error(status: number, type: string, code: string, message: string): Reply {
  return { status, body: { error: { type, code, message } } };
}

/** 200 with a body. */
export const ok = (body: unknown): Reply => ({ status: 200, body });
