// The few HTML pages a browser navigation may get (login errors): short,
// static text, nothing reflected from the request, no script.
const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function errorPage(title: string, message: string, { retry = true } = {}): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escape(title)}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem">
<h1 style="font-size:1.4rem">${escape(title)}</h1>
<p>${escape(message)}</p>
${retry ? '<p><a href="/auth/login">Try to sign in again</a> &middot; <a href="/">Home</a></p>' : '<p><a href="/">Home</a></p>'}
</body></html>
`;
}

/** Whether the client is a browser navigation that wants HTML rather than JSON. */
export function wantsHtml(accept: string | undefined): boolean {
  return typeof accept === 'string' && accept.includes('text/html');
}
