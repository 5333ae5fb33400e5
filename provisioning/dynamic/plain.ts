// What a dynamic provider returns crosses to the engine as a protobuf Struct, which refuses `undefined`
// ("Unexpected struct type", every create failed the first time the real engine ran): plain JSON only.

/** v as the engine will store it: JSON values only, `undefined` members dropped. */
export function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** What the engine passes a dynamic provider for a value not known yet (previews only: `up` sends resolved inputs). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Whether inputs hold values a preview does not know yet. */
export const hasUnknowns = (v: unknown): boolean => (JSON.stringify(v) ?? "").includes(UNKNOWN);
