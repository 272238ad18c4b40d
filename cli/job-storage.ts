// What summary and evidence share: a SnoopyJob's storage opened from the flags, and one JSON
// object read from it.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SnoopyJob } from '../lib/api/schema.js';
import { CliError } from './errors.js';
import { connect } from './kube.js';
import { jobNamespace, type GlobalOptions } from './options.js';
import { getSnoopyJob } from './resources.js';
import { openStorage, resolveStorage, storageError, type StorageFlags, type StorageLocation } from './storage.js';

export async function openJobStorage(flags: GlobalOptions & StorageFlags, name: string): Promise<{ sj: SnoopyJob; loc: StorageLocation; s3: S3Client }> {
  const { kube } = connect(flags);
  const sj = await getSnoopyJob(kube, jobNamespace(flags), name);
  const loc = await resolveStorage(kube, sj, flags);
  return { sj, loc, s3: openStorage(loc) };
}

export async function readJsonObject<T>(s3: S3Client, loc: StorageLocation, key: string): Promise<T> {
  let text: string;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: loc.bucket, Key: key }));
    text = await res.Body!.transformToString();
  } catch (e) {
    throw storageError(e, loc.where);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CliError(`${key} is not JSON`);
  }
}
