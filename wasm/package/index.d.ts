// Types of @nymsuite/sdk: @nymproject/sdk 1.4.1's mixnet client API, plus senderTag on
// received anonymous messages, client.reply and client.stats.

export declare enum EventKinds {
  Loaded = 'Loaded',
  Connected = 'Connected',
  StringMessageReceived = 'StringMessageReceived',
  BinaryMessageReceived = 'BinaryMessageReceived',
  RawMessageReceived = 'RawMessageReceived',
}

export declare enum MimeTypes {
  ApplicationOctetStream = 'application/octet-stream',
  TextPlain = 'text/plain',
  ApplicationJson = 'application/json',
}

export interface Payload {
  message: string | Uint8Array;
  mimeType?: MimeTypes | string;
  headers?: string;
}

/** The debug settings the net Worker takes (a subset of Nym's DebugWasmOverride). */
export interface ClientOverride {
  traffic?: {
    disableMainPoissonPacketDistribution?: boolean;
    averagePacketDelayMs?: number;
    messageSendingAverageDelayMs?: number;
  };
  coverTraffic?: {
    disableLoopCoverTrafficStream?: boolean;
    loopCoverTrafficAverageDelayMs?: number;
  };
  acknowledgements?: {
    averageAckDelayMs?: number;
    ackWaitAdditionMs?: number;
  };
  [other: string]: unknown;
}

export interface ClientOpts {
  /** Keys are stored per clientId (IndexedDB). Default 'nym-mixnet-client', as Nym's. */
  clientId?: string;
  /** Default: mainnet's nym-api. */
  nymApiUrl?: string;
  /** Accepted and ignored, as in @nymproject/sdk 1.4.1. */
  nyxdUrl?: string;
  /** Base58 identity of the gateway to register with at first start. */
  preferredGateway?: string;
  /** Seals the stored keys under Argon2id(passphrase); without it they are stored unprotected. */
  storagePassphrase?: string;
  /** Only wss:// gateways (an https page can open nothing else). */
  forceTls?: boolean;
  clientOverride?: ClientOverride;
}

export interface LoadedEvent { kind: EventKinds.Loaded; args: { loaded: true } }
export interface ConnectedEvent { kind: EventKinds.Connected; args: { address?: string } }
export interface StringMessageReceivedEvent {
  kind: EventKinds.StringMessageReceived;
  /** payloadRaw is a plain Array of bytes, as @nymproject/sdk's worker actually delivers it. */
  args: { mimeType: MimeTypes | string; payload: string; payloadRaw: number[]; headers?: string; senderTag?: string };
}
export interface BinaryMessageReceivedEvent {
  kind: EventKinds.BinaryMessageReceived;
  /** payload is a plain Array of bytes, as @nymproject/sdk's worker actually delivers it. */
  args: { mimeType: MimeTypes | string; payload: number[]; headers?: string; senderTag?: string };
}
export interface RawMessageReceivedEvent {
  kind: EventKinds.RawMessageReceived;
  args: { payload: Uint8Array; senderTag?: string };
}

export type EventHandlerFn<E> = (e: E) => void | Promise<void>;
export type EventHandlerUnsubscribeFn = () => void;
export type EventHandlerSubscribeFn<E> = (fn: EventHandlerFn<E>) => EventHandlerUnsubscribeFn;

export interface Stats {
  engine?: Record<string, number>;
  keyd?: Record<string, number>;
  netd?: Record<string, number | string>;
  /** The bound of the key Worker's queue of the page's datagrams and how close it came. */
  keyQueue?: KeyQueueStats;
}

export interface KeyQueueStats {
  /** The bound: bytes and datagrams sent to the key Worker and not yet taken by it. */
  limitBytes: number;
  limitDatagrams: number;
  /** The most the key Worker's queue held (as it last reported). */
  peakBytes: number;
  peakDatagrams: number;
  /** Datagrams the key Worker received past the bound (0 unless the page broke the window). */
  overBound: number;
  /** Datagrams the page kept back because the key Worker's queue was full, and the most it kept at once. */
  held: number;
  heldPeakBytes: number;
  heldPeakDatagrams: number;
}

export interface Client {
  /** Resolves at once; the Connected event follows. */
  start: (opts?: ClientOpts) => Promise<void>;
  stop: () => Promise<void>;
  selfAddress: () => Promise<string | undefined>;
  setTextMimeTypes: (mimeTypes: string[]) => Promise<void>;
  getTextMimeTypes: () => Promise<string[]>;
  /** An anonymous message with replySurbs reply SURBs (default 10), as the SDK sends. */
  send: (args: { payload: Payload; recipient: string; replySurbs?: number }) => Promise<void>;
  rawSend: (args: { payload: Uint8Array; recipient: string; replySurbs?: number }) => Promise<void>;
  /** Beyond the SDK: a reply through the SURBs of a received anonymous message. */
  reply: (args: { senderTag: string | Uint8Array; payload: Payload }) => Promise<void>;
  /** Beyond the SDK: the counters nymctl shows, per context. */
  stats: () => Promise<Stats | undefined>;
}

export interface Events {
  subscribeToLoaded: EventHandlerSubscribeFn<LoadedEvent>;
  subscribeToConnected: EventHandlerSubscribeFn<ConnectedEvent>;
  subscribeToTextMessageReceivedEvent: EventHandlerSubscribeFn<StringMessageReceivedEvent>;
  subscribeToBinaryMessageReceivedEvent: EventHandlerSubscribeFn<BinaryMessageReceivedEvent>;
  subscribeToRawMessageReceivedEvent: EventHandlerSubscribeFn<RawMessageReceivedEvent>;
}

export interface NymMixnetClientOptions {
  autoConvertStringMimeTypes?: string[] | MimeTypes[];
}

export interface NymMixnetClient {
  client: Client;
  events: Events;
}

export declare function createNymMixnetClient(options?: NymMixnetClientOptions): Promise<NymMixnetClient>;
