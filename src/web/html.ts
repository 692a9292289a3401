import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { PageContext } from './page-context.js';

/** Escapes text for HTML content and attribute values. Every dynamic value in a page goes through this. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function languageSwitch(ctx: PageContext): string {
  const others = ctx.languages.filter((l) => l !== ctx.lang);
  if (others.length === 0) return '';
  const links = others.map((l) => `<a href="${escapeHtml(`${ctx.path}?lng=${l}`)}" hreflang="${escapeHtml(l)}" lang="${escapeHtml(l)}">${escapeHtml(ctx.t(`language_name.${l}`))}</a>`).join('');
  return `<nav class="lang" aria-label="${escapeHtml(ctx.t('language_switch'))}">${escapeHtml(ctx.t('language_switch'))}:${links}</nav>`;
}

function cookieBanner(ctx: PageContext): string {
  if (ctx.consent) return '';
  return `<div class="banner" role="region" aria-label="${escapeHtml(ctx.t('cookies_region'))}">
<p>${escapeHtml(ctx.t('allow-cookies-body'))}</p>
<form method="post" action="${escapeHtml(`${ctx.webBase}/consent?lng=${ctx.lang}`)}">
<input type="hidden" name="_csrf" value="${escapeHtml(ctx.csrfToken)}">
<input type="hidden" name="return" value="${escapeHtml(ctx.path)}">
<button type="submit" class="secondary">${escapeHtml(ctx.t('allow-cookies-button'))}</button>
</form></div>`;
}

export interface Shell {
  title: string;
  body: string;
  /** Whether the page's enhancement script loads. */
  script?: boolean;
}

/**
 * The page around every authenticator page. An operator may supply `overlay_dir/templates/layout.html` with
 * `{{lang}}`, `{{title}}` (escaped) and `{{{head}}}`, `{{{banner}}}`, `{{{language_switch}}}`, `{{{body}}}` (HTML).
 */
export function renderShell(ctx: PageContext, shell: Shell, overlayDir: string | null = null): string {
  const head = `<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${escapeHtml(ctx.csrfToken)}">
<link rel="stylesheet" href="${escapeHtml(`${ctx.webBase}/assets/otp.css`)}">
${shell.script ? `<script src="${escapeHtml(`${ctx.webBase}/assets/otp-form.js`)}" defer></script>` : ''}`;
  const parts: Record<string, string> = {
    lang: escapeHtml(ctx.lang), title: escapeHtml(shell.title), head, banner: cookieBanner(ctx), language_switch: languageSwitch(ctx), body: shell.body,
  };
  const layout = overlayLayout(overlayDir);
  if (layout) return layout.replace(/\{\{\{(\w+)\}\}\}|\{\{(\w+)\}\}/g, (_m, raw: string | undefined, escaped: string | undefined) => parts[(raw ?? escaped) as string] ?? '');
  return `<!doctype html>
<html lang="${parts.lang}">
<head>
${head}
<title>${parts.title}</title>
</head>
<body>
<main>
${parts.language_switch}
${parts.banner}
${shell.body}
</main>
</body>
</html>
`;
}

const layouts = new Map<string, string | null>();

function overlayLayout(overlayDir: string | null): string | null {
  if (!overlayDir) return null;
  if (!layouts.has(overlayDir)) {
    const file = path.join(overlayDir, 'templates', 'layout.html');
    layouts.set(overlayDir, existsSync(file) ? readFileSync(file, 'utf8') : null);
  }
  return layouts.get(overlayDir) ?? null;
}
