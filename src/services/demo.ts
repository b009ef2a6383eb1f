import { noRequestContext } from "./audit.js";
import type { Services } from "./index.js";

export interface DemoAccount {
  role: "patient" | "doctor" | "admin";
  name: string;
  email: string;
  password: string;
  dateOfBirth?: string;
}

// Known passwords, for trying the portal locally. Never created in production.
export const demoAccounts: DemoAccount[] = [
  { role: "patient", name: "Pat Jansen", email: "patient@demo.test", password: "tulip harbour 2031", dateOfBirth: "1984-03-12" },
  { role: "patient", name: "Sam de Vries", email: "sam@demo.test", password: "canal bicycle 4471", dateOfBirth: "1991-11-02" },
  { role: "patient", name: "Noor Bakker", email: "noor@demo.test", password: "dune lighthouse 58", dateOfBirth: "1958-07-25" },
  { role: "doctor", name: "Dr. Eva Visser", email: "doctor@demo.test", password: "stethoscope maple 19" },
  { role: "admin", name: "Ada Admin", email: "admin@demo.test", password: "windmill stroopwafel 88" },
];

/** Creates the demo accounts that do not exist yet and links two patients to the demo doctor. */
export async function ensureDemoAccounts(services: Pick<Services, "users">): Promise<DemoAccount[]> {
  const ids = new Map<string, number>();
  for (const account of demoAccounts) {
    const existing = await services.users.findUserByEmail(account.email);
    if (existing) {
      ids.set(account.email, existing.id);
      continue;
    }
    const result = await services.users.createUser(account, noRequestContext);
    if (!result.ok) throw new Error(`Could not create demo account ${account.email}: ${result.reason}`);
    ids.set(account.email, result.user.id);
  }
  const doctorId = ids.get("doctor@demo.test")!;
  await services.users.linkPatientToDoctor(doctorId, ids.get("patient@demo.test")!);
  await services.users.linkPatientToDoctor(doctorId, ids.get("sam@demo.test")!);
  return demoAccounts;
}

export function describeDemoAccounts(accounts: DemoAccount[]): string {
  const width = Math.max(...accounts.map((account) => account.email.length));
  return [
    "Demo accounts (development only):",
    ...accounts.map((account) => `  ${account.role.padEnd(8)} ${account.email.padEnd(width)}  ${account.password}`),
  ].join("\n");
}
