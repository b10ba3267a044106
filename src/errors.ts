/**
 * One error model for every surface (docs/ARCHITECTURE.md#error-model): RFC 9457 problem+json on canonical routes,
 * OCC's ErrorList envelope on /occ routes, both carrying the same stable `code`.
 * Upstream bodies and stack traces never reach a client.
 */
export type ErrorCode =
  | 'GW_ERR_UPSTREAM_INVALID_PAYLOAD'
  | 'GW_ERR_UPSTREAM_UNAVAILABLE'
  | 'GW_ERR_UPSTREAM_TIMEOUT'
  | 'GW_ERR_UPSTREAM_FAILED'
  | 'GW_ERR_REQUEST_INVALID'
  | 'GW_ERR_REQUEST_MALFORMED_JSON'
  | 'GW_ERR_REQUEST_TOO_LARGE'
  | 'GW_ERR_REQUEST_UNSUPPORTED_MEDIA_TYPE'
  | 'GW_ERR_REQUEST_URI_TOO_LONG'
  | 'GW_ERR_REQUEST_HEADERS_TOO_LARGE'
  | 'GW_ERR_REQUEST_TIMEOUT'
  | 'GW_ERR_REQUEST_PATH_REJECTED'
  | 'GW_ERR_SITE_NOT_FOUND'
  | 'GW_ERR_PRODUCT_NOT_FOUND'
  | 'GW_ERR_PROMOTION_NOT_FOUND'
  | 'GW_ERR_CART_NOT_FOUND'
  | 'GW_ERR_ROUTE_NOT_FOUND'
  | 'GW_ERR_METHOD_NOT_ALLOWED'
  | 'GW_ERR_UPSTREAM_REJECTED'
  | 'GW_ERR_IDEMPOTENCY_KEY_INVALID'
  | 'GW_ERR_IDEMPOTENCY_IN_FLIGHT'
  | 'GW_ERR_IDEMPOTENCY_KEY_REUSED'
  | 'GW_ERR_IDEMPOTENCY_OUTCOME_UNKNOWN'
  | 'GW_ERR_IDEMPOTENCY_STORE_UNAVAILABLE'
  | 'GW_ERR_OVERLOADED'
  | 'GW_ERR_INTERNAL_ERROR'
  // admin API (src/http/routes/admin): auth, and writing flags where they live
  | 'GW_ERR_ADMIN_UNAUTHORIZED'
  | 'GW_ERR_ADMIN_DISABLED'
  | 'GW_ERR_ADMIN_CONTEXT_NOT_FOUND'
  | 'GW_ERR_ADMIN_FLAGS_READ_ONLY'
  | 'GW_ERR_ADMIN_FLAG_SOURCE_UNAVAILABLE'
  | 'GW_ERR_ADMIN_FLAG_SOURCE_REJECTED'
  | 'GW_ERR_ADMIN_FLAG_WRITE_FAILED'
  | 'GW_ERR_ADMIN_AUDIT_FAILED'
  // operator console (src/console): its session and CSRF checks
  | 'GW_ERR_CONSOLE_UNAUTHORIZED'
  | 'GW_ERR_CONSOLE_CSRF_REJECTED'
  | 'GW_ERR_CONSOLE_NOT_BUILT'
  | 'GW_ERR_ADMIN_AUDIT_UNAVAILABLE'
  // rollouts (src/rollout/): none for the context, or one already in progress
  | 'GW_ERR_ADMIN_ROLLOUT_NOT_FOUND'
  | 'GW_ERR_ADMIN_ROLLOUT_CONFLICT';

export interface ErrorDetail {
  path: string;
  message: string;
}

/**
 * An error body is bounded whatever the request: at most this many details (the first ones),
 * each path and message clipped, and `errorCount` saying how many there were. A 750 KB body of
 * invalid entries used to answer 3.3 MB of details.
 */
export const MAX_ERROR_DETAILS = 10;
const MAX_DETAIL_CHARS = 200;

