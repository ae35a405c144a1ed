// The docs hold to the wire contract: every JSON example in docs/cli-json.md and docs/api.md names the shape it
// shows (`<!-- shape: Name -->` above it) and parses against that shape, strictly — a field the code lost or a
// field the docs invented fails here, and so does a shape with no example. The schemas (testing.ts) exist only
// for tests (the CLI never loads zod to print); the TypeScript types in src/shared stay the one source: each
// schema must infer exactly its type, or this file does not type-check.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import type * as T from './api-types.js';
import { errorBody } from './errors.js';
import { ErrorBody, SHAPES, StartedVm, VmDetails } from './testing.js';

// Each schema infers its TypeScript type exactly: change a type in src/shared and this stops compiling until
// the schema (and so the docs' examples) follow.
type Same<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
/** The TypeScript type of each shape. */
interface Types {
  VmSummary: T.VmSummary;
  VmInfo: T.VmInfo;
  CreatedVm: T.CreatedVm;
  StartedVm: T.StartedVm;
  StoppedVm: T.StoppedVm;
  RestartedVm: T.RestartedVm;
  EditedVm: T.EditedVm;
  RemovedVm: T.RemovedVm;
  VmLog: T.VmLog;
  VmLogPath: T.VmLogPath;
  SshCommand: T.SshCommand;
  PortList: T.PortList;
  PortChangeResult: T.PortChangeResult;
  MountList: T.MountList;
  MountChangeResult: T.MountChangeResult;
  VmAddresses: T.VmAddresses;
  SnapshotList: T.SnapshotList;
  CreatedSnapshot: T.CreatedSnapshot;
  RevertedSnapshot: T.RevertedSnapshot;
  RemovedSnapshot: T.RemovedSnapshot;
  ClonedVm: T.ClonedVm;
  AutostartEnabled: T.AutostartEnabled;
  AutostartDisabled: T.AutostartDisabled;
  AutostartList: T.AutostartList;
  DoctorReport: T.DoctorReport;
  ConnectionInfo: T.ConnectionInfo;
  ImageListing: T.ImageListing;
  RemovedImage: T.RemovedImage;
  PullStarted: T.PullStarted;
  BridgeSetupReport: T.BridgeSetupReport;
  RoostEvent: T.RoostEvent;
  ErrorBody: T.ErrorBody;
  SessionGranted: T.SessionGranted;
  LinkCreated: T.LinkCreated;
  TicketGranted: T.TicketGranted;
  WebServerInfo: T.WebServerInfo;
  WebLinkInfo: T.WebLinkInfo;
  CopyResult: T.CopyResult;
  VmStats: T.VmStats;
  VmStatsHistory: T.VmStatsHistory;
  StatsEvent: T.StatsEvent;
  ApplyResult: T.ApplyResult;
  ExportedFile: T.ExportedFile;
  TemplateInfo: T.TemplateInfo;
  HostEntry: T.HostEntry;
  HostVms: T.HostVms;
  HostEvent: T.HostEvent;
  HostsReadyMessage: T.HostsReadyMessage;
  ReadyMessage: T.ReadyMessage;
}
type Inferred<K extends keyof typeof SHAPES> = z.infer<(typeof SHAPES)[K]>;
const typesMatch: { [K in keyof typeof SHAPES]: Same<Inferred<K>, Types[K]> } = {
  VmSummary: true,
  VmInfo: true,
  CreatedVm: true,
  StartedVm: true,
  StoppedVm: true,
  RestartedVm: true,
  EditedVm: true,
  RemovedVm: true,
  VmLog: true,
  VmLogPath: true,
  SshCommand: true,
  PortList: true,
  PortChangeResult: true,
  MountList: true,
  MountChangeResult: true,
  VmAddresses: true,
  SnapshotList: true,
  CreatedSnapshot: true,
  RevertedSnapshot: true,
  RemovedSnapshot: true,
  ClonedVm: true,
  AutostartEnabled: true,
  AutostartDisabled: true,
  AutostartList: true,
  DoctorReport: true,
  ConnectionInfo: true,
  ImageListing: true,
  RemovedImage: true,
  PullStarted: true,
  BridgeSetupReport: true,
  RoostEvent: true,
  ErrorBody: true,
  SessionGranted: true,
  LinkCreated: true,
  TicketGranted: true,
  WebServerInfo: true,
  WebLinkInfo: true,
  CopyResult: true,
  VmStats: true,
  VmStatsHistory: true,
  StatsEvent: true,
  ApplyResult: true,
  ExportedFile: true,
  TemplateInfo: true,
  HostEntry: true,
  HostVms: true,
  HostEvent: true,
  HostsReadyMessage: true,
  ReadyMessage: true,
};
const detailsMatch: Same<z.infer<typeof VmDetails>, T.VmDetails> = true;

interface Example {
  file: string;
  line: number;
  shape: string;
  json: string;
}

const DOCS = ['docs/cli-json.md', 'docs/api.md'];
const root = join(import.meta.dirname, '..', '..');

/** Every ```json block of a doc, with the shape named in the `<!-- shape: … -->` comment right above it. */
function examples(file: string): Example[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const found: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```json') continue;
    const marker = /^<!-- shape: ([A-Za-z]+(?:\[\])?) -->$/.exec(lines[i - 1]?.trim() ?? '');
    const end = lines.indexOf('```', i + 1);
    found.push({ file, line: i + 1, shape: marker?.[1] ?? '', json: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return found;
}

const all = DOCS.flatMap(examples);

describe('the JSON examples in the docs', () => {
  it('are there, in both docs, each naming its shape', () => {
    for (const doc of DOCS) expect(all.filter((e) => e.file === doc).length).toBeGreaterThan(5);
    for (const e of all)
      expect(e.shape, `${e.file}:${e.line} has no <!-- shape: … --> above it`).not.toBe('');
  });

  it.each(all.map((e) => [`${e.file}:${e.line} (${e.shape})`, e] as const))('%s parses', (_, e) => {
    const name = e.shape.replace(/\[\]$/, '') as keyof typeof SHAPES;
    const schema = SHAPES[name];
    expect(schema, `${e.file}:${e.line}: no shape named ${name}`).toBeDefined();
    const data: unknown = JSON.parse(e.json);
    const result = (e.shape.endsWith('[]') ? z.array(schema) : schema).safeParse(data);
    expect(result.success, `${e.file}:${e.line}: ${result.error?.message ?? ''}`).toBe(true);
  });

  it('show every shape at least once', () => {
    const shown = new Set(all.map((e) => e.shape.replace(/\[\]$/, '')));
    expect(Object.keys(SHAPES).filter((k) => !shown.has(k))).toEqual([]);
  });
});

describe('the schemas', () => {
  it('are the TypeScript types (checked when this file type-checks)', () => {
    expect(Object.values(typesMatch).every(Boolean) && detailsMatch).toBe(true);
  });

  it('refuse a field the shape does not have, and a missing one', () => {
    const vm = { name: 'a', alreadyRunning: false, waitedMs: null };
    expect(StartedVm.safeParse(vm).success).toBe(true);
    expect(StartedVm.safeParse({ ...vm, autoPorts: false }).success).toBe(false);
    expect(StartedVm.safeParse({ name: 'a', alreadyRunning: false }).success).toBe(false);
  });

  it('hold errorBody to the error shape, leaving out what is empty', () => {
    const body = errorBody({ code: 'X', message: 'm', hint: '', detail: 'd' });
    expect(ErrorBody.parse(body)).toEqual({ error: { code: 'X', message: 'm', detail: 'd' } });
  });
});
