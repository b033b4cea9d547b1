import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

/**
 * Awaits a conditional write: its answer, or undefined when its condition
 * failed (another writer got there first, or the state moved on). Every
 * other error is thrown.
 *
 * @example
 * const won = (await unlessConditionFails(doc.send(update))) !== undefined;
 */
export async function unlessConditionFails<T>(
  write: Promise<T>,
): Promise<T | undefined> {
  try {
    return await write;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return undefined;
    throw error;
  }
}
