// Codec combinators: declare an XDR type once and get both its encoder and its decoder, with the
// TypeScript type inferred from the declaration. libvirt's .x structures map onto these one for one.

import { XdrError, XdrReader } from './reader.js';
import { XdrWriter } from './writer.js';

export interface Codec<T> {
  encode(w: XdrWriter, v: T): void;
  decode(r: XdrReader): T;
}

/** The TypeScript value type of a codec: `type Domain = Infer<typeof nonnullDomain>`. */
export type Infer<C> = C extends Codec<infer T> ? T : never;

/** libvirt's REMOTE_STRING_MAX (and VIR_NET_MESSAGE_STRING_MAX). */
export const STRING_MAX = 4194304;

export const int: Codec<number> = { encode: (w, v) => w.int32(v), decode: (r) => r.int32() };
export const uint: Codec<number> = { encode: (w, v) => w.uint32(v), decode: (r) => r.uint32() };
export const hyper: Codec<bigint> = { encode: (w, v) => w.hyper(v), decode: (r) => r.hyper() };
export const uhyper: Codec<bigint> = { encode: (w, v) => w.uhyper(v), decode: (r) => r.uhyper() };
export const bool: Codec<boolean> = { encode: (w, v) => w.bool(v), decode: (r) => r.bool() };
export const double: Codec<number> = { encode: (w, v) => w.double(v), decode: (r) => r.double() };

/** XDR void: no bytes. Named `empty` because `void` is a keyword. */
export const empty: Codec<void> = { encode: () => {}, decode: () => undefined };

export function string(max = STRING_MAX): Codec<string> {
  return { encode: (w, v) => w.string(v, max), decode: (r) => r.string(max) };
}

/** `string *` (libvirt's remote_string): absent is `null`. */
export function optString(max = STRING_MAX): Codec<string | null> {
  return optional(string(max));
}

export function opaqueFixed(n: number): Codec<Buffer> {
  return { encode: (w, v) => w.opaqueFixed(v, n), decode: (r) => r.opaqueFixed(n) };
}

export function opaque(max: number): Codec<Buffer> {
  return { encode: (w, v) => w.opaque(v, max), decode: (r) => r.opaque(max) };
}

/** `T x<max>`: a u32 count, then the elements. */
export function array<T>(element: Codec<T>, max: number): Codec<T[]> {
  return {
    encode(w, v) {
      if (v.length > max) {
        throw new XdrError('XDR_LIMIT', `array of ${v.length} elements exceeds its maximum of ${max}`);
      }
      w.uint32(v.length);
      for (const e of v) element.encode(w, e);
    },
    decode(r) {
      const n = r.count(max);
      const out = new Array<T>(n);
      for (let i = 0; i < n; i++) out[i] = element.decode(r);
      return out;
    },
  };
}

/** XDR pointer `T *`: a bool "present", then T if present. Absent is `null`. */
export function optional<T>(inner: Codec<T>): Codec<T | null> {
  return {
    encode(w, v) {
      if (v === null || v === undefined) {
        w.uint32(0);
      } else {
        w.uint32(1);
        inner.encode(w, v);
      }
    },
    decode(r) {
      return r.bool() ? inner.decode(r) : null;
    },
  };
}

type Fields = Record<string, Codec<unknown>>;
export type StructOf<F extends Fields> = { [K in keyof F]: Infer<F[K]> };

/**
 * A struct: fields encoded in declaration order (object key order, so keep names non-numeric).
 * Decoding builds a plain object with exactly those keys.
 */
export function struct<F extends Fields>(fields: F): Codec<StructOf<F>> {
  const entries = Object.entries(fields);
  if (entries.some(([name]) => name === '__proto__')) {
    throw new TypeError('a struct field cannot be named __proto__');
  }
  const loop = fieldLoop<StructOf<F>>(entries);
  let uses = 0;
  // The loop until the struct has been used SPECIALISE_AFTER times, then methods written out for it.
  const codec: Codec<StructOf<F>> = {
    encode(w, v) {
      if (++uses === SPECIALISE_AFTER) specialise(codec, entries);
      loop.encode(w, v);
    },
    decode(r) {
      if (++uses === SPECIALISE_AFTER) specialise(codec, entries);
      return loop.decode(r);
    },
  };
  return codec;
}

