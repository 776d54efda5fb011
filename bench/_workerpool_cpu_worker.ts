/**
 * The worker script `threads.ts` gives workerpool for its CPU-bound part:
 * the CPU job registered under the name `pool.exec` calls. A file apart
 * from `_workerpool_worker.ts`, so that each part's threads load only the
 * job they run, as the other sides' threads do.
 * @module
 */

import { worker } from "workerpool";
import cpuJob from "./cpu_job.ts";

worker({ cpuJob });
