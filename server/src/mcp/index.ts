// What `taskwire mcp` loads when it runs (and only then): the server, its transports, the SDK.
export { ManagerLink } from './managerLink';
export { createTaskwireMcpServer, servedTools, type McpServerOptions } from './server';
export { serveHttp } from './http';
export { TOOLS, type TaskwireTool } from './tools';
export { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
