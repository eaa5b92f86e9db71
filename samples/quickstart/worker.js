// A Taskwire worker: takes tasks from "tasks", "downloads" each one, and acks with a result
// that goes to the task's replyTo queue. Start several: the tasks are shared between them.
//
//   node samples/quickstart/worker.js            (manager on this machine, default key file)
//   TASKWIRE_PORT=7401 node samples/quickstart/worker.js   (a manager on another port)
//   TASKWIRE_HOST=10.0.0.5 TASKWIRE_AUTHKEY_FILE=./authkey node samples/quickstart/worker.js
// The client reads TASKWIRE_HOST (one address or several: h1,h2:7401), TASKWIRE_PORT and the key
// from TASKWIRE_AUTHKEY_FILE, TASKWIRE_AUTHKEY or ~/.taskwire/authkey, like every Taskwire tool.
const { connect } = require('taskwire');

async function main() {
  const client = await connect({ name: `quickstart-worker-${process.pid}` });
  const tasks = client.queue('tasks');
  console.log(`worker ${process.pid} connected to ${client.host}:${client.port}; waiting for tasks`);
  // Ctrl+C: close() tells the manager this worker stopped (session/close), so the task in hand
  // goes back at once, to the head of the queue, and `taskwire tail` says "released … (client
  // stopped)"; work() then returns. A worker killed without a word is "client disconnected".
  process.once('SIGINT', () => {
    console.log(`worker ${process.pid} stopping (Ctrl+C): its task goes back to the queue`);
    client.close();
  });

  // work() acks with the handler's return value and nacks (for a retry) when it throws.
  // It returns once the queue has stayed empty for idleTimeout seconds.
  const handled = await tasks.work(
    async (task) => {
      console.log(`run task ${task.id}: ${JSON.stringify(task.payload)} (attempt ${task.attempt})`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      return `${task.payload} ---> success`;
    },
    { idleTimeout: Number(process.env.IDLE_TIMEOUT ?? 5) },
  );
  console.log(`worker ${process.pid} done: ${handled} tasks`);
  client.close();
}

main().catch((error) => {
  console.error(`worker failed: ${error.message}`);
  process.exit(1);
});
