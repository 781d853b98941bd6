/**
 * IoT Hub's REST error names, each with its HTTP status and numeric code (docs/iothub-rest.md):
 * the emulator answers with them, and our REST client reads either form the hub writes, the name
 * (`ErrorCode:DeviceNotOnline;...`) or the number (`{"errorCode":404103,...}`, as the real hub
 * answers a direct method).
 */
export const IOTHUB_REST_ERRORS = {
  InvalidProtocolVersion: [400, 400001],
  ArgumentInvalid: [400, 400004],
  ArgumentNull: [400, 400005],
  IotHubFormatError: [400, 400006],
  IotHubUnauthorizedAccess: [401, 401002],
  DeviceNotFound: [404, 404001],
  ModuleNotFound: [404, 404010],
  DeviceNotOnline: [404, 404103],
  NotFound: [404, 404000],
  MethodNotAllowed: [405, 405000],
  RequestTimedOut: [408, 408000],
  DeviceAlreadyExists: [409, 409001],
  ModuleAlreadyExistsOnDevice: [409, 409301],
  PreconditionFailed: [412, 412001],
  RequestEntityTooLarge: [413, 413000],
  ThrottlingException: [429, 429001],
  ServerError: [500, 500001],
  ServiceUnavailable: [503, 503000],
  GatewayTimeout: [504, 504101],
} as const satisfies Record<string, readonly [number, number]>;

/** One of the error names above. */
export type IotHubRestErrorName = keyof typeof IOTHUB_REST_ERRORS;

/** The numeric code of an error name, when it is one of the above. */
export function restErrorNumber(name: string | undefined): number | undefined {
  if (name === undefined || !Object.prototype.hasOwnProperty.call(IOTHUB_REST_ERRORS, name)) return undefined;
  return IOTHUB_REST_ERRORS[name as IotHubRestErrorName][1];
}

/** The error name of a numeric code, when it is one of the above. */
export function restErrorName(code: number): IotHubRestErrorName | undefined {
  for (const [name, [, n]] of Object.entries(IOTHUB_REST_ERRORS))
    if (n === code) return name as IotHubRestErrorName;
  return undefined;
}
