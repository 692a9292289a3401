import { EventEmitter } from 'node:events';
import { EVENTS, type EventFields, type EventId, type EventRecord } from './catalogue.js';

/**
 * Events are emitted here and nowhere else; the winston event logger (and tests, and metrics) subscribe.
 * Emitting never throws into the caller: a failing listener must not break a login.
 */
const bus = new EventEmitter();
bus.setMaxListeners(100);

export type EventListener = (event: EventRecord) => void;

export function emitEvent(id: EventId, fields: EventFields, now: Date = new Date()): EventRecord {
  const record: EventRecord = { event_id: id, name: EVENTS[id].name, timestamp: now.toISOString(), ...fields };
  for (const listener of bus.listeners('event') as EventListener[]) {
    try {
      listener(record);
    } catch {
      // A broken listener (a full disk, say) must not turn a login into a 500; the logger reports its own errors.
    }
  }
  return record;
}

export function onEvent(listener: EventListener): () => void {
  bus.on('event', listener);
  return () => bus.off('event', listener);
}
