/**
 * A small AWS stand-in: a real HTTP server on 127.0.0.1 that answers the S3 REST calls and the SSM JSON
 * calls the handlers make (S3 ListObjectsV2/PutObject with If-None-Match/GetObject/HeadObject, SSM
 * GetParameter). Point an unmodified SDK at it through `standIn.env()` (AWS_ENDPOINT_URL_<SERVICE> plus
 * fake credentials), in this process or in a child process running a serialized handler.
 *
 * Other services plug in as extra routes (see athenaStandIn.ts): a route gets every request first and
 * answers it or returns undefined.
 */
import * as http from "http";
import { AddressInfo } from "net";
import * as path from "path";

/** One request as the stand-in saw it. */
export interface RecordedRequest {
  /** `s3`, or the JSON target prefix (`AmazonSSM`, `AmazonAthena`). */
  service: string;
  /** API operation, e.g. `PutObject`, `GetParameter`, `StartQueryExecution`. */
  operation: string;
  method: string;
  /** Path and query string as sent. */
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Request body, after aws-chunked decoding for S3 uploads. */
  body: Buffer;
  /** Parsed JSON body of a JSON-protocol call; undefined for S3. */
  input?: Record<string, unknown>;
}

/** An object held by the S3 stand-in. */
export interface StoredObject {
  body: Buffer;
  contentType?: string;
  contentEncoding?: string;
}

/** What a route answers. */
export interface StandInResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** A pluggable handler; returns undefined to let the next route (and finally S3/SSM) answer. */
export type StandInRoute = (request: RecordedRequest) => StandInResponse | undefined | Promise<StandInResponse | undefined>;

/** A running stand-in. */
export interface AwsStandIn {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Every request in arrival order. */
  requests: RecordedRequest[];
  /** Bucket name to key to object; pre-fill it to seed data, read it to assert writes. */
  buckets: Map<string, Map<string, StoredObject>>;
  /** SSM parameter name to value. */
  parameters: Map<string, string>;
  /** Environment that points an SDK v3 client at this stand-in with fake credentials. */
  env(): Record<string, string>;
  /** Requests of one operation, e.g. `ops("PutObject")`. */
  ops(operation: string): RecordedRequest[];
  close(): Promise<void>;
}

/**
 * The stand-in's SDK environment plus AWS config and credentials files (in `dir`) that do not exist, so
 * nothing of this machine's AWS setup reaches the SDK.
 */
