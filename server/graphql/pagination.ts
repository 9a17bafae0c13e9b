import { Field, ObjectType } from "type-graphql";
import { badInput } from "./errors.js";

// simpleResolvers: its fields are plain properties (see NeuronScore).
@ObjectType({ description: "Where a page ends; pass endCursor as `after` for the next page.", simpleResolvers: true })
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

const PREFIX = "id:";

/** Opaque cursor of a row id (base64url, so clients do not build them by hand). */
export function idCursor(id: number): string {
  return Buffer.from(`${PREFIX}${id}`).toString("base64url");
}

/** The row id inside a cursor made by idCursor; BAD_USER_INPUT for anything else. */
export function parseIdCursor(cursor: string, field = "after"): number {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const id = text.startsWith(PREFIX) ? Number(text.slice(PREFIX.length)) : NaN;
  if (!Number.isSafeInteger(id) || id < 0) throw badInput(field, "is not a cursor from this list; pass the endCursor of the previous page");
  return id;
}
