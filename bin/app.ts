import { createApp } from '../lib/app.js';

// The account and region come from the CLI's environment
// (CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION); without them the template is
// environment-agnostic.
createApp();