export function isolatedSdkEnv(aws: AwsStandIn, dir: string): Record<string, string> {
  return {
    ...aws.env(),
    AWS_CONFIG_FILE: path.join(dir, "no-aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, "no-aws-credentials"),
  };
}

/** Options of {@link startAwsStandIn}. */
export interface AwsStandInOptions {
  /** Extra routes tried first, in order. Defaults to none. */
  routes?: StandInRoute[];
  /** Keys per ListObjectsV2 page (the real default is 1000); small values exercise pagination. Defaults to 1000. */
  listPageSize?: number;
}

const DEFAULT_LIST_PAGE_SIZE = 1000;

/** Region the stand-in's environment declares. */
export const STAND_IN_REGION = "eu-west-1";

/** Starts a stand-in on an ephemeral loopback port. */
export async function startAwsStandIn(options: AwsStandInOptions = {}): Promise<AwsStandIn> {
  const routes = options.routes ?? [];
  const listPageSize = options.listPageSize ?? DEFAULT_LIST_PAGE_SIZE;
  const requests: RecordedRequest[] = [];
  const buckets = new Map<string, Map<string, StoredObject>>();
  const parameters = new Map<string, string>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const request = parseRequest(req, Buffer.concat(chunks));
        requests.push(request);
        let answer: StandInResponse | undefined;
        for (const route of routes) {
          answer = await route(request);
          if (answer) break;
        }
        answer ??=
          request.service === "AmazonSSM"
            ? ssm(request, parameters)
            : request.service === "s3"
              ? s3(request, buckets, listPageSize)
              : jsonError(400, "UnknownOperationException", `stand-in does not serve ${request.service}.${request.operation}`);
        res.writeHead(answer.status, answer.headers ?? {});
        res.end(answer.body ?? "");
      })().catch((err: unknown) => {
        res.writeHead(500);
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    requests,
    buckets,
    parameters,
    ops: (operation) => requests.filter((r) => r.operation === operation),
    env: () => ({
      AWS_REGION: STAND_IN_REGION,
      AWS_ACCESS_KEY_ID: "AKIDSTANDIN",
      AWS_SECRET_ACCESS_KEY: "stand-in-secret",
      AWS_ENDPOINT_URL_S3: url,
      AWS_ENDPOINT_URL_SSM: url,
      AWS_ENDPOINT_URL_ATHENA: url,
      // Keeps the SDK from looking for config files or instance metadata.
      AWS_EC2_METADATA_DISABLED: "true",
    }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** A JSON-protocol (awsJson1_1) success answer. */
export function jsonOk(output: unknown): StandInResponse {
  return { status: 200, headers: { "content-type": "application/x-amz-json-1.1" }, body: JSON.stringify(output) };
}

/** A JSON-protocol error answer, e.g. `jsonError(400, "TooManyRequestsException", "Rate exceeded")`. */
export function jsonError(status: number, type: string, message: string): StandInResponse {
  return {
    status,
    headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": type },
    body: JSON.stringify({ __type: type, message }),
  };
}

function parseRequest(req: http.IncomingMessage, raw: Buffer): RecordedRequest {
  const target = req.headers["x-amz-target"];
  const base = { method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers };
  if (typeof target === "string") {
    const [service, operation] = target.split(".");
    return { ...base, service, operation, body: raw, input: raw.length ? JSON.parse(raw.toString("utf8")) : {} };
  }
  const body = String(req.headers["content-encoding"] ?? "").includes("aws-chunked") ? decodeAwsChunked(raw) : raw;
  return { ...base, service: "s3", operation: s3Operation(base.method, base.url), body };
}

function s3Operation(method: string, url: string): string {
  const { pathname, searchParams } = new URL(url, "http://x");
  const hasKey = pathname.split("/").filter(Boolean).length > 1;
  if (method === "GET" && !hasKey) return searchParams.get("list-type") === "2" ? "ListObjectsV2" : "ListObjects";
  if (method === "GET") return "GetObject";
  if (method === "HEAD") return hasKey ? "HeadObject" : "HeadBucket";
  if (method === "PUT") return "PutObject";
  if (method === "DELETE") return "DeleteObject";
  return `${method}?`;
}

/** Decodes an `aws-chunked` upload body (size;ext CRLF data CRLF ... 0 CRLF trailers), as the SDK sends with checksums. */
function decodeAwsChunked(raw: Buffer): Buffer {
  const out: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const lineEnd = raw.indexOf("\r\n", pos);
    const size = parseInt(raw.subarray(pos, lineEnd).toString("latin1").split(";")[0], 16);
    if (!size) return Buffer.concat(out);
    out.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    pos = lineEnd + 2 + size + 2;
  }
}

function ssm(request: RecordedRequest, parameters: Map<string, string>): StandInResponse {
  if (request.operation !== "GetParameter") {
    return jsonError(400, "UnknownOperationException", `stand-in does not serve SSM ${request.operation}`);
  }
  const name = String(request.input?.Name);
  const value = parameters.get(name);
  if (value === undefined) return jsonError(400, "ParameterNotFound", `Parameter ${name} not found.`);
  return jsonOk({
    Parameter: {
      Name: name,
      Type: "String",
      Value: value,
      Version: 1,
      DataType: "text",
      ARN: `arn:aws:ssm:${STAND_IN_REGION}:123456789012:parameter${name.startsWith("/") ? "" : "/"}${name}`,
    },
  });
}

function s3(request: RecordedRequest, buckets: Map<string, Map<string, StoredObject>>, pageSize: number): StandInResponse {
  const { pathname, searchParams } = new URL(request.url, "http://x");
  const [bucketName, ...keyParts] = pathname.slice(1).split("/");
  const key = keyParts.map(decodeURIComponent).join("/");
  const bucket = buckets.get(bucketName);
  if (!bucket) return s3Error(404, "NoSuchBucket", `The specified bucket ${bucketName} does not exist`);

  switch (request.operation) {
    case "ListObjectsV2": {
      const prefix = searchParams.get("prefix") ?? "";
      const after = searchParams.get("continuation-token") ?? searchParams.get("start-after") ?? "";
      const maxKeys = Math.min(Number(searchParams.get("max-keys") ?? pageSize), pageSize);
      const keys = [...bucket.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
      const pageKeys = keys.slice(0, maxKeys);
      const truncated = keys.length > pageKeys.length;
      const contents = pageKeys
        .map(
          (k) =>
            `<Contents><Key>${xmlEscape(k)}</Key><LastModified>2024-09-03T07:00:00.000Z</LastModified><ETag>"e"</ETag><Size>${bucket.get(k)?.body.length ?? 0}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
        )
        .join("");
      const next = truncated ? `<NextContinuationToken>${xmlEscape(pageKeys[pageKeys.length - 1])}</NextContinuationToken>` : "";
      return xml(
        200,
        `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${bucketName}</Name><Prefix>${xmlEscape(prefix)}</Prefix>` +
          `<KeyCount>${pageKeys.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${next}</ListBucketResult>`,
      );
    }
    case "PutObject": {
      if (request.headers["if-none-match"] === "*" && bucket.has(key)) {
        return s3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
      }
      bucket.set(key, {
        body: request.body,
        contentType: request.headers["content-type"],
        contentEncoding: stripAwsChunked(request.headers["content-encoding"]),
      });
      return { status: 200, headers: { etag: '"e"' } };
    }
    case "GetObject":
    case "HeadObject": {
      const object = bucket.get(key);
      if (!object)
        return request.operation === "GetObject" ? s3Error(404, "NoSuchKey", "The specified key does not exist.") : { status: 404 };
      const headers: Record<string, string> = { "content-length": String(object.body.length), etag: '"e"' };
      if (object.contentType) headers["content-type"] = object.contentType;
      if (object.contentEncoding) headers["content-encoding"] = object.contentEncoding;
      return { status: 200, headers, body: request.operation === "GetObject" ? object.body : undefined };
    }
    default:
      return s3Error(501, "NotImplemented", `stand-in does not serve S3 ${request.operation}`);
  }
}

function stripAwsChunked(encoding: string | undefined): string | undefined {
  const rest = (encoding ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s && s !== "aws-chunked");
  return rest.length ? rest.join(",") : undefined;
}

function xml(status: number, body: string): StandInResponse {
  return { status, headers: { "content-type": "application/xml" }, body: `<?xml version="1.0" encoding="UTF-8"?>${body}` };
}

function s3Error(status: number, code: string, message: string): StandInResponse {
  return xml(status, `<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message><RequestId>stand-in</RequestId></Error>`);
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
