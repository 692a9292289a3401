import { EVENTS, type EventFields, type EventId, type EventRecord } from './catalogue.js';

/**
 * Events are emitted here and nowhere else; the winston event logger (and tests, and metrics) subscribe.
 * Emitting never throws into the caller: a failing listener must not break a login.
 */
export type EventListener = (event: EventRecord) => void;

/** Replaced, never changed in place, so an emit in progress keeps the list it started with. */
let listeners: readonly EventListener[] = [];

/** `base` (the fields every event of a request shares) and `fields` are merged into the one record made here. */
export function emitEvent(id: EventId, fields: EventFields | Omit<EventFields, 'IDENTIFIER'>, now: Date = new Date(), base?: Readonly<Record<string, unknown>>): EventRecord {
  const record = { event_id: id, name: EVENTS[id].name, timestamp: now.toISOString(), ...base, ...fields } as EventRecord;
  for (const listener of listeners) {
    try {
      listener(record);
    } catch {
      // A broken listener (a full disk, say) must not turn a login into a 500; the logger reports its own errors.
    }
  }
  return record;
}

export function onEvent(listener: EventListener): () => void {
  listeners = [...listeners, listener];
  return () => {
    const i = listeners.indexOf(listener);
    if (i >= 0) listeners = [...listeners.slice(0, i), ...listeners.slice(i + 1)];
  };
}
