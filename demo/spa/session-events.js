// watchSession: the SPA's view of its session, from GET /auth/events.
// Dependency-free; copy it into your SPA. One EventSource per tab; a
// BroadcastChannel shares what any tab hears with the others (a tab whose
// stream was refused, 429 over the per-session limit, or is reconnecting
// still learns at once); on `ended` every tab stops its stream, and the one
// the user is looking at may log in again (silent first: prompt=none).
//
//   const stop = watchSession({
//     session(s) {},   // { user, expiresAt, absoluteExpiresAt }: first, and after an extension
//     refreshed(r) {}, // { accessTokenExpiresAt }
//     expiring(e) {},  // { expiresAt }: 60 s left unless the session is used
//     ended(e) {},     // { reason: 'logout' | 'backchannel' | 'idle' | 'absolute' | 'refresh_failed' }
//     relogin: (reason) => reason !== 'logout', // return false to stay signed out
//   });
(function () {
  const EVENTS = ['session', 'refreshed', 'expiring', 'ended'];

  function watchSession(handlers, { url = '/auth/events', channel = 'bff-session' } = {}) {
    const bus = typeof BroadcastChannel === 'function' ? new BroadcastChannel(channel) : null;
    let source = null;
    let over = false;

    const handle = (type, data, fromOtherTab) => {
      if (over && type !== 'session') return;
      if (type === 'session' && over) {
        // another tab logged in again: this tab watches again
        over = false;
        open();
      }
      if (handlers[type]) handlers[type](data);
      if (!fromOtherTab && bus) bus.postMessage({ type, data });
      if (type !== 'ended') return;
      over = true;
      if (source) { source.close(); source = null; }
      const relogin = handlers.relogin ? handlers.relogin(data.reason) : data.reason !== 'logout';
      // one tab logs in again: the one in front; never twice in a row (a silent login that failed lands with login_error)
      if (relogin && !fromOtherTab && document.visibilityState === 'visible' && !new URLSearchParams(location.search).has('login_error')) {
        const back = location.pathname + location.search + location.hash;
        location.assign(`/auth/login?prompt=none&returnTo=${encodeURIComponent(back)}`);
      }
    };

    function open() {
      if (source || over) return;
      source = new EventSource(url, { withCredentials: false });
      for (const type of EVENTS) source.addEventListener(type, (e) => handle(type, JSON.parse(e.data), false));
      // 401 (no session) or 429: EventSource gives up (readyState CLOSED); the other tabs still tell this one
      source.onerror = () => { if (source && source.readyState === EventSource.CLOSED) source = null; };
    }

    if (bus) bus.onmessage = (e) => { if (e.data && EVENTS.includes(e.data.type)) handle(e.data.type, e.data.data, true); };
    open();
    return () => {
      over = true;
      if (source) source.close();
      if (bus) bus.close();
    };
  }

  window.watchSession = watchSession;
})();