/**
 * Uses of a struct codec before specialise writes out its methods: a command that reads a struct a few times
 * would spend more compiling them than it saves (CLI start-up, BENCHMARKS.md); a loop over calls or a list of
 * hundreds of domains gets them early.
 */
const SPECIALISE_AFTER = 16;

/** Encodes and decodes a struct by looping over its fields. */
function fieldLoop<T>(entries: [string, Codec<unknown>][]): Codec<T> {
  return {
    encode(w, v) {
      for (const [name, codec] of entries) codec.encode(w, (v as Record<string, unknown>)[name]);
    },
    decode(r) {
      const out: Record<string, unknown> = {};
      for (const [name, codec] of entries) out[name] = codec.decode(r);
      return out as T;
    },
  };
}

/**
 * Gives a struct codec methods written out for its fields: `c0.encode(w, v["dom"]); c1.encode(w, v["flags"]);` and
 * `return { "dom": c0.decode(r), "flags": c1.decode(r) }`. The field loop is one function shared by every struct,
 * so V8 sees every struct's shape at its property accesses and calls and optimises none of them; each
 * written-out method sees one struct, and its decoder builds objects of one shape from a literal. That halves the
 * time a call spends encoding and decoding; a sequential caller waits through it (BENCHMARKS.md).
 *
 * The source holds only the field names of this repo's protocol tables (never data from a peer), each quoted
 * with JSON.stringify, and the codecs come in as arguments. Where code generation is turned off
 * (--disallow-code-generation-from-strings), the field loop stays.
 */
function specialise<T>(codec: Codec<T>, entries: [string, Codec<unknown>][]): void {
  const keys = entries.map(([name]) => JSON.stringify(name));
  const params = entries.map((_, i) => `c${i}`);
  const encodeBody = keys.map((k, i) => `c${i}.encode(w, v[${k}]);`).join(' ');
  const decodeBody = `return { ${keys.map((k, i) => `${k}: c${i}.decode(r)`).join(', ')} };`;
  let methods: Codec<T>;
  try {
    const make = new Function(
      ...params,
      `return { encode(w, v) { ${encodeBody} }, decode(r) { ${decodeBody} } };`,
    );
    methods = make(...entries.map(([, c]) => c)) as Codec<T>;
  } catch {
    methods = fieldLoop<T>(entries);
  }
  codec.encode = methods.encode;
  codec.decode = methods.decode;
}

type Arms = Record<number, Codec<unknown>>;
/** A discriminated union value: `{ type: 3, value: 12n }`. */
export type UnionOf<A extends Arms> = { [K in keyof A & number]: { type: K; value: Infer<A[K]> } }[keyof A &
  number];

/** `union switch (int type) { case 1: ...; }`: an int discriminant, then that arm. */
export function union<A extends Arms>(arms: A): Codec<UnionOf<A>> {
  const arm = (type: number): Codec<unknown> => {
    const c = (arms as Record<number, Codec<unknown> | undefined>)[type];
    if (!c) throw new XdrError('XDR_BAD_UNION', `union has no arm for discriminant ${type}`);
    return c;
  };
  return {
    encode(w, v) {
      const c = arm(v.type);
      w.int32(v.type);
      c.encode(w, v.value);
    },
    decode(r) {
      const type = r.int32();
      return { type, value: arm(type).decode(r) } as UnionOf<A>;
    },
  };
}

/** Encodes one value into a fresh buffer. */
export function encode<T>(codec: Codec<T>, value: T, initialSize?: number): Buffer {
  const w = new XdrWriter(initialSize);
  codec.encode(w, value);
  return w.finish();
}

/** Decodes a whole buffer: leftover bytes are an error (XDR_TRAILING). */
export function decode<T>(codec: Codec<T>, bytes: Buffer): T {
  const r = new XdrReader(bytes);
  const v = codec.decode(r);
  r.done();
  return v;
}
