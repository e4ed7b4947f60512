// Header values from the user's claims (src/proxy/templates.ts): claims
// filled in, a missing claim or a control character omits the header, and a
// character outside printable ASCII is percent-encoded (UTF-8), so that no
// claim can make a header value Node or undici refuses (which was a 502).
import t from 'tap';
import { renderTemplate } from '../../src/proxy/templates.js';

t.test('a header template: claims filled in, a missing claim or CR/LF omits the header', async (t) => {
  t.equal(renderTemplate('{sub}', { sub: 'alice' }), 'alice');
  t.equal(renderTemplate('u={sub};n={{x}}', { sub: 'alice' }), 'u=alice;n={x}');
  t.equal(renderTemplate('{email}', { sub: 'alice' }), undefined);
  t.equal(renderTemplate('{name}', { name: 'a\r\nX-Admin: 1' }), undefined);
  t.equal(renderTemplate('{groups}', { groups: ['a'] }), undefined, 'a list is no header value');
});

t.test('characters outside printable ASCII are percent-encoded as UTF-8; ASCII passes as it is', async (t) => {
  t.equal(renderTemplate('{name}', { name: 'Zoë 张三' }), 'Zo%C3%AB %E5%BC%A0%E4%B8%89');
  t.equal(renderTemplate('mail={email}', { email: 'josé@example.test' }), 'mail=jos%C3%A9@example.test');
  t.equal(renderTemplate('{name}', { name: 'emoji 😀' }), 'emoji %F0%9F%98%80', 'astral characters too');
  t.equal(renderTemplate('{name}', { name: '100% plain; a=b' }), '100% plain; a=b');
  t.equal(renderTemplate('{name}', { name: 'lone \ud800 surrogate' }), undefined, 'a value that is not Unicode text is omitted');
});
