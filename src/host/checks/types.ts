// The shape every host check produces: what `roost doctor` prints and what `--json` returns (docs/doctor.md).
// Defined with the other wire shapes in src/shared (the CLI and the web console share it without the checks).
export type { CheckResult, CheckStatus, DoctorReport } from '../../shared/host.js';
