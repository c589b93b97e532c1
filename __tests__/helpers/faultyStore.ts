/**
 * Fault injection for local mode: an {@link ObjectStore} wrapper that fails chosen operations the way the
 * operating system would (ENOSPC, EACCES) or "kills the process" (throws {@link ProcessDied} and refuses
 * every later operation, as a dead process does nothing more), and a {@link Clock} wrapper that can die
 * the same way when read, so a kill can land between jobs or inside the transform. Store and clock share
 * one {@link ProcessLife}: once either dies, both are dead. {@link deadPid} gives what a really killed
 * process leaves: a pid that no longer runs.
 */
import { spawnSync } from "child_process";
import { localCommand, LocalCommandOptions, LocalRunResult } from "../../cli/localCommand";
import { ObjectStore, PutIfAbsentResult, PutOptions } from "../../functions/objectStore";
import { LAKE_PREFIXES } from "../../functions/partitions";
import type { Clock } from "../../local/scheduler";

/** What a store operation touches, by key. */
export type KeyKind = "raw" | "request" | "processed" | "manifest" | "other";

/** One operation as the wrapper saw it. */
export interface StoreOperation {
  method: "putIfAbsent" | "put" | "get" | "list";
  /** The key, or the prefix of a `list`. */
  key: string;
  kind: KeyKind;
  /** 0-based position among all operations of this store. */
  index: number;
  /** 0-based position among writes (`putIfAbsent`, `put`); undefined for reads. */
  writeIndex?: number;
}

/** What an injected fault does: fail like the OS (the operation has no effect) or kill the process. */
export type InjectedFault = "ENOSPC" | "EACCES" | "die";

/** Decides, before each operation, whether it fails; undefined lets it through. */
export type FaultPlan = (op: StoreOperation) => InjectedFault | undefined;

/** The error a killed "process" throws from every operation. */
export class ProcessDied extends Error {
  constructor(where: string) {
    super(`process killed (fault injection) ${where}`);
    this.name = "ProcessDied";
  }
}

/** Whether an error is (or was caused by) an injected kill. */
export function isProcessDied(err: unknown): boolean {
  return err instanceof ProcessDied || (err instanceof Error && err.message.includes("process killed (fault injection)"));
}

/**
 * The life of one simulated process. `kill` marks it dead once and calls `onDeath` (tests abort the run's
 * signal there, so the scheduler stops as the process would); every later store or clock call throws.
 */
export class ProcessLife {
  private deadAt: string | undefined;

  constructor(private readonly onDeath: () => void = () => undefined) {}

  /** Whether the process was killed. */
  get dead(): boolean {
    return this.deadAt !== undefined;
  }

  /** Kills the process (once) and returns the error to throw. */
  kill(where: string): ProcessDied {
    if (this.deadAt === undefined) {
      this.deadAt = where;
      this.onDeath();
    }
    return new ProcessDied(where);
  }

  /** Throws if the process is dead. */
  check(what: string): void {
    if (this.deadAt !== undefined) throw new ProcessDied(`(already dead at ${this.deadAt}; refused ${what})`);
  }
}

/** The kind of lake key: raw page, request record, processed snapshot, transform manifest or other. */
export function keyKind(key: string): KeyKind {
  if (key.startsWith(`${LAKE_PREFIXES.manifests}/`)) return "manifest";
  if (key.startsWith(`${LAKE_PREFIXES.processed}/`)) return "processed";
  if (key.startsWith(`${LAKE_PREFIXES.raw}/`)) return key.endsWith(".request.json") ? "request" : "raw";
  return "other";
}

/** An error shaped like Node's fs errors (`code`, `errno`, `syscall`, `path`). */
function osError(code: "ENOSPC" | "EACCES", key: string): NodeJS.ErrnoException {
  const text = code === "ENOSPC" ? "no space left on device" : "permission denied";
  return Object.assign(new Error(`${code}: ${text}, write '${key}'`), {
    code,
    errno: code === "ENOSPC" ? -28 : -13,
    syscall: "write",
    path: key,
  });
}

/** Options of {@link FaultyStore}. */
export interface FaultyStoreOptions {
  /** Which operations fail. Defaults to none. */
  plan?: FaultPlan;
  /** The process the store belongs to; a `die` fault kills it. Defaults to a fresh one. */
  life?: ProcessLife;
}

