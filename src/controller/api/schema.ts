// A small schema-as-code DSL: each builder returns the OpenAPI v3 fragment the CRD needs and
// carries the TypeScript type of the value it describes, so the CRD and the controller's types
// come from one source (`Infer<typeof x>`). Every builder takes a description first: the CRD
// requires one on every field (it is what `kubectl explain` prints).

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps this project emits. */
export interface JsonSchemaProps {
  description?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  pattern?: string;
  enum?: readonly (string | number)[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  nullable?: boolean;
  items?: JsonSchemaProps;
  properties?: Record<string, JsonSchemaProps>;
  required?: string[];
  additionalProperties?: JsonSchemaProps;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: { rule: string; message: string; fieldPath?: string; reason?: string }[];
}

declare const typeTag: unique symbol;

/** A schema fragment that describes values of type T. */
export interface Schema<T> {
  readonly json: JsonSchemaProps;
  /** Type-level only: never set at runtime. */
  readonly [typeTag]?: T;
}

/** A property that the object requires (a field without `required` is optional). */
export interface RequiredSchema<T> extends Schema<T> {
  readonly required: true;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

type Props = Record<string, Schema<unknown>>;
type RequiredKeys<P extends Props> = { [K in keyof P]: P[K] extends RequiredSchema<unknown> ? K : never }[keyof P];
type OptionalKeys<P extends Props> = Exclude<keyof P, RequiredKeys<P>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOf<P extends Props> = Simplify<{ [K in RequiredKeys<P>]: Infer<P[K]> } & { [K in OptionalKeys<P>]?: Infer<P[K]> }>;

type Validation = NonNullable<JsonSchemaProps['x-kubernetes-validations']>[number];

export interface StringOptions<T extends string = string> {
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  default?: T;
}

export function string(description: string, options: StringOptions = {}): Schema<string> {
  return { json: clean({ description, type: 'string', ...options }) };
}

export function enumOf<const V extends readonly string[]>(description: string, values: V, options: { default?: V[number] } = {}): Schema<V[number]> {
  return { json: clean({ description, type: 'string', enum: [...values], ...options }) };
}

export interface IntegerOptions {
  minimum?: number;
  maximum?: number;
  default?: number;
  format?: 'int32' | 'int64';
}

export function integer(description: string, options: IntegerOptions = {}): Schema<number> {
  return { json: clean({ description, type: 'integer', format: options.format ?? 'int32', minimum: options.minimum, maximum: options.maximum, default: options.default }) };
}

export function number(description: string, options: { minimum?: number; maximum?: number } = {}): Schema<number> {
  return { json: clean({ description, type: 'number', ...options }) };
}

export function boolean(description: string, options: { default?: boolean } = {}): Schema<boolean> {
  return { json: clean({ description, type: 'boolean', ...options }) };
}

export interface ArrayOptions {
  minItems?: number;
  maxItems?: number;
  listType?: 'atomic' | 'set' | 'map';
  listMapKeys?: string[];
}

export function array<T>(description: string, items: Schema<T>, options: ArrayOptions = {}): Schema<T[]> {
  return {
    json: clean({
      description,
      type: 'array',
      items: items.json,
      minItems: options.minItems,
      maxItems: options.maxItems,
      'x-kubernetes-list-type': options.listType,
      'x-kubernetes-list-map-keys': options.listMapKeys,
    }),
  };
}

export interface ObjectOptions {
  /** Applied by the API server when the field is absent; `{}` lets nested defaults apply. */
  default?: Record<string, unknown>;
  validations?: Validation[];
  mapType?: 'atomic' | 'granular';
}

export function object<P extends Props>(description: string, properties: P, options: ObjectOptions = {}): Schema<ObjectOf<P>> {
  const required = Object.keys(properties).filter((k) => (properties[k] as Partial<RequiredSchema<unknown>>).required === true);
  const props: Record<string, JsonSchemaProps> = {};
  for (const [k, v] of Object.entries(properties)) props[k] = v.json;
  return {
    json: clean({
      description,
      type: 'object',
      properties: props,
      required: required.length > 0 ? required : undefined,
      default: options.default,
      'x-kubernetes-map-type': options.mapType,
      'x-kubernetes-validations': options.validations,
    }),
  };
}

/** A string-keyed map (`additionalProperties`). */
export function mapOf<T>(description: string, values: Schema<T>): Schema<Record<string, T>> {
  return { json: { description, type: 'object', additionalProperties: values.json } };
}

export function required<T>(schema: Schema<T>): RequiredSchema<T> {
  return { json: schema.json, required: true };
}

export function nullable<T>(schema: Schema<T>): Schema<T | null> {
  return { json: { ...schema.json, nullable: true } };
}

/** Drops undefined keys so the generated YAML holds only what was set. */
function clean(o: Record<string, unknown>): JsonSchemaProps {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as JsonSchemaProps;
}

/** Every schema node (except the root of a map's values) must carry a description. */
export function missingDescriptions(s: JsonSchemaProps, at = ''): string[] {
  const out: string[] = [];
  if (!s.description) out.push(at || '<root>');
  for (const [k, v] of Object.entries(s.properties ?? {})) out.push(...missingDescriptions(v, `${at}.${k}`));
  if (s.items) out.push(...missingDescriptions(s.items, `${at}[]`));
  if (s.additionalProperties) out.push(...missingDescriptions(s.additionalProperties, `${at}{}`));
  return out;
}
