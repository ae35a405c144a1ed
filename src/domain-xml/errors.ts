// Errors of the domain-xml module. Every failure is a DomainXmlError with a string code, so callers can
// branch without matching messages, and the parser's own exception (if any) is kept as the cause.

export type DomainXmlErrorCode =
  /** The input is not well-formed XML or not a `<domain>` document. */
  | 'DOMAIN_XML_INVALID'
  /** A VmSpec or edit argument that cannot be expressed (bad port, control character, unknown NIC kind…). */
  | 'DOMAIN_XML_BAD_SPEC'
  /** An edit names a NIC or disk that the domain does not have. */
  | 'DOMAIN_XML_NOT_FOUND';

export class DomainXmlError extends Error {
  override readonly name = 'DomainXmlError';
  readonly code: DomainXmlErrorCode;

  constructor(code: DomainXmlErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

export function isDomainXmlError(err: unknown): err is DomainXmlError {
  return err instanceof DomainXmlError;
}