/** An {@link ObjectStore} that injects faults into another one and records every operation. */
export class FaultyStore implements ObjectStore {
  /** Every operation asked for, in order, faulted and refused ones included. */
  readonly operations: StoreOperation[] = [];
  /** Operations that were failed or killed, with the fault. */
  readonly faults: { op: StoreOperation; fault: InjectedFault }[] = [];
  /** The process this store belongs to. */
  readonly life: ProcessLife;
  private writes = 0;

  constructor(
    private readonly inner: ObjectStore,
    private readonly options: FaultyStoreOptions = {},
  ) {
    this.life = options.life ?? new ProcessLife();
  }

  putIfAbsent(key: string, body: Uint8Array | string, options?: PutOptions): Promise<PutIfAbsentResult> {
    return this.around("putIfAbsent", key, () => this.inner.putIfAbsent(key, body, options));
  }

  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<void> {
    return this.around("put", key, () => this.inner.put(key, body, options));
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.around("get", key, () => this.inner.get(key));
  }

  list(prefix: string): Promise<string[]> {
    return this.around("list", prefix, () => this.inner.list(prefix));
  }

  private async around<T>(method: StoreOperation["method"], key: string, run: () => Promise<T>): Promise<T> {
    const write = method === "putIfAbsent" || method === "put";
    const op: StoreOperation = {
      method,
      key,
      kind: keyKind(key),
      index: this.operations.length,
      ...(write ? { writeIndex: this.writes++ } : {}),
    };
    this.operations.push(op);
    this.life.check(`${method} ${key}`);
    const fault = this.options.plan?.(op);
    if (fault !== undefined) {
      this.faults.push({ op, fault });
      if (fault === "die") throw this.life.kill(`before ${method} ${key}`);
      throw osError(fault, key);
    }
    return run();
  }
}

/** Fails (or kills at) the first write of `kind` whose key satisfies `match`, once. */
export function faultAtWrite(kind: KeyKind, fault: InjectedFault, match: (key: string) => boolean = () => true): FaultPlan {
  let fired = false;
  return (op) => {
    if (fired || op.writeIndex === undefined || op.kind !== kind || !match(op.key)) return undefined;
    fired = true;
    return fault;
  };
}

/**
 * A clock that belongs to a {@link ProcessLife}: reading a dead process's clock throws, and `dieOnRead`
 * decides, at each `now()`, whether the process dies right there.
 */
export class MortalClock implements Clock {
  private reads = 0;

  constructor(
    private readonly inner: Clock,
    private readonly life: ProcessLife,
    private readonly dieOnRead: (nowMs: number) => boolean = () => false,
  ) {}

  now(): number {
    this.life.check("clock read");
    const now = this.inner.now();
    this.reads += 1;
    if (this.dieOnRead(now)) throw this.life.kill(`at clock read ${this.reads} (${new Date(now).toISOString()})`);
    return now;
  }

  sleepUntil(epochMs: number, signal: AbortSignal): Promise<void> {
    return this.inner.sleepUntil(epochMs, signal);
  }
}

/** What one in-process `crypto-analytics local` run did. */
export interface LocalRunOutcome {
  /** The run's result; undefined when it threw. */
  result?: LocalRunResult;
  /** What it threw (an injected kill, usually). */
  error?: unknown;
  /** Its status lines. */
  status: string[];
  /** The runtime code's JSON log lines. */
  logs: string[];
}

/**
 * Runs `crypto-analytics local` in this process, quietly: dashboard on a free port, no backfill, status
 * and log lines captured. Resolves whether the run returned or threw.
 */
export async function runLocal(options: Omit<LocalCommandOptions, "status" | "logSink" | "progressStream">): Promise<LocalRunOutcome> {
  const status: string[] = [];
  const logs: string[] = [];
  try {
    const result = await localCommand({
      port: 0,
      backfillDays: 0,
      ...options,
      status: (line) => status.push(line),
      logSink: (line) => logs.push(line),
      progressStream: { write: () => true },
    });
    return { result, status, logs };
  } catch (error) {
    return { error, status, logs };
  }
}

/** A seeded pseudo-random generator (mulberry32) in [0, 1): the same seed picks the same kill points. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The pid of a process that ran and has exited: what names the temporary files a killed process leaves. */
export function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  if (child.pid === undefined || child.status !== 0)
    throw new Error(`could not run a short-lived process: ${String(child.error ?? child.status)}`);
  return child.pid;
}
