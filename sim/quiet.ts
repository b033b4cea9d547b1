/**
 * Imported first by the CLIs: the local Node.js may be older than the AWS
 * SDK's support window, and its warning says nothing about the simulation.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
