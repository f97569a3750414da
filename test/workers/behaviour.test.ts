import { describe } from 'vitest';
import { behaviourSuite } from '../shared/behaviour';
import { workersTarget } from './support';

describe('Workers build', () => behaviourSuite(() => workersTarget));
