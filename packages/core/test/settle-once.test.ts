import { describe, expect, it } from 'vitest';
import {
  BrokerError,
  createDelivery,
  createTaskMessage,
  type DeadLetterReason,
  DecodeError,
  decodeOrMalformed,
  type Settler,
} from '../src/adapter/index.js';

/** What the settler was asked to do, and a switch to make its next calls fail. */
function recordingSettler() {
  const calls: string[] = [];
  const state = { failing: false };
  const outcome = (what: string): Promise<void> => {
    calls.push(what);
    return state.failing
      ? Promise.reject(new BrokerError('test', `${what} failed`, true))
      : Promise.resolve();
  };
  const settler: Settler<string> = {
    ack: (held) => outcome(`ack ${held}`),
    requeue: (held, delayMs) => outcome(`requeue ${held} ${delayMs}`),
    deadLetter: (held, reason: DeadLetterReason) => outcome(`dead ${held} ${reason.code}`),
    handled: (held) => void calls.push(`handled ${held}`),
  };
  return { calls, state, settler };
}

const message = createTaskMessage({ task: 'tests.settle' });
const task = { kind: 'task', message } as const;

describe('SettleOnce (the settlement rule of every adapter)', () => {
  it('settles once: later settle calls resolve and do nothing', async () => {
    const { calls, settler } = recordingSettler();
    const d = createDelivery(task, 'q', 1, 'm1', settler);
    await d.ack();
    await d.ack();
    await d.requeue();
    await d.deadLetter({ code: 'X', message: 'x' });
    d.handled?.();
    expect(calls).toEqual(['ack m1']);
  });

  it('shares a settlement in flight instead of starting another', async () => {
    const { calls, settler } = recordingSettler();
    const d = createDelivery(task, 'q', 1, 'm1', settler);
    const first = d.ack();
    const second = d.requeue({ delayMs: 5 });
    expect(second).toBe(first);
    await Promise.all([first, second]);
    expect(calls).toEqual(['ack m1']);
  });

  it('leaves the delivery unsettled when a settlement fails, so it can be settled again', async () => {
    const { calls, state, settler } = recordingSettler();
    const d = createDelivery(task, 'q', 3, 'm1', settler);
    state.failing = true;
    await expect(d.ack()).rejects.toThrow('ack m1 failed');
    state.failing = false;
    await d.requeue({ delayMs: 1000 });
    await d.ack();
    expect(calls).toEqual(['ack m1', 'requeue m1 1000']);
  });

  it('treats a settler that throws like one that rejects', async () => {
    const { calls, settler } = recordingSettler();
    const throwing: Settler<string> = {
      ...settler,
      ack: () => {
        throw new BrokerError('test', 'thrown', true);
      },
    };
    const d = createDelivery(task, 'q', 1, 'm1', throwing);
    await expect(d.ack()).rejects.toThrow('thrown');
    await d.deadLetter({ code: 'DELIVERY_LIMIT', message: 'too many' });
    expect(calls).toEqual(['dead m1 DELIVERY_LIMIT']);
  });

  it('counts a settlement the settler completed at once as done', async () => {
    const calls: string[] = [];
    const sync: Settler<string> = {
      ack: (held) => void calls.push(`ack ${held}`),
      requeue: (held) => void calls.push(`requeue ${held}`),
      deadLetter: (held) => void calls.push(`dead ${held}`),
    };
    const d = createDelivery(task, 'q', 1, 'm1', sync);
    await d.requeue();
    await d.ack();
    expect(calls).toEqual(['requeue m1']);
  });

  it('passes the handled hint on only while unsettled', async () => {
    const { calls, settler } = recordingSettler();
    const d = createDelivery(task, 'q', 1, 'm1', settler);
    d.handled?.();
    await d.ack();
    d.handled?.();
    expect(calls).toEqual(['handled m1', 'ack m1']);
  });

  it('carries the decoded message, the queue and the count', () => {
    const { settler } = recordingSettler();
    const d = createDelivery(task, 'jobs', 4, 'm1', settler);
    expect(d.kind).toBe('task');
    expect(d.queue).toBe('jobs');
    expect(d.deliveryCount).toBe(4);
    expect(d.kind === 'task' && d.message.headers.id).toBe(message.headers.id);
  });
});

describe('decodeOrMalformed', () => {
  const parse = (raw: string) => {
    if (raw === 'bad') throw new SyntaxError('not JSON');
    if (raw === 'odd') throw new DecodeError('no task name');
    return message;
  };
  const text = (raw: string) => `raw:${raw}`;

  it('decodes a good message', () => {
    expect(decodeOrMalformed('good', parse, text)).toEqual({ kind: 'task', message });
  });

  it('keeps a DecodeError and wraps anything else, with the raw text', () => {
    const odd = decodeOrMalformed('odd', parse, text);
    expect(odd.kind === 'malformed' && [odd.raw, odd.error.message]).toEqual([
      'raw:odd',
      expect.stringContaining('no task name'),
    ]);
    const bad = decodeOrMalformed('bad', parse, text, 'not an envelope');
    expect(bad.kind).toBe('malformed');
    if (bad.kind !== 'malformed') return;
    expect(bad.error).toBeInstanceOf(DecodeError);
    expect(bad.error.message).toContain('not an envelope');
    expect(bad.error.cause).toBeInstanceOf(SyntaxError);
  });
});
