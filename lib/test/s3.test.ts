import { describe, expect, test } from '@jest/globals';
import { parseS3Uri, s3ClientConfig, s3SettingsFromEnv, s3Uri } from '../s3.js';

describe('S3 settings', () => {
  test('a custom endpoint means path style unless told otherwise; credentials and region from env', () => {
    expect(
      s3SettingsFromEnv({ S3_ENDPOINT: 'http://minio:9000', AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_REGION: 'eu-west-1' }),
    ).toEqual({
      endpoint: 'http://minio:9000',
      region: 'eu-west-1',
      forcePathStyle: true,
      accessKeyId: 'k',
      secretAccessKey: 's',
      sessionToken: undefined,
    });
    expect(s3SettingsFromEnv({ S3_ENDPOINT: 'http://x', S3_FORCE_PATH_STYLE: 'false' }).forcePathStyle).toBe(false);
    expect(s3SettingsFromEnv({}).forcePathStyle).toBe(false);
    expect(s3SettingsFromEnv({ S3_REGION: 'r1', AWS_REGION: 'r2' }).region).toBe('r1');
  });

  test('client config asks for checksums only where required', () => {
    const c = s3ClientConfig({ endpoint: 'http://127.0.0.1:1', accessKeyId: 'a', secretAccessKey: 'b' });
    expect(c).toMatchObject({
      endpoint: 'http://127.0.0.1:1',
      forcePathStyle: true,
      region: 'us-east-1',
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    expect(s3ClientConfig({}).credentials).toBeUndefined();
  });

  test('s3:// URIs round-trip, keys keep their slashes', () => {
    expect(s3Uri('b', 'a/b/c.pcap')).toBe('s3://b/a/b/c.pcap');
    expect(parseS3Uri('s3://b/a/b/c.pcap')).toEqual({ bucket: 'b', key: 'a/b/c.pcap' });
    expect(parseS3Uri('s3://b/')).toBeUndefined();
    expect(parseS3Uri('http://b/k')).toBeUndefined();
  });
});
