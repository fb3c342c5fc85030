import { exactlyOnceSuite } from './exactly-once-suite.ts';

// YouTube, TikTok, LinkedIn and X; Meta's platforms are in publish-exactly-once-meta.test.ts.

exactlyOnceSuite(['youtube', 'tiktok', 'linkedin', 'x']);
