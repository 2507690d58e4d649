// Opens the WebGPU device for the webgpu tests, or says why they skip (no `webgpu` package, no
// adapter). With RECC_WEBGPU_REQUIRED=1 (CI, which installs lavapipe) a missing device is an error
// instead of a skip, so the suite can never pass by skipping there.
import { Device, NoWebGpuError } from '../../runtime/exec/webgpu/device.ts';

export function openTestDevice(): { device: Device; skip?: undefined } | { device?: undefined; skip: string } {
  try {
    return { device: Device.open() };
  } catch (e) {
    if (!(e instanceof NoWebGpuError)) throw e;
    if (process.env.RECC_WEBGPU_REQUIRED === '1') throw new Error(`RECC_WEBGPU_REQUIRED=1 but ${e.message}`);
    return { skip: e.message };
  }
}
