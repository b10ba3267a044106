/**
 * Binds GraphQL work to the inbound request's routing decision. The decision is REST's: built by
 * `scopeOf` from the same facts (the sticky identity of src/routing/identity.ts, site, currency) with
 * channel `graphql`, computed once per request and shared by every subgraph the request
 * reaches, so one request never mixes arms of a context and the same user gets the same backend
 * on REST, OCC and GraphQL.
 *
 * A decision is per request and depends on the site (flag constraints may name sites), so one
 * request addresses one site: a second site in the same request is refused rather than silently
 * routed by the first site's decision.
 */
import type { FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import { SITE_PATTERN } from '../domain/model.js';
import type { Gateway } from '../gateway.js';
import type { SiteInfo } from '../occ/legacy-sites.js';
import { scopeOf } from '../request-scope.js';
import type { Scope } from '../upstream/scope.js';

const siteRe = new RegExp(SITE_PATTERN);
const sites = new WeakMap<FastifyRequest, string>();

export interface Bound {
  scope: Scope;
  site: SiteInfo;
}

/** The site the request is bound to, if any yet. */
export function siteOf(request: FastifyRequest): string | undefined {
  return sites.get(request);
}

/** Binds the request to `site`; refuses a different site later in the same request. */
export function claimSite(request: FastifyRequest, site: string): void {
  if (!siteRe.test(site)) throw new GatewayError(400, 'GW_ERR_REQUEST_INVALID', `malformed site "${site.slice(0, 64)}"`);
  const bound = sites.get(request);
  if (bound === undefined) sites.set(request, site);
  else if (bound !== site) {
    throw new GatewayError(400, 'GW_ERR_REQUEST_INVALID', `one site per request: this request already addresses ${bound}, not ${site} (send one request per site)`);
  }
}

export async function bind(gw: Gateway, request: FastifyRequest, site: string): Promise<Bound> {
  claimSite(request, site);
  const info = await gw.sites.get(site);
  // the composed graph has no mutations: every GraphQL request is a read, even over POST
  return { scope: scopeOf(gw, request, { site, currency: info.currency, channel: 'graphql', readOnly: true }), site: info };
}
