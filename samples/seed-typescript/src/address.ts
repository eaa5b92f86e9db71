/**
 * The seed binds its manager to ('127.0.0.1', 8001) with authkey b'biu'; so do these samples,
 * unless TASKWIRE_HOST, TASKWIRE_PORT or TASKWIRE_AUTHKEY say otherwise.
 */
export const address = {
  host: process.env.TASKWIRE_HOST ?? '127.0.0.1',
  port: Number(process.env.TASKWIRE_PORT ?? 8001),
};
export const authkey = process.env.TASKWIRE_AUTHKEY ?? 'biu';
