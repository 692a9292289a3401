/** Escapes text for HTML content and attribute values. Every dynamic value in a page goes through this. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export interface PageShell {
  lang: string;
  title: string;
  csrfToken: string;
  body: string;
}

export function renderShell(p: PageShell): string {
  return `<!doctype html>
<html lang="${escapeHtml(p.lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${escapeHtml(p.csrfToken)}">
<title>${escapeHtml(p.title)}</title>
</head>
<body>
<main>
${p.body}
</main>
</body>
</html>
`;
}
