import { Agent, request } from 'undici';
import type { Config } from '../../config';
import type { Db } from '../../db/types';
import { AlertRecorder } from '../../services/alerts/alert-recorder';
import { deliverDueWebhooks, type WebhookPolicy, type WebhookPost } from '../../services/alerts/webhook-delivery.service';

/** The background deliverer of alert webhooks. */
export interface WebhookWorker {
  /** Delivers due rows now rather than at the next poll (called when new alerts were written). */
  kick(): void;
  /**
   * Stops polling and lets attempts in flight finish for up to `graceMs`; any still running are cut off
   * (they stay pending, uncounted, and go out after the next start). Then closes connections.
   */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Polls `webhook_deliveries` for due rows (at most every second; more often when retries are configured
 * faster) and delivers them with undici on its own connection pool. The timer is unref'd, so it never
 * keeps the process alive on its own; a poll never overlaps the previous one.
 */
export function startWebhookWorker(options: {
  db: Db;
  now: () => number;
  policy: WebhookPolicy;
  log(level: 'info' | 'error', message: string, fields?: Record<string, unknown>): void;
}): WebhookWorker {
  const agent = new Agent({ connections: 8, keepAliveTimeout: 10_000 });
  const stopping = new AbortController();
  const post: WebhookPost = async (url, body, headers, timeoutMs) => {
    const res = await request(url, {
      method: 'POST',
      body,
      headers,
      dispatcher: agent,
      signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(timeoutMs)]),
    });
    await res.body.dump();
    return { status: res.statusCode };
  };
  const deps = { db: options.db, now: options.now, post, log: options.log };
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = deliverDueWebhooks(deps, options.policy, () => stopping.signal.aborted)
      .then(() => undefined)
      .catch((error: unknown) => options.log('error', 'webhook delivery pass failed', { error: String(error) }))
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          tick();
        }
      });
  };
  const pollMs = Math.min(1_000, Math.max(10, Math.floor(options.policy.retryBaseMs / 2)));
  const timer = setInterval(tick, pollMs);
  timer.unref();
  return {
    kick: () => void setImmediate(tick),
    async stop(graceMs = 5_000) {
      stopped = true;
      clearInterval(timer);
      // An attempt cut off after the receiver got it would be sent again after a restart: let it finish.
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([running, new Promise<void>((resolve) => (grace = setTimeout(resolve, graceMs)))]);
      clearTimeout(grace);
      stopping.abort();
      await running;
      await agent.close();
    },
  };
}

/** Budget and credit alerts on Node: the request path's alert sink and the webhook worker behind it. */
export interface NodeAlerts {
  sink: AlertRecorder;
  worker: WebhookWorker;
  /** Writes queued alerts, then stops the worker (call before the store closes). */
  stop(): Promise<void>;
}

/** Starts the alert recorder and webhook worker on the gateway's store, configured from `config`. */
export function startNodeAlerts(db: Db, config: Config, log: (level: 'info' | 'error', message: string, fields?: Record<string, unknown>) => void): NodeAlerts {
  const worker = startWebhookWorker({
    db,
    now: () => Date.now(),
    log,
    policy: { retryBaseMs: config.TOLLGATE_WEBHOOK_RETRY_BASE_MS, maxAttempts: config.TOLLGATE_WEBHOOK_MAX_ATTEMPTS, timeoutMs: config.TOLLGATE_WEBHOOK_TIMEOUT_MS },
  });
  const sink = new AlertRecorder(db, log, () => worker.kick());
  return {
    sink,
    worker,
    async stop() {
      await sink.flush();
      await worker.stop();
    },
  };
}
