import { EVENTS, type EventRecord } from './catalogue.js';

/**
 * Event formats: JSON lines and ArcSight CEF. Every value is escaped as its format requires, because
 * fields such as a username are user input and must not forge fields or lines.
 */
export interface ProductInfo {
  vendor: string;
  product: string;
  version: string;
}

export function formatJson(event: EventRecord): string {
  // JSON.stringify escapes quotes, backslashes and control characters; U+2028/2029 are escaped too since
  // some line-oriented readers split on them.
  return JSON.stringify(event).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** CEF header fields: backslash and pipe are escaped; a newline would end the record, so it becomes a space. */
export function escapeCefHeader(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

/** CEF extension values: backslash and equals are escaped, newlines written as \n and \r. */
export function escapeCefValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/=/g, '\\=').replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}

/** CEF extension keys may hold only letters and digits (and _ here); anything else is dropped. */
function cefKey(key: string): string {
  return key.replace(/[^A-Za-z0-9_]/g, '');
}

const CEF_KEYS: Record<string, string> = {
  IDENTIFIER: 'traceID',
  SOURCE_ADDRESS: 'src',
  CUSTOMER_IDENTIFIER: 'suser',
  timestamp: 'rt',
};

export function formatCef(event: EventRecord, product: ProductInfo): string {
  const spec = EVENTS[event.event_id];
  const header = ['CEF:0', product.vendor, product.product, product.version, event.event_id, event.name, String(spec.severity)]
    .map((part, i) => (i === 0 ? part : escapeCefHeader(part)))
    .join('|');
  const extension: string[] = [];
  for (const [key, value] of Object.entries(event)) {
    if (key === 'event_id' || key === 'name' || value === undefined || value === null) continue;
    const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
    extension.push(`${CEF_KEYS[key] ?? cefKey(key)}=${escapeCefValue(text)}`);
  }
  return `${header}|${extension.join(' ')}`;
}
