import { Command } from 'commander';
import { connectFromFlags, parseNumber, withConnectionOptions, type ConnectionFlags } from './connection';

interface PingFlags extends ConnectionFlags {
  count: number;
}

export function pingCommand(): Command {
  return withConnectionOptions(new Command('ping').description('check that a manager answers and the key is right; print round-trip times'))
    .option('-c, --count <n>', 'round trips', parseNumber('count', { integer: true, min: 1 }), 1)
    .action(async (flags: PingFlags) => {
      const started = process.hrtime.bigint();
      const client = await connectFromFlags(flags, 'monitor');
      const connectMs = Number(process.hrtime.bigint() - started) / 1e6;
      try {
        process.stdout.write(`connected to ${client.host}:${client.port} in ${connectMs.toFixed(1)} ms (session ${client.sessionId})\n`);
        for (let i = 0; i < flags.count; i++) {
          const t0 = process.hrtime.bigint();
          const time = await client.ping();
          const ms = Number(process.hrtime.bigint() - t0) / 1e6;
          process.stdout.write(`pong from ${client.host}:${client.port}: ${ms.toFixed(3)} ms (manager clock ${time})\n`);
        }
      } finally {
        client.close();
      }
    });
}
