export { MpListener, type MpListenerOptions } from './mpListener';
export { TypeIdMap, parseTypeIdMapping } from './typeIds';
export { readPickle, PickleError } from './pickleReader';
export { writePickle } from './pickleWriter';
export { toJsonText, fromJsonText, JsonMappingError, BYTES_KEY } from './jsonMapping';
export * from './pyValue';
