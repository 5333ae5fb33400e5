// What a dynamic provider returns crosses to the engine as a protobuf Struct, which refuses `undefined`
// ("Unexpected struct type", every create failed the first time the real engine ran): plain JSON only.

/** v as the engine will store it: JSON values only, `undefined` members dropped. */
export function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}
