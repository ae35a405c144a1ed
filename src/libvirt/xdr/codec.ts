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
  return {
    encode(w, v) {
      for (const [name, codec] of entries) codec.encode(w, (v as Record<string, unknown>)[name]);
    },
    decode(r) {
      const out: Record<string, unknown> = {};
      for (const [name, codec] of entries) out[name] = codec.decode(r);
      return out as StructOf<F>;
    },
  };
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
