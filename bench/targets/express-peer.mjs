// The Node peer users pick today: express + express-openid-connect (its
// default encrypted cookie session) + http-proxy-middleware injecting the
// access token, configured as its documentation shows.
import express from 'express';
import eoc from 'express-openid-connect';

const { auth, requiresAuth } = eoc;
import { createProxyMiddleware } from 'http-proxy-middleware';

const base = `http://127.0.0.1:${process.env.PORT}`;
const app = express();
app.use(auth({
  issuerBaseURL: process.env.ISSUER,
  baseURL: base,
  clientID: process.env.CLIENT_ID,
  clientSecret: process.env.CLIENT_SECRET,
  secret: process.env.SECRET,
  authRequired: false,
  idpLogout: false,
  authorizationParams: { response_type: 'code', response_mode: 'query', scope: 'openid profile email offline_access' },
}));
app.use('/api', requiresAuth(), createProxyMiddleware({
  target: process.env.UPSTREAM,
  changeOrigin: true,
  on: {
    proxyReq(proxyReq, req) {
      proxyReq.removeHeader('cookie');
      proxyReq.setHeader('authorization', `Bearer ${req.oidc.accessToken.access_token}`);
    },
  },
}));
app.listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));
