/**
 * The wire format of the events on the broker (docs/events.md). A domain event that does not
 * match is rejected (counted, logged, acknowledged so it is not redelivered for ever).
 */
import { Type, type Static } from '@sinclair/typebox';

/** Exchanges: the services publish to the first, the gateway to the second (both topic, durable). */
export const DOMAIN_EXCHANGE = 'commerce.events';
export const GATEWAY_EXCHANGE = 'gateway.events';

export const DOMAIN_EVENT_TYPES = ['price.changed', 'stock.changed', 'promotion.changed'] as const;

export const DomainEventWire = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 200 }),
  type: Type.Union(DOMAIN_EVENT_TYPES.map((t) => Type.Literal(t))),
  at: Type.String({ minLength: 1, maxLength: 64 }),
  /** checked against the context registry on receipt */
  context: Type.String({ minLength: 1, maxLength: 64 }),
  data: Type.Record(Type.String(), Type.Unknown()),
});
export type DomainEventWire = Static<typeof DomainEventWire>;
