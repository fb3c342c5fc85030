import { exactlyOnceSuite } from './exactly-once-suite.ts';

// Instagram, Facebook Pages and Threads; see exactly-once-suite.ts.

exactlyOnceSuite(['instagram', 'facebook', 'threads']);
