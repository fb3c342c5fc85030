import { type Static, Type } from 'typebox';
import { ROLES } from '../domain/roles.ts';

// Schemas shared by several routes. Every string has a maxLength so over-long input is a 400.

export const Uuid = Type.String({ format: 'uuid', maxLength: 36 });
export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
export const DisplayName = Type.String({ minLength: 1, maxLength: 100 });
export const RoleSchema = Type.Enum(ROLES);
export const Timestamp = Type.String({ format: 'date-time' });

export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      field: Type.Optional(Type.String()),
      requestId: Type.String(),
    }),
  },
  { $id: 'Error' },
);

/** The error responses every authenticated route can give, for the OpenAPI document. */
export const commonErrors = {
  400: ErrorResponse,
  401: ErrorResponse,
  404: ErrorResponse,
  413: ErrorResponse,
  415: ErrorResponse,
  429: ErrorResponse,
};

export const UserView = Type.Object({ id: Uuid, email: Type.String(), name: Type.String(), createdAt: Timestamp });
export type UserView = Static<typeof UserView>;

export const bearerSecurity = [{ bearer: [] }];

/** An object schema that refuses unknown properties. */
export const Strict = <P extends Parameters<typeof Type.Object>[0]>(properties: P) =>
  Type.Object(properties, { additionalProperties: false });

export const WorkspaceParams = Strict({ workspaceId: Uuid });
