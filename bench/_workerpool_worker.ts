/**
 * The worker script `threads.ts` gives workerpool: the tiny job registered
 * under the name `pool.exec` calls.
 * @module
 */

import { worker } from "workerpool";
import increment from "./tiny_job.ts";

worker({ increment });
