import { Command, CommanderError } from 'commander';
import { packageVersion } from '../version';
import { CliError, EXIT_CODE_HELP, ExitCode, exitCodeFor, ExitWith } from './exitCodes';
import { conformanceCommand } from './conformance';
import { declareCommand } from './declare';
import { getCommand } from './get';
import { journalCommand } from './journal';
import { mcpCommand } from './mcp';
import { pauseCommand } from './pause';
import { pingCommand } from './ping';
import { putCommand } from './put';
import { resumeCommand } from './resume';
import { scheduleCommand } from './schedule';
import { serveCommand } from './serve';
import { statsCommand } from './stats';
import { tailCommand } from './tail';
import { workersCommand } from './workers';

export function buildProgram(): Command {
  const program = new Command('taskwire')
    .description('Taskwire: queues on the network for workers in any language')
    .version(packageVersion, '-V, --version')
    // Options after a command name belong to that command; needed so that
    // `conformance client --case ...` reaches `client` and not its parent's options of the same name.
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Start a manager with \`taskwire serve\`; the other commands talk to it. Each command has
--help. Connection options: --host, --port, --authkey-file (or $TASKWIRE_HOST,
$TASKWIRE_PORT, $TASKWIRE_AUTHKEY, $TASKWIRE_AUTHKEY_FILE; default key file ~/.taskwire/authkey).
--host h1,h2:7401 lists several managers: tried in order, failing over to the next.

${EXIT_CODE_HELP}`,
    );
  for (const command of [
    serveCommand(),
    declareCommand(),
    putCommand(),
    getCommand(),
    statsCommand(),
    pauseCommand(),
    resumeCommand(),
    workersCommand(),
    tailCommand(),
    scheduleCommand(),
    mcpCommand(),
    pingCommand(),
    journalCommand(),
    conformanceCommand(),
  ]) {
    program.addCommand(command);
  }
  // Usage errors exit 2 (commander's default is 1), and every command reports through main().
  const override = (command: Command) => {
    command.exitOverride();
    command.showHelpAfterError('(run with --help for usage)');
    command.configureOutput({ outputError: (text, write) => write(text) });
    command.commands.forEach(override);
  };
  override(program);
  return program;
}

/** Runs the CLI; resolves with the exit code instead of exiting, so tests can call it too. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return ExitCode.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // 'commander.help' with a non-zero exitCode is help shown for a missing command: a usage error.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.Ok;
      if (error.exitCode === 0) return ExitCode.Ok;
      return ExitCode.Usage;
    }
    if (error instanceof ExitWith) return error.exitCode;
    // Argument parsers throw CliError; commander wraps nothing else.
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`taskwire: error: ${message.split('\n')[0]}\n`);
    return error instanceof CliError ? error.exitCode : exitCodeFor(error);
  }
}