export function clip(text: string, max = MAX_DETAIL_CHARS): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function boundDetails(errors: readonly ErrorDetail[] | undefined): readonly ErrorDetail[] | undefined {
  return errors?.slice(0, MAX_ERROR_DETAILS).map((e) => ({ path: clip(e.path), message: clip(e.message) }));
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  431: 'Request Header Fields Too Large',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** OCC `type` each code surfaces as on the OCC surface, so OCC storefront error handling keeps working. */
const OCC_TYPES: Partial<Record<ErrorCode, string>> = {
  GW_ERR_SITE_NOT_FOUND: 'UnknownIdentifierError',
  GW_ERR_PRODUCT_NOT_FOUND: 'UnknownIdentifierError',
  GW_ERR_PROMOTION_NOT_FOUND: 'UnknownIdentifierError',
  GW_ERR_CART_NOT_FOUND: 'CartError',
  GW_ERR_REQUEST_INVALID: 'ValidationError',
  GW_ERR_REQUEST_MALFORMED_JSON: 'HttpMessageNotReadableError',
  GW_ERR_REQUEST_TOO_LARGE: 'ValidationError',
  GW_ERR_REQUEST_HEADERS_TOO_LARGE: 'ValidationError',
  GW_ERR_REQUEST_UNSUPPORTED_MEDIA_TYPE: 'HttpMediaTypeNotSupportedError',
  GW_ERR_ROUTE_NOT_FOUND: 'UnknownResourceError',
};

export class GatewayError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly detail: string;
  readonly context: string | undefined;
  readonly backend: string | undefined;
  /** the first MAX_ERROR_DETAILS details, clipped */
  readonly errors: readonly ErrorDetail[] | undefined;
  /** how many details there were in all */
  readonly errorCount: number | undefined;
  readonly retryAfterSeconds: number | undefined;
  /** OCC error type to surface instead of the default for the code (e.g. the legacy's own). */
  readonly occType: string | undefined;
  /**
   * The failed upstream call certainly had no effect there: it was never sent (open breaker,
   * refused connection, spent budget) or the upstream refused it with an error status. False
   * when that is not known (a timeout or a broken connection after sending), which keeps an
   * Idempotency-Key from running the request again (src/idempotency.ts).
   */
  notApplied: boolean;

  constructor(
    status: number,
    code: ErrorCode,
    detail: string,
    extra: {
      context?: string;
      backend?: string;
      errors?: readonly ErrorDetail[];
      retryAfterSeconds?: number;
      occType?: string;
      notApplied?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(detail, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'GatewayError';
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.context = extra.context;
    this.backend = extra.backend;
    this.errors = boundDetails(extra.errors);
    this.errorCount = extra.errors?.length;
    this.retryAfterSeconds = extra.retryAfterSeconds;
    this.occType = extra.occType;
    this.notApplied = extra.notApplied ?? false;
  }
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  requestId?: string;
  context?: string;
  backend?: string;
  errors?: readonly ErrorDetail[];
  /** how many errors there were, when there were more than `errors` lists */
  errorCount?: number;
}

export function toProblem(err: GatewayError, instance: string, requestId: string): ProblemBody {
  const body: ProblemBody = {
    type: `https://strangler.dev/problems/${err.code.toLowerCase().replace(/_/g, '-')}`,
    title: TITLES[err.status] ?? 'Error',
    status: err.status,
    detail: err.detail,
    code: err.code,
    instance: clip(instance, 512),
    requestId,
  };
  if (err.context) body.context = err.context;
  if (err.backend) body.backend = err.backend;
  if (err.errors?.length) body.errors = err.errors;
  if (err.errorCount !== undefined && err.errorCount > (err.errors?.length ?? 0)) body.errorCount = err.errorCount;
  return body;
}

export interface OccErrorBody {
  errors: { type: string; reason: string; message: string; subject?: string; subjectType?: string }[];
}

export function toOccErrorList(err: GatewayError): OccErrorBody {
  const type = err.occType ?? OCC_TYPES[err.code] ?? (err.status >= 500 ? 'GatewayError' : 'ValidationError');
  const e: OccErrorBody['errors'][number] = { type, reason: err.code, message: err.detail };
  if (err.context) {
    e.subject = err.context;
    e.subjectType = 'context';
  }
  return { errors: [e] };
}
