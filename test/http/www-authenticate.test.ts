// The WWW-Authenticate parser (RFC 9110 11.6.1) and the step-up rules built
// on it (RFC 9470, OIDC acr/auth_time), as pure functions.
import t from 'tap';
import { parseWwwAuthenticate, MAX_HEADER } from '../../src/http/www-authenticate.js';
import { challengedStepUp, shortfall, stepUpBody, stepUpQuery, unmetStepUp } from '../../src/login/step-up.js';

t.test('parses challenges as RFC 9110 writes them', async (t) => {
  t.same(parseWwwAuthenticate('Bearer'), [{ scheme: 'bearer', params: {} }], 'a scheme alone');
  t.same(parseWwwAuthenticate('Basic realm="simple"'), [{ scheme: 'basic', params: { realm: 'simple' } }]);
  t.same(parseWwwAuthenticate('Negotiate YII=, Bearer realm=x'), [
    { scheme: 'negotiate', params: {}, token68: 'YII=' }, { scheme: 'bearer', params: { realm: 'x' } },
  ], 'a token68 with padding, then another challenge');
  t.same(parseWwwAuthenticate('Basic realm="a, b", Bearer error="insufficient_user_authentication", max_age=5'), [
    { scheme: 'basic', params: { realm: 'a, b' } },
    { scheme: 'bearer', params: { error: 'insufficient_user_authentication', max_age: '5' } },
  ], 'a comma inside a quoted string separates nothing');
  t.same(parseWwwAuthenticate('Bearer error_description="say \\"hi\\", \\\\ then", error=x')[0].params,
    { error_description: 'say "hi", \\ then', error: 'x' }, 'escaped quotes and backslashes');
  t.same(parseWwwAuthenticate('Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"').map((c) => c.scheme), ['newauth', 'basic'],
    'the example of RFC 9110 11.6.1');
  t.same(parseWwwAuthenticate(['Basic realm="a"', 'BEARER ERROR = "x" ,  , Max_Age=3']), [
    { scheme: 'basic', params: { realm: 'a' } }, { scheme: 'bearer', params: { error: 'x', max_age: '3' } },
  ], 'several header lines, case-insensitive names, spaces around =, empty list elements');
  t.same(parseWwwAuthenticate('Bearer error="first", error="second"')[0].params, { error: 'first' }, 'a repeated parameter keeps its first value');
  t.equal(Object.getPrototypeOf(parseWwwAuthenticate('Bearer __proto__="x"')[0].params), null, 'no prototype to pollute');
  t.equal(parseWwwAuthenticate('Bearer __proto__="x"')[0].params.__proto__, 'x');
});

t.test('stops at what cannot be parsed, keeping the challenges before it', async (t) => {
  t.same(parseWwwAuthenticate('Basic realm="a", Bearer error="unterminated'), [{ scheme: 'basic', params: { realm: 'a' } }, { scheme: 'bearer', params: {} }]);
  t.same(parseWwwAuthenticate('Bearer error=, max_age=1')[0].params, {}, 'an empty unquoted value');
  t.same(parseWwwAuthenticate('Bearer realm="a\u0001b"')[0].params, {}, 'a control character in a quoted string');
  t.same(parseWwwAuthenticate('"Bearer"'), [], 'no scheme');
  t.same(parseWwwAuthenticate(`Bearer realm="${'a'.repeat(MAX_HEADER)}"`), [], 'too long: not looked at');
  t.same(parseWwwAuthenticate(undefined), []);
  t.same(parseWwwAuthenticate(''), []);
});

t.test('an upstream\'s RFC 9470 challenge is a step-up; other challenges are not', async (t) => {
  t.same(challengedStepUp('Bearer error="insufficient_user_authentication", acr_values="a b"'), { acrValues: ['a', 'b'] });
  t.same(challengedStepUp('Bearer error="insufficient_user_authentication", max_age=0'), { maxAge: 0 });
  t.same(challengedStepUp('Basic realm="error=\\"insufficient_user_authentication\\""'), undefined, 'the words inside another challenge\'s quoted string');
  t.same(challengedStepUp('Bearer error="invalid_token"'), undefined);
  t.same(challengedStepUp('DPoP error="insufficient_user_authentication", acr_values="a"'), undefined, 'only a Bearer challenge');
  t.same(challengedStepUp('Bearer error="insufficient_user_authentication"', { acr: ['r'] }), { acrValues: ['r'], maxAge: undefined }, 'naming neither: the route\'s');
  t.same(challengedStepUp('Bearer error="insufficient_user_authentication"'), { maxAge: 0 }, 'naming neither, a route without: a new authentication');
  t.same(challengedStepUp('Bearer error="insufficient_user_authentication", acr_values="bad\\"quote", max_age=-1'), { maxAge: 0 }, 'unsafe values are not passed on');
});

t.test('a session falls short of a route by acr or by age', async (t) => {
  const route = { acr: ['mfa', 'hwk'], maxAge: 300 };
  t.equal(shortfall(route, { acr: 'mfa', authTime: 1000 }, 1300), undefined, 'enough');
  t.same(shortfall(route, { acr: 'pwd', authTime: 1000 }, 1000), { acrValues: ['mfa', 'hwk'], maxAge: 300 }, 'the acr');
  t.same(shortfall(route, { acr: 'hwk', authTime: 1000 }, 1301), { acrValues: ['mfa', 'hwk'], maxAge: 300 }, 'the age');
  t.ok(shortfall(route, {}, 0), 'unknown acr and auth_time');
  t.equal(shortfall({}, {}, 0), undefined, 'a route without step-up');
});

t.test('the 401 body and its login link', async (t) => {
  t.same(stepUpBody({ acrValues: ['urn:a', 'b c'.split(' ')[0]], maxAge: 60 }), { acr_values: 'urn:a b', max_age: 60, login: '/auth/login?acr_values=urn%3Aa%20b&max_age=60' });
  t.same(stepUpBody({ maxAge: 0 }), { max_age: 0, login: '/auth/login?max_age=0' });
});

t.test('/auth/login\'s step-up parameters and the callback\'s check', async (t) => {
  t.same(stepUpQuery({}), {});
  t.same(stepUpQuery({ acr_values: 'a b', max_age: '10' }), { acrValues: ['a', 'b'], maxAge: 10 });
  for (const bad of [{ acr_values: '' }, { acr_values: 'a  b' }, { acr_values: ['a', 'b'] }, { acr_values: 'é' }, { max_age: '1.5' }, { max_age: ['1'] }, { max_age: '' }]) {
    t.equal(stepUpQuery(bad), 'bad', JSON.stringify(bad));
  }
  t.equal(unmetStepUp({ acr: 'mfa' }, { acrValues: ['mfa'] }, 0), undefined);
  t.equal(unmetStepUp({ acr: 'pwd' }, { acrValues: ['mfa'] }, 0), 'acr_not_met');
  t.equal(unmetStepUp({}, { acrValues: ['mfa'] }, 0), 'acr_not_met', 'no acr at all');
  t.equal(unmetStepUp(undefined, { acrValues: ['mfa'] }, 0), 'acr_not_met', 'no ID token');
  t.equal(unmetStepUp({ auth_time: 1000 }, { maxAge: 300 }, 1360), undefined, 'within max_age and the clock tolerance');
  t.equal(unmetStepUp({ auth_time: 1000 }, { maxAge: 300 }, 1361), 'auth_time_not_met');
  t.equal(unmetStepUp({ auth_time: '1000' }, { maxAge: 300 }, 1000), 'auth_time_not_met', 'auth_time not a number');
  t.equal(unmetStepUp({}, {}, 0), undefined, 'nothing asked');
});
