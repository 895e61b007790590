// Placeholder dispatcher; replaced by the full CLI in the next commit.
export function main(_argv: string[]): Promise<number> {
  process.stdout.write('meshlet: no subcommands yet\n');
  return Promise.resolve(0);
}
