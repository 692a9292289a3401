import { escapeHtml, renderShell } from './html.js';
import type { PageContext } from './page-context.js';

/**
 * A Selector's page, "How do you want to get your code?": a list of buttons, one form each (POST `id` with
 * `_csrf`), so it works without JavaScript; each button's text names the way and its masked destination.
 */
export interface ChoiceView {
  id: string;
  label: string;
  channel: string | null;
  destination: string | null;
}

export interface ChoosePageModel {
  ctx: PageContext;
  overlayDir: string | null;
  action: string;
  choices: readonly ChoiceView[];
  error?: string;
}

export function renderChoosePage(m: ChoosePageModel): string {
  const t = m.ctx.t;
  const csrf = `<input type="hidden" name="_csrf" value="${escapeHtml(m.ctx.csrfToken)}">`;
  const items = m.choices.map((c) => {
    const text = c.destination ? `${c.label}: ${c.destination}` : c.label;
    return `<li><form method="post" action="${escapeHtml(m.action)}">${csrf}<input type="hidden" name="id" value="${escapeHtml(c.id)}">
<button type="submit" class="choice" id="choose-${escapeHtml(c.id)}" data-channel="${escapeHtml(c.channel ?? '')}">${escapeHtml(text)}</button></form></li>`;
  }).join('\n');
  const body = `<h1 id="choose-title">${escapeHtml(t('selector.title'))}</h1>
<p id="choose-error" role="alert" aria-live="assertive" class="error">${escapeHtml(m.error ?? '')}</p>
<ul class="choices" aria-labelledby="choose-title">
${items}
</ul>
<form id="cancel-form" method="post" action="${escapeHtml(m.action)}">${csrf}<input type="hidden" name="action" value="cancel">
<button type="submit" class="secondary">${escapeHtml(t('selector.cancel'))}</button></form>`;
  return renderShell(m.ctx, { title: t('selector.title'), body }, m.overlayDir);
}

/** A refusal at a choice's path (not available, too many switches), with the way back to the list. */
export function renderChoiceRefusal(ctx: PageContext, overlayDir: string | null, message: string, chooseLocation: string): string {
  const t = ctx.t;
  const body = `<h1>${escapeHtml(t('selector.title'))}</h1>
<p id="choose-error" role="alert" class="error">${escapeHtml(message)}</p>
<p><a id="try-another-way" href="${escapeHtml(chooseLocation)}">${escapeHtml(t('selector.try_another_way'))}</a></p>`;
  return renderShell(ctx, { title: t('selector.title'), body }, overlayDir);
}
