import readline from 'node:readline/promises';

/** Asks a yes/no question on the terminal; only an answer starting with y or Y is a yes. */
export interface Confirmer {
  /** False when stdin is not a terminal: nobody can answer, so the caller refuses rather than hang. */
  interactive: boolean;
  ask: (question: string) => Promise<boolean>;
}

export function terminalConfirmer(input: NodeJS.ReadStream = process.stdin, output: NodeJS.WritableStream = process.stderr): Confirmer {
  return {
    interactive: Boolean(input.isTTY),
    ask: async (question) => {
      const rl = readline.createInterface({ input, output });
      try {
        return /^y/i.test((await rl.question(question)).trim());
      } finally {
        rl.close();
      }
    },
  };
}
