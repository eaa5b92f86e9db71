// The protocol layer's public surface: generated types and method table, framing, wire
// errors, validation and handshake cryptography. Nothing here touches sockets or files
// (apart from reading protocol.json once).
export * from './generated';
export {
  type Framing,
  type FrameErrorKind,
  type FrameError,
  type FrameDecoderOptions,
  type FrameHandlers,
  MAX_HEADER_BYTES,
  FrameDecoder,
  detectFraming,
  encodeFrame,
} from './framing';
export {
  type WireError,
  ProtocolError,
  isApplicationErrorCode,
  parseError,
  invalidRequest,
  methodNotFound,
  invalidParams,
  internalError,
  authenticationFailed,
  notAuthenticated,
  unsupportedProtocolVersion,
  frameTooLarge,
  shuttingDown,
  requestCancelled,
  queueNotFound,
  queueFull,
  leaseUnknown,
  payloadTooLarge,
  limitExceeded,
  toProtocolError,
} from './errors';
export { type ProtocolSpec, loadProtocolSpec, validateParams, validateResult, validateDefinition } from './validation';
export { NONCE_BYTES, newNonce, clientProof, serverProof, proofMatches } from './auth';
