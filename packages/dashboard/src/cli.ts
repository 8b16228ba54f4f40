#!/usr/bin/env node
import { CeleriacError } from '@celeriac/core';
import { dashboardCommand } from './command.js';

dashboardCommand('celeriac-dashboard')
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    console.error(
      `celeriac-dashboard: ${CeleriacError.is(error) || error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  });
