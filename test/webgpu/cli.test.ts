// `recc run --mode webgpu` names the adapter that ran, and refuses (exit 1, the reason and what to do)
// when no adapter answers instead of falling back; `--mode auto` falls back to the js kernels and says
// why. "No adapter" is made real by pointing the Vulkan loader at no driver (VK_ICD_FILENAMES).
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../runtime/data/data-paths.ts';
import { Device } from '../../runtime/exec/webgpu/device.ts';

const out = mkdtempSync(join(tmpdir(), 'recc-webgpu-cli-'));

function run(mode: string, env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const argv = ['bin/recc.js', 'run', 'examples/mf-gramian.recmodel', '--mode', mode, '--steps', '1', '--out', join(out, `${mode}-${Object.keys(env).length}`), '--force'];
  const r = spawnSync(process.execPath, argv, { cwd: repoRoot(), encoding: 'utf8', timeout: 300_000, env: { ...process.env, ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const noDriver = { VK_ICD_FILENAMES: join(out, 'no-such-driver.json') };

describe('recc run --mode webgpu | auto', () => {
  it('--mode webgpu with no adapter: exit 1, the reason and the way out, no fallback', () => {
    const r = run('webgpu', noDriver);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/error: --mode webgpu: (no WebGPU adapter answered|the optional `webgpu` package is not installed)/);
    expect(r.stderr).toContain('--mode js');
    expect(r.stdout).not.toContain('step ');
  });

  it('--mode auto with no adapter: trains on the js kernels and says why', () => {
    const r = run('auto', noDriver);
    expect(r.code, r.stderr).toBe(0);
    // the run's log (sizes, backend) is on stderr since the progress bar took it there
    expect(r.stderr).toMatch(/backend js \(recc kernels\); auto: /);
  });

  const probe = Device.probe();
  const skip = 'reason' in probe && process.env.RECC_WEBGPU_REQUIRED !== '1' ? probe.reason : undefined;
  it.skipIf(skip !== undefined)(`--mode webgpu prints the adapter that ran${skip ? ` — skipped: ${skip}` : ''}`, () => {
    const r = run('webgpu');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/backend webgpu \(gpu\.js kernels, recc WGSL past their size limits, on .+\((software|hardware)/);
  });
});
