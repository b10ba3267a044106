/**
 * Change endpoints' publishing side: a simulator that owns some data (a price, a stock level, a
 * promotion) announces each change as a domain event on the topic exchange `commerce.events`
 * (routing key = the event type), as the real services would. Without an AMQP URL the change is
 * still applied, just not announced. Own AMQP code: backends/ imports nothing from src/.
 */
import { randomUUID } from 'node:crypto';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { FastifyInstance } from 'fastify';

export const COMMERCE_EXCHANGE = 'commerce.events';

export type ChangeType = 'price.changed' | 'stock.changed' | 'promotion.changed';

export interface ChangeEvent {
  id: string;
  type: ChangeType;
  at: string;
  context: 'pricing' | 'inventory' | 'promotions';
  data: Record<string, string>;
}

/** One per simulator: a lazily opened confirm channel, reopened on the next change after a failure. */
export class ChangePublisher {
  private link: Promise<{ model: ChannelModel; channel: ConfirmChannel }> | undefined;

  constructor(
    private readonly context: ChangeEvent['context'],
    private readonly amqpUrl: string | undefined,
  ) {}

  /** Builds the event and, with a broker, publishes it (confirmed). `published` false: no broker or it failed. */
  async publish(type: ChangeType, data: Record<string, string>): Promise<{ event: ChangeEvent; published: boolean; error?: string }> {
    const event: ChangeEvent = { id: randomUUID(), type, at: new Date().toISOString(), context: this.context, data };
    if (this.amqpUrl === undefined) return { event, published: false };
    try {
      const { channel } = await this.open();
      await new Promise<void>((resolve, reject) => {
        channel.publish(COMMERCE_EXCHANGE, type, Buffer.from(JSON.stringify(event)), { contentType: 'application/json', messageId: event.id, persistent: true }, (err: unknown) =>
          err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
        );
      });
      return { event, published: true };
    } catch (err) {
      this.link = undefined;
      return { event, published: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  private open(): Promise<{ model: ChannelModel; channel: ConfirmChannel }> {
    if (this.link) return this.link;
    const url = this.amqpUrl as string;
    const link = (async () => {
      const model = await connect(url);
      const forget = () => {
        if (this.link === link) this.link = undefined;
      };
      model.on('error', forget);
      model.on('close', forget);
      const channel = await model.createConfirmChannel();
      channel.on('error', forget);
      channel.on('close', forget);
      await channel.assertExchange(COMMERCE_EXCHANGE, 'topic', { durable: true });
      return { model, channel };
    })();
    this.link = link;
    link.catch(() => {
      if (this.link === link) this.link = undefined;
    });
    return link;
  }

  async close(): Promise<void> {
    const link = this.link;
    this.link = undefined;
    if (!link) return;
    try {
      const { model } = await link;
      await model.close();
    } catch {
      // never connected or already gone
    }
  }
}

/** A publisher for the service, closed with it. */
export function changePublisher(app: FastifyInstance, context: ChangeEvent['context'], amqpUrl: string | undefined): ChangePublisher {
  const publisher = new ChangePublisher(context, amqpUrl);
  app.addHook('onClose', async () => publisher.close());
  return publisher;
}
