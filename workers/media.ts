// Worker for the media task queue: the CPU-heavy ingest stages (probe, thumbnails, OCR, audio),
// at most MEDIA_CPU_CONCURRENCY at once. It polls activities only; workflows run on core.
import { rm } from 'node:fs/promises';
import { createMediaActivities, mediaWorkDir } from '../activities/media.ts';
import { loadConfig } from '../lib/config.ts';
import { terminateOcr } from '../lib/media/ocr.ts';
import { assertMediaTools } from '../lib/media/tools.ts';
import { runWorker } from './run-worker.ts';

// A missing ffmpeg or poppler is a start-up error naming the tool, not a failed file later.
assertMediaTools();
// Copies and audio pieces a killed worker left behind hold users' bytes: they go before any stage runs.
await rm(mediaWorkDir(loadConfig()), { recursive: true, force: true });
await runWorker({
  kind: 'media',
  activities: createMediaActivities,
  workflows: false,
  options: (config) => ({ maxConcurrentActivityTaskExecutions: config.media.cpuConcurrency }),
});
// The OCR engine runs in a thread of its own that would keep the process alive.
await terminateOcr();
